# SPDX-License-Identifier: GPL-3.0-or-later
"""The recent cases of the workstation: newest first, bounded, missing ones shown as missing."""

from __future__ import annotations

from pathlib import Path

from desktop.core import recent
from desktop.core.case import Case


def test_recent_cases_newest_first_and_moved_ones_marked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = []
    for n in range(3):
        path = tmp_path / f"c{n}.casetrail"
        Case.create(path, title=f"Case {n}", examiner="e").close()
        recent.remember(path, f"Case {n}", home)
        paths.append(path)
    recent.remember(paths[0], "Case 0", home)  # opened again: to the top, once
    got = recent.recent(home)
    assert [r.title for r in got] == ["Case 0", "Case 2", "Case 1"]
    assert all(r.present for r in got)
    (paths[2] / "case.sqlite").unlink()
    assert [r.present for r in recent.recent(home)] == [True, False, True]
    assert [r.title for r in recent.forget(paths[2], home)] == ["Case 0", "Case 1"]
    for n in range(recent.LIMIT + 5):
        recent.remember(tmp_path / f"x{n}", "x", home)
    assert len(recent.recent(home)) == recent.LIMIT
    assert list(home.glob(".recent-*")) == [], "no temp file is left"


def test_a_damaged_list_is_an_empty_list(tmp_path: Path) -> None:
    (tmp_path / "recent.json").write_text("{not json")
    assert recent.recent(tmp_path) == []
    (tmp_path / "recent.json").write_text('[{"path": 3}, "x", {"path": "/nowhere", "title": "t"}]')
    assert [r.title for r in recent.recent(tmp_path)] == ["t"]
