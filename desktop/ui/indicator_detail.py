# SPDX-License-Identifier: GPL-3.0-or-later
"""One indicator in full: every place it was found, everything it matched, and its tags.

Occurrences are listed from the case through the read-only connection; double-clicking one asks
the window to show it where it was found (the e-mail header or body, the video frame with the
box). Matches and the ASN come from the correlation the indicators view computed. Tags are added
and removed through :func:`desktop.core.tags.apply_tags` on the write pool, so every change is in
custody; this pane never writes to the case itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core import item_detail
from desktop.core.case import Case
from desktop.core.item_detail import Occurrence
from desktop.core.store import Database
from desktop.ui import case_text
from desktop.ui.custody_view import configure_table
from desktop.ui.ocr_hits import time_text
from desktop.ui.row_model import RowTableModel
from desktop.ui.tag_editor import TagLineEdit, check, describe, tag_indicators
from desktop.ui.tasks import TaskManager

log = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
OCC_HEADERS = ("Item", "Source", "Where", "Time", "As found", "Confidence")
MATCH_HEADERS = ("Source", "Name", "Detail")


class OccurrenceModel(RowTableModel[Occurrence]):
    """The occurrences of one indicator, by item and then time or offset."""

    HEADERS = OCC_HEADERS

    def load(self, reader: Database | None, indicator_id: int | None) -> None:
        """Read one indicator's occurrences (None clears)."""
        self.set_rows(item_detail.occurrences(reader.conn, indicator_id)
                      if reader is not None and indicator_id is not None else [])

    def item_count(self) -> int:
        """In how many items the occurrences are."""
        return len({occ.item_id for occ in self._rows})

    def occurrence(self, row: int) -> Occurrence | None:
        """The occurrence in ``row`` (the name the pane uses for :meth:`row`)."""
        return self.row(row)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents."""
        occ = self.row_for(index)
        if occ is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{occ.item_id}  {occ.item_name}", occ.source, occ.where, time_text(occ.time_s),
                    occ.raw or "", f"{occ.confidence:.2f}")[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Double-click to show it where it was found."
        return None


class MatchModel(RowTableModel[tuple[str, str, str]]):
    """What one indicator matched: this case, other cases, feeds (with actors), warninglists."""

    HEADERS = MATCH_HEADERS

    def set_matches(self, matches: list[Any]) -> None:
        """Show ``correlate.Match`` values (anything with ``source``, ``name``, ``detail``)."""
        self.set_rows((str(m.source), str(m.name), str(m.detail)) for m in matches)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents (the full detail as tooltip)."""
        match = self.row_for(index)
        if match is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return match[index.column()]
        return None


def _section(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("sectionLabel")
    return label


class IndicatorDetail(QWidget):
    """Occurrences, matches and tags of one indicator.

    Args:
        tasks: the window's task manager (tag writes go to its write pool).
        parent: the owning widget.

    Signals:
        occurrence_activated: carries the item id and the occurrence as a dict.
        tags_changed: a tag write of this pane finished.
    """

    occurrence_activated = Signal(int, object)
    tags_changed = Signal()

    def __init__(self, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self.reader: Database | None = None
        self.indicator_id: int | None = None
        self.value = ""
        self._correlation: Callable[[int], Any] = lambda _id: None

        self.title = case_text.plain_label(self, "No indicator selected")
        self.title.setObjectName("detailTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.subtitle = case_text.plain_label(self)
        self.subtitle.setWordWrap(True)
        self.tag_list = QListWidget(self)
        self.tag_list.setObjectName("tagList")
        self.tag_list.setMaximumHeight(64)
        self.tag_edit = TagLineEdit(self)
        self.tag_edit.returnPressed.connect(self._on_add_button_clicked)
        self.add_button = QPushButton("Add tag", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("Remove tag", self)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.tag_problem = case_text.plain_label(self)
        self.tag_problem.setObjectName("tagProblem")
        self.tag_problem.setStyleSheet("color: #b71c1c")
        tag_row = QHBoxLayout()
        tag_row.addWidget(self.tag_edit, 1)
        tag_row.addWidget(self.add_button)
        tag_row.addWidget(self.remove_button)

        self.occ_model = OccurrenceModel(self)
        self.occ_table = QTableView(self)
        self.occ_table.setObjectName("occurrenceTable")
        self.occ_table.setModel(self.occ_model)
        configure_table(self.occ_table)
        self.occ_table.doubleClicked.connect(self._on_occ_table_double_clicked)
        self.match_model = MatchModel(self)
        self.match_table = QTableView(self)
        self.match_table.setObjectName("matchTable")
        self.match_table.setModel(self.match_model)
        configure_table(self.match_table)
        self.asn = case_text.plain_label(self)
        self.asn.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(_section("Tags", self))
        layout.addWidget(self.tag_list)
        layout.addLayout(tag_row)
        layout.addWidget(self.tag_problem)
        layout.addWidget(_section("Found in (double-click to show)", self))
        layout.addWidget(self.occ_table, 3)
        layout.addWidget(_section("Matches", self))
        layout.addWidget(self.match_table, 2)
        layout.addWidget(self.asn)
        self.show_indicator(None)

    # -- feeding -----------------------------------------------------------------------------

    def set_case(self, case: Case | None, reader: Database | None) -> None:
        """Read from a case (None: nothing)."""
        self.case, self.reader = case, reader
        self._correlation = lambda _id: None
        self.show_indicator(None)

    def set_correlation_source(self, lookup: Callable[[int], Any]) -> None:
        """Where matches come from (the indicators model, once correlation is back)."""
        self._correlation = lookup
        self.reload()

    def reload(self) -> None:
        """Show the current indicator again (after a tag change or correlation)."""
        self.show_indicator(self.indicator_id)

    def show_indicator(self, indicator_id: int | None) -> None:
        """Show one indicator (None clears)."""
        row = None
        if self.reader is not None and indicator_id is not None:
            row = item_detail.indicator(self.reader.conn, indicator_id)
        writable = row is not None and self.case is not None and not self.case.read_only
        for w in (self.tag_edit, self.add_button, self.remove_button):
            w.setEnabled(writable)
        self.tag_problem.setText("")
        if row is None:
            self.indicator_id, self.value = None, ""
            self.title.setText("No indicator selected")
            self.subtitle.setText("Select an indicator to see where it was found and what it matched.")
            self.tag_list.clear()
            self.occ_model.load(None, None)
            self.match_model.set_matches([])
            self.asn.setText("")
            return
        assert indicator_id is not None  # noqa: S101 - a row was found for it
        self.indicator_id, self.value = indicator_id, row.value
        case_text.plain(self.title, f"{row.type}  {row.value}")
        self.occ_model.load(self.reader, indicator_id)
        items = self.occ_model.item_count()
        self.subtitle.setText(f"{self.occ_model.rowCount()} occurrence(s) in {items} item(s); first recorded "
                              f"{row.first_seen[:19].replace('T', ' ')} UTC")
        self.tag_list.clear()
        for tag in self._tags(self.indicator_id):
            shown = describe(tag)
            entry = QListWidgetItem(case_text.shown(f"{shown}   ({tag})" if shown != tag else tag))
            entry.setData(Qt.ItemDataRole.UserRole, tag)
            self.tag_list.addItem(entry)
        self.occ_table.resizeColumnsToContents()
        corr = self._correlation(indicator_id) if indicator_id is not None else None
        self.match_model.set_matches(list(corr.matches) if corr is not None else [])
        self.match_table.resizeColumnsToContents()
        asn = getattr(corr, "asn", None) if corr is not None else None
        if asn is not None and hasattr(asn, "to_json"):
            data = asn.to_json()
            case_text.plain(self.asn, "ASN: " + ", ".join(f"{k} {v}" for k, v in data.items() if v))
        else:
            self.asn.setText("")

    # -- tags --------------------------------------------------------------------------------

    def add_tag(self, tag: str) -> bool:
        """Add a tag to the shown indicator on the write pool; False (with the reason) if invalid."""
        tag = tag.strip()
        problem = check(tag) if tag else "type a tag"
        if problem or self.case is None or not self.value:
            case_text.plain(self.tag_problem, problem or "")
            return False
        self._write([tag])
        self.tag_edit.clear()
        return True

    def remove_tag(self, tag: str) -> None:
        """Remove a tag from the shown indicator on the write pool."""
        if self.case is not None and self.value:
            self._write([f"-{tag}"])

    def _write(self, tags: list[str]) -> None:
        case, values = self.case, [self.value]
        assert case is not None  # noqa: S101 - callers check
        self.tasks.run_write("Tag indicator", lambda: tag_indicators(case, values, tags),
                             on_done=self._on_write_done)

    def _on_write_done(self, _outcome: str) -> None:
        self.tags_changed.emit()

    def _tags(self, indicator_id: int | None) -> list[str]:
        if self.reader is None or indicator_id is None:
            return []
        try:
            from desktop.core.tags import tags_of

            return tags_of(self.reader.conn, "indicator", indicator_id)
        except Exception as exc:  # the tags API is optional for this pane: show none
            log.warning("tags unavailable", exc_info=exc)
            return []

    # -- slots -------------------------------------------------------------------------------

    def _on_add_button_clicked(self) -> None:
        self.add_tag(self.tag_edit.text())

    def _on_remove_button_clicked(self) -> None:
        entry = self.tag_list.currentItem()
        if entry is not None:
            self.remove_tag(str(entry.data(Qt.ItemDataRole.UserRole)))

    def _on_occ_table_double_clicked(self, index: QModelIndex) -> None:
        occ = self.occ_model.occurrence(index.row())
        if occ is not None:
            self.occurrence_activated.emit(occ.item_id, occ.to_dict())
