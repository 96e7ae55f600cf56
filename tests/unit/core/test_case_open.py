# SPDX-License-Identifier: GPL-3.0-or-later
"""Browsing a big case while its integrity check runs: read-only, every write refused (fail closed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.core import case_open, store
from desktop.core.case import Case
from desktop.core.errors import ReadOnlyCaseError


@pytest.fixture
def case_path(tmp_path: Path) -> Path:
    path = tmp_path / "b.casetrail"
    with Case.create(path, title="Big", examiner="E") as c:
        c.record("note", result="a note")
    return path


def test_a_browsed_case_skips_the_check_and_can_write_nothing(
        case_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(_db: store.Database) -> list[str]:
        raise AssertionError("the integrity check runs in Case.open, not while browsing")

    monkeypatch.setattr(store, "integrity_problems", never)
    case = case_open.browse(case_path, examiner="Someone")
    assert case is not None
    try:
        assert case.read_only
        assert case.read_only_reason == case_open.CHECKING_REASON
        assert case.examiner == "Someone"
        assert case.meta["title"] == "Big"
        assert len(list(case.items())) == 0
        with pytest.raises(ReadOnlyCaseError, match="still being checked"):
            case.record("note", result="must not be written")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            case.db.conn.execute("INSERT INTO case_meta VALUES ('x', 'y')")
        monkeypatch.undo()
        with Case.open(case_path) as checked:  # it holds no writer lock: the full opening takes it
            assert not checked.read_only
    finally:
        case.close()


def test_what_cannot_be_browsed_is_left_to_case_open(case_path: Path, tmp_path: Path) -> None:
    assert case_open.browse(tmp_path / "nothing.casetrail") is None
    (tmp_path / "empty.casetrail").mkdir()
    (tmp_path / "empty.casetrail" / "case.sqlite").write_bytes(b"")
    assert case_open.browse(tmp_path / "empty.casetrail") is None
    conn = sqlite3.connect(case_path / "case.sqlite")
    conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION - 1}")  # needs an upgrade
    conn.close()
    assert case_open.browse(case_path) is None


def test_only_a_big_database_is_checked_while_browsing(case_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert not case_open.check_later(case_path)
    monkeypatch.setattr(case_open, "CHECK_LATER_ABOVE", 0)
    assert case_open.check_later(case_path)
    assert not case_open.check_later(case_path.parent / "missing.casetrail")
