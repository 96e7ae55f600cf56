# SPDX-License-Identifier: GPL-3.0-or-later
"""Properties of the parsers that hold for every input (hypothesis; issue 16).

The suite runs each with a few dozen examples; ``make fuzz`` runs them with
``CASETRAIL_FUZZ_EXAMPLES`` (thousands) and counts them in its table.
"""

from __future__ import annotations

import ipaddress
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.exceptions import ParseException

from desktop.core.feeds import FeedError, ip2asn, misp, parse_feed
from desktop.core.feeds.stix import observations, pattern_values
from desktop.core.indicators import defang, extract, refang
from desktop.ingest.hops import build_hops, parse_received

EXAMPLES = int(os.environ.get("CASETRAIL_FUZZ_EXAMPLES", "25"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_LOWER = "abcdefghijklmnopqrstuvwxyz"
label = st.builds(lambda a, b: a + b, st.sampled_from(_LOWER), st.text(_LOWER + "0123456789", max_size=15))
domains = st.builds(lambda parts, tld: ".".join([*parts, tld]), st.lists(label, min_size=1, max_size=4),
                    st.sampled_from(["com", "net", "org", "info", "ru", "io", "onion"]))
public_v4 = st.ip_addresses(v=4).filter(lambda a: a.is_global).map(str)
paths = st.lists(st.text(_LOWER + "ABCXYZ0123456789._~-", min_size=1, max_size=12), max_size=4).map(
    lambda parts: "".join("/" + p for p in parts))
urls = st.builds(lambda s, d, p: f"{s}://{d}{p}", st.sampled_from(["http", "https"]), domains, paths)


@fuzz
@given(st.one_of(domains.map(lambda v: ("domain", v)), public_v4.map(lambda v: ("ipv4", v)),
                 urls.map(lambda v: ("url", v)),
                 st.builds(lambda u, d: ("email", f"{u}@{d}"), label, domains)))
def test_defanged_values_refang_to_themselves(typed: tuple[str, str]) -> None:
    kind, value = typed
    shown = defang(value, kind)
    assert refang(shown) == value
    assert "://" not in shown or shown.startswith("hxxp")


@fuzz
@given(public_v4, domains, st.text(max_size=40))
def test_an_address_and_a_domain_in_any_text_are_found(ip: str, domain: str, noise: str) -> None:
    text = f"{noise}\nconnect to {ip} and {domain} now\n{noise}"
    found = {(f.type, f.value) for f in extract(text)}
    assert ("ipv4", ip) in found
    assert ("domain", domain) in found or any(t == "domain" and domain.endswith(v) for t, v in found) \
        or any(t in ("url", "email") and domain in v for t, v in found)


@fuzz
@given(st.text(max_size=2000))
def test_extraction_takes_any_text_and_points_into_it(text: str) -> None:
    for f in extract(text) + extract(text, ocr=True):
        assert 0 <= f.start < f.end <= len(text)
        assert f.value


@fuzz
@given(st.lists(st.text(max_size=300), max_size=30))
def test_any_received_headers_make_hops_numbered_from_one(values: list[str]) -> None:
    for v in values:
        parse_received(v)
    hops = build_hops(values)
    assert len(hops) == len(values)


@fuzz
@given(st.lists(public_v4, min_size=1, max_size=30))
def test_hops_keep_the_addresses_they_name(ips: list[str]) -> None:
    values = [f"from h{i}.example ([{ip}]) by mx.example.org; Mon, 19 Oct 2020 10:00:00 +0000"
              for i, ip in enumerate(ips)]
    hops = build_hops(values)
    assert sorted(h.from_ip for h in hops if h.from_ip) == sorted(ips)


@fuzz
@given(st.text(max_size=500))
def test_a_stix_pattern_of_any_text_is_read_or_refused(pattern: str) -> None:
    try:
        observations(pattern)
        pattern_values(pattern, "2.1")
    except (ValueError, FeedError, ParseException):  # documented: stix2patterns' own error
        pass


@fuzz
@given(public_v4, st.sampled_from(["ipv4-addr:value", "domain-name:value", "url:value"]))
def test_a_stix_equality_pattern_gives_its_value(ip: str, path: str) -> None:
    got = pattern_values(f"[{path} = '{ip}']", "2.1")
    assert ip in json.dumps(got, default=lambda o: getattr(o, "__dict__", str(o)))


@fuzz
@given(st.lists(st.tuples(st.ip_addresses(v=4), st.integers(0, 4096), st.integers(0, 2**32 - 1),
                          st.sampled_from(["NL", "US", "None", "IR"]), st.text(max_size=30)), max_size=20))
def test_ip2asn_rows_are_read_or_refused_in_one_sentence(
        rows: list[tuple[object, int, int, str, str]]) -> None:
    lines = []
    for start, span, asn, country, name in rows:
        first = ipaddress.IPv4Address(start)
        last = ipaddress.IPv4Address(min(int(first) + span, 2**32 - 1))
        lines.append(f"{first}\t{last}\t{asn}\t{country}\t{name.replace(chr(9), ' ').replace(chr(10), ' ')}")
    try:
        ip2asn.parse("\n".join(lines) + "\n", "t.tsv")
    except FeedError as e:
        refused = str(e)
        assert "t.tsv" in refused


attribute_values = st.one_of(st.text(max_size=100), public_v4, domains, urls, st.integers(), st.none())


@fuzz
@given(st.lists(st.fixed_dictionaries(
    {"type": st.sampled_from(["ip-dst", "ip-src", "domain", "url", "md5", "sha256", "email-src", "hostname",
                              "ip-dst|port", "domain|ip", "filename|sha256", "AS", "text", "x-unknown"]),
     "value": attribute_values},
    optional={"category": st.sampled_from(["Network activity", "Payload delivery", "Other"]),
              "to_ids": st.booleans(), "comment": st.text(max_size=30)}), max_size=15))
def test_misp_attributes_of_any_shape_are_read_or_refused(attributes: list[dict[str, object]]) -> None:
    doc = {"Event": {"info": "fuzz", "uuid": "5f8a0000-0000-4000-8000-000000000000", "Attribute": attributes}}
    try:
        misp.parse(misp.events_of(doc), "e.json")
        parse_feed(json.dumps(doc), "e.json")
    except FeedError:
        pass
