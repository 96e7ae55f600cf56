# SPDX-License-Identifier: GPL-3.0-or-later
"""Email parsing: real corpora (malformed included), header forensics, attachments, mbox, caps."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from desktop.ingest import email as mail
from desktop.ingest.email import (
    MAX_DEPTH,
    MAX_PARTS,
    MailParseError,
    ParsedEmail,
    clean_filename,
    decode_words,
    parse_eml,
    parse_msg,
    sniff_mail,
    split_mbox,
)
from desktop.ingest.mailflags import registrable_domain

CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "corpora"
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"test corpora not found at {CORPORA}")


def _eml(headers: str, body: str = "Hello.\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("utf-8")


def _codes(parsed: ParsedEmail) -> set[str]:
    return {flag["code"] for flag in parsed.flags}


def _corpus(folder: str, pattern: str) -> list[Path]:
    return sorted((CORPORA / folder).glob(pattern)) if CORPORA.is_dir() else []


# ------------------------------------------------------------------------------------------------
# Real corpora


@needs_corpora
@pytest.mark.corpora
@pytest.mark.parametrize("folder", ["mail-parser", "phishing-dev"])
def test_every_corpus_message_parses(folder: str) -> None:
    files = _corpus(folder, "*.eml")
    assert files, f"no .eml files in {CORPORA / folder}"
    for path in files:
        data = path.read_bytes()
        try:
            parsed = parse_msg(data) if data.startswith(OLE_MAGIC) else parse_eml(data)
        except Exception as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"{path.name}: {type(exc).__name__}: {exc}")
        json.dumps(parsed.to_dict())
        assert [h.index for h in parsed.hops] == list(range(len(parsed.hops))), path.name


@needs_corpora
@pytest.mark.corpora
def test_msg_corpus_parses() -> None:
    unicode_msg = parse_msg((CORPORA / "msg" / "unicode.msg").read_bytes())
    assert unicode_msg.from_addr == "brizhou@gmail.com"
    assert unicode_msg.subject == "Test for TIF files"
    assert unicode_msg.date_utc == "2013-11-18T08:26:24.000000Z"
    assert unicode_msg.to == [{"name": "", "addr": "brianzhou@me.com"}]
    assert [a.name for a in unicode_msg.attachments] == ["import OleFileIO.tif", "raised value error.tif"]
    assert all(a.content_type == "image/tiff" and a.size == len(a.data) > 0 for a in unicode_msg.attachments)
    assert unicode_msg.auth["dkim"] == "pass"
    assert unicode_msg.origin_ip == "209.85.220.182"
    assert unicode_msg.text_body is not None
    assert unicode_msg.text_body.startswith("This is a test email")

    no_headers = parse_msg((CORPORA / "msg" / "strangeDate.msg").read_bytes())
    assert no_headers.subject == "MSG Test File"
    assert no_headers.to == [{"name": "time2talk@online-convert.com", "addr": "time2talk@online-convert.com"}]
    assert no_headers.hops == []
    json.dumps(no_headers.to_dict())


@needs_corpora
@pytest.mark.corpora
def test_real_phishing_via_gmail() -> None:
    parsed = parse_eml((CORPORA / "phishing-dev" / "sample-53.eml").read_bytes())
    assert parsed.from_name == "Cato"
    assert parsed.from_addr == "seeronero663@gmail.com"
    assert parsed.subject is not None
    assert parsed.subject.startswith("\u274c /// Withdrawal error.")  # three encoded words joined
    assert parsed.subject.endswith("in your profile. /// 1141125616673 ////")
    assert parsed.to == []  # "undisclosed-recipients:;" is an empty group, not an error
    assert len(parsed.hops) == 6
    assert parsed.hops[0].by_host == "2002:a05:6520:340d:b0:220:20fe:e1f9"
    assert parsed.origin_index == 2
    assert parsed.origin_ip == "209.85.167.66"
    assert parsed.origin_host == "mail-lf1-f66.google.com"
    assert (parsed.auth["spf"], parsed.auth["dkim"], parsed.auth["dmarc"]) == ("pass", "pass", "pass")
    assert parsed.dkim_signatures[0] == {"d": "gmail.com", "s": "20210112"}
    assert parsed.message_id_domain == "mail.gmail.com"
    assert [(a.name, a.content_type) for a in parsed.attachments] == [("sSZt7uix.pdf", "application/pdf")]
    assert parsed.attachments[0].data.startswith(b"%PDF")
    assert not _codes(parsed) & {"spf_fail", "dkim_fail", "dmarc_fail", "from_return_path_mismatch"}


@needs_corpora
@pytest.mark.corpora
def test_real_phishing_with_mismatches() -> None:
    parsed = parse_eml((CORPORA / "phishing-dev" / "sample-100.eml").read_bytes())
    assert parsed.from_addr == "zonnepaneel@appjj.serenitepure.fr"
    assert parsed.return_path == "return@dturm.de"
    assert parsed.reply_to == [{"name": "Zonnepanelen installateur", "addr": "news@aichakandisha.com"}]
    assert len(parsed.hops) == 4
    assert parsed.origin_ip == "57.128.69.202"
    assert parsed.originating_ips == [{"header": "X-Sender-IP", "ip": "57.128.69.202"}]
    assert (parsed.auth["spf"], parsed.auth["dkim"], parsed.auth["dmarc"]) == ("none", "none", "none")
    assert {"from_return_path_mismatch", "from_reply_to_mismatch", "spf_fail", "dkim_fail",
            "dmarc_fail"} <= _codes(parsed)


@needs_corpora
@pytest.mark.corpora
def test_real_raw_utf8_attachment_name_and_qmail_chain() -> None:
    parsed = parse_eml((CORPORA / "mail-parser" / "mail_test_1.eml").read_bytes())
    assert parsed.from_name == "служба ФНС Даниил Суворов"
    assert parsed.from_addr == "suvorov.s@nalg.ru"
    assert parsed.subject == "письмо уведом-е"  # noqa: RUF001 - Cyrillic on purpose
    assert [a.name for a in parsed.attachments] == ["ФНС_РФ558.zip"]  # noqa: RUF001 - raw UTF-8, not U+FFFD
    assert parsed.attachments[0].data.startswith(b"PK")
    assert len(parsed.hops) == 6
    assert parsed.hops[-1].from_host is None  # "(qmail 11769 invoked from network)"
    assert "hop_time_out_of_order" in _codes(parsed)  # the sample mixes 2016 and 2018 hops


@needs_corpora
@pytest.mark.corpora
def test_real_malformed_message_reports_defects() -> None:
    parsed = parse_eml((CORPORA / "mail-parser" / "mail_malformed_1.eml").read_bytes())
    assert parsed.from_addr == "femucca@tin.it"
    assert any("StartBoundaryNotFoundDefect" in d for d in parsed.defects)
    assert parsed.hops[2].from_host == "unknown"  # "from unknown (HELO ) (185.137.84.106)"
    assert parsed.hops[2].from_ip == "185.137.84.106"


@needs_corpora
@pytest.mark.corpora
def test_sniff_corpus_by_content() -> None:
    head = (CORPORA / "msg" / "unicode.msg").read_bytes()[:8192]
    assert sniff_mail(head, "application/CDFV2", "x") == "msg"
    assert sniff_mail((CORPORA / "phishing-dev" / "sample-1.eml").read_bytes()[:4096],
                      "text/plain", "invoice.pdf") == "eml"


# ------------------------------------------------------------------------------------------------
# Header decoding and flags


def test_rfc2047_subject_and_garbage_charsets() -> None:
    parsed = parse_eml(_eml("""
From: =?iso-8859-1?q?J=F6rg_M=FCller?= <jm@example.de>
Subject: =?UTF-8?B?w4RyZ2Vy?= und =?utf-8?q?Gr=C3=BC=C3=9Fe?= =?x-no-such-charset?q?=E4?=
To: a@example.org
"""))
    assert parsed.from_name == "Jörg Müller"
    assert parsed.from_addr == "jm@example.de"
    assert parsed.subject == "Ärger und Grüße\xe4"  # unknown charset: latin-1, never an exception
    assert any("unknown charset" in d for d in parsed.defects)
    assert ("Subject", parsed.subject) in parsed.headers


def test_decode_words_joins_split_multibyte_characters() -> None:
    # "€" (E2 82 AC) split across two adjacent encoded words
    assert decode_words("=?utf-8?b?4oI=?= =?utf-8?b?rA==?=") == "\u20ac"
    assert decode_words("plain text") == "plain text"
    assert decode_words("=?utf-8?b?!!!?=") == "=?utf-8?b?!!!?="  # bad base64 is kept as written


def test_raw_8bit_header_falls_back_without_raising() -> None:
    parsed = parse_eml(b"From: a@example.org\nSubject: caf\xe9 \xff\nTo: b@example.org\n\nbody\n")
    assert parsed.subject == "caf\xe9 \xff"
    assert parsed.text_body == "body\n"


def test_mailsploit_nul_in_from_is_flagged() -> None:
    parsed = parse_eml(_eml("""
From: {word}=?utf-8?Q?=00?={word}@mailsploit.com
Subject: hi
""".format(word="=?utf-8?b?cG90dXNAd2hpdGVob3VzZS5nb3Y=?=")))
    assert parsed.from_addr is not None
    assert parsed.from_addr.endswith("@mailsploit.com")  # the address the MTA really sees
    decoded_from = dict(parsed.headers)["From"]
    assert decoded_from.startswith("potus@whitehouse.gov\x00")
    codes = _codes(parsed)
    assert "encoded_word_control_chars" in codes
    assert "encoded_word_in_address" in codes


def test_encoded_newline_and_bidi_in_display_name_are_flagged() -> None:
    parsed = parse_eml(_eml("""
From: =?utf-8?q?Support=0ABcc=3A_x=40evil=2Eexample?= <support@bank.example>
Subject: =?utf-8?q?invoice_=E2=80=AEfdp=2Eexe?=
"""))
    assert parsed.from_addr == "support@bank.example"  # decoding never changes the parsed address
    flag = next(f for f in parsed.flags if f["code"] == "encoded_word_control_chars")
    assert "From" in flag["message"]
    assert "Subject" in flag["message"]


def test_display_name_spoof() -> None:
    quoted = parse_eml(_eml('From: "security@paypal.com" <attacker@evil.example>\nSubject: x'))
    assert quoted.from_addr == "attacker@evil.example"
    spoof = next(f for f in quoted.flags if f["code"] == "display_name_spoof")
    assert "security@paypal.com" in spoof["message"]
    # The unquoted form fails strict parsing (CVE-2023-27043) but must still yield the real address.
    unquoted = parse_eml(_eml("From: security@paypal.com <attacker@evil.example>\nSubject: x"))
    assert unquoted.from_addr == "attacker@evil.example"
    assert {"display_name_spoof", "from_malformed"} <= _codes(unquoted)
    honest = parse_eml(_eml('From: "Alice" <alice@example.org>\nSubject: x'))
    assert "display_name_spoof" not in _codes(honest)


def test_return_path_and_reply_to_mismatch_use_registrable_domain() -> None:
    same_org = parse_eml(_eml("""
Return-Path: <bounces@mail.bank.co.uk>
From: Bank <alerts@bank.co.uk>
Reply-To: help@support.bank.co.uk
Message-ID: <1@out.bank.co.uk>
"""))
    assert not _codes(same_org) & {"from_return_path_mismatch", "from_reply_to_mismatch",
                                   "message_id_domain_mismatch"}
    spoofed = parse_eml(_eml("""
Return-Path: <x@bulk-sender.example>
From: Bank <alerts@bank.co.uk>
Reply-To: "Bank" <bank.help@gmail.com>
Message-ID: <1@bulk-sender.example>
"""))
    expected = {"from_return_path_mismatch", "from_reply_to_mismatch", "message_id_domain_mismatch"}
    assert expected <= _codes(spoofed)
    assert spoofed.return_path == "x@bulk-sender.example"
    assert spoofed.message_id == "1@bulk-sender.example"
    bounce = parse_eml(_eml("Return-Path: <>\nFrom: a@example.org"))
    assert bounce.return_path == ""
    assert "from_return_path_mismatch" not in _codes(bounce)


def test_registrable_domain_rule() -> None:
    assert registrable_domain("a.b.example.com") == "example.com"
    assert registrable_domain("mail.bank.co.uk") == "bank.co.uk"
    assert registrable_domain("user@Sub.Example.COM.") == "example.com"
    assert registrable_domain("81.2.69.142") == "81.2.69.142"
    assert registrable_domain("localhost") == "localhost"
    assert registrable_domain(None) is None


def test_spf_fail_and_auth_verdict_precedence() -> None:
    parsed = parse_eml(_eml("""
Authentication-Results: mx.recipient.example; spf=fail (sender IP is 81.2.69.142)
 smtp.mailfrom=bank.example; dkim=fail header.d=other.example; dkim=pass header.d=bank.example;
 dmarc=fail (p=REJECT) header.from=bank.example
Authentication-Results: relay.sender.example; spf=pass smtp.mailfrom=bank.example; dmarc=pass
Received-SPF: Pass (relay)
From: a@bank.example
"""))
    assert parsed.auth["spf"] == "fail"  # the topmost header wins
    assert parsed.auth["dkim"] == "pass"  # one valid signature authenticates
    assert parsed.auth["dmarc"] == "fail"
    assert len(parsed.auth["raw"]) == 2
    assert {"spf_fail", "dmarc_fail"} <= _codes(parsed)
    assert "dkim_fail" not in _codes(parsed)


def test_received_spf_fills_missing_spf() -> None:
    parsed = parse_eml(_eml("Received-SPF: SoftFail (example.net: domain transitioning)\nFrom: a@b.example"))
    assert parsed.auth["spf"] == "softfail"
    assert "spf_fail" in _codes(parsed)


def test_hop_times_flags_and_date_checks() -> None:
    parsed = parse_eml(_eml("""
Received: from c.example (c.example [81.2.69.162]) by mx.example with ESMTP id 3;
 Thu, 3 Aug 2023 10:00:00 +0000
Received: from b.example (b.example [81.2.69.161]) by c.example with ESMTP id 2;
 Tue, 1 Aug 2023 09:00:00 +0000
Received: from a.example (a.example [81.2.69.160]) by b.example with ESMTP id 1;
 Tue, 1 Aug 2023 12:00:00 +0200
Date: Fri, 4 Aug 2023 10:00:00 +0000
From: a@a.example
X-Originating-IP: [81.2.69.99]
X-Forwarded-For: 10.0.0.1, 81.2.69.98
"""))
    assert [h.id for h in parsed.hops] == ["1", "2", "3"]
    assert parsed.hops[1].delay_s == -3600.0
    assert "negative_delay" in parsed.hops[1].flags
    assert "long_delay" in parsed.hops[2].flags
    assert parsed.hops[2].delay_s == 2 * 86400 + 3600.0
    assert {"hop_time_out_of_order", "date_after_last_hop"} <= _codes(parsed)
    # Hops are numbered from 1, origin first, as in the message view (desktop.core.hop_numbers).
    messages = {f["code"]: f["message"] for f in parsed.flags}
    assert "(first: hop 2 of 3, -3600 s)" in messages["hop_time_out_of_order"]
    assert "(hop 3 of 3, 2023-08-03 10:00:00Z)" in messages["date_after_last_hop"]
    assert parsed.date_utc == "2023-08-04T10:00:00.000000Z"
    assert parsed.origin_index == 0
    assert parsed.origin_ip == "81.2.69.160"
    assert parsed.originating_ips == [
        {"header": "X-Originating-IP", "ip": "81.2.69.99"},
        {"header": "X-Forwarded-For", "ip": "10.0.0.1"},
        {"header": "X-Forwarded-For", "ip": "81.2.69.98"},
    ]
    early = parse_eml(_eml("""
Received: from a.example ([81.2.69.160]) by b.example with ESMTP; Tue, 1 Aug 2023 12:00:00 +0000
Date: Mon, 31 Jul 2023 12:00:00 +0000
From: a@a.example
"""))
    assert "date_before_first_hop" in _codes(early)


def test_to_dict_is_json_and_excludes_attachment_bytes() -> None:
    part = ("application/octet-stream", 'attachment; filename="a.bin"', b"\x00\x01")
    parsed = parse_eml(_multipart([part]))
    out = parsed.to_dict()
    text = json.dumps(out)
    assert "data" not in out["attachments"][0]
    assert out["attachments"][0]["size"] == 2
    assert '"headers"' in text


# ------------------------------------------------------------------------------------------------
# Bodies and attachments


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "BOUND") -> bytes:
    out = [f'From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n'
           f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\npreamble\r\n'.encode()]
    for ctype, disposition, body in parts:
        out.append(f"--{boundary}\r\nContent-Type: {ctype}\r\n".encode())
        if disposition:
            out.append(f"Content-Disposition: {disposition}\r\n".encode())
        out.append(b"\r\n" + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def test_bodies_decoded_with_their_charset() -> None:
    parsed = parse_eml(_multipart([
        ("text/plain; charset=iso-8859-1", None, "Gr\xfc\xdfe".encode("latin-1")),
        ("text/html; charset=utf-8", None, "<p>Grüße</p>".encode()),
        ("text/plain; charset=bogus-charset", None, b"second \xff"),
    ]))
    assert parsed.text_body == "Grüße"
    assert parsed.html_body == "<p>Grüße</p>"
    assert len(parsed.attachments) == 1  # the second text part is kept, as an inline part
    assert parsed.attachments[0].data == b"second \xff"


def test_attachment_names_are_sanitised_and_raw_kept() -> None:
    parsed = parse_eml(_multipart([
        ("text/plain", None, b"body"),
        ("application/octet-stream", 'attachment; filename="../../etc/passwd"', b"root:x:0:0"),
        ("application/x-msdownload", 'attachment; filename="C:\\\\Windows\\\\x.exe"', b"MZ"),
        ("application/pdf", "attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe%00.pdf", b"%PDF"),
        ("image/png", None, b"\x89PNG"),
    ]))
    names = [(a.name, a.raw_name) for a in parsed.attachments]
    assert names[0] == ("passwd", "../../etc/passwd")
    assert names[1] == ("x.exe", "C:\\Windows\\x.exe")
    assert names[2] == ("invoicefdp.exe.pdf", "invoice\u202efdp.exe\x00.pdf")
    assert names[3] == ("", "")
    assert [a.disposition for a in parsed.attachments] == ["attachment", "attachment", "attachment", None]
    assert parsed.attachments[0].data == b"root:x:0:0"


def test_clean_filename_edge_cases() -> None:
    assert clean_filename("..") == ""
    assert clean_filename("/") == ""
    assert clean_filename("a\x00b\r\nc.txt") == "abc.txt"
    assert clean_filename("D:relative.doc") == "relative.doc"
    assert len(clean_filename("x" * 1000)) == 255


def test_nested_message_exposed_with_exact_bytes() -> None:
    inner = (b"From: inner@example.org\r\nSubject: =?utf-8?q?inner?=\r\n"
             b"Content-Type: text/plain; charset=latin-1\r\n\r\n"
             b"Caf\xe9 line one\r\nline two\r\n\r\n--NOTBOUND\r\n")
    outer = _multipart([("text/plain", None, b"see attached"),
                        ("message/rfc822", 'attachment; filename="fwd.eml"', inner)])
    parsed = parse_eml(outer)
    assert parsed.text_body == "see attached"
    [attached] = parsed.attachments
    assert attached.is_message
    assert attached.content_type == "message/rfc822"
    assert attached.data == inner
    assert parse_eml(attached.data).subject == "inner"  # the caller can recurse on it


def test_base64_message_rfc822_is_decoded_to_the_inner_bytes() -> None:
    inner = b"From: x@example.org\r\nSubject: b64\r\n\r\nbody\r\n"
    import base64

    outer = _multipart([("message/rfc822\r\nContent-Transfer-Encoding: base64", None,
                         base64.encodebytes(inner).replace(b"\n", b"\r\n").rstrip())])
    [attached] = parse_eml(outer).attachments
    assert attached.is_message
    assert attached.data == inner


def test_part_count_cap() -> None:
    parts = [("text/plain", "attachment", b"x")] * (MAX_PARTS + 5)
    parsed = parse_eml(_multipart(parts))
    assert any(f"more than {MAX_PARTS} MIME parts" in d for d in parsed.defects)
    assert len(parsed.attachments) <= MAX_PARTS
    assert parsed.from_addr == "a@example.org"  # headers survive the cap


def test_depth_cap() -> None:
    depth = MAX_DEPTH + 10
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    tail = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    data = ("From: a@example.org\r\nSubject: deep\r\n" + head + "Content-Type: text/plain\r\n\r\nleaf" + tail
            + "\r\n").encode()
    parsed = parse_eml(data)
    assert any(f"deeper than {MAX_DEPTH}" in d for d in parsed.defects)
    assert parsed.subject == "deep"


def test_garbage_never_raises() -> None:
    for data in (b"", b"\x00\xff" * 100, b"Content-Type: multipart/mixed; boundary=\n\n--\n--\n",
                 b"From: <<<@@@>>>\nTo: ,,,,\nDate: 99 Foo 99999 99:99\n\n", b"\r\n\r\n\r\n"):
        parsed = parse_eml(data)
        json.dumps(parsed.to_dict())


# ------------------------------------------------------------------------------------------------
# .msg specifics


def test_parse_msg_rejects_non_msg_bytes() -> None:
    with pytest.raises(MailParseError):
        parse_msg(b"not an OLE file")


def test_embedded_msg_attachment_is_exported_as_msg_bytes() -> None:
    class Embedded:
        def exportBytes(self, allowBadEmbed: bool = False) -> bytes:  # noqa: N803 - extract_msg's name
            assert allowBadEmbed
            return b"\xd0\xcf\x11\xe0rebuilt"

    embedded_type = object()
    att = SimpleNamespace(longFilename="fwd: report", shortFilename=None, type=embedded_type, data=Embedded(),
                          cid=None, hidden=False)
    defects: list[str] = []
    result = mail._msg_attachment(att, embedded_type, defects)
    assert result is not None
    assert result.is_message
    assert result.content_type == "application/vnd.ms-outlook"
    assert result.data == b"\xd0\xcf\x11\xe0rebuilt"
    assert defects == []


# ------------------------------------------------------------------------------------------------
# Sniffing and mbox


def test_sniff_by_content_not_name() -> None:
    eml = b"Received: from a by b; Tue, 1 Aug 2023 10:00:00 +0000\r\nFrom: a@b.example\r\nSubject: x\r\n\r\n"
    assert sniff_mail(eml, "text/plain", "report.pdf") == "eml"
    assert sniff_mail(b"From: a@b.example\nTo: c@d.example\n\nbody", "text/plain", "x") == "eml"
    assert sniff_mail(b"From sender@example.org Mon Jan  1 00:00:00 2024\n" + eml, "application/mbox",
                      "a.eml") == "mbox"
    ole = OLE_MAGIC + b"\x00" * 200 + "__substg1.0_0037001F".encode("utf-16-le")
    assert sniff_mail(ole, "application/CDFV2", "a.doc") == "msg"
    bare_ole = OLE_MAGIC + b"\x00" * 100
    assert sniff_mail(bare_ole, "application/vnd.ms-outlook", "") == "msg"
    assert sniff_mail(bare_ole, "application/msword", "a.msg") is None
    assert sniff_mail(b"Subject: my notes\nthese are notes\n", "text/plain", "notes.eml") is None
    assert sniff_mail(b"%PDF-1.7\n", "application/pdf", "mail.eml") is None


def _mbox_of(messages: list[bytes]) -> bytes:
    return b"".join(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2024\n" + m for m in messages)


def test_split_mbox_round_trips_exact_bytes() -> None:
    messages = [
        b"From: a@example.org\nSubject: one\n\nbody one\nFrom here we went on\n\n",
        b"From: b@example.org\r\nSubject: two\r\n\r\n>From quoted line stays quoted\r\n",
        b"From: c@example.org\nSubject: three\n\nlast\n",
    ]
    data = _mbox_of(messages)
    ranges = split_mbox(data)
    assert [data[s:e] for s, e in ranges] == messages
    assert parse_eml(data[ranges[1][0]:ranges[1][1]]).subject == "two"
    assert split_mbox(b"no separator here\n") == []


@needs_corpora
@pytest.mark.corpora
def test_split_mbox_round_trips_real_messages() -> None:
    messages = [p.read_bytes() for p in _corpus("phishing-dev", "sample-1*.eml")]
    messages = [m for m in messages if m.endswith(b"\n") and not m.startswith(b"From ")][:40]
    assert len(messages) >= 20
    data = _mbox_of(messages)
    assert [data[s:e] for s, e in split_mbox(data)] == messages


def test_an_originating_ip_header_is_the_origin_when_the_chain_names_no_public_hop() -> None:
    """Webmail: every Received hop is internal; the provider wrote the client's address."""
    parsed = parse_eml(_eml("""
Received: from web.example (10.1.2.3) by mx.example (10.1.2.4) with ESMTP; Tue, 1 Aug 2023 12:00:05 +0000
Received: from [127.0.0.1] by web.example with HTTP; Tue, 1 Aug 2023 12:00:00 +0000
X-Originating-IP: [81.2.69.142]
Date: Tue, 1 Aug 2023 12:00:00 +0000
From: a@a.example
"""))
    assert parsed.origin_ip == "81.2.69.142"
    assert parsed.origin_header == "X-Originating-IP"
    assert parsed.origin_index is None
    assert parsed.origin_host is None
    # A public hop in the chain stays the origin; a private or documentation header address never is.
    chained = parse_eml(_eml("""
Received: from a.example ([81.2.69.160]) by b.example with ESMTP; Tue, 1 Aug 2023 12:00:00 +0000
X-Originating-IP: [81.2.69.142]
From: a@a.example
"""))
    assert (chained.origin_ip, chained.origin_header) == ("81.2.69.160", None)
    for client in ("10.0.0.7", "192.0.2.10"):
        internal = parse_eml(_eml(f"""
Received: from [127.0.0.1] by web.example with HTTP; Tue, 1 Aug 2023 12:00:00 +0000
X-Originating-IP: [{client}]
From: a@a.example
"""))
        assert internal.origin_ip is None
