# SPDX-License-Identifier: GPL-3.0-or-later
"""The workstation's feeds: list them with their hashes and dates, import, remove, re-run lookups.

Everything here is a core call (``edits.list_feeds``, ``edits.remove_feed``,
``edits.refresh_lookups``, ``edits.import_feeds`` through the window): the dialog holds no
library or case logic. Removing a feed asks first; with a writable case open, the case's lookups
run again at once, so the case's intelligence snapshot — what its correlation and briefing state
— is a new, custody-bound snapshot whose reason names the feed removed. A removal cannot be
undone from the Edit menu (the library keeps no copy of the feed): import the file again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core import edits
from desktop.core.changes import Changes
from desktop.core.intel import FeedInfo
from desktop.ui import case_text
from desktop.ui.tasks import as_task

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow

HEADERS = ("Name", "File", "Format", "Imported at (UTC)", "Entries", "SHA-256")


class FeedsDialog(QDialog):
    """The feeds of this workstation's library, and what can be done with them.

    Args:
        window: the main window (its task manager, its open case, its message boxes).
        confirm: asks a yes/no question (``case_text.ask``; tests answer it).
    """

    def __init__(self, window: MainWindow,
                 confirm: Callable[[QWidget | None, str, str], bool] = case_text.ask) -> None:
        super().__init__(window)
        self.setObjectName("feedsDialog")
        self.setWindowTitle("Feeds of this workstation")
        self.window_ = window
        self._confirm = confirm
        self.feeds: list[FeedInfo] = []
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setObjectName("feedsTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.note = case_text.plain_label(self)
        self.note.setWordWrap(True)
        self.empty_hint = QLabel("No feeds yet: import STIX 2.1 bundles, MISP events, CSV lists or ip2asn "
                                 "tables.", self)
        self.import_button = QPushButton("Import feeds\u2026", self)
        self.import_button.clicked.connect(window.import_feeds_action.trigger)
        self.remove_button = QPushButton("Remove feed\u2026", self)
        self.remove_button.setToolTip("Remove the selected feed and everything imported from it; the open "
                                      "case's lookups run again (a new intelligence snapshot in custody).")
        self.remove_button.clicked.connect(self.remove_selected)
        self.refresh_button = QPushButton("Re-run lookups for this case", self)
        self.refresh_button.setToolTip("Look every indicator of the open case up in the library again: a new "
                                       "intelligence snapshot, recorded in the custody log.")
        self.refresh_button.clicked.connect(self.rerun_lookups)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        for button in (self.import_button, self.remove_button, self.refresh_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        hint = QLabel("Feeds are kept by this workstation and looked up for every case opened on it. A case "
                      "states what its last intelligence snapshot found: re-run its lookups after a change.",
                      self)
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.note)
        layout.addLayout(row)
        self.resize(980, 420)
        window.feeds_imported.connect(lambda _outcome: self.reload())
        window.tasks.busy_changed.connect(lambda _busy: self._update_buttons())
        self.reload()

    def reload(self) -> None:
        """Read the library's feeds again."""
        self.feeds = edits.list_feeds()
        self.table.setRowCount(len(self.feeds))
        for row, feed in enumerate(self.feeds):
            values = (feed.name, feed.file_name, feed.format, feed.imported_at, f"{feed.entries:,}",
                      feed.sha256)
            for column, value in enumerate(values):
                cell = QTableWidgetItem(case_text.shown(value))
                cell.setToolTip(case_text.tooltip(value))
                if column == 4:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self.table.resizeColumnsToContents()
        self.empty_hint.setVisible(not self.feeds)
        self._update_buttons()

    def selected(self) -> FeedInfo | None:
        """The feed selected in the list."""
        rows = self.table.selectionModel().selectedRows()
        return self.feeds[rows[0].row()] if rows and rows[0].row() < len(self.feeds) else None

    def _writable_case(self) -> bool:
        case = self.window_.case
        return case is not None and not case.read_only

    def _update_buttons(self) -> None:
        busy = self.window_.tasks.writing
        self.remove_button.setEnabled(self.selected() is not None and not busy)
        self.refresh_button.setEnabled(self._writable_case() and not busy)

    def remove_selected(self) -> None:
        """Ask, then remove the selected feed (and re-run the open case's lookups) on the write pool."""
        feed = self.selected()
        if feed is None:
            return
        case = self.window_.case if self._writable_case() else None
        then = ("The open case's lookups then run again: its intelligence snapshot is taken anew and "
                "recorded in the custody log." if case is not None else
                "No writable case is open: a case keeps what its last snapshot found until its lookups run "
                "again.")
        question = (f"Remove the feed \u201c{feed.name}\u201d ({feed.file_name}, {feed.entries:,} entries, "
                    f"SHA-256 {feed.sha256}) from this workstation's library?\n\n{then}\n\n"
                    "This cannot be undone from the Edit menu: import the file again to restore it.")
        if not self._confirm(self, "Remove a feed", question):
            return
        name = feed.name
        self.note.setText("Removing the feed\u2026")
        self._run("Remove feed", lambda: edits.remove_feed(feed.id, case=case),
                  f"Removed the feed {name}" + (" and took a new intelligence snapshot" if case else ""))

    def rerun_lookups(self) -> None:
        """Take a new intelligence snapshot of the open case (on the write pool)."""
        case = self.window_.case
        if case is None or case.read_only:
            return
        self.note.setText("Looking the case's indicators up again\u2026")
        self._run("Re-run lookups", lambda: edits.refresh_lookups(case),
                  "Took a new intelligence snapshot (recorded in the custody log)")

    def _run(self, name: str, work: Callable[[], Changes], said: str) -> None:
        window, generation = self.window_, self.window_.generation

        def succeeded(changes: Changes) -> None:
            if window.generation == generation:
                window.apply_changes(changes)
            case_text.plain(self.note, said)

        self.window_.tasks.run_write(name, lambda: as_task(work, name.lower()), on_success=succeeded,
                                     on_done=lambda _outcome: self.reload(), owner=self)
        self._update_buttons()
