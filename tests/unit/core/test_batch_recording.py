# SPDX-License-Identifier: GPL-3.0-or-later
"""Recording analyses a batch at a time writes what recording them one by one writes.

The pipeline marks a batch of items analysed with one statement of each kind
(``findings.mark_analysed_many``, ``custody.append_many``) and writes their occurrences together
(``findings.OccurrenceWriter``); verify replays the result like any other case.
"""

from __future__ import annotations

from typing import Any

from acquired_notes import acquired_notes

from desktop.core import custody, findings, state
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case


def _sha(case: Case, item_id: int) -> str:
    item = case.item(item_id)
    assert item is not None
    return item.sha256


def _occ(value: str, source: str = "body", **extra: Any) -> dict[str, Any]:
    return {"type": "domain", "value": value, "source": source, "where": "body", **extra}


def test_append_many_chains_like_append(case: Case) -> None:
    with case.transaction() as conn:
        first = custody.append(conn, action="note", examiner="A", result="one")
        many = custody.append_many(conn, [custody.Pending("note", "A", f"r{i}", detail={"i": i})
                                          for i in range(3)])
        last = custody.append(conn, action="note", examiner="A", result="after")
    assert [e["seq"] for e in many] == [first["seq"] + 1, first["seq"] + 2, first["seq"] + 3]
    assert many[0]["prev_hash"] == first["entry_hash"]
    assert last["prev_hash"] == many[-1]["entry_hash"]
    assert custody.verify_chain(case.db.conn).ok
    assert custody.append_many(case.db.conn, []) == []


def test_a_batch_binds_each_items_own_findings(case: Case) -> None:
    ids = acquired_notes(case, 3)
    with case.transaction() as conn:
        writer = findings.OccurrenceWriter(conn)
        counts = [writer.add(ids[0], [_occ("evil.example"), _occ("shared.example")]),
                  writer.add(ids[1], [_occ("shared.example"), _occ("other.example", "header")]),
                  writer.add(ids[2], [])]
        writer.flush()
        entries = findings.mark_analysed_many(conn, examiner="A. Examiner", items=[
            findings.Analysed(i, _sha(case, i), "text", {"occurrences": n}, "ASCII text")
            for i, n in zip(ids, counts, strict=True)])
        digests = state.findings_digests(conn, ids)
    assert counts == [2, 2, 0]
    assert [e["item_id"] for e in entries] == ids
    for entry, item_id in zip(entries, ids, strict=True):
        detail = custody.entries(case.db.conn, item_id)[-1]["detail"]
        assert detail["findings_sha256"] == digests[item_id]
        assert detail["magic"] == "ASCII text"
        assert detail["kind"] == "text"
        assert entry["result"] == "analysed"
    assert digests[ids[2]] == state.EMPTY_FINDINGS
    assert {i.status for i in case.items()} == {"analysed"}
    # The shared indicator is one indicator occurring in two items.
    shared = case.db.execute("SELECT n_items, n_occurrences FROM indicators WHERE value = 'shared.example'"
                             ).fetchone()
    assert tuple(shared) == (2, 2)
    assert not state.replay(case.db.conn).problems
    assert run_to_end(verify_case(case)).ok


def test_a_finding_changed_after_a_batch_is_named(case: Case) -> None:
    ids = acquired_notes(case, 2)
    with case.transaction() as conn:
        writer = findings.OccurrenceWriter(conn)
        for i in ids:
            writer.add(i, [_occ(f"d{i}.example")])
        writer.flush()
        findings.mark_analysed_many(conn, examiner="A", items=[findings.Analysed(i, _sha(case, i), "text", {})
                                                               for i in ids])
    case.db.conn.execute("UPDATE occurrences SET where_ = 'elsewhere' WHERE item_id = ?", (ids[1],))
    problems = state.replay(case.db.conn).problems
    assert problems == [f"item {ids[1]}: its analysis findings were changed after they were recorded "
                        "(the SHA-256 of its findings differs from custody)"]


def test_ocr_readings_see_what_the_batch_holds(case: Case) -> None:
    """An OCR misread of a value another item of the same batch holds is uncertain."""
    ids = acquired_notes(case, 2)
    with case.transaction() as conn:
        writer = findings.OccurrenceWriter(conn)
        writer.add(ids[0], [_occ("fl-voter.org", "header")])
        writer.add(ids[1], [_occ("f1-voter.org", "ocr", status="certain", confidence=0.9)])
        writer.flush()
    row = case.db.execute("SELECT o.status, o.where_ FROM occurrences o JOIN indicators i ON i.id = "
                          "o.indicator_id WHERE i.value = 'f1-voter.org'").fetchone()
    assert row[0] == "uncertain"
    assert "confusable with fl-voter.org" in row[1]


def test_the_writer_holds_a_bounded_number(case: Case, monkeypatch: Any) -> None:
    monkeypatch.setattr(findings.limits, "SPOOL_BATCH", 3)
    ids = acquired_notes(case, 1)
    written: list[int] = []
    real = findings._write_occurrences
    monkeypatch.setattr(findings, "_write_occurrences",
                        lambda conn, occs: (written.append(len(occs)), real(conn, occs))[1])
    with case.transaction() as conn:
        writer = findings.OccurrenceWriter(conn)
        assert writer.add(ids[0], (_occ(f"d{k}.example") for k in range(7))) == 7
        writer.flush()
    assert max(written) <= 3
    assert sum(written) == 7


def test_the_twin_check_does_not_grow_with_the_case(case: Case) -> None:
    """Checking an OCR reading for a confusable twin is an index lookup, not a scan of the case.

    It used to read every occurrence of the reading's types for every item with OCR: quadratic
    for a case of many screenshots. The work (SQLite VM steps) for one reading must be the same
    whether the case holds a hundred other values or ten times as many.
    """
    ids = acquired_notes(case, 2)

    def steps_with(n_other: int, start: int) -> int:
        with case.transaction() as conn:
            writer = findings.OccurrenceWriter(conn)
            writer.add(ids[0], [_occ(f"other{start + k}.example") for k in range(n_other)])
            writer.flush()
            counted = [0]

            def tick() -> int:
                counted[0] += 1
                return 0

            conn.set_progress_handler(tick, 10)
            try:
                reading = [_occ("f1-voter.org", "ocr", status="certain", confidence=0.9)]
                findings._check_confusable_twins(conn, ids[1], reading)
            finally:
                conn.set_progress_handler(None, 0)
            return counted[0]

    with case.transaction() as conn:
        first = findings.OccurrenceWriter(conn)
        first.add(ids[0], [_occ("fl-voter.org", "header")])
        first.flush()
    small = steps_with(200, 0)
    big = steps_with(2000, 1000)
    assert big <= small + 5, (small, big)
    reading = [_occ("f1-voter.org", "ocr", status="certain", confidence=0.9)]
    with case.transaction() as conn:
        findings._check_confusable_twins(conn, ids[1], reading)
    assert reading[0]["status"] == "uncertain"
    assert reading[0]["alternatives"] == ["fl-voter.org"]


def test_indicators_recorded_before_migration_14_get_their_skeleton(case: Case) -> None:
    from desktop.core import store
    from desktop.core.confusables import skeleton

    ids = acquired_notes(case, 1)
    with case.transaction() as conn:
        writer = findings.OccurrenceWriter(conn)
        writer.add(ids[0], [_occ("Fl-Voter.org", "header")])
        writer.flush()
    conn = case.db.conn
    assert conn.execute("SELECT skeleton FROM indicators").fetchone()[0] == skeleton("Fl-Voter.org")
    with case.transaction() as conn:
        conn.execute("UPDATE indicators SET skeleton = NULL")
        store.BACKFILLS[14](conn)
    assert conn.execute("SELECT skeleton FROM indicators").fetchone()[0] == skeleton("Fl-Voter.org")


def test_indicator_ids_compute_keys_only_for_new_indicators(case: Case, monkeypatch: Any) -> None:
    """Known indicators keep their rows; new ones get ids in the order given, with key and skeleton."""
    from desktop.core.confusables import skeleton
    from desktop.core.indicator_order import sort_key

    with case.transaction() as conn:
        first = findings.indicator_ids(conn, [("domain", "a.example"), ("ip", "192.0.2.1")])
        seen: list[str] = []
        monkeypatch.setattr(findings, "skeleton", lambda v: seen.append(v) or skeleton(v))
        ids = findings.indicator_ids(conn, [("domain", "new1.example"), ("ip", "192.0.2.1"),
                                            ("domain", "a.example"), ("domain", "New2.example"),
                                            ("domain", "new1.example")])
        rows = {(t, v): (i, k, s) for i, t, v, k, s in
                conn.execute("SELECT id, type, value, sort_key, skeleton FROM indicators")}
    assert seen == ["new1.example", "New2.example"]  # only what the case did not hold
    assert ids[("domain", "a.example")] == first[("domain", "a.example")]
    assert ids[("ip", "192.0.2.1")] == first[("ip", "192.0.2.1")]
    assert ids[("domain", "new1.example")] < ids[("domain", "New2.example")]  # in the order given
    assert set(ids) == {("domain", "new1.example"), ("ip", "192.0.2.1"), ("domain", "a.example"),
                        ("domain", "New2.example")}
    for (t, v), (i, key, skel) in rows.items():
        assert (key, skel) == (sort_key(t, v), skeleton(v))
        assert ids.get((t, v), first.get((t, v))) == i
