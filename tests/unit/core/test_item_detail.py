# SPDX-License-Identifier: GPL-3.0-or-later
"""What the item panes read: media facts, OCR lines and the indicators on them, occurrences, search."""

from __future__ import annotations

from pathlib import Path

import pytest
from window_case import build

from desktop.core import analysis, item_detail
from desktop.core.case import Case
from desktop.core.findings import record_media, record_occurrences, record_ocr_lines, record_text


@pytest.fixture
def ids(case: Case, tmp_path: Path) -> dict[str, int]:
    return build(case, tmp_path / "evidence")


def test_ocr_lines_with_the_indicators_read_on_them(case: Case, ids: dict[str, int]) -> None:
    video = ids["logo.png"]
    with case.transaction() as conn:
        record_media(conn, video, "video", {"duration_s": 9.0, "fps": 10})
        record_ocr_lines(conn, video, [
            {"text": "$ ssh operator@185.141.63.120", "confidence": 0.9, "box": [10, 40, 300, 20],
             "time_s": 0.5},
            {"text": "ls", "confidence": 0.8, "box": [10, 10, 30, 20], "time_s": 0.5},
            {"text": "scp beacon.exe root@203.0.113.77:/www", "confidence": 0.7, "box": [10, 70, 300, 20],
             "time_s": 7.0}])
        record_occurrences(conn, video, [
            {"type": "ipv4", "value": "185.141.63.120", "source": "ocr", "where": "video frame",
             "time_s": 0.5, "bbox": [10, 40, 300, 20], "status": "certain"},
            {"type": "ipv4", "value": "10.0.0.9", "source": "analyst", "where": "region selected by analyst",
             "time_s": 7.0, "bbox": [1, 2, 3, 4]}])
    conn = case.db.conn
    assert item_detail.media_of(conn, video) == {"duration_s": 9.0, "fps": 10, "_kind": "video"}
    found = item_detail.ocr_found(conn, video)
    line_ids = item_detail.ocr_line_ids(conn, video)
    lines = item_detail.ocr_lines(conn, line_ids, found)
    assert [lines[i].text for i in line_ids] == ["ls", "$ ssh operator@185.141.63.120",
                                                 "scp beacon.exe root@203.0.113.77:/www"]
    assert lines[line_ids[1]].indicators == ("185.141.63.120",)
    only = item_detail.ocr_line_ids(conn, video, only=set(found))
    assert [lines[i].text for i in only] == ["$ ssh operator@185.141.63.120"]
    near = item_detail.ocr_lines_near(conn, video, 1.2, found)
    assert [line.text for line in near] == ["ls", "$ ssh operator@185.141.63.120"]
    assert item_detail.ocr_lines_near(conn, video, 5.0, found) == [], "nothing read in the 1.5 s before"
    assert item_detail.hit_times(conn, video) == [0.5, 7.0]
    boxes = item_detail.analyst_boxes(conn, [video])
    assert [(b.box, b.value) for b in boxes] == [((1, 2, 3, 4), "10.0.0.9")]


def test_occurrences_facts_and_search(case: Case, ids: dict[str, int]) -> None:
    conn = case.db.conn
    ten = next(i for i, t, v in conn.execute("SELECT id, type, value FROM indicators") if v == "10.0.0.10")
    occ = item_detail.occurrences(conn, ten)
    assert [(o.item_name, o.source) for o in occ] == [("b-mail.eml", "body"), ("b-mail.eml", "header"),
                                                      ("invoice.pdf", "attachment")]
    assert occ[0].to_dict()["where"] == "text body"
    facts = item_detail.indicator(conn, ten)
    assert facts is not None
    assert (facts.type, facts.value) == ("ipv4", "10.0.0.10")
    assert item_detail.indicator(conn, 999999) is None
    with case.transaction() as tx:
        record_text(tx, ids["a-note.txt"], "text", "operator staged beacon.exe on the VPS")
    hits = item_detail.search(conn, "beacon.exe")
    assert [(h.hit.item_id, h.item_name) for h in hits] == [(ids["a-note.txt"], "a-note.txt")]


def test_raw_source_shows_every_byte(tmp_path: Path) -> None:
    blob = tmp_path / "m.eml"
    blob.write_bytes(b"Subject: caf\xe9\r\n\r\nbody\x00end")
    raw = item_detail.raw_source(blob, blob.stat().st_size)
    assert raw.text == "Subject: caf\\xe9\r\n\r\nbody\x00end"
    assert not raw.truncated
    short = item_detail.raw_source(blob, blob.stat().st_size, limit=4)
    assert (short.text, short.truncated) == ("Subj", True)


def test_ach_reference_choices_are_searched_and_bounded(case: Case, ids: dict[str, int]) -> None:
    assert [t for _i, t in analysis.reference_choices(case, "item", "invoice")] == [
        f"{ids['invoice.pdf']}: invoice.pdf"]
    assert len(analysis.reference_choices(case, "item", limit=2)) == 2
    assert analysis.reference_choices(case, "item", str(ids["c-big.bin"]))[0][0] == ids["c-big.bin"]
    assert [t.split(": ", 1)[1] for _i, t in analysis.reference_choices(case, "indicator", "10.0.0")] == [
        "ipv4 10.0.0.9", "ipv4 10.0.0.10"]
    analysis.add_note(case, "the hop from the VPS range")
    assert analysis.reference_choices(case, "note", "vps")[0][1].endswith("the hop from the VPS range")
    assert analysis.reference_choices(case, "match") == []
