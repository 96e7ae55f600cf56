# SPDX-License-Identifier: GPL-3.0-or-later
"""Property: every indicator type is extracted at the start, in the middle and at the end of a text.

An e-mail address at offset 0 was once never extracted (the character "before" it was ``""``, and
``"" in "._+-"`` is True), which was two thirds of the OCR misses: OCR lines often begin with the
indicator. These properties generate values of every type and put them at each position, with
and without OCR mode, surrounded by prose that holds no indicator.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core.indicators import extract

_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=2, max_size=12).filter(
    lambda s: s[0].isalpha())
_TLD = st.sampled_from(["com", "org", "net", "ru", "info", "io", "de", "nl", "co.uk"])
_HEX = "0123456789abcdef"
_WORDS = st.lists(st.sampled_from(["the", "operator", "typed", "then", "and", "ran", "saw", "Status", "ok",
                                   "list", "sent", "on", "screen", "output", "again"]),
                  min_size=1, max_size=5).map(" ".join)


@st.composite
def _domain(draw: st.DrawFn) -> str:
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    return ".".join([*labels, draw(_TLD)])


@st.composite
def _ipv4(draw: st.DrawFn) -> str:
    octets = draw(st.lists(st.integers(1, 254), min_size=4, max_size=4))
    return ".".join(map(str, octets))


@st.composite
def _indicator(draw: st.DrawFn) -> tuple[str, str, str]:
    """``(type, text as written, normalised value)``."""
    kind = draw(st.sampled_from(["ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256",
                                 "posix_path", "windows_path", "file_name", "asn"]))
    if kind == "ipv4":
        ip = draw(_ipv4())
        return "ipv4", ip, ip
    if kind == "ipv6":
        groups = draw(st.lists(st.integers(1, 0xFFFF), min_size=8, max_size=8))
        text = ":".join(f"{g:x}" for g in groups)
        return "ipv6", text, ipaddress.IPv6Address(text).compressed
    if kind == "cidr":
        ip, prefix = draw(_ipv4()), draw(st.integers(8, 30))
        return "cidr", f"{ip}/{prefix}", str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    if kind == "domain":
        host = draw(_domain())
        return "domain", host, host
    if kind == "url":
        host = draw(_domain())
        path = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10))
        url = f"{draw(st.sampled_from(['http', 'https']))}://{host}/{path}.php"
        return "url", url, url
    if kind == "email":
        local = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=12).filter(
            lambda s: s[0].isalnum() and s[-1].isalnum() and ".." not in s))
        address = f"{local}@{draw(_domain())}"
        return "email", address, address
    if kind in ("md5", "sha1", "sha256"):
        n = {"md5": 32, "sha1": 40, "sha256": 64}[kind]
        digest = draw(st.text(_HEX, min_size=n, max_size=n))
        return kind, digest, digest
    if kind == "posix_path":
        root = draw(st.sampled_from(["/etc", "/tmp", "/var/www", "/home/admin", "/opt/tools"]))
        name = draw(_LABEL)
        path = f"{root}/{name}"
        return "file_path", path, path
    if kind == "windows_path":
        folder = draw(_LABEL)
        path = f"C:\\Users\\{folder}\\Desktop"
        return "file_path", path, path
    if kind == "file_name":
        name = f"{draw(_LABEL)}.{draw(st.sampled_from(['exe', 'docx', 'xlsx', 'ps1', 'pdf']))}"
        return "file_name", name, name
    number = draw(st.integers(1, 4_000_000))
    return "asn", f"AS{number}", f"AS{number}"


@settings(max_examples=300, deadline=None)
@given(found=_indicator(), before=_WORDS, after=_WORDS, where=st.sampled_from(["start", "middle", "end"]),
       ocr=st.booleans(), end_punct=st.sampled_from(["", ".", ","]))
def test_every_type_is_found_at_start_middle_and_end(found: tuple[str, str, str], before: str, after: str,
                                                      where: str, ocr: bool, end_punct: str) -> None:
    type_, written, value = found
    text = {"start": f"{written} {after}", "middle": f"{before} {written} {after}",
            "end": f"{before} {written}{end_punct}"}[where]
    got = {(f.type, f.value) for f in extract(text, ocr=ocr)}
    assert (type_, value) in got, (text, got)


@settings(max_examples=150, deadline=None)
@given(found=_indicator(), ocr=st.booleans())
def test_a_text_that_is_only_the_indicator(found: tuple[str, str, str], ocr: bool) -> None:
    type_, written, value = found
    assert (type_, value) in {(f.type, f.value) for f in extract(written, ocr=ocr)}


@settings(max_examples=150, deadline=None)
@given(local=st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8), host=_domain(), ocr=st.booleans(),
       at=st.sampled_from(["[@]", "(at)", "[at]", "@"]), dot=st.sampled_from(["[.]", "(.)", "."]))
def test_a_defanged_address_yields_no_domain_from_its_local_part(local: str, host: str, ocr: bool, at: str,
                                                                dot: str) -> None:
    # "fl.voter.info[@]protonmail[.]com" once gave the false domain fl.voter.info
    text = f"{local}.voter.info{at}{host.replace('.', dot)}"
    got = {(f.type, f.value) for f in extract(text, ocr=ocr)}
    assert ("email", f"{local}.voter.info@{host}") in got, (text, got)
    assert ("domain", f"{local}.voter.info") not in got


def test_delimited_fields_are_separate_values() -> None:
    text = "2024-10-02,http://evil.example.com/a.php,185.1.2.3,/tmp/x.sh,/etc/passwd"
    got = {(f.type, f.value) for f in extract(text)}
    assert {("url", "http://evil.example.com/a.php"), ("ipv4", "185.1.2.3"), ("file_path", "/tmp/x.sh"),
            ("file_path", "/etc/passwd")} <= got
    assert not any("," in v for _, v in got)
    # a comma inside a query string is part of the URL
    assert ("url", "http://x.example.com/?ids=1,2,3") in {(f.type, f.value) for f in
                                                          extract("see http://x.example.com/?ids=1,2,3 now")}
