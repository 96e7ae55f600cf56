# SPDX-License-Identifier: GPL-3.0-or-later
"""What one analysis keeps is bounded, says what it cut, and never loses an indicator found."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from desktop.core import limits
from desktop.core.case import Case
from desktop.core.findings import email_of, search_text
from desktop.core.progress import run_to_end
from desktop.ingest import spool
from desktop.ingest.bounds import bound_result
from desktop.ingest.pipeline import import_and_analyse
from desktop.ingest.sandbox import AnalysisFailed, Sandbox

FAKE = str(Path(__file__).with_name("fake_worker.py"))


def _occ(value: str, type_: str = "domain") -> dict[str, str]:
    return {"type": type_, "value": value, "source": "body", "where": "text body"}


def test_bodies_headers_and_hops_are_cut_and_recorded() -> None:
    hops = [{"index": i, "from_host": f"h{i}"} for i in range(limits.HOPS + 100)]
    mail = {"text_body": "x" * (limits.STORED_TEXT + 5), "subject": "s" * (limits.HEADER_VALUE + 9),
            "headers": [["Received", f"from h{i}"] for i in range(limits.HEADERS + 1)], "hops": hops}
    out = bound_result({"kind": "email", "summary": "", "email": mail})
    kept = out["email"]
    assert len(kept["text_body"]) == limits.STORED_TEXT
    assert kept["subject"].startswith("s" * limits.HEADER_VALUE)
    assert kept["subject"].endswith("[9 more characters]")
    assert len(kept["headers"]) == limits.HEADERS
    indexes = [h["index"] for h in kept["hops"]]
    assert indexes[0] == 0
    assert indexes[-1] == len(hops) - 1
    assert len(indexes) == limits.HOPS
    cut = out["detail"]["bounded"]
    assert cut["text_body"] == {"chars": limits.STORED_TEXT + 5, "kept": limits.STORED_TEXT}
    assert cut["hops"]["found"] == len(hops)
    assert "kept whole in the vault" in out["notes"][-1]


def test_occurrences_are_capped_per_value_and_every_value_is_kept() -> None:
    many = [_occ("same.example")] * (limits.OCCURRENCES_PER_VALUE + 50) + [_occ("other.example")]
    out = bound_result({"kind": "text", "summary": "", "occurrences": many})
    values = [o["value"] for o in out["occurrences"]]
    assert values.count("same.example") == limits.OCCURRENCES_PER_VALUE
    assert values.count("other.example") == 1
    assert out["detail"]["bounded"]["occurrences"]["found"] == len(many)


def test_an_oversized_value_keeps_its_identity() -> None:
    a, b = "http://x.example/" + "a" * 20_000, "http://x.example/" + "a" * 19_999 + "b"
    out = bound_result({"kind": "text", "summary": "", "occurrences": [_occ(a, "url"), _occ(b, "url")]})
    first, second = (o["value"] for o in out["occurrences"])
    assert first != second
    assert len(first) < 9000
    assert "SHA-256 of the whole value" in first


def test_texts_are_cut_into_index_pieces_within_the_budget(tmp_path: Path) -> None:
    text = "word " * ((limits.INDEX_PIECE * 2) // 5 + 10)
    out = bound_result({"kind": "text", "summary": "", "texts": [{"part": "text", "text": text}]})
    assert all(len(p["text"]) <= limits.INDEX_PIECE for p in out["texts"])
    assert "".join(p["text"] for p in out["texts"]) == text
    pieces, left_out = spool.index_pieces([{"part": "a", "text": "x" * 10}], budget=4)
    assert [p["text"] for p in pieces] == ["xxxx"]
    assert left_out == 6


def test_large_lists_are_spooled_and_read_back_in_batches(tmp_path: Path) -> None:
    many = [_occ(f"d{i}.example") for i in range(2 * limits.SPOOL_BATCH + 2000)]
    out = spool.spill({"kind": "text", "summary": "", "occurrences": many,
                       "ocr_lines": [{"text": "small"}]}, tmp_path)
    assert out["spooled"] == {"occurrences": "occurrences.jsonl"}
    assert out["occurrences"] == []
    assert out["ocr_lines"] == [{"text": "small"}]
    batches = list(spool.records(dict(out), "occurrences", tmp_path))
    assert [len(b) for b in batches] == [limits.SPOOL_BATCH, limits.SPOOL_BATCH, 2000]
    assert [o for b in batches for o in b] == many
    assert json.loads((tmp_path / "occurrences.jsonl").read_text().splitlines()[0]) == many[0]
    assert spool.has_records(dict(out), "occurrences")
    assert not spool.has_records(dict(out), "texts")


def test_an_answer_larger_than_the_limit_is_refused_and_the_child_replaced() -> None:
    box = Sandbox(memory_mb=2048, command=[sys.executable, FAKE])
    try:
        first = box.run({"id": 1, "name": "a"}, timeout_s=60)["pid"]
        with pytest.raises(AnalysisFailed, match="more than 32 MiB in one piece"):
            box.run({"id": 2, "name": "huge"}, timeout_s=120)
        assert box.run({"id": 3, "name": "a"}, timeout_s=60)["pid"] != first
    finally:
        box.close()


def test_a_message_larger_than_the_limits_is_kept_in_part_indexed_whole_and_says_so(tmp_path: Path) -> None:
    filler = "lorem ipsum dolor " * ((limits.STORED_TEXT + limits.INDEX_PIECE) // 18)
    body = f"first words http://start.example/a\n{filler}\nlast words zanzibarquux http://end.example/z\n"
    raw = ("From: a@example.com\r\nTo: b@example.org\r\nSubject: big\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()
    (tmp_path / "big.eml").write_bytes(raw)
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        report = run_to_end(import_and_analyse(case, [tmp_path / "big.eml"]))
        assert report.analysis_failed == []
        item = case.items()[0]
        mail = email_of(case.db.conn, item.id)
        assert mail is not None
        assert len(mail["text_body"]) == limits.STORED_TEXT
        # The end of the body is past what is kept for display, yet searchable and scanned.
        assert [h.item_id for h in search_text(case.db.conn, "zanzibarquux")] == [item.id]
        values = {r[0] for r in case.db.execute("SELECT value FROM indicators")}
        assert {"http://start.example/a", "http://end.example/z"} <= values
        rows = case.db.execute("SELECT COUNT(*) FROM text_index WHERE item_id = ? AND part = 'body:text'",
                               (item.id,)).fetchone()[0]
        assert rows == -(-len(body) // limits.INDEX_PIECE)
        entry = next(e for e in case.custody() if e["action"] == "analysed")
        assert entry["detail"]["bounded"]["text_body"]["chars"] == len(body)
        assert any("kept whole in the vault" in note for _i, note in report.notes)
        assert not (case.path / "work").exists() or not any((case.path / "work").iterdir())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_spooled_records_need_only_the_jobs_own_folder(tmp_path: Path) -> None:
    (tmp_path / "occurrences.jsonl").write_text(json.dumps(_occ("a.example")) + "\n")
    result = {"spooled": {"occurrences": "../../etc/occurrences.jsonl"}}
    assert [o["value"] for b in spool.records(result, "occurrences", tmp_path) for o in b] == ["a.example"]
