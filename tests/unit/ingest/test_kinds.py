# SPDX-License-Identifier: GPL-3.0-or-later
"""The analyser registry and the kinds on it: choice by content, the PST rebuild, mbox streaming."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.ingest import registry
from desktop.ingest.email import iter_mbox, parse_eml, split_mbox
from desktop.ingest.kinds import pst
from desktop.ingest.plugin import PartWriter, Probe

CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "corpora"
PST = CORPORA / "pst"
needs_pst = pytest.mark.skipif(not PST.is_dir(), reason="../shared/corpora/pst is absent")


def _probe(head: bytes, mime: str, kind: str, name: str = "x", derived_how: str | None = None) -> Probe:
    return Probe(head, mime, kind, name, derived_how, len(head))


@pytest.mark.parametrize(("head", "mime", "kind", "expected"), [
    (b"!BDN\x00\x00", "application/vnd.ms-outlook", "email", "pst"),
    (b"From a@b Sat Jan  3 01:05:34 1996\nReceived: x\n\n", "application/mbox", "email", "mbox"),
    (b"Received: from x\nFrom: a@b\nSubject: s\n\nbody", "message/rfc822", "email", "email"),
    (b"Received: from x\nFrom: a@b\nSubject: s\n\nbody", "text/plain", "text", "email"),  # named .txt
    (b"\x89PNG\r\n\x1a\n", "image/png", "image", "image"),
    (b"\x00\x00\x00\x18ftypmp42", "video/mp4", "video", "video"),
    (b"just some notes", "text/plain", "text", "text"),
    (b"\x7fELF", "application/x-executable", "file", None),
])
def test_the_registry_chooses_by_content(head: bytes, mime: str, kind: str, expected: str | None) -> None:
    chosen = registry.choose(_probe(head, mime, kind, name="invoice.pdf"))
    assert (chosen.name if chosen else None) == expected


def test_every_analyser_is_listed_once_with_limits() -> None:
    names = [a.name for a in registry.ANALYSERS]
    assert len(names) == len(set(names))
    for analyser in registry.ANALYSERS:
        assert registry.by_name(analyser.name) is analyser
        assert analyser.limits.timeout_s > 0
        assert analyser.limits.memory_mb >= 512


def test_a_kept_video_frame_is_not_read_twice(tmp_path: Path) -> None:
    image = registry.by_name("image")
    probe = _probe(b"\x89PNG", "image/png", "image", derived_how="video frame")
    result = image.analyse(tmp_path / "unused.png", probe, PartWriter(tmp_path / "out"))
    assert result["summary"] == "video frame, read with its video"


# ---------------------------------------------------------------------------- Outlook stores

def _analyse_store(path: Path, out: Path) -> tuple[dict[str, object], list[bytes]]:
    probe = Probe.of_file(path, mime="application/vnd.ms-outlook", kind="email", name=path.name,
                          derived_how=None)
    assert registry.choose(probe) is pst.ANALYSER
    writer = PartWriter(out)
    result = pst.ANALYSER.analyse(path, probe, writer)
    return dict(result), [(out / p["file"]).read_bytes() for p in writer.parts]


@needs_pst
def test_a_store_yields_every_item_rebuilt_with_its_folder(tmp_path: Path) -> None:
    result, messages = _analyse_store(PST / "dist-list.pst", tmp_path)
    parts = result["parts"]
    assert isinstance(parts, list)
    assert len(parts) == len(messages) == 4
    folders = {p["detail"]["folder"] for p in parts}
    assert "/Top of Personal Folders/Calendar" in folders
    assert "/Top of Personal Folders/Contacts" in folders
    assert all("synthesised from MAPI" in p["detail"]["rebuilt"] for p in parts)  # no transport headers
    appointment = parse_eml(messages[[p["detail"]["message_class"] for p in parts].index("IPM.Appointment")])
    assert appointment.subject == "Test appointment"
    assert appointment.text_body
    assert "complete test" in appointment.text_body
    assert len(appointment.attachments) == 2
    assert "PASSWORD" not in str(result["summary"])
    assert result["detail"] == {"password_protected": False, "message_classes": {
        "IPM.Appointment": 1, "IPM.DistList": 1, "IPM.Contact": 1, "IPM.Microsoft.ScheduleData.FreeBusy": 1}}


@needs_pst
def test_a_password_protected_store_says_so_and_is_read(tmp_path: Path) -> None:
    result, messages = _analyse_store(PST / "passworded.pst", tmp_path)
    assert result["detail"]["password_protected"] is True  # type: ignore[index]
    assert "PASSWORD-PROTECTED" in str(result["summary"])
    assert "read without it" in str(result["summary"])
    assert {parse_eml(m).subject for m in messages} == {"test dist list", "contact name 1", "LocalFreebusy"}


def test_a_message_with_transport_headers_keeps_them_and_gets_a_new_mime_body() -> None:
    inner = pst.MapiMessage(message_class="IPM.Note", subject="inner", sender_addr="x@example.org",
                            text_body="forwarded")
    msg = pst.MapiMessage(
        message_class="IPM.Note",
        transport_headers=("Received: from mx.example.net (mx.example.net [203.0.113.9])\r\n"
                           "\tby mail.example.com; Tue, 2 Aug 2016 00:27:12 +0000\r\n"
                           "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.net>\r\nTo: a@example.com\r\n"
                           "Subject: invoice\r\nContent-Type: multipart/related;\r\n\tboundary=\"old\"\r\n"
                           "MIME-Version: 1.0\r\n\r\n"),
        text_body="see http://evil.example/x", html_body=b"<p>see <a href='http://evil.example/x'>x</a></p>",
        attachments=[pst.MapiAttachment("rechnung.zip", "application/zip", b"PK\x03\x04zip", "cid1"),
                     pst.MapiAttachment("", "message/rfc822", message=inner)])
    data, how = pst.rebuild(msg)
    assert "transport headers as stored" in how
    parsed = parse_eml(data)
    assert parsed.from_addr == "jorg@example.net"
    assert parsed.from_name == "Jörg"
    assert parsed.hops
    assert parsed.hops[0].from_ip == "203.0.113.9"
    assert b"boundary=\"old\"" not in data  # the stored MIME structure fields are replaced
    assert parsed.text_body == "see http://evil.example/x"
    assert parsed.html_body
    names = sorted((a.name, a.is_message) for a in parsed.attachments)
    assert names == [("", True), ("rechnung.zip", False)]
    zipped = next(a for a in parsed.attachments if a.name == "rechnung.zip")
    assert zipped.data == b"PK\x03\x04zip"
    assert zipped.content_id == "cid1"
    embedded = parse_eml(next(a for a in parsed.attachments if a.is_message).data)
    assert embedded.subject == "inner"
    assert embedded.text_body == "forwarded"


def test_a_message_without_headers_gets_synthesised_ones() -> None:
    msg = pst.MapiMessage(message_class="IPM.Note", subject="Grüße", sender_name="Ann",
                          sender_addr="ann@example.com", to=[("Bob", "bob@example.org"), ("Eve", "")],
                          cc=[("Carl", "carl@example.org")], message_id="<m1@example.com>",
                          sent=datetime(2020, 10, 20, 8, 30, tzinfo=UTC), text_body="hello")
    data, how = pst.rebuild(msg)
    assert "synthesised" in how
    parsed = parse_eml(data)
    assert parsed.subject == "Grüße"
    assert parsed.from_addr == "ann@example.com"
    assert [t["addr"] for t in parsed.to] == ["bob@example.org"]
    assert parsed.cc[0]["addr"] == "carl@example.org"
    assert parsed.date_utc == "2020-10-20T08:30:00.000000Z"
    assert parsed.message_id == "m1@example.com"


# ---------------------------------------------------------------------------- mbox streaming

def _mbox(messages: list[bytes]) -> bytes:
    return b"".join(b"From sender@example.com Mon Jan  1 00:00:00 2024\n" + m for m in messages)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(min_value=1, max_value=97),
       st.binary(max_size=40))
def test_streaming_an_mbox_cuts_it_exactly_as_reading_it_whole(bodies: list[bytes], read_size: int,
                                                               preamble: bytes) -> None:
    data = preamble + _mbox([b"Subject: m\nX-N: %d\n\n" % i + b + b"\nFrom there we went\n"
                             for i, b in enumerate(bodies)])
    whole = [(start, data[start:end]) for start, end in split_mbox(data)]
    assert list(iter_mbox(io.BytesIO(data), read_size=read_size)) == whole


def test_streaming_a_large_mbox_holds_one_message_at_a_time() -> None:
    rng = random.Random(5)
    data = _mbox([b"Subject: %d\n\n" % i + rng.randbytes(2000).hex().encode() + b"\n" for i in range(3000)])
    count = 0
    for _start, message in iter_mbox(io.BytesIO(data), read_size=64 << 10):
        assert len(message) < 5000
        count += 1
    assert count == 3000


def _two_bodies_and_an_attachment(text: str = "see http://evil.example/x") -> pst.MapiMessage:
    inner = pst.MapiMessage(message_class="IPM.Note", subject="inner", text_body="a", html_body=b"<p>a</p>")
    return pst.MapiMessage(message_class="IPM.Note", subject="s", sender_addr="x@example.org",
                           text_body=text, html_body=b"<p>see</p>",
                           attachments=[pst.MapiAttachment("r.zip", "application/zip", b"PK\x03\x04zip"),
                                        pst.MapiAttachment("", "message/rfc822", message=inner)])


def test_a_rebuilt_message_is_the_same_bytes_every_time() -> None:
    """Its MIME boundaries come from its content: a store imported twice gives the same messages."""
    first, _how = pst.rebuild(_two_bodies_and_an_attachment())
    again, _how = pst.rebuild(_two_bodies_and_an_attachment())
    assert first == again
    assert first.count(b"boundary=\"=_casetrail_") == 3  # mixed, alternative, and the inner one's
    other, _how = pst.rebuild(_two_bodies_and_an_attachment("another body"))
    assert other != first
    parsed = parse_eml(first)
    assert parsed.text_body == "see http://evil.example/x"
    assert sorted(a.name for a in parsed.attachments) == ["", "r.zip"]


def test_a_boundary_found_in_the_content_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fixed:
        def __init__(self, _data: bytes) -> None:
            pass

        def hexdigest(self) -> str:
            return "0" * 64

    monkeypatch.setattr(pst.hashlib, "sha256", Fixed)
    clash = "=_casetrail_" + "0" * 32
    data, _how = pst.rebuild(_two_bodies_and_an_attachment(f"a line with {clash} in it"))
    assert f'boundary="{clash}.1"'.encode() in data  # the next one free
    assert parse_eml(data).text_body == f"a line with {clash} in it"
