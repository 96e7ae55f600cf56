# SPDX-License-Identifier: GPL-3.0-or-later
"""Key judgments: what the analyst assesses, how likely (ICD 203 terms), and with what confidence.

The likelihood picker offers only the seven ICD 203 expressions with their probability ranges,
and the confidence picker only low / moderate / high with what each level means, because the
standard keeps the two apart: a judgment can be "likely" yet held with low confidence. The core
(:mod:`desktop.core.analysis`) validates and records every change in custody; this view only
collects the fields and queues the change on the write pool.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core import analysis, edits
from desktop.ui.case_session import CaseSession
from desktop.ui.custody_view import configure_table
from desktop.ui.row_model import RowTableModel

_Index = QModelIndex | QPersistentModelIndex

JudgmentIdRole = Qt.ItemDataRole.UserRole + 1


def likelihood_label(term: str) -> str:
    """Return how a likelihood term is offered, e.g. ``likely (55-80 %)``."""
    lo, hi = analysis.LIKELIHOOD[term]
    return f"{term} ({lo}\u2013{hi} %)"


class JudgmentsModel(RowTableModel[analysis.Judgment]):
    """The key judgments in reading order (read-only rows; the form below edits them)."""

    HEADERS = ("#", "Key judgment", "Likelihood", "Confidence")

    def set_judgments(self, judgments: list[analysis.Judgment]) -> None:
        """Show a fresh list."""
        self.set_rows(judgments)

    def judgment_at(self, row: int) -> analysis.Judgment | None:
        """Return the judgment in ``row`` (the name the view uses for :meth:`row`)."""
        return self.row(row)

    def row_of(self, judgment_id: int) -> int:
        """Return the row showing a judgment, or -1."""
        return next((r for r, j in enumerate(self._rows) if j.id == judgment_id), -1)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents for each role."""
        j = self.row_for(index)
        if j is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        if role == JudgmentIdRole:
            return j.id
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"KJ{index.row() + 1}", " ".join(j.text.split()), likelihood_label(j.likelihood),
                    j.confidence)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{j.text}\n\n{j.statement()}\nWritten by {j.created_by}, {j.created_at}"
        return None


class JudgmentsView(QWidget):
    """The judgments list and the form that adds or edits one.

    Args:
        session: the Assessment tab's link to the case; every change goes through it.
        parent: the owning widget.
    """

    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = JudgmentsModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("judgmentsTable")
        self.table.setModel(self.model)
        configure_table(self.table)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 44)
        header.resizeSection(2, 170)
        header.resizeSection(3, 90)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)

        self.text = QPlainTextEdit(self)
        self.text.setObjectName("judgmentText")
        self.text.setPlaceholderText("We assess that \u2026")
        self.text.setTabChangesFocus(True)
        self.text.setMaximumHeight(60)
        self.likelihood = QComboBox(self)
        self.likelihood.setObjectName("likelihoodPicker")
        for term in analysis.LIKELIHOOD:
            self.likelihood.addItem(likelihood_label(term), term)
        self.likelihood.setCurrentIndex(self.likelihood.findData("likely"))
        self.likelihood.setToolTip("ICD 203 estimative language: the seven terms and their ranges")
        self.confidence = QComboBox(self)
        self.confidence.setObjectName("confidencePicker")
        for level in analysis.CONFIDENCE:
            self.confidence.addItem(level, level)
            self.confidence.setItemData(self.confidence.count() - 1, analysis.CONFIDENCE_MEANING[level],
                                        Qt.ItemDataRole.ToolTipRole)
        self.confidence.setCurrentIndex(self.confidence.findData("moderate"))
        self.meaning = QLabel(self)
        self.meaning.setObjectName("confidenceMeaning")
        self.meaning.setWordWrap(True)
        self.add_button = QPushButton("&Add judgment", self)
        self.save_button = QPushButton("&Save changes", self)
        self.delete_button = QPushButton("Delete", self)
        self.new_button = QPushButton("New", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.text.textChanged.connect(self._update_buttons)
        self.confidence.currentIndexChanged.connect(self._on_confidence_current_index_changed)

        title = QLabel("Key judgments (ICD 203)", self)
        title.setObjectName("sectionLabel")
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("Likelihood", self))
        pickers.addWidget(self.likelihood, 1)
        pickers.addSpacing(12)
        pickers.addWidget(QLabel("Confidence", self))
        pickers.addWidget(self.confidence)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.new_button, self.delete_button, self.save_button, self.add_button):
            buttons.addWidget(b)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.text)
        form.addRow(pickers)
        form.addRow(self.meaning)
        form.addRow(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        self._on_confidence_current_index_changed()
        self._update_buttons()

    def show_judgments(self, judgments: list[analysis.Judgment]) -> None:
        """Show a snapshot, keeping the selected judgment selected."""
        current = self.current_judgment()
        self.model.set_judgments(judgments)
        row = self.model.row_of(current.id) if current else -1
        if row >= 0:
            self.table.selectRow(row)
        self._update_buttons()

    def current_judgment(self) -> analysis.Judgment | None:
        """The judgment selected in the list."""
        index = self.table.currentIndex()
        return self.model.judgment_at(index.row()) if index.isValid() else None

    def _fields(self) -> tuple[str, str, str]:
        return (self.text.toPlainText(), str(self.likelihood.currentData()),
                str(self.confidence.currentData()))

    def _on_add_button_clicked(self) -> None:
        text, likelihood, confidence = self._fields()
        self.session.change("Add key judgment", lambda case: edits.add_judgment(
            case, text, confidence=confidence, likelihood=likelihood))
        self.text.clear()

    def _on_save_button_clicked(self) -> None:
        j = self.current_judgment()
        if j is None:
            return
        text, likelihood, confidence = self._fields()
        self.session.change("Edit key judgment", lambda case: edits.update_judgment(
            case, j.id, text=text, confidence=confidence, likelihood=likelihood))

    def _on_delete_button_clicked(self) -> None:
        j = self.current_judgment()
        if j is not None:
            self.session.change("Delete key judgment", lambda case: edits.delete_judgment(case, j.id))

    def _on_new_button_clicked(self) -> None:
        self.table.clearSelection()
        self.table.setCurrentIndex(QModelIndex())
        self.text.clear()
        self.text.setFocus()

    def _on_selection_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        j = self.model.judgment_at(current.row()) if current.isValid() else None
        if j is not None:
            self.text.setPlainText(j.text)
            self.likelihood.setCurrentIndex(self.likelihood.findData(j.likelihood))
            self.confidence.setCurrentIndex(self.confidence.findData(j.confidence))
        self._update_buttons()

    def _on_confidence_current_index_changed(self, _index: int = 0) -> None:
        level = str(self.confidence.currentData())
        self.meaning.setText(f"<i>{level.capitalize()} confidence:</i> "
                             f"{analysis.CONFIDENCE_MEANING.get(level, '')}")

    def _update_buttons(self) -> None:
        writable = self.session.writable
        has_text = bool(self.text.toPlainText().strip())
        selected = self.current_judgment() is not None
        self.add_button.setEnabled(writable and has_text)
        self.save_button.setEnabled(writable and has_text and selected)
        self.delete_button.setEnabled(writable and selected)
        self.new_button.setEnabled(writable)
        for w in (self.text, self.likelihood, self.confidence):
            w.setEnabled(writable)
