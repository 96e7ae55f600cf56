# SPDX-License-Identifier: GPL-3.0-or-later
"""What an import committed since a view last looked (the window's per-batch refresh)."""

from __future__ import annotations

from pathlib import Path

from window_case import build

from desktop.core import case_changes
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.findings import mark_analysed, record_occurrences
from desktop.core.progress import run_to_end


def test_nothing_changed_since_the_mark_of_now(case: Case, tmp_path: Path) -> None:
    build(case, tmp_path / "src")
    now = case_changes.mark(case.db.conn)
    changes, after = case_changes.changes_since(case.db.conn, now)
    assert changes.empty
    assert after == now


def test_a_batch_names_its_new_items_their_indicators_and_its_custody_entries(case: Case,
                                                                             tmp_path: Path) -> None:
    ids = build(case, tmp_path / "src")
    before = case_changes.mark(case.db.conn)
    (tmp_path / "new.txt").write_text("new file\n")
    run_to_end(import_paths(case, [tmp_path / "new.txt"]))
    new_id = max(i.id for i in case.items())
    changes, after = case_changes.changes_since(case.db.conn, before, "Import")
    assert changes.items_added
    assert changes.items == {new_id}
    assert changes.custody >= 1
    assert changes.label == "Import"
    assert not changes.indicators_added
    assert after.item == new_id

    with case.transaction() as conn:  # the analysis of an older item lands in a later batch
        record_occurrences(conn, ids["c-big.bin"], [
            {"type": "ipv4", "value": "192.0.2.44", "source": "body", "where": "text"},
            {"type": "ipv4", "value": "10.0.0.9", "source": "body", "where": "text"}])
        item = case.item(ids["c-big.bin"])
        assert item is not None
        mark_analysed(conn, examiner=case.examiner, item_id=item.id, sha256=item.sha256, kind=item.kind)
    changes, again = case_changes.changes_since(case.db.conn, after)
    assert not changes.items_added
    assert changes.items == {ids["c-big.bin"]}
    assert changes.indicators_added
    known = case.db.conn.execute("SELECT id FROM indicators WHERE value = '10.0.0.9'").fetchone()[0]
    assert known in changes.indicators, "an indicator that existed and gained an occurrence is named"
    assert again.custody > after.custody
    assert again.indicator > after.indicator
