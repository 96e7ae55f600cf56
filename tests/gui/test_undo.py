# SPDX-License-Identifier: GPL-3.0-or-later
"""Undo and redo in the window: a new custody entry each time, never a deleted one (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_indicators_view import open_indicators
from waits import TASK_MS

from desktop.core import state
from desktop.core.tags import tags_of
from desktop.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))
    return home


def _step(qtbot: QtBot, window: MainWindow, action: str) -> None:
    with qtbot.waitSignal(window.undo_finished, timeout=TASK_MS) as blocker:
        (window.undo_action if action == "undo" else window.redo_action).trigger()
    assert blocker.args == ["succeeded"]


def test_a_tag_from_the_indicators_table_is_undone_and_redone_through_custody(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    window = case_window
    view = open_indicators(qtbot, window, tmp_path)
    assert not window.undo_action.isEnabled()
    view.type_filter.setCurrentIndex(view.type_filter.findData("ipv4"))
    view.table.selectAll()
    ids = view.selected_ids()
    assert len(ids) == 2
    with qtbot.waitSignal(view.tags_changed, timeout=TASK_MS):
        view.tag_selected(["tlp:amber"])
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=TASK_MS)
    assert window.undo_action.text() == "&Undo tag tlp:amber on 2 indicators"
    case = window.case
    assert case is not None
    assert all(tags_of(case.db.conn, "indicator", i) == ["tlp:amber"] for i in ids)
    _step(qtbot, window, "undo")
    assert all(tags_of(case.db.conn, "indicator", i) == [] for i in ids)
    assert view.model.index(0, 5).data() == "", "the table shows the tag gone"
    assert window.redo_action.isEnabled()
    assert not window.undo_action.isEnabled()
    _step(qtbot, window, "redo")
    assert all(tags_of(case.db.conn, "indicator", i) == ["tlp:amber"] for i in ids)
    tagged = [e["detail"]["op"] for e in case.custody() if e["action"] == "tagged"]
    assert tagged == ["add", "add", "remove", "remove", "add", "add"], "undo is history, not erasure"
    assert window.custody_view.model.rowCount() == len(case.custody())
    assert state.replay(case.db.conn).problems == []


def test_undo_of_a_note_written_in_the_assessment_tab(qtbot: QtBot, case_window: MainWindow) -> None:
    window = case_window
    with qtbot.waitSignal(window.assessment_view.loaded, timeout=TASK_MS):
        window.tabs.setCurrentWidget(window.assessment_view)
    notes = window.assessment_view.notes
    notes.text.setPlainText("The sender's domain was registered two days earlier.")
    with qtbot.waitSignal(window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.mouseClick(notes.add_button, Qt.MouseButton.LeftButton)
    assert notes.model.rowCount() == 1
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=TASK_MS)
    with qtbot.waitSignal(window.assessment_view.loaded, timeout=TASK_MS):
        _step(qtbot, window, "undo")
    assert notes.model.rowCount() == 0
    case = window.case
    assert case is not None
    actions = [e["action"] for e in case.custody()]
    assert actions.count("note") >= 2, "the note's writing and its removal are both in custody"
    assert state.replay(case.db.conn).problems == []


def _action(menu: object, text: str) -> object:
    found = [a for a in menu.actions() if a.text() == text]  # type: ignore[attr-defined]
    assert found, f"no {text!r} in {[a.text() for a in menu.actions()]}"  # type: ignore[attr-defined]
    return found[0]


def test_context_menus_copy_tag_export_and_show_in_graph(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtGui import QGuiApplication

    window = case_window
    view = open_indicators(qtbot, window, tmp_path)
    case = window.case
    assert case is not None
    # The indicators table: copy defanged, add to the assessment, show in the graph.
    view.search.setText("evil.example/")
    view.table.selectRow(0)
    menu = view.context_menu()
    _action(menu, "Copy defanged").trigger()  # type: ignore[attr-defined]
    assert QGuiApplication.clipboard().text() == "hxxp://evil[.]example/login"
    with qtbot.waitSignal(window.assessment_view.loaded, timeout=TASK_MS):
        _action(menu, "Add to the assessment as ACH evidence").trigger()  # type: ignore[attr-defined]
    last = case.custody()[-1]
    assert (last["action"], last["result"]) == ("note", "ACH evidence added")
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=TASK_MS)
    graph = window.panels.graph_view
    with qtbot.waitSignal(graph.graph_built, timeout=TASK_MS):
        _action(view.context_menu(), "Show in the graph").trigger()  # type: ignore[attr-defined]
    assert window.tabs.currentWidget() is graph
    assert graph.focus.startswith("indicator:")
    assert "around indicator:" in graph.count.text()
    # The evidence table: copy a hash, tag the item (undoable), export its original.
    window.tabs.setCurrentIndex(0)
    window.table.selectRow(0)
    item = window.model.item_at(0)
    assert item is not None
    evidence = window.evidence_menu()
    _action(evidence, "Copy SHA-256").trigger()  # type: ignore[attr-defined]
    assert QGuiApplication.clipboard().text() == item.sha256
    with qtbot.waitSignal(window.edit_finished, timeout=TASK_MS):
        window.tag_item(item.id, ["needs-review"])
    assert tags_of(case.db.conn, "item", item.id) == ["needs-review"]
    assert window.undo_action.text() == "&Undo tag needs-review on 1 item"
    _step(qtbot, window, "undo")
    assert tags_of(case.db.conn, "item", item.id) == []
    dest = tmp_path / "out" / item.name
    dest.parent.mkdir()
    with qtbot.waitSignal(window.edit_finished, timeout=TASK_MS):
        window.export_original(item.id, dest)
    assert dest.read_bytes() == (case.vault.blob_path(item.sha256)).read_bytes()
    assert case.custody()[-1]["action"] == "exported"
    assert state.replay(case.db.conn).problems == []
