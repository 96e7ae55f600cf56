# SPDX-License-Identifier: GPL-3.0-or-later
"""The Search tab: full-text search over mail bodies and subjects, text files and OCR text.

The query runs in SQLite's FTS5 index through the window's read-only connection (a search over
thousands of documents takes milliseconds, so it runs as the analyst presses Enter); every word
is searched literally, so evidence-like text never becomes query syntax (see
``findings.search_text``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from desktop.core import item_detail
from desktop.core.findings import TextHit
from desktop.core.store import Database
from desktop.ui.custody_view import configure_table
from desktop.ui.row_model import RowTableModel

_Index = QModelIndex | QPersistentModelIndex
_PARTS = {"body:text": "text body", "body:html": "HTML body", "subject": "subject", "ocr": "OCR text",
          "text": "text file"}


class SearchModel(RowTableModel[tuple[TextHit, str]]):
    """Search hits with the name of the item each is in."""

    HEADERS = ("Item", "Name", "In", "Passage")

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents; the passage marks the words found with « »."""
        row = self.row_for(index)
        if row is None:
            return None
        hit, name = row
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(hit.item_id), name, _PARTS.get(hit.part, hit.part),
                    " ".join(hit.snippet.split()))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 3:
            return hit.snippet
        return None


class SearchView(QWidget):
    """A search box over the case's indexed text, and the hits; double-click shows the item.

    Signals:
        item_activated: the analyst wants to see this item (its id).
    """

    item_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader: Database | None = None
        self.box = QLineEdit(self)
        self.box.setObjectName("searchBox")
        self.box.setPlaceholderText("Search mail bodies, subjects, text files and OCR text "
                                    "(every word must occur), then Enter")
        self.box.setClearButtonEnabled(True)
        self.box.returnPressed.connect(self._on_box_return_pressed)
        self.count = QLabel(self)
        self.model = SearchModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("searchTable")
        self.table.setModel(self.model)
        configure_table(self.table)
        header = self.table.horizontalHeader()
        header.resizeSection(0, 50)
        header.resizeSection(1, 220)
        header.resizeSection(2, 90)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        top = QHBoxLayout()
        top.addWidget(self.box, 1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def set_reader(self, reader: Database | None) -> None:
        """Follow the window's case: its read-only connection, or None when it is closed."""
        self._reader = reader
        self.model.set_rows([])
        self.count.setText("")

    def search(self, query: str) -> int:
        """Run a search and show its hits; return how many."""
        if self._reader is None:
            return 0
        hits = item_detail.search(self._reader.conn, query)
        self.model.set_rows([(h.hit, h.item_name) for h in hits])
        self.count.setText(f"{len(hits)} hit{'s' if len(hits) != 1 else ''}")
        return len(hits)

    def _on_box_return_pressed(self) -> None:
        self.search(self.box.text())

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        row = self.model.row(index.row())
        if row is not None:
            self.item_activated.emit(row[0].item_id)
