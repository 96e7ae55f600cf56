# SPDX-License-Identifier: GPL-3.0-or-later
"""The custody log as the window shows it: a table of entries under a chain-status banner.

The model is a thin adapter over entries the core reads through the case's read-only connection:
the whole log a page at a time (``core.custody_view.page``, by sequence number: a case of 100,000
items has more entries than that, and loading them all froze the window for seconds), one item's
entries at once. The
banner states what the core's chain recomputation found. Whether the chain is intact is decided
only by :func:`desktop.core.custody.verify_chain`, run off the GUI thread by the window — never
inferred here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from desktop.core import custody, custody_view, timestamps
from desktop.core.printable import visible
from desktop.core.store import Database
from desktop.ui.row_model import RowTableModel

_Index = QModelIndex | QPersistentModelIndex

# (key in the entry, header); the hash columns are shown in a fixed-width font.
ALL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "#"), ("at", "Time (UTC)"), ("action", "Action"), ("item_id", "Item"),
    ("examiner", "Examiner"), ("os_user", "OS user"), ("host", "Host"), ("source", "Source"),
    ("reason", "Reason"), ("result", "Result"), ("sha256", "SHA-256"), ("tool", "Tool"),
    ("entry_hash", "Entry hash"),
)
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "#"), ("at", "Time (UTC)"), ("action", "Action"), ("examiner", "Examiner"),
    ("host", "Host"), ("entry_hash", "Entry hash"), ("result", "Result"),
)
_HASH_KEYS = {"sha256", "entry_hash", "prev_hash"}
_PAGE = 200  # entries read at once: a screenful several times over
_WIDTHS = {"seq": 56, "at": 150, "action": 96, "item_id": 56, "examiner": 110, "os_user": 80, "host": 90,
           "source": 220, "reason": 160, "result": 280, "sha256": 190, "tool": 110, "entry_hash": 190}


class CustodyModel(RowTableModel[dict[str, Any]]):
    """Custody entries (all, or one item's) as rows; never editable, the log is append-only.

    Args:
        columns: which entry fields to show, as ``(key, header)`` pairs.
        parent: the owning QObject.
    """

    def __init__(self, columns: Sequence[tuple[str, str]] = ALL_COLUMNS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent, headers=[header for _key, header in columns])
        self._columns = tuple(columns)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._reader: Database | None = None
        self._paged = False
        self._count = 0
        self._shape = custody_view.LogShape(0, 0, 0)
        self._pages: dict[int, list[dict[str, Any]]] = {}

    def load(self, reader: Database | None, item_id: int | None = None) -> None:
        """Show the entries (all, or those about ``item_id``) readable through a read-only connection.

        The whole log is read lazily, a page at a time as rows are shown; one item's entries are
        few and read at once.
        """
        if reader is not None and reader is self._reader and self._paged and item_id is None:
            # The same log grew (an import, an edit): insert the new entries, keep the view.
            log = custody_view.grown(reader.conn, self._shape)
            if log.count > self._count:
                self._pages.pop((self._count - 1) - (self._count - 1) % _PAGE, None)  # the last page grew
                self.beginInsertRows(QModelIndex(), self._count, log.count - 1)
                self._count, self._shape = log.count, log
                self.endInsertRows()
            if log.count >= self._count:
                self._shape = log
                return
        self.beginResetModel()
        self._reader = reader
        self._pages.clear()
        self._paged = reader is not None and item_id is None
        self._shape = (custody_view.shape(reader.conn) if self._paged and reader is not None
                       else custody_view.LogShape(0, 0, 0))
        self._count = self._shape.count
        one_item = reader is not None and item_id is not None
        self._rows = custody.entries(reader.conn, item_id) if one_item and reader is not None else []
        self.endResetModel()

    def clear(self) -> None:
        """Show no entries."""
        self.load(None)

    def entry(self, row: int) -> dict[str, Any] | None:
        """Return the entry shown in ``row`` (the name the window and tests use for :meth:`row`)."""
        return self.row(row)

    def row(self, row: int) -> dict[str, Any] | None:
        """The entry in ``row`` (from its page, read on first use)."""
        if not self._paged:
            return super().row(row)
        if not 0 <= row < self._count or self._reader is None:
            return None
        start = row - row % _PAGE
        page = self._pages.get(start)
        if page is None:
            if len(self._pages) > 40:
                self._pages.clear()
            page = custody_view.page(self._reader.conn, self._shape, start, _PAGE)
            self._pages[start] = page
        return page[row - start] if row - start < len(page) else None

    def row_for(self, index: _Index) -> dict[str, Any] | None:
        """The entry an index shows."""
        return self.row(index.row()) if index.isValid() and not index.parent().isValid() else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Number of entries shown."""
        if parent.isValid():
            return 0
        return self._count if self._paged else len(self._rows)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents for each role."""
        entry = self.row_for(index)
        if entry is None or not 0 <= index.column() < len(self._columns):
            return None
        key = self._columns[index.column()][0]
        value = entry.get(key)
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "at":
                return timestamps.human(value)
            if key == "item_id":
                return "case" if value is None else str(value)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return None if value is None else str(value)
        if role == Qt.ItemDataRole.FontRole and key in _HASH_KEYS:
            return self._mono
        return None


class ChainBanner(QLabel):
    """One line above the custody table saying whether the chain recomputes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chainBanner")
        self.setTextFormat(Qt.TextFormat.PlainText)  # a broken entry's reason may quote what it holds
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_unknown()

    def show_unknown(self, text: str = "Custody chain: not checked yet.") -> None:
        """Say the chain has not been checked (fail closed: never shown as intact)."""
        self.setProperty("state", "unknown")
        self.setText(visible(text))
        self._restyle()

    def show_report(self, report: custody.ChainReport, missing_triggers: Sequence[str] = ()) -> None:
        """Show what the core's chain recomputation found."""
        if report.ok and not missing_triggers:
            self.setProperty("state", "ok")
            self.setText(f"Custody chain intact: {report.length} entries recompute and link; "
                         f"head {report.head[:16]}\u2026")
        else:
            reasons = ([f"BROKEN at entry {report.first_bad_seq}: {report.reason}"] if not report.ok else [])
            reasons += [f"append-only trigger {t} has been removed" for t in missing_triggers]
            self.setProperty("state", "broken")
            self.setText(visible("Custody chain " + "; ".join(reasons) + "."))
        self._restyle()

    def _restyle(self) -> None:
        # A dynamic property only restyles once the style is re-applied.
        self.style().unpolish(self)
        self.style().polish(self)


class CustodyView(QWidget):
    """The custody log tab: the chain banner and every entry, oldest first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = ChainBanner(self)
        self.model = CustodyModel(ALL_COLUMNS, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        configure_table(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.table)
        self._follow_when_shown = False

    def load(self, reader: Database | None) -> None:
        """Show every entry readable through ``reader``.

        Called again after every write: the columns are sized only for a newly shown case (the
        analyst's widths stay), and the newest entry is scrolled to only when the log was
        already showing its end (someone reading entry 30 is not moved away from it).
        """
        first = self.model.rowCount() == 0
        bar = self.table.verticalScrollBar()
        following = first or bar.value() >= bar.maximum()
        self.model.load(reader)
        if first and self.model.rowCount():
            # Fixed widths: measuring the contents made Qt read a thousand rows of every column
            # on the GUI thread (11 s of a 20,000-item case's 14 s opening, under load).
            header = self.table.horizontalHeader()
            for col, (key, _title) in enumerate(ALL_COLUMNS):
                header.resizeSection(col, _WIDTHS.get(key, 120))
        if following and self.model.rowCount():
            self.table.scrollToBottom()
            self._follow_when_shown = not self.table.isVisible()

    def showEvent(self, event: QShowEvent) -> None:
        """A log loaded while its tab was hidden opens at its newest entry."""
        super().showEvent(event)
        if self._follow_when_shown:
            self._follow_when_shown = False
            self.table.scrollToBottom()


def configure_table(table: QTableView) -> None:
    """The house look of a read-only evidence table: row selection, compact rows, no grid noise."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
