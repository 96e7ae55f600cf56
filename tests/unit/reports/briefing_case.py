# SPDX-License-Identifier: GPL-3.0-or-later
"""Build realistic cases for the briefing and package tests (and the benchmark) without analysers.

Files are acquired through the real vault; findings (a message with hops, a video with kept
frames and OCR boxes, a screenshot, indicators, tags) are written with ``desktop.core.findings``
the way the pipeline would, and the assessment is filled through ``desktop.core.analysis``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from desktop.core import analysis, findings
from desktop.core.acquire import acquire_derived, import_paths
from desktop.core.case import Case, Item
from desktop.core.progress import run_to_end
from desktop.core.tags import apply_tags

HOSTILE = [
    '<font color="[[[getattr(pow, Word(\'__globals__\'))[\'os\'].system(\'touch /tmp/casetrail-pwned\') '
    "for Word in [orgTypeFun('Word', (str,), { 'mutated': 1, 'startswith': lambda self, x: False, "
    "'__eq__': lambda self,x: self.mutated and self.mutated.__sub__(1) and False})] ] and 'red'\">"
    "exploit</font>",
    '<img src="file:///etc/passwd"/>',
    "&amp; &lt;b&gt; &#60;",
    "invoice\u202egpj.exe",
    "<b>not bold</b> <i>not italic</i>",
    '<a href="https://evil.example/">click</a>',
]
SCRIPTS = "Ελληνικά Кириллица 中文 日本語 한국어 שלום עולם مرحبا"

FRAME_TEXT = [("203.0.113.7", (40, 60)), ("login-portal.example.net", (40, 140))]


def frame_png(texts: list[tuple[str, tuple[int, int]]], size: tuple[int, int] = (640, 360)) -> bytes:
    """A synthetic video frame: a dark terminal with some text lines."""
    im = Image.new("RGB", size, (24, 28, 36))
    d = ImageDraw.Draw(im)
    for y in range(0, size[1], 24):
        d.line((0, y, size[0], y), fill=(30, 35, 45))
    for text, (x, y) in texts:
        d.text((x, y), text, fill=(120, 230, 140), font_size=28)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _bbox(text: str, at: tuple[int, int]) -> list[int]:
    return [at[0] - 2, at[1] - 2, 16 * len(text) + 6, 36]


def build_case(root: Path, *, hostile: bool = True, title: str = "Operation Paper Lantern") -> Case:
    """Create a case with a message, a video with two kept frames, a screenshot and an analysis."""
    ev = root / "evidence"
    ev.mkdir(parents=True, exist_ok=True)
    (ev / "phish.eml").write_bytes(b"From: a@b\r\nSubject: invoice\r\n\r\nhello\r\n")
    (ev / "screen-recording.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    shot = frame_png([("hxxp://payload[.]example[.]org/a.exe", (60, 300))], (1280, 720))
    (ev / "screenshot.png").write_bytes(shot)
    (ev / "notes.txt").write_text("hostile name test\n")
    hostile_name = ev / ("report\u202egpj.exe" if hostile else "report.exe")
    hostile_name.write_bytes(b"MZ fake")
    case = Case.create(root / "brief.casetrail", title=title, examiner="Dana Analyst", tlp="amber")
    report = run_to_end(import_paths(case, [ev], "warrant 2024-117"))
    items = {Path(a.item.source_path).name: a.item for a in report.acquired}
    mail, video, screen = items["phish.eml"], items["screen-recording.mp4"], items["screenshot.png"]
    frames: list[Item] = []
    for n, t in enumerate((12.0, 47.5)):
        # The address typed at 12 s is still on the screen at 47.5 s, as on any terminal; the
        # pipeline records it where it was first read, so the later frame's hits do not name it.
        data = frame_png(FRAME_TEXT) if n == 0 else frame_png([*FRAME_TEXT, ("ls /tmp", (40, 220))])
        frames.append(acquire_derived(case, video, f"frame-{t:09.3f}s.png", data, "video frame",
                                      {"time_s": t, "frame_index": n * 10}).item)
    subject = "Rechnung / счёт / 請求書" + (" " + HOSTILE[4] if hostile else "")
    with case.transaction() as conn:
        findings.record_email(conn, mail.id, {
            "from_name": "Accounts" + (" " + HOSTILE[0] if hostile else ""),
            "from_addr": "billing@paper-lantern.example.com", "reply_to": ["drop@mailbox.example.org"],
            "return_path": "bounce@relay.example.net", "to": ["victim@corp.example"],
            "date_raw": "Tue, 05 Mar 2024 09:14:03 +0100", "date_utc": "2024-03-05T08:14:03Z",
            "subject": subject, "message_id": "<abc123@paper-lantern.example.com>",
            "message_id_domain": "paper-lantern.example.com",
            "x_mailer": HOSTILE[1] if hostile else "Mailer 1",
            "origin_ip": "198.51.100.23", "auth": {"spf": "softfail", "dkim": "none", "dmarc": "fail"},
            "flags": ["Reply-To differs from From"], "headers": [["From", "x"]],
            "hops": [
                {"index": 1, "from_host": "mx.attacker.example", "from_ip": "198.51.100.23",
                 "by_host": "relay.example.net", "protocol": "ESMTP", "time_utc": "2024-03-05T08:14:05Z",
                 "delay_s": 2.0},
                {"index": 2, "from_host": "relay.example.net", "from_ip": "192.0.2.10",
                 "by_host": "mx.corp.example", "protocol": "ESMTPS", "time_utc": "2024-03-05T08:14:09Z",
                 "delay_s": 4.0},
            ], "origin_index": 1, "text_body": "pay now"})
        findings.record_media(conn, video.id, "video", {"duration_s": 60.0,
                                                         "creation_time": "2024-03-04T22:01:00.000000Z"})
        exif = {"DateTimeOriginal": "2024:03:05 10:00:00"}
        findings.record_media(conn, screen.id, "image", {"width": 1280, "height": 720, "exif": exif})
        lines = [{"text": text, "box": _bbox(text, at), "time_s": 12.0, "frame_index": 0, "confidence": 0.9}
                 for text, at in FRAME_TEXT]
        findings.record_ocr_lines(conn, video.id, lines)
        occ: list[dict[str, Any]] = [
            {"type": "ipv4", "value": "203.0.113.7", "source": "ocr", "where": "frame", "raw": "203.0.113.7",
             "status": "certain", "time_s": 12.0, "bbox": _bbox(*FRAME_TEXT[0]), "confidence": 0.9,
             "frame_item_id": frames[0].id},
            {"type": "domain", "value": "login-portal.example.net", "source": "ocr", "where": "frame",
             "raw": "login-portal.example.net", "time_s": 12.0, "bbox": _bbox(*FRAME_TEXT[1]),
             "confidence": 0.8, "frame_item_id": frames[0].id, "status": "certain"},
            {"type": "domain", "value": "login-portal.example.net", "source": "ocr", "where": "frame",
             "raw": "login-portal.example.net", "time_s": 47.5, "bbox": _bbox(FRAME_TEXT[1][0], (40, 140)),
             "confidence": 0.8, "frame_item_id": frames[1].id, "status": "certain"},
        ]
        findings.record_occurrences(conn, video.id, occ)
        findings.record_occurrences(conn, screen.id, [
            {"type": "url", "value": "http://payload.example.org/a.exe", "source": "ocr", "where": "image",
             "raw": "hxxp://payload[.]example[.]org/a.exe", "bbox": [58, 298, 560, 36], "confidence": 0.7,
             "status": "certain"}])
        findings.record_occurrences(conn, mail.id, [
            {"type": "email", "value": "billing@paper-lantern.example.com", "source": "header",
             "where": "From"},
            {"type": "domain", "value": "paper-lantern.example.com", "source": "header", "where": "From"},
            {"type": "ipv4", "value": "198.51.100.23", "source": "header", "where": "Received hop 1"},
        ])
        for i in list(items.values()) + frames:
            findings.mark_analysed(conn, examiner=case.examiner, item_id=i.id, sha256=i.sha256, kind=i.kind)
    apply_tags(case, indicator="203.0.113.7", tags=["attack-pattern:T1566", "tlp:amber"])
    h1 = analysis.add_hypothesis(case, "State-linked operators (APT-Lantern)",
                                 "Infrastructure and tooling overlap with earlier state-linked activity.")
    h2 = analysis.add_hypothesis(case, "False flag by another actor",
                                 "Someone imitates APT-Lantern to misdirect attribution.")
    h3 = analysis.add_hypothesis(case, "The group named in the From line",
                                 "The self-declared sender is who it claims to be.")
    e1 = analysis.add_evidence(case, "Reply-To and Return-Path differ from From", kind="item", ref_id=mail.id,
                               credibility="high", relevance="medium")
    e2 = analysis.add_evidence(case, "C2 address 203.0.113.7 visible in the screen recording",
                               kind="item", ref_id=frames[0].id, credibility="high", relevance="high")
    e3 = analysis.add_evidence(case, "DMARC fail for the sending domain", kind="item", ref_id=mail.id,
                               credibility="medium", relevance="low")
    grid = {(e1.id, h1.id): "C", (e1.id, h2.id): "C", (e1.id, h3.id): "II",
            (e2.id, h1.id): "CC", (e2.id, h2.id): "I", (e2.id, h3.id): "I",
            (e3.id, h1.id): "N", (e3.id, h2.id): "C", (e3.id, h3.id): "I"}
    for (e, h), r in grid.items():
        analysis.set_rating(case, e, h, r)
    analysis.add_judgment(case, "The intrusion was most likely carried out by state-linked operators "
                          "reusing APT-Lantern infrastructure.", confidence="moderate", likelihood="likely")
    analysis.add_judgment(case, "The sender named in the From line did not send the message.",
                          confidence="high", likelihood="very likely")
    analysis.add_note(case, "Frame at 12 s shows the operator's terminal; see exhibit.", item_id=frames[0].id)
    analysis.add_note(case, "Hostile text: " + " | ".join(HOSTILE) if hostile else "plain note")
    analysis.add_note(case, "Scripts: " + SCRIPTS)
    analysis.add_event(case, "2024-03-05T09:30:00Z", "Victim reported the message to the SOC")
    return case


LANTERN_SET = "APT-Lantern (test intrusion set)"
ASN_NAME = "WORLDSTREAM"


def lantern_feed() -> dict[str, Any]:
    """A STIX 2.1 bundle attributing 203.0.113.7 (on screen in the case's frame) to an intrusion set."""
    ident = "identity--6f3b4c2e-1d2a-4c9b-9f3e-2b7d8e1a0c11"
    iset = "intrusion-set--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    ind = "indicator--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
    when = "2024-01-01T00:00:00.000Z"
    common = {"spec_version": "2.1", "created": when, "modified": when}
    return {"type": "bundle", "id": "bundle--2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "objects": [
        {"type": "identity", "id": ident, "name": "Test partner", "identity_class": "organization", **common},
        {"type": "intrusion-set", "id": iset, "name": LANTERN_SET, "created_by_ref": ident, **common},
        {"type": "indicator", "id": ind, "name": "Lantern C2", "pattern": "[ipv4-addr:value = '203.0.113.7']",
         "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00.000Z", "confidence": 85,
         "created_by_ref": ident, **common},
        {"type": "relationship", "id": "relationship--3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
         "relationship_type": "indicates", "source_ref": ind, "target_ref": iset, **common},
    ]}


def add_intel(folder: Path) -> tuple[Path, Path]:
    """Import the test feed and an ip2asn table into the workstation library of ``$CASETRAIL_HOME``."""
    import json

    from desktop.core.intel import Library

    folder.mkdir(parents=True, exist_ok=True)
    feed = folder / "lantern.stix.json"
    feed.write_text(json.dumps(lantern_feed()), encoding="utf-8")
    table = folder / "ip2asn-test.tsv"
    table.write_text(f"203.0.113.0\t203.0.113.255\t49981\tNL\t{ASN_NAME}\n"
                     "198.51.100.0\t198.51.100.255\t64502\tUS\tEXAMPLE-RELAY-US\n", encoding="utf-8")
    with Library.open() as lib:
        lib.import_feed(feed)
        lib.import_feed(table)
    return feed, table
