# SPDX-License-Identifier: GPL-3.0-or-later
"""One owner per canonical form (issue 10): every reader of IPs, times and hop numbers agrees.

Property tests (hypothesis) drive the owners — :mod:`desktop.core.ip`, :mod:`desktop.core.timestamps`,
:mod:`desktop.core.hop_numbers` — and the modules that used to have readers of their own
(the extractor, the Received parser, the warninglist matcher, correlation's networks, the
intelligence library's keys, the timeline) with the same values, and check they say the same.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.core import hop_numbers, ip, timestamps, warninglists
from desktop.core.indicators import extract, normalise
from desktop.ingest.hops import build_hops, parse_received

v4 = st.ip_addresses(v=4).map(lambda a: ipaddress.IPv4Address(int(a)))
v6 = st.ip_addresses(v=6).map(lambda a: ipaddress.IPv6Address(int(a)))


def padded(addr: ipaddress.IPv4Address, widths: tuple[int, int, int, int]) -> str:
    """The address with each octet zero-padded to ``widths`` digits (as logs write them)."""
    return ".".join(str(o).zfill(w) for o, w in zip(addr.packed, widths, strict=True))


widths = st.tuples(*[st.integers(1, 3)] * 4)


# -- IP addresses --------------------------------------------------------------------------------


@given(v4, widths)
def test_every_reader_reads_a_padded_ipv4_as_decimal(addr: ipaddress.IPv4Address,
                                                    width: tuple[int, int, int, int]) -> None:
    text = padded(addr, width)
    want = str(addr)
    assert ip.canonical(text) == want
    assert ip.ipv4_text(text) == want
    assert normalise("ipv4", text) == want
    assert ip.network_range(text) == (4, int(addr), int(addr))
    assert warninglists._parse_net(text) == (4, int(addr), int(addr))
    assert ip.sort_key(text) == ip.sort_key(want) == ip.key_of(addr)
    hop = parse_received(f"from relay.example ([{text}]) by mx.example with ESMTP; "
                         "Tue, 1 Aug 2023 10:00:00 +0000")
    assert hop["from_ip"] == want
    assert ip.address_class(text) == ip.class_of(addr)


@given(v4, widths)
def test_the_extractor_agrees_with_the_owner(addr: ipaddress.IPv4Address,
                                             width: tuple[int, int, int, int]) -> None:
    found = [f.value for f in extract(f"peer {padded(addr, width)} closed") if f.type == "ipv4"]
    assert found == [str(addr)]


def test_the_example_of_the_issue() -> None:
    """``010.001.002.003`` is 10.1.2.3 everywhere; the warninglist matcher made it 8.1.2.3 (octal)."""
    assert ip.canonical("010.001.002.003") == "10.1.2.3"
    assert warninglists._parse_net("010.001.002.003") == (4, 0x0A010203, 0x0A010203)
    assert normalise("ipv4", "010.001.002.003") == "10.1.2.3"
    hop = parse_received("from a ([010.001.002.003]) by b; Tue, 1 Aug 2023 10:00:00 +0000")
    assert hop["from_ip"] == "10.1.2.3"


@pytest.mark.parametrize("text", ["0x7f.0.0.1", "127.1", "2130706433", "0177.0.0.1", "1.2.3.256",
                                  "1.2.3", "1.2.3.4.5", "\uff11.\uff12.\uff13.\uff14", "1.2.3.4 5", ""])
def test_the_inet_aton_forms_are_not_addresses(text: str) -> None:
    """Octal, hex, short and integer forms hide an address: no reader takes them."""
    assert ip.canonical(text) is None
    with pytest.raises(ValueError, match="not an IPv4 address"):
        ip.ipv4_text(text)
    with pytest.raises(ValueError, match="not an IPv4 address"):
        warninglists._parse_net(text)


@given(v6)
def test_ipv6_text_is_rfc5952_and_every_spelling_agrees(addr: ipaddress.IPv6Address) -> None:
    want = ip.canonical(str(addr))
    assert want is not None
    for spelling in (addr.exploded, addr.exploded.upper(), f"[{addr}]", f"IPv6:{addr}", f" {addr} "):
        assert ip.canonical(spelling) == want
    if addr.ipv4_mapped is None:
        assert want == addr.compressed
        assert normalise("ipv6", addr.exploded.upper()) == want
        assert ip.network_range(addr.exploded) == (6, int(addr), int(addr))
    assert ip.parse(ip.ipv6_text(addr.exploded)) == addr


@given(v4)
def test_one_host_has_one_spelling_and_one_key(addr: ipaddress.IPv4Address) -> None:
    mapped = f"::ffff:{addr}"
    assert ip.canonical(mapped) == str(addr)
    assert ip.sort_key(mapped) == ip.sort_key(str(addr))
    assert ip.ipv6_text(mapped.upper()) == mapped  # RFC 5952 section 5: the dotted form
    assert ip.class_of(ipaddress.IPv6Address(mapped)) == ip.class_of(addr)


@given(st.lists(st.one_of(v4, v6), min_size=2, max_size=8))
def test_keys_sort_like_addresses(addrs: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> None:
    as_v6 = [int(a) + (0xFFFF << 32 if a.version == 4 else 0) for a in addrs]
    by_key = sorted(range(len(addrs)), key=lambda i: ip.key_of(addrs[i]))
    assert [as_v6[i] for i in by_key] == sorted(as_v6)


@given(st.one_of(v4, v6), st.integers(0, 128))
def test_networks_agree(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int) -> None:
    prefix = min(prefix, addr.max_prefixlen)
    text = f"{addr}/{prefix}"
    net = ipaddress.ip_network(text, strict=False)
    assert ip.network_range(text) == (net.version, int(net.network_address), int(net.broadcast_address))
    assert ip.parse(normalise("cidr", text).partition("/")[0]) == net.network_address
    assert normalise("cidr", text).endswith(f"/{prefix}")


@pytest.mark.parametrize(("text", "cls"), [
    ("192.0.2.1", "documentation"), ("198.51.100.7", "documentation"), ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"), ("3fff::1", "documentation"), ("10.1.2.3", "private"),
    ("172.31.0.1", "private"), ("192.168.0.1", "private"), ("fd12::1", "private"), ("127.0.0.1", "loopback"),
    ("::1", "loopback"), ("169.254.0.1", "link-local"), ("fe80::1", "link-local"), ("100.64.0.1", "shared"),
    ("198.18.0.1", "benchmarking"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"), ("240.0.0.1", "reserved"), ("0.0.0.0", "unspecified"),  # noqa: S104 - a value, nothing binds
    ("81.2.69.142", "public"), ("185.141.63.120", "public"), ("2606:4700::1", "public"),
    ("::ffff:192.0.2.1", "documentation"), ("2001::1", "public"),
])
def test_address_classes(text: str, cls: str) -> None:
    assert ip.address_class(text) == cls
    assert ip.is_public(text) == (cls == "public")


@given(v4)
def test_classes_agree_with_ipaddress_where_it_is_settled(addr: ipaddress.IPv4Address) -> None:
    cls = ip.class_of(addr)
    if addr.is_loopback:
        assert cls == "loopback"
    if addr.is_multicast:
        assert cls == "multicast"
    if cls == "public":
        assert addr.is_global


# -- time ----------------------------------------------------------------------------------------

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=offsets)


def spellings(when: datetime) -> list[str]:
    """The ways a case or evidence may write one instant."""
    utc = when.astimezone(UTC)
    out = [when.isoformat(), utc.isoformat(), utc.replace(tzinfo=None).isoformat(),
           utc.replace(tzinfo=None).isoformat() + "Z", when.isoformat(timespec="microseconds")]
    if utc.microsecond == 0:
        out += [utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.strftime("%Y:%m:%d %H:%M:%S")]
    return out


@given(instants)
def test_every_spelling_of_an_instant_has_one_canonical_form(when: datetime) -> None:
    want = timestamps.format_instant(when)
    assert len(want) == 27
    assert want.endswith("Z")
    for text in spellings(when):
        assert timestamps.canonical(text) == want, text
        assert timestamps.parse(text) == when
    assert timestamps.canonical(want) == want


@given(st.lists(instants, min_size=2, max_size=10), st.randoms())
def test_texts_sort_as_instants(whens: list[datetime], rnd: object) -> None:
    texts = [rnd.choice(spellings(w)) for w in whens]  # type: ignore[attr-defined]
    by_key = sorted(texts, key=timestamps.sort_key)
    assert [timestamps.parse(t) for t in by_key] == sorted(whens)
    canon = [timestamps.canonical(t) for t in texts]
    assert sorted(c for c in canon if c) == [timestamps.format_instant(w) for w in sorted(whens)]


def test_the_example_of_the_issue_sorts_right() -> None:
    late, early = "2024-03-05T08:14:07.500000Z", "2024-03-05T08:14:07Z"
    assert sorted([late, early]) == [late, early]  # the text order the timeline used to show
    assert sorted([late, early], key=timestamps.sort_key) == [early, late]


@pytest.mark.parametrize("text", ["0000-01-01T00:00:00Z", "garbage", "", "2024-02-30T00:00:00Z",
                                  "10000-01-01T00:00:00Z", "2024-03-05T25:00:00Z", "x" * 100])
def test_unreadable_times_are_none_and_sort_last(text: str) -> None:
    assert timestamps.parse(text) is None
    assert timestamps.canonical(text) is None
    assert sorted([text, "2024-01-01T00:00:00Z"], key=timestamps.sort_key)[0] == "2024-01-01T00:00:00Z"
    assert timestamps.human(text) == text


def test_more_digits_are_cut_never_rounded() -> None:
    assert timestamps.canonical("2024-03-05T08:14:07.9999999Z") == "2024-03-05T08:14:07.999999Z"


def test_human_time() -> None:
    assert timestamps.human("2024-03-05T09:14:07.5+01:00") == "2024-03-05 08:14:07Z"
    assert timestamps.human(None) == ""


def test_custody_writes_the_canonical_form() -> None:
    from desktop.core import custody

    now = custody.utc_now()
    assert timestamps.canonical(now) == now


# -- hop numbers ---------------------------------------------------------------------------------


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_hop_numbers_round_trip(case: tuple[int, int]) -> None:
    total, index = case
    assert hop_numbers.index_of(hop_numbers.number(index)) == index
    assert hop_numbers.index_from_where(hop_numbers.where(index, total)) == index
    position = total - 1 - index
    assert hop_numbers.index_from_header_position(position, total) == index
    assert hop_numbers.label(index, total) == f"hop {index + 1} of {total}"


@given(st.integers(1, 12))
def test_the_occurrence_the_parser_and_the_view_name_the_same_hop(total: int) -> None:
    """Walking the headers top down (as the analyser does) names the hop the parser stored there."""
    headers = [f"from h{i}.example ([81.2.69.{i + 1}]) by h{i + 1}.example; "
               f"Tue, 1 Aug 2023 10:{i:02d}:00 +0000" for i in range(total)][::-1]  # newest on top
    hops = build_hops(headers)
    for position, header in enumerate(headers):
        where = hop_numbers.where(hop_numbers.index_from_header_position(position, total), total)
        index = hop_numbers.index_from_where(where)
        assert index is not None
        assert hops[index].raw == header
    assert hops[0].from_host == "h0.example"  # hop 1 is the first server the message reached
    assert hop_numbers.label(hops[0].index, total).startswith("hop 1 ")


@pytest.mark.parametrize("where", ["Received (hop 0 of 3)", "Received (hop 4 of 3)", "From", "Received"])
def test_a_where_that_names_no_hop(where: str) -> None:
    assert hop_numbers.index_from_where(where) is None


def test_the_analyser_names_hops_as_the_parser_stores_them(tmp_path: object) -> None:
    from pathlib import Path

    from desktop.ingest.kinds.mail import MailAnalyser
    from desktop.ingest.plugin import PartWriter, Probe

    out = Path(str(tmp_path))
    message = out / "m.eml"
    message.write_bytes(
        b"Received: from c.example ([81.2.69.3]) by mx.example; Tue, 1 Aug 2023 10:02:00 +0000\r\n"
        b"Received: from b.example ([81.2.69.2]) by c.example; Tue, 1 Aug 2023 10:01:00 +0000\r\n"
        b"Received: from a.example ([81.2.69.1]) by b.example; Tue, 1 Aug 2023 10:00:00 +0000\r\n"
        b"From: x@a.example\r\nSubject: s\r\n\r\nbody\r\n")
    probe = Probe.of_file(message, mime="message/rfc822", kind="email", name="m.eml", derived_how=None)
    found = MailAnalyser().analyse(message, probe, PartWriter(out / "parts"))
    where = {o["value"]: o["where"] for o in found["occurrences"] if o["type"] == "ipv4"}
    hops = found["email"]["hops"]
    for hop in hops:
        assert where[hop["from_ip"]] == hop_numbers.where(hop["index"], len(hops))
    assert where["81.2.69.1"] == "Received (hop 1 of 3)"  # the first server the message reached
