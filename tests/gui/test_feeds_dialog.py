# SPDX-License-Identifier: GPL-3.0-or-later
"""Feed management in the window: the list with hashes and dates, re-run lookups, remove a feed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import references
from desktop.ui.main_window import MainWindow
from desktop.ui.tasks import TaskHandle


def _snapshots(window: MainWindow) -> list[dict[str, object]]:
    assert window.case is not None
    return [e for e in window.case.custody()
            if e["action"] == "note" and (e.get("detail") or {}).get("what") == "intelligence snapshot"]


def _wait_writes(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.tasks.writing, timeout=TASK_MS)


def test_feeds_are_listed_looked_up_again_and_removed_with_custody(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    window = case_window
    monkeypatch.setattr(window, "show_message", lambda *a, **k: None)
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS):
        window.start_import(evidence_files, "feeds test")
    dialog = window.show_feeds()
    assert dialog.table.rowCount() == 0
    assert dialog.empty_hint.isVisibleTo(dialog)
    feed = tmp_path / "partner-hosting.csv"
    feed.write_text("value,type,actor\n185.141.63.120,ipv4,Partner cluster 7\n", encoding="utf-8")
    with qtbot.waitSignal(window.feeds_imported, timeout=TASK_MS):
        window.import_feeds([feed])
    assert dialog.table.rowCount() == 1  # the open dialog reads the library again
    row = [dialog.table.item(0, c).text() for c in range(dialog.table.columnCount())]
    assert row[-1] == hashlib.sha256(feed.read_bytes()).hexdigest()
    assert row[1] == feed.name
    assert row[3][:4].isdigit()  # the import date
    assert not dialog.remove_button.isEnabled()  # nothing selected

    before = len(_snapshots(window))
    assert dialog.refresh_button.isEnabled()
    dialog.refresh_button.click()
    _wait_writes(qtbot, window)
    assert dialog.refresh_button.isEnabled()  # again, once the write ended
    snaps = _snapshots(window)
    assert len(snaps) == before + 1
    case = window.case
    assert case is not None
    matches, _asn = references.snapshot(case.db.conn)
    assert [m for m in matches if m.source == "feed"]  # the feed's indicator is seen in the evidence

    asked: list[str] = []

    def answer(_parent: object, _title: str, question: str, *, yes: bool) -> bool:
        asked.append(question)
        return yes

    dialog.table.selectRow(0)
    assert dialog.remove_button.isEnabled()
    dialog._confirm = lambda p, t, q: answer(p, t, q, yes=False)
    dialog.remove_button.click()
    assert asked
    assert row[-1] in asked[0]  # the question names the feed by its hash
    assert not window.tasks.writing  # refused: nothing runs
    dialog._confirm = lambda p, t, q: answer(p, t, q, yes=True)
    dialog.remove_button.click()
    _wait_writes(qtbot, window)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=TASK_MS)
    snaps = _snapshots(window)
    assert len(snaps) == before + 2
    assert row[-1] in str(snaps[-1]["reason"])  # the new snapshot says which feed went, by hash
    matches, _asn = references.snapshot(case.db.conn)
    assert not [m for m in matches if m.source == "feed"]
    assert "Removed the feed" in dialog.note.text()
    assert window.custody_view.model.rowCount() == len(case.custody())
    handles: list[TaskHandle[object]] = window.tasks.running()
    assert not handles
    dialog.close()
