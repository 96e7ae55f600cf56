# SPDX-License-Identifier: GPL-3.0-or-later
"""Warninglists: MISP list types as MISP defines them, flagged never dropped, fast lookups."""

from __future__ import annotations

import random
import time

import pytest

from desktop.core import warninglists
from desktop.core.warninglists import Warninglist, Warninglists


def ids(type_: str, value: str) -> list[str]:
    return [h.list_id for h in warninglists.check(type_, value)]


@pytest.mark.parametrize(("type_", "value", "expected"), [
    ("ipv4", "10.1.2.3", "rfc1918"),
    ("ipv4", "127.0.0.1", "rfc5735"),
    ("ipv4", "100.64.1.1", "rfc6598"),
    ("ipv4", "224.0.0.251", "multicast"),
    ("ipv4", "8.8.8.8", "public-dns-v4"),
    ("ipv6", "2001:db8::1", "rfc3849"),
    ("ipv6", "fe80::1", "ipv6-linklocal"),
    ("cidr", "192.168.10.0/24", "rfc1918"),
    ("domain", "www.google.com", "tranco10k"),
    ("domain", "example.com", "rfc6761"),
    ("domain", "foo.dyndns.org", "dynamic-dns"),
    ("url", "https://bit.ly/3abc", "url-shortener"),
    ("email", "someone@mailinator.com", "disposable-email"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e", "empty-hashes"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty-hashes"),
])
def test_shipped_lists_flag_well_known_values(type_: str, value: str, expected: str) -> None:
    assert expected in ids(type_, value)


@pytest.mark.parametrize(("type_", "value"), [
    ("ipv4", "185.141.63.120"), ("domain", "evil-example-c2.net"), ("cidr", "192.168.0.0/8"),
    ("md5", "0" * 32), ("file_name", "invoice.pdf.exe"),
])
def test_values_on_no_list(type_: str, value: str) -> None:
    hits = warninglists.check(type_, value)
    assert all(h.list_id not in ("rfc1918", "rfc5735", "empty-hashes") for h in hits)
    if type_ != "ipv4":
        assert hits == []


def test_a_hit_names_the_list_for_the_reader() -> None:
    hit = warninglists.check("ipv4", "192.168.1.1")[0]
    assert hit.name == "List of RFC 1918 CIDR blocks"
    assert "private" in hit.description.lower()


def test_misp_types_on_a_hand_made_list() -> None:
    lists = Warninglists([
        Warninglist("h", {"name": "H", "type": "hostname", "list": [".corp.example"],
                          "matching_attributes": ["domain"]}),
        Warninglist("s", {"name": "S", "type": "string", "list": ["Exact.Example"],
                          "matching_attributes": ["domain"]}),
        Warninglist("sub", {"name": "Sub", "type": "substring", "list": ["bad"],
                            "matching_attributes": ["url"]}),
        Warninglist("re", {"name": "Re", "type": "regex", "list": [r"^evil\d+\.test$"],
                           "matching_attributes": ["domain"]}),
        Warninglist("c", {"name": "C", "type": "cidr", "list": ["198.51.100.0/24", "2001:db8:1::/48"],
                          "matching_attributes": ["ip-dst", "domain|ip"]}),
    ])
    assert [h.list_id for h in lists.check("domain", "a.b.corp.example")] == ["h"]
    assert [h.list_id for h in lists.check("domain", "corp.example")] == ["h"]
    assert lists.check("domain", "notcorp.example") == []
    assert [h.list_id for h in lists.check("domain", "exact.example")] == ["s"]
    assert lists.check("domain", "sub.exact.example") == []
    assert [h.list_id for h in lists.check("url", "http://x.test/very-bad-path")] == ["sub"]
    assert [h.list_id for h in lists.check("domain", "evil42.test")] == ["re"]
    assert [h.list_id for h in lists.check("ipv4", "198.51.100.7")] == ["c"]
    assert [h.list_id for h in lists.check("ipv6", "2001:db8:1::5")] == ["c"]
    assert [h.list_id for h in lists.check("cidr", "198.51.100.128/25")] == ["c"]
    assert lists.check("cidr", "198.51.0.0/16") == []
    assert lists.check("domain", "198.51.100.7") == []  # an IP list is not asked about host names


def test_merged_index_agrees_with_each_list() -> None:
    lists = warninglists.shipped()
    rng = random.Random(5)
    values = [("ipv4", ".".join(str(rng.randrange(256)) for _ in range(4))) for _ in range(3000)]
    values += [("ipv4", "8.8.4.4"), ("ipv4", "0.0.0.0"),  # noqa: S104 - a value, not a bind ("ipv4", "255.255.255.255"), ("ipv6", "ff02::1"),
               ("domain", "a.b.google.com"), ("email", "x@yopmail.com"), ("url", "http://t.co/x")]
    for type_, value in values:
        slow = [wl.list_id for wl in lists.lists if wl.matches(type_, value)]
        assert [h.list_id for h in lists.check(type_, value)] == slow, (type_, value)


def test_checks_are_fast() -> None:
    lists = warninglists.shipped()
    lists.check("ipv4", "1.2.3.4")
    lists.check("domain", "x.com")
    values = [(i, "ipv4", f"185.{i % 256}.{i // 256}.1") for i in range(5000)]
    values += [(5000 + i, "domain", f"a{i}.evil-example.com") for i in range(5000)]
    t0 = time.perf_counter()
    lists.check_many(values)
    assert time.perf_counter() - t0 < 1.0  # ~3 µs a value measured; generous for a loaded CI
