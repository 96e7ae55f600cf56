# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence tree in the window: lazy children, keys, jumps, columns, duplicates, known hashes,
and an import that inserts its rows without disturbing what the analyst is looking at."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.intel import Library
from desktop.core.progress import run_to_end
from desktop.ui.analysis_panels import DETAILS_TAB
from desktop.ui.evidence_model import Column
from desktop.ui.evidence_tree import EvidenceTree
from desktop.ui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "core"))
from window_case import build


@pytest.fixture
def tree_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    """A case of messages with parts, a duplicate, and a feed that knows one attachment's hash."""
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "home"))
    path = tmp_path / "Tree.casetrail"
    with Case.create(path, title="Tree", examiner="Test Examiner") as case:
        ids = build(case, tmp_path / "src")
        invoice = case.item(ids["invoice.pdf"])
        assert invoice is not None
        case_id = str(case.meta["case_id"])
    feed = tmp_path / "partner.csv"
    feed.write_text(f"type,value,actor\nsha256,{invoice.sha256},Partner report 7\n")
    with Library.open() as library:
        library.import_feed(feed)
    assert case_id
    return path, ids


def opened(qtbot: QtBot, window: MainWindow, path: Path) -> MainWindow:
    with qtbot.waitSignal(window.chain_checked, timeout=TASK_MS):
        assert window.open_case(path)
    return window


def test_children_are_read_when_a_row_is_opened_and_arrows_open_and_close_it(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]]) -> None:
    path, ids = tree_case
    opened(qtbot, window, path)
    model, tree = window.model, window.table
    assert model.rowCount() == 4, "four top-level files"
    assert model.total == 6, "and two parts below the mail"
    mail = model.index_of(ids["b-mail.eml"], expand=False)
    assert model.hasChildren(mail)
    assert model.rowCount(mail) == 0
    tree.setFocus()
    tree.select_index(mail)
    qtbot.keyClick(tree, Qt.Key.Key_Right)
    assert tree.isExpanded(mail)
    assert model.rowCount(mail) == 2
    assert [model.item_at(model.index(r, 0, mail)).name for r in range(2)] == ["invoice.pdf", "logo.png"]  # type: ignore[union-attr]
    qtbot.keyClick(tree, Qt.Key.Key_Left)
    assert not tree.isExpanded(mail)


def test_a_jump_opens_the_path_and_enter_opens_the_item(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]]) -> None:
    path, ids = tree_case
    opened(qtbot, window, path)
    assert window.panels.reveal_item(ids["logo.png"])  # what the graph, indicators and campaigns call
    index = window.table.currentIndex()
    assert window.model.item_id_at(index) == ids["logo.png"]
    assert window.table.isExpanded(index.parent())
    assert window.detail.title.text() == "logo.png"
    window.panels.item_tabs.setCurrentIndex(DETAILS_TAB)
    with qtbot.waitSignal(window.table.opened) as blocker:
        qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert blocker.args == [ids["logo.png"]]
    window.go_back()  # Back still works over the tree: the item shown before the jump
    assert window.model.item_id_at(window.table.currentIndex()) != ids["logo.png"]


def test_a_filter_lists_matches_flat_and_a_jump_clears_it(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]]) -> None:
    path, ids = tree_case
    opened(qtbot, window, path)
    window.evidence_filter.setText("logo")
    assert window.model.rowCount() == 1
    assert not window.model.hasChildren(window.model.index(0, 0))
    assert window.model.item_at(0).name == "logo.png"  # type: ignore[union-attr]
    assert window.panels.reveal_item(ids["c-big.bin"])
    assert window.evidence_filter.text() == ""
    assert window.model.item_id_at(window.table.currentIndex()) == ids["c-big.bin"]


def test_duplicates_name_the_first_copy_and_the_menu_goes_there(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]]) -> None:
    path, ids = tree_case
    opened(qtbot, window, path)
    model = window.model
    first, copy = sorted((ids["a-note.txt"], ids["copy.txt"]))
    assert window.table.select_item(copy)
    row = window.table.currentIndex()
    assert model.data(row.siblingAtColumn(Column.DUPLICATE)) == f"same content as item {first}"
    assert model.data(model.index_of(first).siblingAtColumn(Column.DUPLICATE)) == "first of 2 copies"
    menu = window.evidence_menu()
    go = next(a for a in menu.actions() if a.text().startswith("Go to the first copy"))
    assert go.isEnabled()
    assert str(first) in go.text()
    go.trigger()
    assert model.item_id_at(window.table.currentIndex()) == first


def test_a_hash_a_feed_knows_is_flagged(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]]) -> None:
    path, ids = tree_case
    opened(qtbot, window, path)  # the lookup runs with the custody check, off the GUI thread
    model = window.model
    invoice = model.index_of(ids["invoice.pdf"])
    assert model.data(invoice.siblingAtColumn(Column.KNOWN)) == "Partner report 7"
    tip = model.data(invoice.siblingAtColumn(Column.KNOWN), Qt.ItemDataRole.ToolTipRole)
    assert "Partner report 7" in str(tip)
    assert model.data(model.index_of(ids["logo.png"]).siblingAtColumn(Column.KNOWN)) == ""


def test_the_column_chooser_is_remembered(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]]) -> None:
    path, _ids = tree_case
    opened(qtbot, window, path)
    menu = window.column_menu()
    mime = next(a for a in menu.actions() if a.text() == "MIME type")
    mime.setChecked(False)
    assert window.table.isColumnHidden(Column.MIME)
    assert not next(a for a in menu.actions() if a.text() == "Name").isEnabled()
    again = EvidenceTree(window.model)  # the next window
    qtbot.addWidget(again)
    assert again.isColumnHidden(Column.MIME)
    assert not again.isColumnHidden(Column.SHA256)
    next(a for a in window.column_menu().actions() if a.text() == "MIME type").setChecked(True)
    assert not EvidenceTree(window.model, window).isColumnHidden(Column.MIME)


def test_copy_from_the_tree_menu(qtbot: QtBot, window: MainWindow,
                                 tree_case: tuple[Path, dict[str, int]]) -> None:
    path, ids = tree_case
    opened(qtbot, window, path)
    assert window.table.select_item(ids["invoice.pdf"])
    next(a for a in window.evidence_menu().actions() if a.text() == "Copy name").trigger()
    assert QGuiApplication.clipboard().text() == "invoice.pdf"
    parent = next(a for a in window.evidence_menu().actions() if a.text().startswith("Go to the item it"))
    parent.trigger()
    assert window.model.item_id_at(window.table.currentIndex()) == ids["b-mail.eml"]


def test_an_import_inserts_its_rows_and_leaves_the_rest_alone(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, no_reason_dialog: list[list[Path]]) -> None:
    path = tmp_path / "Big.casetrail"
    src = tmp_path / "many"
    src.mkdir()
    for n in range(80):
        (src / f"file-{n:03d}.txt").write_text(f"file {n}\n")
    with Case.create(path, title="Big", examiner="Test Examiner") as case:
        run_to_end(import_paths(case, sorted(src.iterdir())))
    opened(qtbot, window, path)
    window.resize(1200, 800)
    tree, model = window.table, window.model
    assert window.table.select_item(40)
    bar = tree.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    resets: dict[str, int] = {}
    watched = {"evidence": model, "custody": window.custody_view.model,
               "assessment": window.assessment_view.ach.model, "timeline": window.timeline_view.model,
               "campaigns": window.campaigns_view.model}
    for name, watched_model in watched.items():
        watched_model.modelReset.connect(lambda n=name: resets.__setitem__(n, resets.get(n, 0) + 1))
    custody_before = window.custody_view.model.rowCount()
    seen: list[tuple[int | None, int]] = []
    window.batch_shown.connect(lambda _c: seen.append((model.item_id_at(tree.currentIndex()), bar.value())))
    more = tmp_path / "more"
    more.mkdir()
    for n in range(3):
        (more / f"new-{n}.txt").write_text(f"new {n} 198.51.100.{n}\n")
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS) as blocker:
        window.start_import([more], "more")
    assert blocker.args == ["succeeded"]
    assert model.rowCount() == 83
    assert model.total == 83
    assert seen, "the import showed its batches"
    assert all(s == (40, scrolled) for s in seen), "the selection and the scroll position stayed"
    assert model.item_id_at(tree.currentIndex()) == 40
    assert bar.value() == scrolled
    assert resets == {}, "no view was reset; the ones the import does not touch were not even refreshed"
    assert window.custody_view.model.rowCount() > custody_before  # inserted, not reloaded


def test_opening_reads_the_first_level_off_the_gui_thread(
        qtbot: QtBot, window: MainWindow, tree_case: tuple[Path, dict[str, int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The top-level ids of a 100,000-item case (60,000) were read on the GUI thread at open."""
    import threading

    from desktop.core import item_list

    on_gui: list[str] = []
    for name in ("top_ids", "parent_ids", "count"):
        real = getattr(item_list, name)

        def watched(*args: object, _real: object = real, _name: str = name, **kwargs: object) -> object:
            if threading.current_thread() is threading.main_thread():
                on_gui.append(_name)
            return _real(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(item_list, name, watched)
    path, ids = tree_case
    opened(qtbot, window, path)
    assert on_gui == []
    assert window.model.rowCount() == 4
    assert window.model.total == 6
    assert window.model.hasChildren(window.model.index_of(ids["b-mail.eml"], expand=False))
