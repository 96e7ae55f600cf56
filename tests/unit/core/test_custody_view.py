# SPDX-License-Identifier: GPL-3.0-or-later
"""Paging the custody log by position: by sequence number when it has no gap, by position when it has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop.core import custody, custody_view
from desktop.core.case import Case

N = 25  # "created" + 24 notes


def _case(tmp_path: Path) -> Path:
    path = tmp_path / "c.casetrail"
    with Case.create(path, title="t", examiner="E") as c:
        for n in range(N - 1):
            c.record("note", result=f"note {n}", detail={"n": n})
    return path


def _statements(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


def test_a_contiguous_log_is_paged_by_sequence_number_never_by_offset(tmp_path: Path) -> None:
    """OFFSET steps over every earlier entry: the end of a 100,000-entry log took ~120-380 ms."""
    with Case.open(_case(tmp_path), read_only=True) as case:
        conn = case.db.conn
        log = custody_view.shape(conn)
        assert (log.count, log.first, log.last, log.contiguous) == (N, 1, N, True)
        seen = _statements(conn)
        for offset, limit in ((0, 10), (10, 10), (20, 10), (24, 1), (25, 5), (3, 0), (-1, 5)):
            got = custody_view.page(conn, log, offset, limit)
            want = custody.entries_page(conn, offset, limit) if offset >= 0 and limit > 0 else []
            assert got == want, (offset, limit)
        ours = [s for s in seen if "custody" in s and "LIMIT" not in s]
        assert ours
        assert all("OFFSET" not in s for s in ours)
        assert all("seq BETWEEN" in s for s in ours)


def test_a_log_with_a_gap_is_paged_by_position_and_shows_every_entry_there(tmp_path: Path) -> None:
    path = _case(tmp_path)
    raw = sqlite3.connect(path / "case.sqlite", isolation_level=None)
    try:  # an insider deletes entry 7 behind the application's back
        raw.execute("DROP TRIGGER custody_no_delete")
        raw.execute("DELETE FROM custody WHERE seq = 7")
    finally:
        raw.close()
    with Case.open(path, read_only=True) as case:
        conn = case.db.conn
        log = custody_view.shape(conn)
        assert (log.count, log.first, log.last, log.contiguous) == (N - 1, 1, N, False)
        shown = [e["seq"] for off in range(0, N, 5) for e in custody_view.page(conn, log, off, 5)]
        assert shown == [s for s in range(1, N + 1) if s != 7]


def test_an_empty_log_has_no_pages(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE custody (seq INTEGER PRIMARY KEY)")
    log = custody_view.shape(conn)
    assert (log.count, log.first, log.last, log.contiguous) == (0, 0, 0, True)


def test_a_grown_log_counts_only_its_new_entries(tmp_path: Path) -> None:
    """Counting 100,000 entries after every batch of an import stalled the window up to 380 ms."""
    path = _case(tmp_path)
    with Case.open(path) as case:
        conn = case.db.conn
        before = custody_view.shape(conn)
        case.record("note", result="one more")
        case.record("note", result="and another")
        seen = _statements(conn)
        after = custody_view.grown(conn, before)
        assert after == custody_view.shape(conn) == custody_view.LogShape(N + 2, 1, N + 2)
        counted = [s for s in seen[:2] if "COUNT" in s]
        assert counted
        assert all("WHERE seq >" in s for s in counted), "only the new entries are counted"
        assert custody_view.grown(conn, after) == after
        assert custody_view.grown(conn, custody_view.LogShape(0, 0, 0)) == after
        assert custody_view.grown(conn, custody_view.LogShape(3, 5, 7)) == after, "another start: all counted"
