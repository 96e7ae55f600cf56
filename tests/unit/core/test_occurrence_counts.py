# SPDX-License-Identifier: GPL-3.0-or-later
"""The bulk occurrence writer counts once a batch what the per-row triggers count (schema 15).

``findings._write_occurrences`` stands the ``occurrences_counted`` trigger down inside its own
savepoint and adds each indicator's increments in one statement; every other writer (a shared
analysis, a raw insert, a delete, an update) is still counted by the triggers. The counts must
equal a full recount from ``occurrences`` after any mix of them, the flag must never be left at 1,
and a case from before the migration upgrades and verifies.
"""

from __future__ import annotations

import importlib.util
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from acquired_notes import acquired_notes

from desktop.core import findings, store
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case

SOURCES = ("header", "body", "attachment", "metadata", "ocr", "analyst")
COUNTS = ("n_occurrences", "n_items", *(f"n_{s}" for s in SOURCES))
# A full recount from occurrences (what migration 13 fills the columns with).
RECOUNT = ("SELECT i.id, COUNT(o.id), COUNT(DISTINCT o.item_id), "  # noqa: S608 - constant names
           + ", ".join(f"COALESCE(SUM(o.source = '{s}'), 0)" for s in SOURCES)
           + " FROM indicators i LEFT JOIN occurrences o ON o.indicator_id = i.id "
           "GROUP BY i.id ORDER BY i.id")
STORED = f"SELECT id, {', '.join(COUNTS)} FROM indicators ORDER BY id"  # noqa: S608 - constant names




def _occ(value: str, source: str, **extra: Any) -> dict[str, Any]:
    occ: dict[str, Any] = {"type": "domain", "value": value, "source": source, "where": source, **extra}
    if source == "ocr":
        occ.update(status="certain", confidence=0.9, bbox=[1, 2, 3, 4], time_s=1.0)
    return occ


def _assert_counted(conn: sqlite3.Connection) -> None:
    assert [tuple(r) for r in conn.execute(STORED)] == [tuple(r) for r in conn.execute(RECOUNT)]
    assert _flag(conn) == 0


def _flag(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT bulk FROM occurrence_counting").fetchone()[0])


def test_bulk_counts_equal_a_recount_mixed_with_every_other_writer(case: Case) -> None:
    rng = random.Random(13)
    items = acquired_notes(case, 12)
    values = [f"d{i}.example" for i in range(25)]
    for round_ in range(30):
        with case.transaction() as conn:
            writer = findings.OccurrenceWriter(conn)
            for _ in range(rng.randint(1, 6)):
                item = rng.choice(items)
                # repeated indicators and items, every source (OCR is written at once, the rest held)
                writer.add(item, [_occ(rng.choice(values[:5] if rng.random() < 0.6 else values),
                                       rng.choice(SOURCES)) for _ in range(rng.randint(0, 15))])
            writer.flush()
            _assert_counted(conn)
            step = round_ % 5
            if step == 0:  # the analyst records what they read (record_occurrences, one row)
                findings.record_analyst_reading(conn, examiner="A", item_id=rng.choice(items), type_="domain",
                                                value=rng.choice(values), bbox=[0, 0, 5, 5], time_s=None)
            elif step == 1:  # an item shares another's analysis: INSERT ... SELECT, the triggers count
                a, b = rng.sample(items, 2)
                findings.share_analysis(conn, a, b)
            elif step == 2:  # re-analysis clears an item's machine findings: deletes
                findings.clear_item(conn, rng.choice(items))
            elif step == 3:  # occurrences moved between items, indicators and sources: updates
                conn.execute("UPDATE occurrences SET item_id = ?, source = ? WHERE id IN "
                             "(SELECT id FROM occurrences ORDER BY random() LIMIT 7)",
                             (rng.choice(items), rng.choice(SOURCES)))
                conn.execute("UPDATE occurrences SET indicator_id = (SELECT MIN(id) FROM indicators) "
                             "WHERE id IN (SELECT id FROM occurrences ORDER BY random() LIMIT 3)")
            else:  # a writer of an older Casetrail: one plain insert
                conn.execute("INSERT INTO occurrences (indicator_id, item_id, source, where_, confidence) "
                             "SELECT MAX(id), ?, 'body', 'body', 0.7 FROM indicators", (rng.choice(items),))
            _assert_counted(conn)
        _assert_counted(case.db.conn)
    assert case.db.execute("SELECT COUNT(*) FROM occurrences").fetchone()[0] > 200


def test_a_batch_moves_each_indicator_once_not_once_a_row(case: Case) -> None:
    items = acquired_notes(case, 3)
    conn = case.db.conn
    conn.execute("CREATE TEMP TABLE moves (n INTEGER NOT NULL)")
    conn.execute("INSERT INTO moves VALUES (0)")
    conn.execute("CREATE TEMP TRIGGER count_moves AFTER UPDATE OF n_occurrences ON main.indicators "
                 "BEGIN UPDATE moves SET n = n + 1; END")
    with case.transaction() as c:
        writer = findings.OccurrenceWriter(c)
        for item in items:
            writer.add(item, [_occ("hot.example", s) for s in ("header", "body", "header", "attachment")] * 5)
        writer.flush()
    assert conn.execute("SELECT n FROM temp.moves").fetchone()[0] == 1
    row = conn.execute("SELECT n_occurrences, n_items, n_header, n_body, n_attachment FROM indicators "
                       "WHERE value = 'hot.example'").fetchone()
    assert tuple(row) == (60, 3, 30, 15, 15)
    _assert_counted(conn)


def test_the_flag_is_down_after_an_error_inside_the_batch(case: Case) -> None:
    items = acquired_notes(case, 2)
    with case.transaction() as conn:
        findings.record_occurrences(conn, items[0], [_occ("kept.example", "body")])
    before = [tuple(r) for r in case.db.execute("SELECT * FROM occurrences")]
    with case.transaction() as conn:
        writer = findings.OccurrenceWriter(conn)
        writer.add(items[0], [_occ("kept.example", "header"), _occ("new.example", "body")])
        writer.add(10_000, [_occ("kept.example", "body")])  # no such item: the insert fails part-way
        with pytest.raises(sqlite3.IntegrityError):
            writer.flush()
        # the whole batch is undone, counts and flag with it; the transaction goes on
        assert [tuple(r) for r in conn.execute("SELECT * FROM occurrences")] == before
        _assert_counted(conn)
        findings.record_occurrences(conn, items[1], [_occ("kept.example", "ocr")])
        _assert_counted(conn)
    _assert_counted(case.db.conn)
    row = case.db.execute("SELECT n_items, n_ocr FROM indicators WHERE value = 'kept.example'").fetchone()
    assert tuple(row) == (2, 1)
    # an error that ends the whole transaction leaves nothing of the batch either
    def fail_inside() -> None:
        with case.transaction() as conn:
            findings.record_occurrences(conn, items[1], [_occ("gone.example", "body")])
            assert _flag(conn) == 0
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        fail_inside()
    _assert_counted(case.db.conn)
    assert case.db.execute("SELECT n_occurrences FROM indicators WHERE value = 'gone.example'"
                           ).fetchone() in (None, (0,))


def test_without_the_flags_row_the_trigger_counts(case: Case) -> None:
    items = acquired_notes(case, 2)
    case.db.conn.execute("DELETE FROM occurrence_counting")
    with case.transaction() as conn:
        findings.record_occurrences(conn, items[0], [_occ("a.example", "body")] * 3)
        findings.record_occurrences(conn, items[1], [_occ("a.example", "header")])
    conn = case.db.conn
    assert [tuple(r) for r in conn.execute(STORED)] == [tuple(r) for r in conn.execute(RECOUNT)]
    assert tuple(conn.execute("SELECT n_occurrences, n_items FROM indicators").fetchone()) == (4, 2)


def _standalone_problems(folder: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "verify_case", Path(__file__).resolve().parents[3] / "packaging" / "verify_case.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    verifier = module.Verifier(folder, None, None)
    try:
        return list(verifier.run())
    finally:
        verifier.conn.close()


def test_a_case_from_schema_14_upgrades_keeps_its_counts_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "old.casetrail"
    case = Case.create(path, title="t", examiner="A. Examiner")
    try:
        items = acquired_notes(case, 3)
        with case.transaction() as conn:
            for i, item in enumerate(items):
                findings.record_occurrences(conn, item, [_occ("shared.example", "body"),
                                                         _occ(f"own{i}.example", "header")])
            shas = dict(conn.execute("SELECT id, sha256 FROM items"))
            findings.mark_analysed_many(conn, examiner="A. Examiner",
                                        items=[findings.Analysed(i, str(shas[i]), "text", {}) for i in items])
    finally:
        case.close()
    # The case as schema 14 left it: no flag table, the trigger without its WHEN.
    old = store.expected_schema(14)[("trigger", "occurrences_counted")][1]
    raw = sqlite3.connect(path / "case.sqlite", isolation_level=None)
    raw.executescript(f"BEGIN; DROP TABLE occurrence_counting; DROP TRIGGER occurrences_counted; {old};"
                      "PRAGMA user_version = 14; COMMIT;")
    raw.close()
    assert _standalone_problems(path) == []
    case = Case.open(path)
    try:
        conn = case.db.conn
        assert store.schema_version(case.db) == store.SCHEMA_VERSION == 15
        assert store.schema_problems(case.db) == []
        _assert_counted(conn)
        assert tuple(conn.execute("SELECT n_occurrences, n_items, n_body FROM indicators "
                                  "WHERE value = 'shared.example'").fetchone()) == (3, 3, 3)
        with case.transaction() as c:
            findings.record_analyst_reading(c, examiner="A. Examiner", item_id=items[1], type_="domain",
                                            value="shared.example", bbox=[0, 0, 4, 4], time_s=None)
        _assert_counted(conn)
        assert tuple(conn.execute("SELECT n_occurrences, n_items, n_analyst FROM indicators "
                                  "WHERE value = 'shared.example'").fetchone()) == (4, 3, 1)
        assert run_to_end(verify_case(case)).ok
    finally:
        case.close()
    assert _standalone_problems(path) == []


def test_verify_names_a_trigger_that_counts_regardless(case: Case) -> None:
    conn = case.db.conn
    conn.executescript("BEGIN; DROP TRIGGER occurrences_counted; "
                       + store.expected_schema(14)[("trigger", "occurrences_counted")][1] + "; COMMIT;")
    assert store.schema_problems(case.db) == [
        "the trigger occurrences_counted is not the one this version creates (its SQL was changed)"]
    case.close()
    assert _standalone_problems(case.path) == [
        "the trigger occurrences_counted is not the one Casetrail creates"]
