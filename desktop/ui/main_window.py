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

import dataclasses
import html
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QEventLoop, QModelIndex, QPersistentModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import case_changes, case_open, custody, edits, item_list, store
from desktop.core import recent as recent_cases
from desktop.core.acquire import ACQUIRING, ImportReport
from desktop.core.case import Case, Item
from desktop.core.changes import Changes, Edit, History
from desktop.core.errors import CasetrailError
from desktop.core.intel import Library
from desktop.core.progress import Progress, Task
from desktop.core.verify import VerifyReport, verify_case
from desktop.ingest.pipeline import ANALYSING, AnalysisReport, analyse_items, import_and_analyse
from desktop.ui import case_text
from desktop.ui.about_dialog import AboutDialog, open_log_folder
from desktop.ui.analysis_panels import AnalysisPanels
from desktop.ui.assessment_view import AssessmentView
from desktop.ui.briefing_dialog import BriefingDialog
from desktop.ui.campaigns_view import CampaignsView
from desktop.ui.custody_view import CustodyView
from desktop.ui.detail_pane import DetailPane
from desktop.ui.evidence_model import TOP_PAGE, Column, EvidenceModel
from desktop.ui.evidence_tree import EvidenceTree
from desktop.ui.feeds_dialog import FeedsDialog
from desktop.ui.import_dialog import ImportReasonDialog, TaskProgressDialog
from desktop.ui.new_case_dialog import NewCaseDialog, NewCaseRequest
from desktop.ui.passphrase_dialog import ensure_passphrase
from desktop.ui.tag_editor import TagDialog
from desktop.ui.task_panel import TaskPanel
from desktop.ui.tasks import TaskHandle, TaskManager, as_task
from desktop.ui.timeline_view import TimelineView

log = logging.getLogger(__name__)
T = TypeVar("T")

ChainStatus = tuple[custody.ChainReport, list[str]]

# What Case → Export writes (the CLI's ``export --stix/--misp/--csv/--package``), and its file filter.
EXPORT_TITLES = {"stix": "STIX 2.1 bundle", "misp": "MISP event", "csv": "CSV of indicators",
                 "package": "Case package (verifiable zip)"}
_EXPORT_FILTERS = {"stix": "STIX bundle (*.json)", "misp": "MISP event (*.json)", "csv": "CSV (*.csv)",
                   "package": "Case package (*.zip)"}
_EXPORT_SUFFIX = {"stix": ".stix.json", "misp": ".misp.json", "csv": ".csv", "package": ".zip"}


def run_export(case: Case, kind: str, path: Path) -> str:
    """Write one export through ``reports`` (each verifies the case first and records a receipt)."""
    result: Any
    if kind == "stix":
        from reports.stix_export import export_stix

        result = export_stix(case, path)
    elif kind == "misp":
        from reports.misp_export import export_misp

        result = export_misp(case, path)
    elif kind == "csv":
        from reports.csv_export import export_csv

        result = export_csv(case, path)
    elif kind == "package":
        from reports.package import export_package

        result = export_package(case, path)
    else:
        raise CasetrailError(f"unknown export {kind!r}")
    return str(result.summary())


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


def _case_checks(reader_factory: Callable[[], store.Database],
                 case_id: str) -> Task[tuple[ChainStatus, dict[int, item_list.KnownHash]]]:
    """The checks after an open or a write: the custody chain, then which items' hashes are known.

    One task, so that whoever waits for the chain banner also has the Known hash column. A
    workstation library that cannot be read leaves the column empty (logged), never the chain.
    """
    status = yield from _chain_status(reader_factory)
    yield Progress("known hashes")
    db = reader_factory()
    try:
        with Library.open() as library:
            known = item_list.known_items(db.conn, library, case_id=case_id)
    except Exception as exc:  # degrade: the column is a hint, the chain is the check
        log.warning("known-hash lookup unavailable", exc_info=exc)
        known = {}
    finally:
        db.conn.close()
    return status, known


class MainWindow(QMainWindow):
    """The Casetrail window.

    Signals:
        case_changed: a case was opened, created or closed.
        import_finished: an import ended; carries ``succeeded``, ``failed`` or ``cancelled``.
        verify_finished: a verify run ended; carries the :class:`VerifyReport`, or None if it
            did not finish.
        chain_checked: the custody chain banner was updated from a fresh recomputation.
        undo_finished: an undo or redo ended; carries ``succeeded`` or ``failed``.
        edit_finished: an edit from a context menu (tag, export) was recorded; carries its name.
        export_finished: an export from Case → Export ended (``succeeded``, ``failed``, ``cancelled``).
        feeds_imported: a feed import ended (``succeeded`` or ``failed``).
        batch_shown: what one batch of an import changed was shown (its ``Changes``).
    """

    case_changed = Signal()
    import_finished = Signal(str)
    verify_finished = Signal(object)
    analysis_finished = Signal(str)
    chain_checked = Signal()
    batch_shown = Signal(object)
    undo_finished = Signal(str)
    edit_finished = Signal(str)
    export_finished = Signal(str)
    feeds_imported = Signal(str)

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
        self._batch_mark: case_changes.Mark | None = None  # how far an import in progress was shown
        self.about_dialog: AboutDialog | None = None
        self._generation = 0  # bumped per case, so late results of a closed case are dropped
        self._last_dir = Path.home()
        self._last_overall = -1
        # Analyst edits that can be taken back (core.changes.History: Qt-free, the window runs them).
        self.history = History()
        self._undoing = False
        self._opening = False
        self._checking = False  # a big case is browsed read-only while its full opening checks it
        self._browsed: Case | None = None  # that read-only case, closed with the case
        self.feeds_dialog: FeedsDialog | None = None
        # Where the analyst has been (tab, item shown): Back and Forward walk it, as a browser does.
        self._places: list[tuple[int, int | None]] = []
        self._place = -1
        self._navigating = False

        self.tasks = TaskManager(self.show_task_error, self)
        self.tasks.busy_changed.connect(self._on_tasks_busy_changed)
        self.tasks.wrote.connect(self._on_tasks_wrote)
        style = self.style()
        self.model = EvidenceModel(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning), self)
        self.model.loader = self._read_for_model  # a big case's sorts and filters: on the read pool
        self.model.loaded.connect(self._update_status)
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

        self.undo_action = QAction("&Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction("&Redo", self)
        self.redo_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Redo),
                                       QKeySequence("Ctrl+Shift+Z")])
        self.redo_action.triggered.connect(self.redo)

        file_menu = self.menuBar().addMenu("&Case")
        for action in (self.new_action, self.open_action):
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.demo_action = file_menu.addAction("Open the &demo case")
        self.demo_action.setToolTip("Build (once) and open a small case of bundled sample evidence")
        self.demo_action.triggered.connect(self.open_demo)
        file_menu.addAction(self.close_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_briefing_action)
        self.export_menu = file_menu.addMenu("E&xport")
        self.export_actions: dict[str, QAction] = {}
        for kind, title in EXPORT_TITLES.items():
            action = self.export_menu.addAction(f"{title}\u2026")
            action.triggered.connect(lambda _checked=False, k=kind: self._on_export_triggered(k))
            self.export_actions[kind] = action
        self.import_package_action = file_menu.addAction("Import a case &package\u2026")
        self.import_package_action.setToolTip("Verify a case package (signed manifest, every hash, the "
                                              "custody chain) and unpack it as a new case")
        self.import_package_action.triggered.connect(self._on_import_package_triggered)
        self.import_feeds_action = file_menu.addAction("Import &feeds into the workstation\u2026")
        self.import_feeds_action.setToolTip("STIX 2.1 bundles, MISP events, CSV or ip2asn tables: every case "
                                            "of this workstation is correlated with them")
        self.import_feeds_action.triggered.connect(self._on_import_feeds_triggered)
        self.feeds_action = file_menu.addAction("&Manage feeds\u2026")
        self.feeds_action.setToolTip("The workstation's feeds with their hashes and dates: import, remove, "
                                     "re-run the open case's lookups")
        self.feeds_action.triggered.connect(self.show_feeds)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        evidence_menu = self.menuBar().addMenu("&Evidence")
        for action in (self.import_files_action, self.import_folder_action):
            evidence_menu.addAction(action)
        evidence_menu.addSeparator()
        evidence_menu.addAction(self.analyse_action)
        evidence_menu.addAction(self.verify_action)
        self.back_action = QAction(self._icon(sp.SP_ArrowBack), "&Back", self)
        self.back_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Back), QKeySequence("Alt+Left")])
        self.back_action.setToolTip("Back to the tab and item shown before the last jump (Alt+Left)")
        self.back_action.triggered.connect(self.go_back)
        self.forward_action = QAction(self._icon(sp.SP_ArrowForward), "&Forward", self)
        self.forward_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Forward),
                                          QKeySequence("Alt+Right")])
        self.forward_action.triggered.connect(self.go_forward)
        go_menu = self.menuBar().addMenu("&Go")
        go_menu.addAction(self.back_action)
        go_menu.addAction(self.forward_action)
        go_menu.addSeparator()
        self.go_menu = go_menu
        self.tab_actions: list[QAction] = []  # filled once the tabs exist (Ctrl+1 ... Ctrl+9)
        help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = help_menu.addAction("&Keyboard shortcuts\u2026")
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
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
        toolbar.addSeparator()
        toolbar.addAction(self.back_action)
        toolbar.addAction(self.forward_action)
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

        self.table = EvidenceTree(self.model, self)  # the evidence tree (named as the table it was)
        self.table.opened.connect(self._on_table_opened)
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._on_selection_current_row_changed)
        self._shown_item: int | None = None  # kept across a sort or a filter of the table
        self._keeping_selection = False
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu_requested)
        column_header = self.table.horizontalHeader()  # not "header": the case's title bar is named so
        column_header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        column_header.customContextMenuRequested.connect(self._on_header_context_menu_requested)
        self.model.modelReset.connect(self._on_model_reset)
        # Sorting and filtering are the core's item query, in SQL: a header click is one query.
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.ID, Qt.SortOrder.AscendingOrder)
        self.evidence_filter = QLineEdit(self)
        self.evidence_filter.setObjectName("evidenceFilter")
        self.evidence_filter.setPlaceholderText("Filter evidence: words in the name, source path, type or a "
                                                "hash prefix…")
        self.evidence_filter.setClearButtonEnabled(True)
        self.evidence_filter.textChanged.connect(self._on_evidence_filter_text_changed)
        self.evidence_page = QWidget(self)
        evidence_layout = QVBoxLayout(self.evidence_page)
        evidence_layout.setContentsMargins(0, 4, 0, 0)
        evidence_layout.setSpacing(4)
        evidence_layout.addWidget(self.evidence_filter)
        evidence_layout.addWidget(self.table, 1)
        self.custody_view = CustodyView(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.evidence_page, "Evidence")
        self.tabs.addTab(self.custody_view, "Custody log")
        self.assessment_view = AssessmentView(self)
        self.timeline_view = TimelineView(self)
        self.tabs.addTab(self.assessment_view, "Assessment")
        self.tabs.addTab(self.timeline_view, "Timeline")
        self.campaigns_view = CampaignsView(self.tasks, self)
        self.campaigns_view.selected.connect(self._on_campaigns_view_selected)
        self.tabs.addTab(self.campaigns_view, "Campaigns")
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.assessment_view.session.changes_made.connect(self.record_changes)
        self.timeline_view.session.changes_made.connect(self.record_changes)
        self.detail = DetailPane(self)
        # Details / Message / Media below the tabs, and the Indicators and Graph tabs.
        self.panels = AnalysisPanels(self, self.detail, self.tasks)
        self.panels.add_tabs(self.tabs)
        self.panels.indicators_view.changes_made.connect(self.record_changes)
        for index in range(min(9, self.tabs.count())):
            action = QAction(self.tabs.tabText(index), self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _checked=False, i=index: self.tabs.setCurrentIndex(i))
            self.addAction(action)
            self.go_menu.addAction(action)
            self.tab_actions.append(action)
        # Table above, details below: every column of the table and a whole SHA-256 stay visible.
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.panels.item_tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 400])

        self.welcome = QLabel(self)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setObjectName("welcome")
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.welcome.linkActivated.connect(self._on_welcome_link_activated)
        self._recent: list[recent_cases.RecentCase] = []
        self.refresh_welcome()
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
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("busyBar")
        self.busy_bar.setRange(0, 0)  # busy, without a percentage
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.statusBar().addPermanentWidget(self.busy_bar)
        self._build_task_panel()

    def _build_task_panel(self) -> None:
        """The task panel (a dock at the side, Go → Background tasks, Ctrl+J) and its status button."""
        self.task_panel = TaskPanel(self.tasks, self)
        self.task_dock = QDockWidget("Background tasks", self)
        self.task_dock.setObjectName("taskDock")
        self.task_dock.setWidget(self.task_panel)
        # At the side: the views below the evidence table need the window's height, not its width.
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.task_dock)
        self.task_dock.hide()
        self.task_dock.visibilityChanged.connect(self._on_task_dock_visibility_changed)
        self.tasks_action = self.task_dock.toggleViewAction()
        self.tasks_action.setText("Background &tasks")
        self.tasks_action.setShortcut(QKeySequence("Ctrl+J"))
        self.go_menu.addAction(self.tasks_action)
        self.tasks_button = QToolButton(self)
        self.tasks_button.setObjectName("tasksButton")
        self.tasks_button.setAutoRaise(True)
        self.tasks_button.setToolTip("Show the background tasks: progress, time left, cancel (Ctrl+J)")
        self.tasks_button.clicked.connect(self.tasks_action.trigger)
        self.statusBar().addPermanentWidget(self.tasks_button)
        self.tasks.started.connect(lambda _handle: self._update_tasks_button())
        self.tasks.ended.connect(lambda _handle: self._update_tasks_button())
        self._update_tasks_button()

    def _on_task_dock_visibility_changed(self, visible: bool) -> None:
        if visible:  # room for a task's step, bar and time left, taken from the tables' width
            self.resizeDocks([self.task_dock], [380], Qt.Orientation.Horizontal)

    def _update_tasks_button(self) -> None:
        running = [h for h in self.tasks.running() if h.listed]
        self.tasks_button.setText(f"\u2699 {len(running)} task{'s' if len(running) != 1 else ''} running"
                                  if running else "\u2699 Tasks")

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

        ``Case.open`` (lock, integrity check, migration, recovery of what a crash left) runs on
        the read pool behind a busy indicator, while this call keeps the event loop turning: the
        window repaints and answers throughout, as it does under a modal dialog. The menus are
        disabled meanwhile, so nothing else can start. The folder is opened (and so checked)
        before the open case is closed: a folder that is not a case, or a case that cannot be
        read, leaves the open case open and shown. Only opening the case that is open already
        closes it first (its writer lock is held).
        """
        if self.case is not None and _same_folder(self.case.path, path) and not self.close_case():
            return False
        examiner = os.environ.get("CASETRAIL_EXAMINER") or None
        query = dataclasses.replace(self.model.query, text="", only=None)  # what close_case leaves

        def first_look(case: Case) -> tuple[Case, store.Database, item_list.FirstLevel]:
            # The tree's first level (60,000 ids of a 100,000-item case) is read here too, through
            # the connection the window then reads with, not on the GUI thread.
            try:
                reader = case.reader()
                return case, reader, item_list.first_level(reader.conn, query)
            except BaseException:
                case.close()
                raise

        def opened() -> tuple[Case, store.Database, item_list.FirstLevel]:
            return first_look(Case.open(path, examiner=examiner))

        def browsed() -> tuple[Case, store.Database, item_list.FirstLevel] | None:
            case = case_open.browse(path, examiner)
            return first_look(case) if case is not None else None

        found = None
        if case_open.check_later(path):  # a big database: browse it while Case.open checks it
            found = self._behind_opening_bar("Open case", f"opening {path.name}", browsed, path,
                                             "Cannot open the case")
        checking = found is not None
        if found is None:
            found = self._behind_opening_bar("Open case", f"opening {path.name}", opened, path,
                                             "Cannot open the case")
        if found is None:
            return False
        case, reader, first = found
        if not self.close_case():
            reader.conn.close()
            case.close()
            return False
        self._last_dir = path.parent
        self._show_case(case, reader, first)
        if checking:
            self._open_checked(path, examiner)
            return True
        self._say_recovered(case)
        return True

    def _say_recovered(self, case: Case) -> None:
        """Tell the analyst what the opening's recovery found and recorded (if anything)."""
        if case.recovery:
            self.show_message(
                QMessageBox.Icon.Information, "Recovered after an interrupted run",
                "The case was not closed cleanly last time. Casetrail checked it and recorded "
                "what it found in the custody log:\n\n"
                + "\n".join(f"\u2022 {line}" for line in case.recovery))

    def _open_checked(self, path: Path, examiner: str | None) -> None:
        """Run the full ``Case.open`` (lock, integrity check, recovery) while the case is browsed.

        Only the case it returns can write; until then every write is refused (the browsed case
        is read-only). A failed check is shown loudly and leaves the case read-only.
        """
        generation = self._generation
        self._checking = True
        self.statusBar().showMessage("Checking the case database; nothing can be written until it "
                                     "passes\u2026")
        self._update_actions()

        def checked() -> Case | None:
            case = Case.open(path, examiner=examiner)
            if generation != self._generation:  # the window closed the case meanwhile
                case.close()
                return None
            return case

        def took(case: Case | None) -> None:
            if case is None:
                return
            if generation != self._generation:
                case.close()
                return
            self._take_checked(case)

        def ended(outcome: str) -> None:
            if generation == self._generation and self._checking:  # failed: stays read-only
                self._checking = False
                self.statusBar().clearMessage()
                self._update_actions()
                if outcome != "succeeded":  # the failure itself was reported by the task manager
                    case_text.plain(self.read_only_banner,
                                    "Read-only: its database could not be checked, so nothing can be "
                                    "written to it in this window.")

        self.tasks.run_read("Check the case database", lambda: as_task(checked, "checking the case database"),
                            on_success=took, on_done=ended, owner=self, listed=True)

    def _take_checked(self, case: Case) -> None:
        """The full opening is back: it, not the browsed case, is the window's case from now on."""
        self._checking = False
        self._browsed, self.case = self.case, case
        self.panels.set_case(case, self.reader)
        self.assessment_view.set_case(case, self.tasks)
        self.timeline_view.set_case(case, self.tasks)
        self.campaigns_view.set_case(case)
        self._show_mode(case)
        self.custody_view.load(self.reader)  # recovery and a state baseline may have appended
        self.statusBar().clearMessage()
        self._update_status()
        self._update_actions()
        self.case_changed.emit()
        if case.integrity_problems:
            self.show_message(
                QMessageBox.Icon.Critical, "The case database failed its integrity check",
                "SQLite's integrity check found problems, so the case stays read-only and nothing "
                "more is written to it:\n\n" + "\n".join(f"\u2022 {p}" for p in case.integrity_problems[:5]))
        if case.recovery:
            self.model.refresh()
        self._say_recovered(case)

    def _behind_opening_bar(self, title: str, label: str, work: Callable[[], T], dest: Path,
                            failure_title: str) -> T | None:
        """Run ``work`` on the read pool behind the "opening" bar and return its result.

        The event loop keeps turning meanwhile (a nested loop, as under a modal dialog), so the
        window repaints and answers; the menus that open or build cases are disabled. None when
        it failed: a ``CasetrailError`` is shown as a warning titled ``failure_title``, any other
        failure by the task manager's error handler.
        """
        outcome: list[T | CasetrailError] = []
        loop = QEventLoop(self)

        def task() -> Task[T | CasetrailError]:
            yield Progress(label)
            try:
                return work()
            except CasetrailError as exc:
                return exc

        self._set_opening(dest)
        handle = self.tasks.run_read(title, task, on_success=outcome.append,
                                     on_done=lambda _outcome: loop.quit(), listed=True)
        if handle.running:
            loop.exec()
        self._set_opening(None)
        if not outcome:
            return None  # the task failed; its error was shown
        if isinstance(outcome[0], CasetrailError):
            self.show_message(QMessageBox.Icon.Warning, failure_title, str(outcome[0]))
            return None
        return outcome[0]

    def _open_from_task(self, title: str, label: str, work: Callable[[], Path], dest: Path,
                        failure_title: str) -> bool:
        """Make a case folder off the GUI thread (:meth:`_behind_opening_bar`), then open it."""
        made = self._behind_opening_bar(title, label, work, dest, failure_title)
        return made is not None and self.open_case(made)

    def _set_opening(self, path: Path | None) -> None:
        """Show (or hide) that a case is being opened: a busy bar, a message, a busy cursor."""
        self._opening = path is not None
        self.busy_bar.setVisible(path is not None)
        if path is not None:
            self.statusBar().showMessage(f"Opening {path}\u2026")
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            self.statusBar().clearMessage()
            QApplication.restoreOverrideCursor()
        self._update_actions()

    # -- recent cases and the welcome page ----------------------------------------------------

    def refresh_welcome(self) -> None:
        """The page shown with no case open: what to do, and the cases opened lately (as links)."""
        self._recent = [r for r in recent_cases.recent() if r.present][:8]
        rows = "".join(
            f"<tr><td><a href='recent:{i}'>{html.escape(r.title or r.path.name)}</a></td>"
            f"<td style='padding-left:16px'>{html.escape(str(r.path))}</td>"
            f"<td style='padding-left:16px'>{html.escape(r.opened_at[:16].replace('T', ' '))}</td></tr>"
            for i, r in enumerate(self._recent))
        recent_block = (f"<h3>Recent cases</h3><table align='center' cellpadding='2'>{rows}</table>" if rows
                        else "<p>No case opened yet on this workstation.</p>")
        self.welcome.setText(
            "<h2>No case is open</h2><p>Create a case with <b>New case\u2026</b> (Ctrl+N) or open one "
            "with <b>Open case\u2026</b> (Ctrl+O), or <a href='demo:'>open the demo case</a>.<br>"
            "Files and folders dropped on the window are imported into the open case.</p>"
            + recent_block)

    def _on_welcome_link_activated(self, link: str) -> None:
        if link == "demo:":
            self.open_demo()
        elif link.startswith("recent:"):
            index = int(link.split(":", 1)[1])
            if 0 <= index < len(self._recent):
                self.open_case(self._recent[index].path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in recent_cases.recent()[:10]:
            action = self.recent_menu.addAction(f"{entry.title or entry.path.name} \u2014 {entry.path}")
            action.setEnabled(entry.present and not self._opening)
            action.triggered.connect(lambda _checked=False, p=entry.path: self.open_case(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent cases").setEnabled(False)

    def _remember(self, case: Case) -> None:
        try:
            recent_cases.remember(case.path, case.title)
        except OSError as exc:  # the list is a convenience: never a reason not to open a case
            log.warning("could not update the recent cases: %s", exc)

    def open_demo(self) -> bool:
        """Build the demo case if this workstation has none yet (off the GUI thread), then open it."""
        if not self.close_case():
            return False
        from desktop import demo

        return self._open_from_task("Build the demo case", "building the demo case",
                                    lambda: demo.build_demo()[0], demo.demo_case_path(),
                                    "Cannot build the demo case")

    def close_case(self) -> bool:
        """Stop the case's tasks and close it (and its read connection); True when closed."""
        self._generation += 1
        self.tasks.shutdown()
        self.history.clear()
        self._undoing = False
        self._places, self._place = [], -1
        self._close_progress_dialog()
        self.model.set_reader(None)
        self.custody_view.load(None)
        self.custody_view.banner.show_unknown()
        self.detail.show_item(None, None)
        self._shown_item = None
        self.panels.set_case(None, None)
        if self.briefing_dialog is not None:
            self.briefing_dialog.reject()
        self.assessment_view.set_case(None, None)
        self.timeline_view.set_case(None, None)
        self.campaigns_view.set_case(None)
        self.model.set_only(None)
        self.evidence_filter.clear()
        self._campaign = ""
        self.tabs.setTabText(0, "Evidence")
        self.panels.indicators_view.proxy.set_only(None)
        if self.reader is not None:
            self.reader.conn.close()
            self.reader = None
        self._checking = False
        if self._browsed is not None:
            self._browsed.close()
            self._browsed = None
        if self.case is not None:
            self.case.close()  # on the GUI thread, which opened it: the writer lock is per thread
            self.case = None
            self.case_changed.emit()
        self.setWindowTitle("Casetrail")
        self.refresh_welcome()
        self.pages.setCurrentWidget(self.welcome)
        self._update_status()
        self.read_only_banner.hide()
        self._update_status()
        self._update_actions()
        return True

    def _show_case(self, case: Case, reader: store.Database | None = None,
                   first: item_list.FirstLevel | None = None) -> None:
        self.case = case
        self._remember(case)
        self.reader = reader if reader is not None else case.reader()
        self.model.set_reader(self.reader, first)
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
        self._show_mode(case)
        self.pages.setCurrentIndex(1)
        if self.model.rowCount():
            self.table.selectRow(0)
        self._update_status()
        self._update_actions()
        self.case_changed.emit()
        self.check_chain()

    def _show_mode(self, case: Case) -> None:
        """The read-only banner: shown, with the reason, unless the case can be written."""
        if case.read_only:
            case_text.plain(self.read_only_banner,
                            f"Read-only: {case.read_only_reason}. Nothing can be imported, and a verify "
                            "run is not recorded in the custody log.")
            self.read_only_banner.setProperty("state", "failed" if case.integrity_problems else "")
            self.read_only_banner.show()
        else:
            self.read_only_banner.hide()

    def check_chain(self) -> TaskHandle[tuple[ChainStatus, dict[int, item_list.KnownHash]]] | None:
        """Recompute the custody chain on the read pool and show the result in the banner."""
        if self.case is None:
            return None
        generation = self._generation
        self.custody_view.banner.show_unknown("Custody chain: checking\u2026")

        def shown(result: tuple[ChainStatus, dict[int, item_list.KnownHash]]) -> None:
            if generation == self._generation:
                status, known = result
                self.model.set_known(known)
                self.custody_view.banner.show_report(*status)
                self.chain_checked.emit()

        case_id = str(self.case.meta.get("case_id", ""))
        return self.tasks.run_read("Custody check", lambda: _case_checks(self._reader_factory(), case_id),
                                   on_success=shown)

    def _reader_factory(self) -> Callable[[], store.Database]:
        assert self.case is not None  # noqa: S101 - callers check; this narrows the type
        return self.case.reader

    # -- back and forward ----------------------------------------------------------------------

    def _note_place(self) -> None:
        """Remember where the window is now (after a tab change or a new item shown)."""
        if self._navigating or self.case is None:
            return
        place = (self.tabs.currentIndex(), self._shown_item)
        if 0 <= self._place < len(self._places) and self._places[self._place] == place:
            return
        if 0 <= self._place < len(self._places) and self._places[self._place][0] == place[0] \
                and self._places[self._place][1] is None:
            self._places[self._place] = place  # the same tab, now with an item: one step, not two
        else:
            del self._places[self._place + 1:]
            self._places.append(place)
            del self._places[:-100]
            self._place = len(self._places) - 1
        self._update_nav_actions()

    def go_back(self) -> None:
        """Show the tab and item shown before the last move."""
        if self._place > 0:
            self._go(self._place - 1)

    def go_forward(self) -> None:
        """Undo a Back."""
        if self._place + 1 < len(self._places):
            self._go(self._place + 1)

    def _go(self, index: int) -> None:
        self._navigating = True
        try:
            self._place = index
            tab, item_id = self._places[index]
            if item_id is not None:
                self.panels.reveal_item(item_id)
            self.tabs.setCurrentIndex(tab)
        finally:
            self._navigating = False
        self._update_nav_actions()

    def _update_nav_actions(self) -> None:
        self.back_action.setEnabled(self._place > 0)
        self.forward_action.setEnabled(0 <= self._place < len(self._places) - 1)

    def show_shortcuts(self) -> None:
        """List every keyboard shortcut of the window (from the actions themselves)."""
        found: set[tuple[str, str]] = set()
        for action in self.findChildren(QAction):
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
            if keys and action.text():
                found.add((action.text().replace("&", ""), ", ".join(keys)))
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td style='padding-left:24px'><b>"
                       f"{html.escape(keys)}</b></td></tr>" for name, keys in sorted(found))
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>",
                          QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.shortcuts_box = box
        box.open()

    # -- undo and redo -----------------------------------------------------------------------

    def record_changes(self, changes: Changes) -> None:
        """An analyst edit was made: file it for Undo and refresh what it names."""
        self.history.record(changes)
        self.apply_changes(changes, made_by=self.sender())
        self._update_actions()

    def apply_changes(self, changes: Changes, *, made_by: object = None) -> None:
        """Refresh exactly what ``changes`` names (the view that made an edit refreshed itself)."""
        if changes.custody:
            self.custody_view.load(self.reader)
        if changes.assessment and made_by is not self.assessment_view.session:
            self.assessment_view.reload()
        if changes.timeline and made_by is not self.timeline_view.session:
            self.timeline_view.reload()
        if changes.tagged("indicator") and made_by is not self.panels.indicators_view:
            self.panels.indicators_view.tags_edited()
        if changes.items_added or changes.items:
            self.model.refresh(changes.items, added=changes.items_added)
        if changes.tagged("item"):
            self.model.rows_changed(int(i) for i in changes.tagged("item"))
        if changes.indicators or changes.indicators_added:
            self.panels.indicators_changed()
        if changes.feeds:
            self.panels.indicators_view.refresh()  # correlation reads the snapshot or library again
            self.panels.graph_view.mark_stale()
        self._update_status()

    def undo(self) -> TaskHandle[Changes] | None:
        """Take back the last analyst edit, on the write pool (a new custody entry, never a deletion)."""
        return self._step(self.history.take_undo(), self.history.undone, "Undo")

    def redo(self) -> TaskHandle[Changes] | None:
        """Make again the last edit that was undone."""
        return self._step(self.history.take_redo(), self.history.redone, "Redo")

    def _step(self, edit: Edit | None, file: Callable[[Edit, Changes], None],
              verb: str) -> TaskHandle[Changes] | None:
        if edit is None or self.case is None or self.case.read_only or self._undoing:
            return None
        case, generation = self.case, self._generation
        self._undoing = True

        def succeeded(changes: Changes) -> None:
            if generation == self._generation:
                file(edit, changes)
                self.apply_changes(changes)
                self.statusBar().showMessage(f"{verb}: {edit.label} (recorded in the custody log)", 8000)

        def done(_outcome: str) -> None:
            if generation == self._generation:
                self._undoing = False
                self._update_actions()
                self.undo_finished.emit(_outcome)

        self._update_actions()
        return self.tasks.run_write(f"{verb} {edit.label}", lambda: as_task(lambda: edit.apply(case), verb),
                                    on_success=succeeded, on_done=done)

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
        self._batch_mark = case_changes.mark(self.reader.conn) if self.reader is not None else None

        def progressed(tick: Progress) -> None:
            dialog.update_progress(tick)
            if tick.overall_done != self._last_overall:  # a batch was recorded: show what it changed
                self._last_overall = tick.overall_done
                self.show_batch("Import")

        def succeeded(report: ImportReport) -> None:
            if generation == self._generation:
                self._report_import(report)

        def done(outcome: str) -> None:
            self.import_handle = None
            if generation == self._generation:
                self._close_progress_dialog()
                self.show_batch("Import", last=True)
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

    def show_batch(self, label: str, *, last: bool = False) -> Changes:
        """Show what a long write committed since the last look, and only that (no view is reset).

        The core names the new items, the items whose custody grew, their indicators and the new
        custody entries (``core.case_changes``); each view inserts or repaints those rows, so the
        analyst's selection and scroll position stay while an import runs. After the last batch
        the views that summarise the whole case (campaigns, the timeline when shown) regroup.
        """
        if self.reader is None or self._batch_mark is None:
            return Changes()
        changes, self._batch_mark = case_changes.changes_since(self.reader.conn, self._batch_mark, label)
        self.apply_changes(changes)
        if last:
            self._batch_mark = None
            if changes.items_added:
                self.campaigns_view.set_case(self.case)  # regrouped now if shown, else when next shown
                if self.timeline_view.isVisible():
                    self.timeline_view.reload()
            if not self.table.currentIndex().isValid() and self.model.rowCount():
                self.table.selectRow(0)
            elif self._shown_item is not None and self._shown_item in changes.items:
                self._show_selected(self.table.currentIndex())  # its analysis just landed
        self.batch_shown.emit(changes)
        return changes

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
        self._batch_mark = case_changes.mark(self.reader.conn) if self.reader is not None else None
        self._last_overall = -1

        def progressed(tick: Progress) -> None:
            dialog.update_progress(tick)
            if tick.overall_done != self._last_overall:  # results were recorded: show what changed
                self._last_overall = tick.overall_done
                self.show_batch("Analyse")

        def succeeded(report: AnalysisReport) -> None:
            if generation == self._generation:
                self.statusBar().showMessage(
                    f"Analysed {len(report.analysed)} item(s); {len(report.failed)} failed; "
                    f"{len(report.derived)} new derived item(s).", 10000)

        def done(outcome: str) -> None:
            if generation == self._generation:
                self._close_progress_dialog()
                self.show_batch("Analyse", last=True)
            self.analysis_finished.emit(outcome)

        handle = self.tasks.run_write("Analyse", lambda: analyse_items(case, item_ids),
                                      on_success=succeeded, on_progress=progressed,
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
                item = self.model.item_at(self.model.index_of(item_id, expand=False))
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
        self.start_analysis(self.table.selected_item_ids())

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
        if current.isValid() and self.model.item_id_at(current) == self._shown_item:
            return  # a sort, a filter or new rows moved the shown item: it is still the one shown below
        self._show_selected(current if current.isValid() else -1)

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

    # -- exports, packages and feeds --------------------------------------------------------------

    def _on_export_triggered(self, kind: str) -> None:
        if self.case is None:
            return
        default = self._last_dir / f"{self.case.path.stem}{_EXPORT_SUFFIX[kind]}"
        chosen, _ = QFileDialog.getSaveFileName(self, f"Export {EXPORT_TITLES[kind]}", str(default),
                                                _EXPORT_FILTERS[kind])
        if chosen:
            self._last_dir = Path(chosen).parent
            self.export(kind, Path(chosen))

    def export(self, kind: str, path: Path) -> TaskHandle[str] | None:
        """Write a STIX bundle, MISP event, CSV or case package on the write pool.

        Like the CLI's ``export``: the case is verified first (a failing case is refused) and the
        export's receipt is signed and recorded in custody.
        """
        if self.case is None or not self._can_write("export"):
            return None
        if not ensure_passphrase(self, self.case.examiner):  # the receipt is signed
            return None
        case, generation = self.case, self._generation
        dialog = self._open_progress_dialog(f"Exporting {EXPORT_TITLES[kind]}")

        def succeeded(summary: str) -> None:
            if generation == self._generation:
                self.show_message(QMessageBox.Icon.Information, "Exported", summary)

        def done(outcome: str) -> None:
            if generation == self._generation:
                self._close_progress_dialog()
                self.apply_changes(Changes(custody=1))
            self.export_finished.emit(outcome)

        handle = self.tasks.run_write(f"Export {EXPORT_TITLES[kind]}",
                                      lambda: as_task(lambda: run_export(case, kind, path), "exporting"),
                                      on_success=succeeded, on_done=done)
        dialog.cancel_requested.connect(handle.cancel)
        return handle

    def _on_import_package_triggered(self) -> None:
        package, _ = QFileDialog.getOpenFileName(self, "Import a case package", str(self._last_dir),
                                                 "Case package (*.zip)")
        if not package:
            return
        dest = QFileDialog.getExistingDirectory(self, "Folder to unpack the case into", str(self._last_dir))
        if dest:
            self.import_package(Path(package), Path(dest) / f"{Path(package).stem}.casetrail")

    def import_package(self, package: Path, dest: Path) -> bool:
        """Verify a case package and unpack it as a new case (off the GUI thread), then open it."""
        if not self.close_case():
            return False
        from reports.package import import_package

        examiner = os.environ.get("CASETRAIL_EXAMINER") or None

        def unpack() -> Path:
            with import_package(package, dest, examiner=examiner) as case:
                return case.path

        return self._open_from_task("Import case package", f"verifying {package.name}", unpack, dest,
                                    "Cannot import the package")

    def _on_import_feeds_triggered(self) -> None:
        chosen, _ = QFileDialog.getOpenFileNames(self, "Import feeds into the workstation",
                                                 str(self._last_dir),
                                                 "Feeds (*.json *.csv *.tsv *.txt);;All files (*)")
        if chosen:
            self._last_dir = Path(chosen[0]).parent
            self.import_feeds([Path(c) for c in chosen])

    @property
    def generation(self) -> int:
        """Grows each time a case is closed: a late callback of an older case's task does nothing."""
        return self._generation

    def show_feeds(self) -> FeedsDialog:
        """The feeds dialog (one, non-modal): list, import, remove, re-run lookups."""
        if self.feeds_dialog is None:
            self.feeds_dialog = FeedsDialog(self)
        self.feeds_dialog.reload()
        self.feeds_dialog.show()
        return self.feeds_dialog

    def import_feeds(self, paths: list[Path]) -> TaskHandle[edits.FeedsImported]:
        """Import feed files into the workstation library on the read pool; correlate again after."""
        generation = self._generation

        def succeeded(done: edits.FeedsImported) -> None:
            lines = [f"\u2022 {r.name}: {r.entries} entries" for r in done.imported]
            lines += [f"\u2022 {f.path}: {f.error}" for f in done.failed]
            icon = QMessageBox.Icon.Warning if done.failed else QMessageBox.Icon.Information
            refused = f", {len(done.failed)} refused" if done.failed else ""
            title = f"{len(done.imported)} feed(s) imported{refused}"
            self.show_message(icon, title, "\n".join(lines) or "Nothing was imported.")
            if generation == self._generation and done.changes.feeds:
                self.panels.indicators_view.refresh()  # correlation reads the library again
                self.panels.graph_view.mark_stale()

        def finished(outcome: str) -> None:
            self.feeds_imported.emit(outcome)

        return self.tasks.run_read("Import feeds", lambda: edits.import_feeds(paths), on_success=succeeded,
                                   on_done=finished, listed=True)

    # -- the evidence table's context menu -------------------------------------------------------

    def evidence_menu(self) -> QMenu:
        """The actions on the selected item (what a right click on the evidence table offers)."""
        menu = QMenu(self)
        item = self._current_item()
        writable = self.case is not None and not self.case.read_only and not self.tasks.writing
        copies = (("Copy SHA-256", item.sha256 if item else ""), ("Copy MD5", item.md5 if item else ""),
                  ("Copy name", item.name if item else ""))
        for title, value in copies:
            action = menu.addAction(title)
            action.setEnabled(item is not None)
            action.triggered.connect(lambda _checked=False, v=value: QGuiApplication.clipboard().setText(v))
        menu.addSeparator()
        tag = menu.addAction("Tag item\u2026")
        tag.setEnabled(item is not None and writable)
        tag.triggered.connect(self._tag_current_item)
        export = menu.addAction("Export the original file\u2026")
        export.setToolTip("Write the acquired bytes out of the vault, re-hashed, recorded in custody")
        export.setEnabled(item is not None and writable)
        export.triggered.connect(self._export_current_original)
        graph = menu.addAction("Show in the graph")
        graph.setEnabled(item is not None)
        if item is not None:
            graph.triggered.connect(lambda: self.panels.show_in_graph(f"item:{item.id}"))
        found = self.model.row_at(self.table.currentIndex()) if item is not None else None
        first = found.first_copy if found is not None and found.duplicates else 0
        copy = menu.addAction(f"Go to the first copy (item {first})" if first and item and first != item.id
                              else "Go to the first copy")
        copy.setToolTip("The first item of the case holding the same content (same SHA-256)")
        copy.setEnabled(bool(first) and item is not None and first != item.id)
        copy.triggered.connect(lambda: self.panels.reveal_item(first))
        parent = menu.addAction("Go to the item it was derived from")
        parent.setEnabled(item is not None and item.parent_id is not None)
        if item is not None and item.parent_id is not None:
            parent_id = item.parent_id
            parent.triggered.connect(lambda: self.panels.reveal_item(parent_id))
        menu.addSeparator()
        menu.addAction(self.analyse_action)
        return menu

    def _on_table_opened(self, _item_id: int) -> None:
        """Enter or a double click on an item: its message or media view takes the focus."""
        self.panels.open_current_view()

    def column_menu(self) -> QMenu:
        """The column chooser: every column of the evidence table, checked when shown."""
        return self.table.column_menu(self)

    def _on_header_context_menu_requested(self, pos: QPoint) -> None:
        menu = self.column_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_menu = menu
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))

    def _on_table_context_menu_requested(self, pos: QPoint) -> None:
        menu = self.evidence_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_menu = menu
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _current_item(self) -> Item | None:
        index = self.table.currentIndex()
        return self.model.item_at(index) if index.isValid() else None

    def _tag_current_item(self) -> None:
        item = self._current_item()
        if item is None or not self._can_write("tag"):
            return
        dialog = TagDialog(1, self, what=f"item {item.id} ({item.name})")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.tag_item(item.id, dialog.tags()))
        self.tag_dialog = dialog
        dialog.open()

    def tag_item(self, item_id: int, tags: list[str]) -> TaskHandle[Changes] | None:
        """Add (``-tag``: remove) tags on an item, on the write pool; the edit can be undone."""
        if self.case is None or not tags or not self._can_write("tag"):
            return None
        case = self.case
        add = [t for t in tags if not t.startswith("-")]
        remove = [t[1:] for t in tags if t.startswith("-")]

        def write() -> Changes:
            return edits.tag(case, "item", [item_id], add, remove)

        return self._edit("Tag item", write)

    def _export_current_original(self) -> None:
        item = self._current_item()
        if item is None or not self._can_write("export"):
            return
        chosen, _ = QFileDialog.getSaveFileName(self, "Export the original file",
                                                str(self._last_dir / item.name))
        if chosen:
            self._last_dir = Path(chosen).parent
            self.export_original(item.id, Path(chosen))

    def export_original(self, item_id: int, dest: Path) -> TaskHandle[Changes] | None:
        """Write an item's original bytes out of the vault (verified, recorded), on the write pool."""
        if self.case is None or not self._can_write("export"):
            return None
        case = self.case

        def write() -> Changes:
            return edits.export_original(case, item_id, dest).changes

        return self._edit("Export original", write)

    def _edit(self, name: str, write: Callable[[], Changes]) -> TaskHandle[Changes]:
        generation = self._generation

        def made(changes: Changes) -> None:
            if generation == self._generation:
                self.record_changes(changes)
                self.statusBar().showMessage(f"{changes.label or name}: recorded in the custody log", 8000)
                self.edit_finished.emit(name)

        return self.tasks.run_write(name, lambda: as_task(write, name), on_success=made)

    def _on_evidence_filter_text_changed(self, text: str) -> None:
        self.model.set_text_filter(text)
        self._update_status()

    def _on_tabs_current_changed(self, _index: int) -> None:
        self._note_place()
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
            self._show_selected(current)
        self._update_status()

    def _on_model_reset(self) -> None:
        """A sort or a filter re-listed the items: keep the one shown selected, or show none.

        It is selected again if it is on the first page of the new list (the tree lays out every
        row it is shown: showing 60,000 to reach one took seconds); further down it stays shown
        below, unselected, as long as the list holds it.
        """
        index = (self.model.index_of(self._shown_item, within=TOP_PAGE)
                 if self._shown_item is not None else None)
        if index is not None and index.isValid():
            self._keeping_selection = True
            try:
                self.table.select_index(index)
            finally:
                self._keeping_selection = False
        elif self._shown_item is not None and self.model.lists(self._shown_item):
            return
        elif self._shown_item is not None and self.case is not None and self.reader is not None:
            self._show_selected(-1)

    def _read_for_model(self, work: Callable[[sqlite3.Connection], Any], done: Callable[[Any], None]) -> None:
        """The evidence model's loader: a core read on the read pool, on a connection of its own."""
        case, generation = self.case, self._generation
        if case is None:
            done(None)
            return

        def read() -> Any:
            db = case.reader()
            try:
                return work(db.conn)
            finally:
                db.conn.close()

        def back(result: Any) -> None:
            if generation == self._generation:
                done(result)

        self.tasks.run_read("List evidence", lambda: as_task(read, "listing evidence"), on_success=back,
                            owner=self,
                            on_done=lambda outcome: None if outcome == "succeeded" else back(None))

    def _show_selected(self, where: int | QModelIndex | QPersistentModelIndex) -> None:
        item = self.model.item_at(where)
        self._shown_item = item.id if item is not None else None
        self._note_place()
        status = self.model.verify_status(item.id) if item is not None else None
        self.detail.show_item(item, self.reader, status)
        self.panels.show_item(item, self.reader, self.case)

    def _update_status(self) -> None:
        if self.case is None:
            self.status_label.setText("")
            return
        items = self.model.total
        entries = self.custody_view.model.rowCount()
        mode = "read-only" if self.case.read_only else f"examiner {self.case.examiner}"
        shown = f" of campaign {self._campaign}" if self.model.filtered and self._campaign else ""
        if self.model.query.text.strip():
            shown += " matching the filter"
        case_text.plain(self.status_label, f"{items} item{'s' if items != 1 else ''}{shown} \u00b7 "
                                           f"{entries} custody entries \u00b7 {mode}")

    def _update_actions(self) -> None:
        self.new_action.setEnabled(not self._opening)
        self.open_action.setEnabled(not self._opening)
        self.demo_action.setEnabled(not self._opening)
        have_case = self.case is not None
        writable = have_case and not (self.case.read_only if self.case else True)
        idle = not self.tasks.writing
        self.close_action.setEnabled(have_case)
        self.import_files_action.setEnabled(writable and idle)
        self.import_folder_action.setEnabled(writable and idle)
        self.verify_action.setEnabled(have_case and idle)
        self.analyse_action.setEnabled(writable and idle)
        self.export_briefing_action.setEnabled(have_case and not self._checking)
        for action in self.export_actions.values():
            action.setEnabled(writable and idle)
        self.import_package_action.setEnabled(not self._opening)
        self._update_nav_actions()
        can_edit = writable and not self._undoing
        undo, redo = self.history.undo_label, self.history.redo_label
        self.undo_action.setEnabled(can_edit and bool(undo))
        self.undo_action.setText(f"&Undo {undo}" if undo else "&Undo")
        self.redo_action.setEnabled(can_edit and bool(redo))
        self.redo_action.setText(f"&Redo {redo}" if redo else "&Redo")
