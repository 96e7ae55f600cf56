# SPDX-License-Identifier: GPL-3.0-or-later
"""The Received chain: real-world header formats, ordering, delays and the origin rule."""

from __future__ import annotations

import pytest

from desktop.core.ip import canonical as canonical_ip
from desktop.core.ip import is_public as is_public_ip
from desktop.ingest.hops import (
    build_hops,
    find_origin,
    parse_date,
    parse_received,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(  # Postfix with reverse DNS and TLS comment
            "from alias0.example-mail.com (alias0.example-mail.com [45.129.237.141]) (using TLSv1.3 with "
            "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)) (No client certificate requested) by "
            "rsp649.mxflnt.com (Postfix) with ESMTPS id 4PD5L for <phish@pot>; "
            "Mon, 20 Feb 2023 19:02:59 +0300",
            {"from_host": "alias0.example-mail.com", "from_rdns": "alias0.example-mail.com",
             "from_ip": "45.129.237.141", "by_host": "rsp649.mxflnt.com", "protocol": "ESMTPS",
             "id": "4PD5L", "for_addr": "phish@pot"},
            id="postfix",
        ),
        pytest.param(  # Postfix, unknown reverse DNS, HELO is an address literal
            "from [194.87.84.149] (unknown [194.87.84.149]) by zimbra.example.co.ke (Postfix) with ESMTPSA "
            "id 7525B1FC98A; Mon, 20 Feb 2023 17:25:21 +0300 (EAT)",
            {"from_host": "[194.87.84.149]", "from_rdns": None, "from_ip": "194.87.84.149",
             "by_host": "zimbra.example.co.ke", "protocol": "ESMTPSA", "id": "7525B1FC98A"},
            id="postfix-unknown",
        ),
        pytest.param(  # Exchange Online
            "from mail.progtech.ru (94.29.77.227) by DB5EUR01FT022.mail.protection.outlook.com "
            "(10.152.4.244) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA) "
            "id 15.20.5834.15 via Frontend Transport; Fri, 25 Nov 2022 20:16:46 +0000",
            {"from_host": "mail.progtech.ru", "from_ip": "94.29.77.227",
             "by_host": "DB5EUR01FT022.mail.protection.outlook.com", "by_ip": "10.152.4.244",
             "protocol": "Microsoft SMTP Server", "id": "15.20.5834.15"},
            id="exchange",
        ),
        pytest.param(  # Exchange internal hop over HTTPS from ::1
            "from IA0PR19MB7242.namprd19.prod.outlook.com (::1) by MN0PR19MB6312.namprd19.prod.outlook.com "
            "with HTTPS; Fri, 25 Nov 2022 20:16:52 +0000",
            {"from_host": "IA0PR19MB7242.namprd19.prod.outlook.com", "from_ip": "::1", "protocol": "HTTPS"},
            id="exchange-https",
        ),
        pytest.param(  # Gmail, the receiving side is an IPv6 address
            "by 2002:a05:612c:711:b0:381:73ac:3a65 with SMTP id ft17csp1635409vqb; "
            "Mon, 16 Jan 2023 09:04:51 -0800 (PST)",
            {"from_host": None, "from_ip": None, "by_host": "2002:a05:612c:711:b0:381:73ac:3a65",
             "by_ip": "2002:a05:612c:711:b0:381:73ac:3a65", "protocol": "SMTP", "id": "ft17csp1635409vqb"},
            id="gmail-by",
        ),
        pytest.param(  # Gmail MX with trailing-dot reverse name
            "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com "
            "with SMTPS id w7-20020a25 for <phish.me.again@gmail.com> (Google Transport Security); "
            "Mon, 13 Feb 2023 23:51:09 -0800 (PST)",
            {"from_rdns": "mail-sor-f41.google.com", "from_ip": "209.85.220.41", "by_host": "mx.google.com",
             "protocol": "SMTPS", "for_addr": "phish.me.again@gmail.com"},
            id="gmail-mx",
        ),
        pytest.param(  # qmail: only a comment and a date
            "(qmail 9506 invoked from network); 25 Dec 2022 15:53:22 +0900",
            {"from_host": None, "from_ip": None, "by_host": None, "time_raw": "25 Dec 2022 15:53:22 +0900"},
            id="qmail-invoked",
        ),
        pytest.param(  # qmail: reverse name first, HELO in a comment
            "from mx0b.pphosted.com (HELO mx0a.pphosted.com) (148.163.158.5) by smtp.didi.net with SMTP; "
            "8 Mar 2017 16:46:30 -0000",
            {"from_host": "mx0a.pphosted.com", "from_rdns": "mx0b.pphosted.com", "from_ip": "148.163.158.5",
             "by_host": "smtp.didi.net", "protocol": "SMTP"},
            id="qmail-helo",
        ),
        pytest.param(  # Exim: helo= in the comment, protocol followed by "tls <cipher>"
            "from [82.180.146.137] (port=53544 helo=[127.0.0.1]) by ecres231.servconfig.com with esmtpsa "
            "(TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (Exim 4.95) (envelope-from <a@b.net>) "
            "id 1p02Ic-003fT1-5B; Tue, 29 Nov 2022 10:13:30 -0500",
            {"from_host": "[127.0.0.1]", "from_ip": "82.180.146.137", "by_host": "ecres231.servconfig.com",
             "protocol": "esmtpsa", "id": "1p02Ic-003fT1-5B"},
            id="exim",
        ),
        pytest.param(  # IPv6 address literal with the IPv6: tag
            "from mail.example.net ([IPv6:2a00:1450:4864:20::42f]) by mx.example.org (Postfix) with ESMTP "
            "id ABC; Tue, 1 Aug 2023 10:00:00 +0200",
            {"from_host": "mail.example.net", "from_ip": "2a00:1450:4864:20::42f"},
            id="ipv6-literal",
        ),
        pytest.param(  # Exchange mapi with a zone id on a link-local address
            "from SA0PR04MB7370.namprd04.prod.outlook.com ([fe80::6be0:2de4:9316:c0fb]) by "
            "SA0PR04MB7370.namprd04.prod.outlook.com ([fe80::6be0:2de4:9316:c0fb%9]) with mapi id "
            "15.20.5986.023; Mon, 16 Jan 2023 17:04:48 +0000",
            {"from_ip": "fe80::6be0:2de4:9316:c0fb", "by_ip": "fe80::6be0:2de4:9316:c0fb",
             "protocol": "mapi"},
            id="exchange-mapi",
        ),
        pytest.param(  # a semicolon inside a comment is not the date separator
            "from a.example (a.example [81.2.69.142]) (x; y) by b.example with ESMTP; "
            "Tue, 1 Aug 2023 10:00:00 +0000",
            {"from_ip": "81.2.69.142", "by_host": "b.example", "time_raw": "Tue, 1 Aug 2023 10:00:00 +0000"},
            id="semicolon-in-comment",
        ),
    ],
)
def test_parse_received_formats(value: str, expected: dict[str, object]) -> None:
    fields = parse_received(value)
    for key, want in expected.items():
        assert fields[key] == want, key


def test_hops_are_ordered_origin_first_with_delays() -> None:
    received = [  # header order: newest first
        "from relay.example.org (relay.example.org [81.2.69.160]) by mx.example.com with ESMTP id C; "
        "Tue, 1 Aug 2023 10:00:30 +0000",
        "from client.example.net (client.example.net [81.2.69.142]) by relay.example.org with ESMTP id B; "
        "Tue, 1 Aug 2023 12:00:10 +0200",
        "from laptop (laptop [192.168.1.20]) by client.example.net with ESMTP id A; "
        "Tue, 1 Aug 2023 06:00:00 -0400",
    ]
    hops = build_hops(received)
    assert [h.id for h in hops] == ["A", "B", "C"]
    assert [h.index for h in hops] == [0, 1, 2]
    assert hops[0].time_utc == "2023-08-01T10:00:00.000000Z"
    assert hops[0].delay_s is None
    assert hops[1].delay_s == 10.0  # across three different zones
    assert hops[2].delay_s == 20.0
    assert "private_ip" in hops[0].flags
    origin = find_origin(hops)
    assert origin is hops[1]
    assert origin.from_ip == "81.2.69.142"


def test_negative_and_long_delays_are_flagged_not_clamped() -> None:
    received = [
        "from c.example ([81.2.69.162]) by d.example with ESMTP; Thu, 3 Aug 2023 10:00:00 +0000",
        "from b.example ([81.2.69.161]) by c.example with ESMTP; Tue, 1 Aug 2023 09:59:00 +0000",
        "from a.example ([81.2.69.160]) by b.example with ESMTP; Tue, 1 Aug 2023 10:00:00 +0000",
    ]
    hops = build_hops(received)
    assert hops[1].delay_s == -60.0
    assert "negative_delay" in hops[1].flags
    assert hops[2].delay_s == 2 * 86400 + 60.0
    assert "long_delay" in hops[2].flags


def test_missing_or_unreadable_time_gives_no_delay() -> None:
    hops = build_hops([
        "from b.example ([81.2.69.161]) by c.example with ESMTP; Tue, 1 Aug 2023 10:00:05 +0000",
        "from a.example ([81.2.69.160]) by b.example with ESMTP; not a date at all",
        "from z.example ([81.2.69.159]) by a.example with ESMTP",
    ])
    assert hops[0].flags == ["no_time"]
    assert hops[1].flags == ["unreadable_time"]
    assert hops[1].delay_s is None
    assert hops[2].delay_s is None  # the previous hop has no timestamp: no delay is invented


def test_no_public_ip_means_no_origin() -> None:
    hops = build_hops(["from a ([10.0.0.1]) by b with SMTP; Tue, 1 Aug 2023 10:00:00 +0000"])
    assert find_origin(hops) is None


def test_ip_helpers() -> None:
    assert canonical_ip("[IPv6:2001:DB8::1]") == "2001:db8::1"
    assert canonical_ip("::ffff:81.2.69.142") == "81.2.69.142"
    assert canonical_ip("fe80::1%eth0") == "fe80::1"
    assert canonical_ip("mail.example.com") is None
    assert canonical_ip("999.1.1.1") is None
    assert is_public_ip("81.2.69.142")
    for private in ("10.1.2.3", "127.0.0.1", "::1", "192.168.0.1", "100.64.0.1", "192.0.2.1", "224.0.0.1"):
        assert not is_public_ip(private), private


@pytest.mark.parametrize(("address", "flag"), [
    ("192.0.2.7", "documentation_ip"), ("198.51.100.7", "documentation_ip"),
    ("203.0.113.7", "documentation_ip"), ("10.1.2.3", "private_ip"), ("192.168.1.1", "private_ip"),
    ("127.0.0.1", "loopback_ip"), ("100.64.0.9", "shared_ip"), ("169.254.1.1", "link_local_ip"),
])
def test_a_non_public_hop_says_which_range_it_is_in(address: str, flag: str) -> None:
    """TEST-NET and the other documentation ranges are not "private" (issue 10)."""
    hops = build_hops([f"from a ([{address}]) by b with SMTP; Tue, 1 Aug 2023 10:00:00 +0000"])
    assert hops[0].flags == [flag]


def test_a_public_hop_has_no_range_flag() -> None:
    hops = build_hops(["from a ([81.2.69.142]) by b with SMTP; Tue, 1 Aug 2023 10:00:00 +0000"])
    assert hops[0].flags == []


def test_hop_times_are_written_in_the_one_form() -> None:
    hops = build_hops(["from a ([81.2.69.142]) by b with SMTP; Tue, 1 Aug 2023 10:00:00 +0200"])
    assert hops[0].time_utc == "2023-08-01T08:00:00.000000Z"


def test_parse_date_is_aware_utc() -> None:
    when = parse_date("Mon, 16 Jan 2023 09:04:51 -0800 (PST)")
    assert when is not None
    assert when.isoformat() == "2023-01-16T17:04:51+00:00"
    assert parse_date("17 Feb 2023 10:27:06 -0800 (PST") is not None  # unterminated comment
    assert parse_date("garbage") is None
    assert parse_date(None) is None
