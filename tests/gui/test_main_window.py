# SPDX-License-Identifier: GPL-3.0-or-later
"""The main window end to end: create, import, see rows, verify, tamper, cancel, read-only."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Generator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core.case import Case
from desktop.core.progress import Progress
from desktop.ingest import pipeline
from desktop.ui.analysis_panels import DETAILS_TAB, MEDIA_TAB
from desktop.ui.display import VERIFY_FOREGROUND
from desktop.ui.evidence_model import Column
from desktop.ui.main_window import MainWindow
from desktop.ui.new_case_dialog import NewCaseDialog, NewCaseRequest

# Shared fixtures come from tests/gui/conftest.py.


WORK_BOUND_MS = 120_000  # how long an import or a verify may take before the test gives up


def cell(window: MainWindow, row: int, column: Column, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    return window.model.data(window.model.index(row, column), role)


def names(window: MainWindow) -> list[str]:
    return [str(cell(window, r, Column.NAME)) for r in range(window.model.rowCount())]


def import_via_menu(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                    files: list[Path]) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: ([str(f) for f in files], "")))
    # The bound of a wait on the signal, not a delay: an import analyses in child processes,
    # which on a loaded machine takes far longer than on an idle one.
    with qtbot.waitSignal(window.import_finished, timeout=WORK_BOUND_MS) as blocker:
        window.import_files_action.trigger()
    assert blocker.args == ["succeeded"]


def verify(qtbot: QtBot, window: MainWindow) -> object:
    with qtbot.waitSignal(window.verify_finished, timeout=WORK_BOUND_MS) as blocker:
        window.verify_action.trigger()
    assert blocker.args[0] is not None
    return blocker.args[0]


def test_new_case_from_the_menu(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    request = NewCaseRequest(tmp_path / "Op Dusk.casetrail", "Op Dusk", "A. Analyst", "red")
    monkeypatch.setattr(NewCaseDialog, "ask", staticmethod(lambda *a: request))
    assert not window.import_files_action.isEnabled()
    with qtbot.waitSignal(window.chain_checked, timeout=TASK_MS):
        window.new_action.trigger()
    assert window.case is not None
    assert window.case.path == request.path
    assert "Op Dusk" in window.windowTitle()
    assert window.tlp_badge.text() == "TLP:RED"
    assert window.import_files_action.isEnabled()
    assert window.read_only_banner.isHidden()
    assert window.custody_view.model.rowCount() == 1  # the "created" entry
    assert window.custody_view.banner.property("state") == "ok"


def test_new_case_dialog_builds_a_safe_folder_name(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = NewCaseDialog(None, tmp_path)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # no title yet
    dialog.title.setText("Phish: wave 2/3")
    dialog.examiner.setText("B. Examiner")
    dialog.tlp.setCurrentIndex(dialog.tlp.findData("amber+strict"))
    assert ok.isEnabled()
    request = dialog.request()
    assert request.path == tmp_path / "Phish- wave 2-3.casetrail"
    assert (request.title, request.examiner) == ("Phish: wave 2/3", "B. Examiner")
    assert request.tlp == "amber+strict"


def test_import_files_shows_rows_details_and_records_the_reason(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    assert window.model.rowCount() == 0
    import_via_menu(qtbot, window, monkeypatch, evidence_files)
    assert no_reason_dialog == [evidence_files]
    assert names(window) == ["mail.eml", "note.txt", "photo.jpg"]
    photo = names(window).index("photo.jpg")
    assert cell(window, photo, Column.MIME) == "image/png (not .jpg)"
    assert cell(window, photo, Column.MIME, Qt.ItemDataRole.DecorationRole) is not None
    assert cell(window, 0, Column.MIME, Qt.ItemDataRole.DecorationRole) is None
    assert cell(window, photo, Column.ACQUIRED_BY) == "Test Examiner"

    window.table.selectRow(photo)
    # A picture opens on its Media view; the analyst's Details tab shows the hashes and custody.
    assert window.panels.item_tabs.currentIndex() == MEDIA_TAB
    window.panels.item_tabs.setCurrentIndex(DETAILS_TAB)
    assert window.detail.title.text() == "photo.jpg"
    assert window.detail.mismatch.isVisible()
    item = window.model.item_at(photo)
    assert item is not None
    assert window.detail.sha256.edit.text() == item.sha256
    assert window.detail.md5.edit.text() == item.md5
    # Acquisition, then analysis in the sandbox: both are in the item's custody.
    assert window.detail.custody_model.rowCount() == 2
    assert window.detail.custody_model.entry(0)["reason"] == "test warrant 42"  # type: ignore[index]
    assert window.detail.custody_model.entry(1)["action"] == "analysed"  # type: ignore[index]
    assert window.custody_view.model.rowCount() == 7  # created + 3 acquired + 3 analysed


def test_import_folder_then_verify_marks_every_item_ok(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    folder = evidence_files[0].parent
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    with qtbot.waitSignal(window.import_finished, timeout=WORK_BOUND_MS):
        window.import_folder_action.trigger()
    assert window.model.rowCount() == 3
    assert [cell(window, r, Column.VERIFY) for r in range(3)] == ["", "", ""]
    report = verify(qtbot, window)
    assert report.ok  # type: ignore[attr-defined]
    assert [cell(window, r, Column.VERIFY) for r in range(3)] == ["ok", "ok", "ok"]
    assert window.last_message is not None
    assert window.last_message.icon() == QMessageBox.Icon.Information
    assert "intact" in window.last_message.text()
    assert window.custody_view.banner.property("state") == "ok"


def test_a_flipped_byte_in_the_vault_shows_modified_and_a_deleted_blob_missing(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    import_via_menu(qtbot, window, monkeypatch, evidence_files)
    assert window.case is not None
    by_name = {window.model.item_at(r).name: window.model.item_at(r) for r in range(3)}  # type: ignore[union-attr]
    note, mail = by_name["note.txt"], by_name["mail.eml"]
    blob = window.case.path / "vault" / note.sha256[:2] / note.sha256[2:4] / note.sha256
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[0] ^= 0x01
    blob.write_bytes(bytes(data))
    missing = window.case.path / "vault" / mail.sha256[:2] / mail.sha256[2:4] / mail.sha256
    missing.unlink()

    report = verify(qtbot, window)
    assert not report.ok  # type: ignore[attr-defined]
    shown = {str(cell(window, r, Column.NAME)): cell(window, r, Column.VERIFY) for r in range(3)}
    assert shown == {"note.txt": "MODIFIED", "mail.eml": "MISSING", "photo.jpg": "ok"}
    row = window.model.row_of(note.id)
    assert row is not None
    brush = cell(window, row, Column.VERIFY, Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == VERIFY_FOREGROUND["modified"]  # type: ignore[attr-defined]
    assert window.last_message is not None
    assert window.last_message.icon() == QMessageBox.Icon.Critical
    text = window.last_message.text()
    assert f"item {note.id} \u201cnote.txt\u201d: MODIFIED" in text
    assert f"item {mail.id} \u201cmail.eml\u201d: MISSING" in text
    window.table.selectRow(row)
    assert window.detail.verify.text() == "MODIFIED"


def test_verify_names_the_first_broken_custody_entry(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    import_via_menu(qtbot, window, monkeypatch, evidence_files)
    assert window.case is not None
    # An insider removes the trigger and edits entry 3 behind the application's back.
    conn = sqlite3.connect(window.case.path / "case.sqlite")
    conn.execute("DROP TRIGGER custody_no_update")
    conn.execute("UPDATE custody SET examiner = 'someone else' WHERE seq = 3")
    conn.commit()
    conn.close()
    report = verify(qtbot, window)
    assert report.chain.first_bad_seq == 3  # type: ignore[attr-defined]
    assert window.last_message is not None
    assert "the first broken entry is 3" in window.last_message.text()
    assert "custody_no_update" in window.last_message.text()
    assert window.custody_view.banner.property("state") == "broken"
    assert "BROKEN at entry 3" in window.custody_view.banner.text()


def test_cancelling_a_big_import_leaves_no_partial_item_and_the_case_verifies(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path,
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    assert window.case is not None
    small = tmp_path / "small.txt"
    small.write_text("recorded before the cancel\n")
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.write(os.urandom(1 << 20))
        os.truncate(f.fileno(), 300 << 20)  # 300 MB, the rest zeros

    # Hold the import inside the big file's copy until Cancel has been pressed, so the cancel
    # lands mid-file on every machine instead of racing a fast disk.
    real = pipeline.import_paths
    reached, release = threading.Event(), threading.Event()

    def held(case: Case, paths: list[Path], reason: str = "",
             **kwargs: object) -> Generator[Progress, None, object]:
        gen = real(case, paths, reason, **kwargs)  # type: ignore[arg-type]
        try:
            while True:
                try:
                    tick = next(gen)
                except StopIteration as stop:
                    return stop.value
                yield tick
                if tick.label == big.name and 0 < tick.done < tick.total and not reached.is_set():
                    reached.set()
                    assert release.wait(30)
        finally:
            gen.close()

    monkeypatch.setattr(pipeline, "import_paths", held)
    handle = window.start_import([small, big], "cancel test")
    assert handle is not None
    dialog = window.progress_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert not window.import_files_action.isEnabled()  # one writer at a time
    qtbot.waitUntil(reached.is_set, timeout=TASK_MS)
    qtbot.waitUntil(lambda: dialog.last_progress is not None, timeout=TASK_MS)
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS) as blocker:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        release.set()
    assert blocker.args == ["cancelled"]
    assert window.progress_dialog is None
    assert window.import_files_action.isEnabled()

    assert names(window) == ["small.txt"]
    assert case_items(window.case.path) == ["small.txt"]
    assert list((window.case.path / "vault" / "tmp").iterdir()) == []
    blobs = [p.name for p in (window.case.path / "vault").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    report = verify(qtbot, window)
    assert report.ok  # type: ignore[attr-defined]


def case_items(path: Path) -> list[str]:
    with Case.open(path, read_only=True) as case:
        return [i.name for i in case.items()]


def test_dropping_files_imports_them(qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
                                     no_reason_dialog: list[list[Path]]) -> None:
    window = case_window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in evidence_files[:2]])
    enter = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(window.rect().center()), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.import_finished, timeout=WORK_BOUND_MS):
        window.dropEvent(drop)
    assert no_reason_dialog == [evidence_files[:2]]
    assert names(window) == [p.name for p in evidence_files[:2]]


def test_a_second_opener_gets_a_read_only_banner(qtbot: QtBot, case_window: MainWindow) -> None:
    assert case_window.case is not None
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    try:
        assert second.open_case(case_window.case.path)
        assert second.case is not None
        assert second.case.read_only
        assert second.read_only_banner.isVisible()
        assert "another Casetrail window or process is writing" in second.read_only_banner.text()
        assert not second.import_files_action.isEnabled()
        assert second.verify_action.isEnabled()
        qtbot.waitUntil(lambda: not second.tasks.running(), timeout=TASK_MS)
    finally:
        second.close_case()


def test_opening_a_folder_that_is_not_a_case_says_why(window: MainWindow, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path)))
    window.open_action.trigger()
    assert window.case is None
    assert window.last_message is not None
    assert "is not a Casetrail case" in window.last_message.text()


def test_recovery_findings_are_shown_once_after_opening(qtbot: QtBot, window: MainWindow,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "Crashed.casetrail"
    Case.create(path, title="Crashed", examiner="E").close()
    (path / "vault" / "tmp" / "0123.part").write_bytes(b"half a copy")
    assert window.open_case(path)
    assert window.last_message is not None
    assert "temp file" in window.last_message.text()
    qtbot.waitUntil(lambda: not window.tasks.running(), timeout=TASK_MS)
    window.last_message.close()
    window.last_message = None
    assert window.open_case(path)  # handled once: not reported again
    assert window.last_message is None
    qtbot.waitUntil(lambda: not window.tasks.running(), timeout=TASK_MS)


def test_task_errors_are_shown_as_the_core_sentence(case_window: MainWindow, tmp_path: Path,
                                                    qtbot: QtBot) -> None:
    with qtbot.waitSignal(case_window.import_finished, timeout=WORK_BOUND_MS) as blocker:
        case_window.start_import([tmp_path / "does-not-exist.txt"])
    assert blocker.args == ["failed"]
    assert case_window.last_message is not None
    assert case_window.last_message.windowTitle() == "Import failed"
    assert case_window.last_message.text().endswith("does-not-exist.txt does not exist")


def test_analysing_an_item_again_replaces_its_findings_and_records_it(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]]) -> None:
    window = case_window
    note = next(p for p in evidence_files if p.name == "note.txt")
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS):
        window.start_import([note])
    assert window.case is not None
    item = window.case.items()[0]

    def occurrences() -> int:
        assert window.case is not None
        return int(window.case.db.execute(
            "SELECT count(*) FROM occurrences WHERE item_id = ?", (item.id,)).fetchone()[0])

    before = occurrences()
    assert before > 0  # the note's IP, URL and domain
    window.table.selectRow(0)
    with qtbot.waitSignal(window.analysis_finished, timeout=TASK_MS) as blocker:
        window.analyse_action.trigger()
    assert blocker.args == ["succeeded"]
    assert occurrences() == before  # replaced, not added twice
    actions = [e["action"] for e in window.case.custody(item.id)]
    assert actions.count("analysed") == 2


def test_search_tab_finds_text_and_shows_the_item(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], qtmodeltester: ModelTester) -> None:
    window = case_window
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS):
        window.start_import(evidence_files)
    search = window.panels.search_view
    window.tabs.setCurrentWidget(search)
    qtbot.keyClicks(search.box, "analyst note")
    qtbot.keyClick(search.box, Qt.Key.Key_Return)
    assert search.model.rowCount() == 1
    assert search.model.index(0, 1).data() == "note.txt"
    qtmodeltester.check(search.model)
    search.item_activated.emit(search.model.row(0)[0].item_id)  # type: ignore[index]
    assert window.tabs.currentIndex() == 0
    current = window.model.item_at(window.table.currentIndex().row())
    assert current is not None
    assert current.name == "note.txt"


def test_the_evidence_table_sorts_and_filters_by_the_core_query(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    import_via_menu(qtbot, window, monkeypatch, evidence_files)
    sizes = {window.model.item_at(r).name: window.model.item_at(r).size for r in range(3)}  # type: ignore[union-attr]
    window.table.horizontalHeader().setSortIndicator(Column.SIZE, Qt.SortOrder.DescendingOrder)
    assert names(window) == sorted(sizes, key=lambda n: -sizes[n])
    assert window.model.query.sort == "size"
    window.table.horizontalHeader().setSortIndicator(Column.NAME, Qt.SortOrder.AscendingOrder)
    assert names(window) == ["mail.eml", "note.txt", "photo.jpg"]
    window.evidence_filter.setText("NOTE")
    assert names(window) == ["note.txt"]
    assert "matching the filter" in window.status_label.text()
    photo = window.model.item_at(0)
    window.evidence_filter.setText("")
    assert photo is not None
    window.evidence_filter.setText(next(i for i in (window.model.item_at(r) for r in range(3))
                                        if i is not None and i.name == "photo.jpg").sha256[:12])
    assert names(window) == ["photo.jpg"], "a hash prefix finds its item"
    window.evidence_filter.clear()
    assert window.model.rowCount() == 3


def test_opening_a_case_runs_off_the_gui_thread_behind_a_busy_bar(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slow.casetrail"
    Case.create(path, title="Slow", examiner="E").close()
    real_open = Case.open
    released = threading.Event()
    seen: dict[str, object] = {}

    def slow_open(p: Path, **kwargs: object) -> Case:
        seen["thread"] = threading.current_thread() is threading.main_thread()
        released.wait(TASK_MS / 1000)  # set by a timer on the GUI thread: only if that thread is free
        return real_open(p, **kwargs)  # type: ignore[arg-type]

    def on_gui_thread() -> None:
        seen["busy"] = window.busy_bar.isVisible()
        seen["menus"] = window.open_action.isEnabled()
        released.set()

    monkeypatch.setattr(Case, "open", staticmethod(slow_open))
    QTimer.singleShot(50, on_gui_thread)
    assert window.open_case(path)
    assert released.is_set(), "the GUI thread ran a timer while the case was opening"
    assert seen == {"thread": False, "busy": True, "menus": False}
    assert not window.busy_bar.isVisible()
    assert window.case is not None
    assert window.case.title == "Slow"


def test_the_welcome_page_lists_recent_cases_and_opens_one(
        window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "home"))
    window.refresh_welcome()
    assert "No case opened yet" in window.welcome.text()
    path = tmp_path / "Op <b>Kite</b>.casetrail"
    Case.create(path, title="Op <b>Kite</b>", examiner="E").close()
    assert window.open_case(path)
    assert window.close_case()
    text = window.welcome.text()
    assert "Op &lt;b&gt;Kite&lt;/b&gt;" in text, "a case title is text, never markup"
    window.welcome.linkActivated.emit("recent:0")
    assert window.case is not None
    assert window.case.path == path.resolve() or window.case.path == path
    window._fill_recent_menu()
    assert any("Kite" in a.text() for a in window.recent_menu.actions())


def test_tab_shortcuts_back_and_forward_and_the_shortcuts_list(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    import_via_menu(qtbot, window, monkeypatch, evidence_files)
    window.table.selectRow(0)
    first = window.model.item_at(0)
    window.table.selectRow(2)
    third = window.model.item_at(2)
    assert first is not None and third is not None  # noqa: PT018
    custody_tab = next(a for a in window.tab_actions if a.text() == "Custody log")
    assert custody_tab.shortcut().toString() == "Ctrl+2"
    custody_tab.trigger()
    assert window.tabs.currentWidget() is window.custody_view
    assert window.back_action.isEnabled()
    window.back_action.trigger()
    assert window.tabs.currentIndex() == 0
    assert window.panels.item is not None and window.panels.item.id == third.id  # noqa: PT018
    window.back_action.trigger()
    assert window.panels.item is not None and window.panels.item.id == first.id  # noqa: PT018
    window.forward_action.trigger()
    assert window.panels.item is not None and window.panels.item.id == third.id  # noqa: PT018
    window.forward_action.trigger()
    assert window.tabs.currentWidget() is window.custody_view
    assert not window.forward_action.isEnabled()
    window.show_shortcuts()
    text = window.shortcuts_box.text()
    for expected in ("Undo", "Back", "Custody log", "Import files", "Ctrl+2"):
        assert expected in text
    window.shortcuts_box.close()


def test_the_column_chooser_hides_and_shows_evidence_columns(case_window: MainWindow) -> None:
    window = case_window
    menu = window.column_menu()
    titles = [a.text() for a in menu.actions()]
    assert titles[:3] == ["ID", "Name", "Kind"]
    mime = next(a for a in menu.actions() if a.text() == "MIME type")
    mime.setChecked(False)
    assert window.table.isColumnHidden(Column.MIME)
    assert not next(a for a in menu.actions() if a.text() == "Name").isEnabled()
    mime.setChecked(True)
    assert not window.table.isColumnHidden(Column.MIME)


def test_the_title_bar_and_the_evidence_header_are_where_they_belong(case_window: MainWindow) -> None:
    # A layout once took the table's header for the title bar: the header floated above the tabs.
    assert case_window.table.horizontalHeader().parent() is case_window.table
    title_bar = case_window.case_title.parentWidget()
    assert title_bar is not None
    assert title_bar is not case_window
    assert title_bar.isVisibleTo(case_window)
