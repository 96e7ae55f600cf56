# SPDX-License-Identifier: GPL-3.0-or-later
"""The main window: one open case, its evidence, its custody log and the actions on them.

Every action here is a core function first (``Case.create``/``open``, ``pipeline.import_and_analyse``,
``verify.verify_case``); the window only asks for input, runs the core's generators through
:class:`~desktop.ui.tasks.TaskManager` and shows what came back. It must never hash, write to the
case or share the case's writer connection on the GUI thread: imports and verify run on the
single-thread write pool, the views read through a separate read-only connection.

The public methods (``create_case``, ``open_case``, ``start_import``, ``start_verify``) are what
the menu actions call after their dialogs, and what the GUI tests drive.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.core import custody, store
from desktop.core.acquire import ACQUIRING, ImportReport
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.progress import Progress, Task
from desktop.core.verify import VerifyReport, verify_case
from desktop.ingest.pipeline import ANALYSING, AnalysisReport, analyse_items, import_and_analyse
from desktop.ui import case_text
from desktop.ui.about_dialog import AboutDialog, open_log_folder
from desktop.ui.analysis_panels import AnalysisPanels
from desktop.ui.assessment_view import AssessmentView
from desktop.ui.briefing_dialog import BriefingDialog
from desktop.ui.campaigns_view import CampaignsView
from desktop.ui.custody_view import CustodyView, configure_table
from desktop.ui.detail_pane import DetailPane
from desktop.ui.evidence_model import Column, EvidenceModel
from desktop.ui.import_dialog import ImportReasonDialog, TaskProgressDialog
from desktop.ui.new_case_dialog import NewCaseDialog, NewCaseRequest
from desktop.ui.passphrase_dialog import ensure_passphrase
from desktop.ui.tasks import TaskHandle, TaskManager
from desktop.ui.timeline_view import TimelineView

log = logging.getLogger(__name__)

ChainStatus = tuple[custody.ChainReport, list[str]]

_COLUMN_WIDTHS = {
    Column.ID: 40, Column.NAME: 230, Column.KIND: 64, Column.SIZE: 84, Column.MIME: 260,
    Column.SHA256: 200, Column.ACQUIRED_AT: 160, Column.ACQUIRED_BY: 120, Column.STATUS: 80,
}


def _same_folder(a: Path, b: Path) -> bool:
    """Whether two paths name the same folder (symlinks and ``..`` resolved)."""
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _chain_status(reader_factory: Callable[[], store.Database]) -> Task[ChainStatus]:
    """Recompute the custody chain through a connection of its own (read pool)."""
    yield Progress("custody chain")
    db = reader_factory()
    try:
        return custody.verify_chain(db.conn), store.missing_custody_triggers(db)
    finally:
        db.conn.close()


class MainWindow(QMainWindow):
    """The Casetrail window.

    Signals:
        case_changed: a case was opened, created or closed.
        import_finished: an import ended; carries ``succeeded``, ``failed`` or ``cancelled``.
        verify_finished: a verify run ended; carries the :class:`VerifyReport`, or None if it
            did not finish.
        chain_checked: the custody chain banner was updated from a fresh recomputation.
    """

    case_changed = Signal()
    import_finished = Signal(str)
    verify_finished = Signal(object)
    analysis_finished = Signal(str)
    chain_checked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Casetrail")
        self.setAcceptDrops(True)
        self.resize(1360, 820)
        self.case: Case | None = None
        self.reader: store.Database | None = None
        self.last_message: QMessageBox | None = None
        self.progress_dialog: TaskProgressDialog | None = None
        self.import_handle: TaskHandle[ImportReport] | None = None
        self.verify_handle: TaskHandle[VerifyReport] | None = None
        self.briefing_dialog: BriefingDialog | None = None
        self._campaign = ""  # the campaign the evidence table is filtered to
        self.about_dialog: AboutDialog | None = None
        self._generation = 0  # bumped per case, so late results of a closed case are dropped
        self._last_dir = Path.home()
        self._last_overall = -1

        self.tasks = TaskManager(self.show_task_error, self)
        self.tasks.busy_changed.connect(self._on_tasks_busy_changed)
        self.tasks.wrote.connect(self._on_tasks_wrote)
        style = self.style()
        self.model = EvidenceModel(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning), self)
        self._build_actions()
        self._build_widgets()
        self._update_actions()

    # -- construction ------------------------------------------------------------------------

    def _icon(self, pixmap: QStyle.StandardPixmap) -> QIcon:
        return self.style().standardIcon(pixmap)

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.new_action = QAction(self._icon(sp.SP_FileDialogNewFolder), "&New case\u2026", self)
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_action.triggered.connect(self._on_new_action_triggered)
        self.open_action = QAction(self._icon(sp.SP_DialogOpenButton), "&Open case\u2026", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._on_open_action_triggered)
        self.close_action = QAction(self._icon(sp.SP_DialogCloseButton), "&Close case", self)
        self.close_action.triggered.connect(self._on_close_action_triggered)
        self.import_files_action = QAction(self._icon(sp.SP_FileIcon), "Import &files\u2026", self)
        self.import_files_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_files_action.triggered.connect(self._on_import_files_action_triggered)
        self.import_folder_action = QAction(self._icon(sp.SP_DirIcon), "Import f&older\u2026", self)
        self.import_folder_action.triggered.connect(self._on_import_folder_action_triggered)
        self.verify_action = QAction(self._icon(sp.SP_DialogApplyButton), "&Verify case", self)
        self.verify_action.setShortcut(QKeySequence("Ctrl+Shift+V"))
        self.verify_action.triggered.connect(self._on_verify_action_triggered)
        self.analyse_action = QAction(self._icon(sp.SP_BrowserReload), "&Analyse selected again", self)
        self.analyse_action.setToolTip("Run the analysers again on the selected items (or on every "
                                       "item whose analysis failed, when none is selected)")
        self.analyse_action.triggered.connect(self._on_analyse_action_triggered)
        self.export_briefing_action = QAction(self._icon(sp.SP_FileDialogDetailedView),
                                              "Export &briefing\u2026", self)
        self.export_briefing_action.setShortcut(QKeySequence("Ctrl+Shift+B"))
        self.export_briefing_action.triggered.connect(self._on_export_briefing_action_triggered)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)

        file_menu = self.menuBar().addMenu("&Case")
        for action in (self.new_action, self.open_action, self.close_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_briefing_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        evidence_menu = self.menuBar().addMenu("&Evidence")
        for action in (self.import_files_action, self.import_folder_action):
            evidence_menu.addAction(action)
        evidence_menu.addSeparator()
        evidence_menu.addAction(self.analyse_action)
        evidence_menu.addAction(self.verify_action)
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = help_menu.addAction("&About Casetrail\u2026")
        self.about_action.triggered.connect(self.show_about)
        self.log_folder_action = help_menu.addAction("Open &log folder")
        self.log_folder_action.triggered.connect(open_log_folder)

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.new_action, self.open_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (self.import_files_action, self.import_folder_action, self.verify_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)

    def _build_widgets(self) -> None:
        self.case_title = QLabel(self)
        self.case_title.setObjectName("caseTitle")
        self.tlp_badge = QLabel(self)
        self.tlp_badge.setObjectName("tlpBadge")
        header = QWidget(self)
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(8, 6, 8, 2)
        header_layout.addWidget(self.case_title, 1)
        header_layout.addWidget(self.tlp_badge)
        self.read_only_banner = QLabel(self)
        self.read_only_banner.setObjectName("readOnlyBanner")
        self.read_only_banner.setWordWrap(True)
        self.read_only_banner.hide()

        self.table = QTableView(self)
        self.table.setObjectName("evidenceTable")
        self.table.setModel(self.model)
        configure_table(self.table)
        for column, width in _COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._on_selection_current_row_changed)
        self.custody_view = CustodyView(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.table, "Evidence")
        self.tabs.addTab(self.custody_view, "Custody log")
        self.assessment_view = AssessmentView(self)
        self.timeline_view = TimelineView(self)
        self.tabs.addTab(self.assessment_view, "Assessment")
        self.tabs.addTab(self.timeline_view, "Timeline")
        self.campaigns_view = CampaignsView(self.tasks, self)
        self.campaigns_view.selected.connect(self._on_campaigns_view_selected)
        self.tabs.addTab(self.campaigns_view, "Campaigns")
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.detail = DetailPane(self)
        # Details / Message / Media below the tabs, and the Indicators and Graph tabs.
        self.panels = AnalysisPanels(self, self.detail, self.tasks)
        self.panels.add_tabs(self.tabs)
        # Table above, details below: every column of the table and a whole SHA-256 stay visible.
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.panels.item_tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 400])

        self.welcome = QLabel(
            "<h2>No case is open</h2><p>Create a case with <b>New case\u2026</b> or open one with "
            "<b>Open case\u2026</b>.<br>Files and folders dropped on the window are imported into "
            "the open case.</p>", self)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setObjectName("welcome")
        case_page = QWidget(self)
        page_layout = QVBoxLayout(case_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(4)
        page_layout.addWidget(header)
        page_layout.addWidget(self.read_only_banner)
        page_layout.addWidget(splitter, 1)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(case_page)
        self.setCentralWidget(self.pages)
        self.status_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.status_label)

    # -- cases -------------------------------------------------------------------------------

    def create_case(self, request: NewCaseRequest) -> bool:
        """Create a case and open it in the window; False (with a message) if the core refused.

        The case is created before the open one is closed: a refusal (the folder exists, cannot
        be written) leaves the analyst where they were.
        """
        try:
            case = Case.create(request.path, title=request.title, examiner=request.examiner,
                               tlp=request.tlp)
        except CasetrailError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Cannot create the case", str(exc))
            return False
        if not self.close_case():
            case.close()
            return False
        self._last_dir = request.path.parent
        self._show_case(case)
        return True

    def open_case(self, path: Path) -> bool:
        """Open a case folder; False (with a message) if it cannot be opened.

        The folder is opened (and so checked) before the open case is closed: a folder that is
        not a case, or a case that cannot be read, leaves the open case open and shown. Only
        opening the case that is open already closes it first (its writer lock is held).
        """
        if self.case is not None and _same_folder(self.case.path, path) and not self.close_case():
            return False
        try:
            case = Case.open(path, examiner=os.environ.get("CASETRAIL_EXAMINER") or None)
        except CasetrailError as exc:
            self.show_message(QMessageBox.Icon.Warning, "Cannot open the case", str(exc))
            return False
        if not self.close_case():
            case.close()
            return False
        self._last_dir = path.parent
        self._show_case(case)
        if case.recovery:
            self.show_message(
                QMessageBox.Icon.Information, "Recovered after an interrupted run",
                "The case was not closed cleanly last time. Casetrail checked it and recorded "
                "what it found in the custody log:\n\n"
                + "\n".join(f"\u2022 {line}" for line in case.recovery))
        return True

    def close_case(self) -> bool:
        """Stop the case's tasks and close it (and its read connection); True when closed."""
        self._generation += 1
        self.tasks.shutdown()
        self._close_progress_dialog()
        self.model.set_reader(None)
        self.custody_view.load(None)
        self.custody_view.banner.show_unknown()
        self.detail.show_item(None, None)
        self.panels.set_case(None, None)
        if self.briefing_dialog is not None:
            self.briefing_dialog.reject()
        self.assessment_view.set_case(None, None)
        self.timeline_view.set_case(None, None)
        self.campaigns_view.set_case(None)
        self.model.set_only(None)
        self._campaign = ""
        self.tabs.setTabText(0, "Evidence")
        self.panels.indicators_view.proxy.set_only(None)
        if self.reader is not None:
            self.reader.conn.close()
            self.reader = None
        if self.case is not None:
            self.case.close()  # on the GUI thread, which opened it: the writer lock is per thread
            self.case = None
            self.case_changed.emit()
        self.setWindowTitle("Casetrail")
        self.pages.setCurrentWidget(self.welcome)
        self.read_only_banner.hide()
        self._update_status()
        self._update_actions()
        return True

    def _show_case(self, case: Case) -> None:
        self.case = case
        self.reader = case.reader()
        self.model.set_reader(self.reader)
        self.custody_view.load(self.reader)
        self.panels.set_case(case, self.reader)
        self.assessment_view.set_case(case, self.tasks)
        self.timeline_view.set_case(case, self.tasks)
        self.campaigns_view.set_case(case)
        self.setWindowTitle(f"Casetrail \u2014 {case_text.shown(case.title)}")
        tlp = str(case.meta.get("tlp", "amber"))
        self.case_title.setTextFormat(Qt.TextFormat.RichText)  # our markup; the title escaped into it
        self.case_title.setText(case_text.rich("{}   <span style='color:palette(mid)'>{}</span>",
                                               case.title, case.path))
        case_text.plain(self.tlp_badge, f"TLP:{tlp.upper()}")
        self.tlp_badge.setProperty("tlp", tlp.replace("+", "-"))
        self.tlp_badge.style().unpolish(self.tlp_badge)
        self.tlp_badge.style().polish(self.tlp_badge)
        if case.read_only:
            case_text.plain(self.read_only_banner,
                            f"Read-only: {case.read_only_reason}. Nothing can be imported, and a verify "
                            "run is not recorded in the custody log.")
            self.read_only_banner.show()
        else:
            self.read_only_banner.hide()
        self.pages.setCurrentIndex(1)
        if self.model.rowCount():
            self.table.selectRow(0)
        self._update_status()
        self._update_actions()
        self.case_changed.emit()
        self.check_chain()

    def check_chain(self) -> TaskHandle[ChainStatus] | None:
        """Recompute the custody chain on the read pool and show the result in the banner."""
        if self.case is None:
            return None
        generation = self._generation
        self.custody_view.banner.show_unknown("Custody chain: checking\u2026")

        def shown(status: ChainStatus) -> None:
            if generation == self._generation:
                self.custody_view.banner.show_report(*status)
                self.chain_checked.emit()

        return self.tasks.run_read("Custody check", lambda: _chain_status(self._reader_factory()),
                                   on_success=shown)

    def _reader_factory(self) -> Callable[[], store.Database]:
        assert self.case is not None  # noqa: S101 - callers check; this narrows the type
        return self.case.reader

    # -- import ------------------------------------------------------------------------------

    def request_import(self, paths: list[Path]) -> TaskHandle[ImportReport] | None:
        """Ask for the import's reason, then start it (the path every import takes)."""
        if not paths or not self._can_write("import"):
            return None
        reason = ImportReasonDialog.ask(self, paths)
        if reason is None:
            return None
        return self.start_import(paths, reason)

    def start_import(self, paths: list[Path], reason: str = "") -> TaskHandle[ImportReport] | None:
        """Acquire files and folders into the open case on the write pool, showing progress."""
        if not self._can_write("import") or self.case is None:
            return None
        case, generation = self.case, self._generation
        self._last_overall = -1
        dialog = self._open_progress_dialog("Importing evidence", (ACQUIRING, ANALYSING))

        def progressed(tick: Progress) -> None:
            dialog.update_progress(tick)
            if tick.overall_done != self._last_overall:  # a file was recorded: show its row now
                self._last_overall = tick.overall_done
                self.model.refresh()

        def succeeded(report: ImportReport) -> None:
            if generation == self._generation:
                self._report_import(report)

        def done(outcome: str) -> None:
            self.import_handle = None
            if generation == self._generation:
                self._close_progress_dialog()
                self._refresh_views()
                if outcome == "cancelled":
                    self.statusBar().showMessage(
                        "Import cancelled: files already recorded stay recorded; the file in "
                        "progress left nothing behind.", 10000)
                self.check_chain()
            self.import_finished.emit(outcome)

        handle = self.tasks.run_write("Import", lambda: import_and_analyse(case, paths, reason),
                                      on_success=succeeded, on_progress=progressed, on_done=done)
        dialog.cancel_requested.connect(handle.cancel)
        self.import_handle = handle
        return handle

    def _report_import(self, report: ImportReport) -> None:
        new = sum(1 for a in report.acquired if a.new_item)
        again = len(report.acquired) - new
        summary = f"Imported {new} new item{'s' if new != 1 else ''}"
        if again:
            summary += f"; {again} already in the case (re-acquisition recorded)"
        self.statusBar().showMessage(summary + ".", 10000)
        lines = [f"\u2022 item {item_id}: {note}" for item_id, note in report.notes]
        if report.failed or report.skipped:
            lines += [f"\u2022 not acquired: {err}" for _path, err in report.failed]
            lines += [f"\u2022 skipped {path}: {why}" for path, why in report.skipped]
            self.show_message(QMessageBox.Icon.Warning, "Import finished with problems",
                              summary + ". Please note:\n\n" + "\n".join(lines[:20])
                              + (f"\n\u2026 and {len(lines) - 20} more" if len(lines) > 20 else ""))
        elif lines:
            self.show_message(QMessageBox.Icon.Information, "Import finished",
                              summary + ". Please note:\n\n" + "\n".join(lines[:20]))

    # -- verify ------------------------------------------------------------------------------

    def start_analysis(self, item_ids: list[int]) -> TaskHandle[AnalysisReport] | None:
        """Analyse items again on the write pool (all failed ones when none is given)."""
        if not self._can_write("analyse") or self.case is None:
            return None
        case, generation = self.case, self._generation
        if not item_ids:
            item_ids = [i.id for i in case.items() if i.status.startswith("analysis failed")]
        if not item_ids:
            self.statusBar().showMessage("Nothing to analyse: select items, or no analysis failed.", 8000)
            return None
        dialog = self._open_progress_dialog("Analysing", (ANALYSING,))

        def succeeded(report: AnalysisReport) -> None:
            if generation == self._generation:
                self.statusBar().showMessage(
                    f"Analysed {len(report.analysed)} item(s); {len(report.failed)} failed; "
                    f"{len(report.derived)} new derived item(s).", 10000)

        def done(outcome: str) -> None:
            if generation == self._generation:
                self._close_progress_dialog()
                self._refresh_views()
            self.analysis_finished.emit(outcome)

        handle = self.tasks.run_write("Analyse", lambda: analyse_items(case, item_ids),
                                      on_success=succeeded, on_progress=dialog.update_progress,
                                      on_done=done)
        dialog.cancel_requested.connect(handle.cancel)
        return handle

    def start_verify(self) -> TaskHandle[VerifyReport] | None:
        """Re-hash every blob and recompute custody on the write pool (verify records itself)."""
        if self.case is None or self.tasks.writing:
            return None
        case, generation = self.case, self._generation
        dialog = self._open_progress_dialog("Verifying case")

        def succeeded(report: VerifyReport) -> None:
            if generation == self._generation:
                self.model.set_verify_results(report.items)
                if report.chain is not None:
                    missing = [p for p in report.problems if "trigger" in p]
                    self.custody_view.banner.show_report(report.chain, missing)
                self._report_verify(report)
            self.verify_finished.emit(report)

        def done(outcome: str) -> None:
            self.verify_handle = None
            if generation == self._generation:
                self._close_progress_dialog()
                self._refresh_views()
            if outcome != "succeeded":
                self.verify_finished.emit(None)

        handle = self.tasks.run_write("Verify", lambda: verify_case(case), on_success=succeeded,
                                      on_progress=dialog.update_progress, on_done=done)
        dialog.cancel_requested.connect(handle.cancel)
        self.verify_handle = handle
        return handle

    def _report_verify(self, report: VerifyReport) -> None:
        good = sum(1 for s in report.items.values() if s == "ok")
        chain = report.chain
        length = chain.length if chain else 0
        recorded = ("The result is recorded in the custody log." if report.recorded
                    else "The case is read-only: the result is not recorded.")
        if report.ok:
            self.show_message(QMessageBox.Icon.Information, "Case verified",
                              f"The case is intact: all {good} items match their hashes and the "
                              f"custody chain of {length} entries recomputes.\n\n{recorded}")
            return
        lines = []
        for item_id, status in sorted(report.items.items()):
            if status != "ok":
                row = self.model.row_of(item_id)
                item = self.model.item_at(row) if row is not None else None
                name = f" \u201c{item.name}\u201d" if item else ""
                lines.append(f"\u2022 item {item_id}{name}: {status.upper()}")
        if chain is not None and not chain.ok:
            lines.append(f"\u2022 custody chain broken: the first broken entry is {chain.first_bad_seq} "
                         f"({chain.reason})")
        lines += [f"\u2022 {p}" for p in report.problems]
        self.show_message(QMessageBox.Icon.Critical, "Discrepancies found",
                          f"Verification found discrepancies ({good} of {len(report.items)} items ok):"
                          "\n\n" + "\n".join(lines) + f"\n\n{recorded}")

    # -- messages ----------------------------------------------------------------------------

    def show_about(self) -> AboutDialog:
        """Show Help → About (non-blocking, like every dialog of the window)."""
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self)
        self.about_dialog.open()
        return self.about_dialog

    def show_message(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        """Show a window-modal message without blocking the event loop (tasks keep running)."""
        box = case_text.message(icon, title, text, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_message = box
        box.open()
        return box

    def show_task_error(self, name: str, exc: BaseException) -> None:
        """The one handler for every task failure: a readable dialog, a traceback only in the log."""
        if isinstance(exc, CasetrailError):
            text = str(exc)
            text = text[:1].upper() + text[1:]
        else:
            log.error("%s failed", name, exc_info=exc)
            text = (f"An internal error stopped the task ({type(exc).__name__}: {exc}). Everything "
                    "recorded before it is kept. Please report this.")
        self.show_message(QMessageBox.Icon.Critical, f"{name} failed", text)

    # -- action slots ------------------------------------------------------------------------

    def _on_new_action_triggered(self) -> None:
        request = NewCaseDialog.ask(self, self._last_dir)
        if request is not None:
            self.create_case(request)

    def _on_open_action_triggered(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Open case folder (NAME.casetrail)",
                                                  str(self._last_dir))
        if chosen:
            self.open_case(Path(chosen))

    def _on_close_action_triggered(self) -> None:
        self.close_case()

    def _on_import_files_action_triggered(self) -> None:
        files, _filter = QFileDialog.getOpenFileNames(self, "Import files", str(self._last_dir))
        if files:
            self._last_dir = Path(files[0]).parent
            self.request_import([Path(f) for f in files])

    def _on_import_folder_action_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import folder (recursively)", str(self._last_dir))
        if folder:
            self._last_dir = Path(folder).parent
            self.request_import([Path(folder)])

    def _on_verify_action_triggered(self) -> None:
        self.start_verify()

    def _on_analyse_action_triggered(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [item.id for r in rows if (item := self.model.item_at(r)) is not None]
        self.start_analysis(ids)

    def _on_tasks_wrote(self, _name: str) -> None:
        # Any write (a rating, a tag, a note, an enhanced region …) adds custody entries: the
        # custody log and the counts in the status bar follow at once.
        if self.reader is not None:
            self.custody_view.load(self.reader)
            self._update_status()

    def _on_tasks_busy_changed(self, _busy: bool) -> None:
        self._update_actions()

    def _on_selection_current_row_changed(self, current: QModelIndex | QPersistentModelIndex,
                                          _previous: QModelIndex | QPersistentModelIndex) -> None:
        self._show_selected(current.row() if current.isValid() else -1)

    def _on_export_briefing_action_triggered(self) -> None:
        self.open_briefing_dialog()

    def open_briefing_dialog(self) -> BriefingDialog | None:
        """Open Case \u2192 Export briefing\u2026 (window-modal) and start its first preview."""
        if self.case is None:
            return None
        if not ensure_passphrase(self, self.case.examiner):  # the briefing is signed
            return None
        dialog = BriefingDialog(self.case, self.tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._on_briefing_dialog_saved)
        dialog.finished.connect(self._on_briefing_dialog_finished)
        self.briefing_dialog = dialog
        dialog.open()
        dialog.refresh_preview()
        return dialog

    def _on_briefing_dialog_saved(self, _result: object) -> None:
        self._refresh_views()  # the export's custody entries
        self.check_chain()

    def _on_briefing_dialog_finished(self, _result: int) -> None:
        self.briefing_dialog = None  # it deletes itself on close

    def _on_campaigns_view_selected(self, item_ids: list[int], indicators: list[tuple[str, str]]) -> None:
        """Filter the evidence table and the indicators to a campaign (nothing chosen: show all)."""
        chosen = self.campaigns_view.current()
        self._campaign = chosen.id if item_ids and chosen is not None else ""
        self.model.set_only(item_ids or None)
        title = f"Evidence \u2014 campaign {self._campaign}" if self._campaign else "Evidence"
        self.tabs.setTabText(0, title)
        self.panels.indicators_view.proxy.set_only({(t, v) for t, v in indicators} if item_ids else None)
        if item_ids:
            self.tabs.setCurrentIndex(0)
            self.table.selectRow(0)
        self._update_status()

    def _on_tabs_current_changed(self, _index: int) -> None:
        # The item detail pane belongs to the evidence tabs; the analysis tabs need the height.
        self.panels.item_tabs.setVisible(not getattr(self.tabs.currentWidget(), "hides_detail_pane", False))

    # -- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept local files and folders when the open case can take them."""
        mime = event.mimeData()
        if (mime.hasUrls() and all(u.isLocalFile() for u in mime.urls())
                and self.case is not None and not self.case.read_only and not self.tasks.writing):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Import what was dropped, through the same reason dialog as the menu."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # A modal dialog inside dropEvent would block the drag source: ask once the drop is done.
        QTimer.singleShot(0, self, lambda: self.request_import(paths))

    # -- closing -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop running tasks (an import in flight leaves nothing behind) and close the case."""
        self.close_case()
        event.accept()

    # -- internals ---------------------------------------------------------------------------

    def _can_write(self, what: str) -> bool:
        if self.case is None:
            self.statusBar().showMessage(f"Open or create a case first, then {what}.", 8000)
            return False
        if self.case.read_only:
            self.show_message(QMessageBox.Icon.Warning, "The case is read-only",
                              f"Cannot {what}: {self.case.read_only_reason}.")
            return False
        if self.tasks.writing:
            self.statusBar().showMessage(f"Another task is writing to the case; {what} when it ends.", 8000)
            return False
        return True

    def _open_progress_dialog(self, title: str, stages: tuple[str, ...] = ()) -> TaskProgressDialog:
        self._close_progress_dialog()
        dialog = TaskProgressDialog(title, self, stages)
        self.progress_dialog = dialog
        dialog.show()
        return dialog

    def _close_progress_dialog(self) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.hide()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None

    def _refresh_views(self) -> None:
        self.model.refresh()
        self.custody_view.load(self.reader)
        self.panels.refresh()
        if self.timeline_view.isVisible():
            self.timeline_view.reload()
        self.campaigns_view.set_case(self.case)  # regrouped now if shown, else when next shown
        current = self.table.currentIndex()
        if not current.isValid() and self.model.rowCount():
            self.table.selectRow(0)
        else:
            self._show_selected(current.row())
        self._update_status()

    def _show_selected(self, row: int) -> None:
        item = self.model.item_at(row) if row >= 0 else None
        status = self.model.verify_status(item.id) if item is not None else None
        self.detail.show_item(item, self.reader, status)
        self.panels.show_item(item, self.reader, self.case)

    def _update_status(self) -> None:
        if self.case is None:
            self.status_label.setText("")
            return
        items = self.model.rowCount()
        entries = self.custody_view.model.rowCount()
        mode = "read-only" if self.case.read_only else f"examiner {self.case.examiner}"
        shown = f" of campaign {self._campaign}" if self.model.filtered and self._campaign else ""
        case_text.plain(self.status_label, f"{items} item{'s' if items != 1 else ''}{shown} \u00b7 "
                                           f"{entries} custody entries \u00b7 {mode}")

    def _update_actions(self) -> None:
        have_case = self.case is not None
        writable = have_case and not (self.case.read_only if self.case else True)
        idle = not self.tasks.writing
        self.close_action.setEnabled(have_case)
        self.import_files_action.setEnabled(writable and idle)
        self.import_folder_action.setEnabled(writable and idle)
        self.verify_action.setEnabled(have_case and idle)
        self.analyse_action.setEnabled(writable and idle)
        self.export_briefing_action.setEnabled(have_case)
