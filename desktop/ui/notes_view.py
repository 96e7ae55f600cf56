# SPDX-License-Identifier: GPL-3.0-or-later
"""Analyst notes: free text on the case, written, edited and deleted with custody keeping each version.

The core keeps a note's old text in the custody entry of every edit or deletion, so this view
can offer plain editing without losing anything. It only collects text and queues the change.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core import analysis, edits, timestamps
from desktop.ui.case_session import CaseSession
from desktop.ui.custody_view import configure_table
from desktop.ui.row_model import RowTableModel

_Index = QModelIndex | QPersistentModelIndex


class NotesModel(RowTableModel[analysis.Note]):
    """Notes in the order written (read-only rows; the box below edits them)."""

    HEADERS = ("Written (UTC)", "Author", "On", "Note")

    def set_notes(self, notes: list[analysis.Note]) -> None:
        """Show a fresh list."""
        self.set_rows(notes)

    def note_at(self, row: int) -> analysis.Note | None:
        """Return the note in ``row`` (the name the view uses for :meth:`row`)."""
        return self.row(row)

    def row_of(self, note_id: int) -> int:
        """Return the row showing a note, or -1."""
        return next((r for r, n in enumerate(self._rows) if n.id == note_id), -1)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents for each role."""
        n = self.row_for(index)
        if n is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            on = (f"item {n.item_id}" if n.item_id is not None
                  else f"indicator {n.indicator_id}" if n.indicator_id is not None else "case")
            return (timestamps.human(n.created_at), n.author, on, " ".join(n.text.split()))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return n.text
        return None


class NotesView(QWidget):
    """The notes list and a box to write or edit one.

    Args:
        session: the Assessment tab's link to the case; every change goes through it.
        parent: the owning widget.
    """

    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = NotesModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("notesTable")
        self.table.setModel(self.model)
        configure_table(self.table)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.resizeSection(0, 150)
        header.resizeSection(1, 110)
        header.resizeSection(2, 70)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("noteText")
        self.text.setPlaceholderText("A note on the case\u2026")
        self.text.setTabChangesFocus(True)
        self.text.setMaximumHeight(60)
        self.text.textChanged.connect(self._update_buttons)
        self.add_button = QPushButton("Add &note", self)
        self.save_button = QPushButton("Save changes", self)
        self.delete_button = QPushButton("Delete", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        title = QLabel("Analyst notes", self)
        title.setObjectName("sectionLabel")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.delete_button, self.save_button, self.add_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self._update_buttons()

    def show_notes(self, notes: list[analysis.Note]) -> None:
        """Show a snapshot, keeping the selected note selected."""
        current = self.current_note()
        self.model.set_notes(notes)
        row = self.model.row_of(current.id) if current else -1
        if row >= 0:
            self.table.selectRow(row)
        self._update_buttons()

    def current_note(self) -> analysis.Note | None:
        """The note selected in the list."""
        index = self.table.currentIndex()
        return self.model.note_at(index.row()) if index.isValid() else None

    def _on_add_button_clicked(self) -> None:
        text = self.text.toPlainText()
        self.session.change("Add note", lambda case: edits.add_note(case, text))
        self.text.clear()

    def _on_save_button_clicked(self) -> None:
        n = self.current_note()
        if n is not None:
            text = self.text.toPlainText()
            self.session.change("Edit note", lambda case: edits.update_note(case, n.id, text))

    def _on_delete_button_clicked(self) -> None:
        n = self.current_note()
        if n is not None:
            self.session.change("Delete note", lambda case: edits.delete_note(case, n.id))

    def _on_selection_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        n = self.model.note_at(current.row()) if current.isValid() else None
        if n is not None:
            self.text.setPlainText(n.text)
        self._update_buttons()

    def _update_buttons(self) -> None:
        writable = self.session.writable
        has_text = bool(self.text.toPlainText().strip())
        selected = self.current_note() is not None
        self.add_button.setEnabled(writable and has_text)
        self.save_button.setEnabled(writable and has_text and selected)
        self.delete_button.setEnabled(writable and selected)
        self.text.setEnabled(writable)
