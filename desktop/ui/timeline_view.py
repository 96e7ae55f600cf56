# SPDX-License-Identifier: GPL-3.0-or-later
"""The Timeline tab: every dated event of the case in time order, filtered by source.

Events come from :func:`desktop.core.analysis.timeline` (mail Date headers, Received hops,
media creation times, OCR sightings, custody entries, analyst events), read on the read pool.
The analyst can add an event of their own, and edit or delete those; the core records each in
custody. Times are shown as the core gives them, in UTC: a timeline mixing zones misleads.

The filter proxy only hides rows by source and text; it never reorders what the core sorted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimeZone,
    Signal,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import analysis, edits, timestamps
from desktop.core.case import Case
from desktop.ui import case_text, theme
from desktop.ui.case_session import CaseSession
from desktop.ui.case_snapshot import read_timeline
from desktop.ui.custody_view import configure_table
from desktop.ui.row_model import RowTableModel
from desktop.ui.tasks import TaskHandle, TaskManager

_Index = QModelIndex | QPersistentModelIndex

SourceRole = Qt.ItemDataRole.UserRole + 1
SOURCE_NAMES = {"email": "Mail date", "hop": "Mail hop", "media": "Media", "ocr": "On screen (OCR)",
                "custody": "Custody", "analyst": "Analyst"}
# A quiet tint per source, so the eye can follow one thread of events down a long list.
SOURCE_TINTS = {"email": "#E8F0FA", "hop": "#EEF3F8", "media": "#F3ECF8", "ocr": "#FFF6E0",
                "custody": "#F4F4F4", "analyst": "#E7F5EA"}
CUSTODY_MODES = (("grouped", "Custody: runs grouped"), ("all", "Custody: every entry"),
                 ("none", "Custody: hidden"))


class TimelineModel(RowTableModel[analysis.Event]):
    """Timeline events in the core's order."""

    HEADERS = ("Time (UTC)", "Source", "Event", "Detail", "Item", "Reference")

    def set_events(self, events: list[analysis.Event]) -> None:
        """Show a fresh list."""
        self.set_rows(events)

    def event_at(self, row: int) -> analysis.Event | None:
        """Return the event in ``row`` (the name the view uses for :meth:`row`)."""
        return self.row(row)

    def counts(self) -> dict[str, int]:
        """How many events each source has."""
        out = dict.fromkeys(analysis.TIMELINE_SOURCES, 0)
        for e in self._rows:
            out[e.source] = out.get(e.source, 0) + 1
        return out

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents for each role."""
        e = self.row_for(index)
        if e is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        if role == SourceRole:
            return e.source
        if role == Qt.ItemDataRole.DisplayRole:
            return (timestamps.human(e.at), SOURCE_NAMES.get(e.source, e.source), e.title,
                    " ".join(e.detail.split()), "" if e.item_id is None else str(e.item_id),
                    e.ref)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e.at}\n{e.title}\n{e.detail}".strip()
        if role == Qt.ItemDataRole.BackgroundRole and index.column() == 1:
            return theme.tint(SOURCE_TINTS.get(e.source, "#FFFFFF"))
        return None


class TimelineFilter(QSortFilterProxyModel):
    """Hides events whose source is switched off or whose text lacks the search words."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sources = set(analysis.TIMELINE_SOURCES)
        self._words: list[str] = []

    def set_sources(self, sources: set[str]) -> None:
        """Show only events of these sources."""
        self.beginFilterChange()
        self._sources = set(sources)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        """Show only events whose text holds every word of ``text`` (case-insensitive)."""
        self.beginFilterChange()
        self._words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Apply the source switches and the search words."""
        model = self.sourceModel()
        if not isinstance(model, TimelineModel):
            return True
        e = model.event_at(source_row)
        if e is None or e.source not in self._sources:
            return False
        if not self._words:
            return True
        hay = f"{e.title} {e.detail} {e.ref}".lower()
        return all(w in hay for w in self._words)


class EventDialog(QDialog):
    """An analyst event: when (UTC), a title, and optional detail."""

    def __init__(self, parent: QWidget | None, event: analysis.Event | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit timeline event" if event else "Add timeline event")
        utc = QTimeZone.utc()
        self.when = QDateTimeEdit(self)
        self.when.setTimeZone(utc)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm:ss 'UTC'")
        self.when.setCalendarPopup(True)
        start = (QDateTime.fromString(event.at[:19], Qt.DateFormat.ISODate) if event
                 else QDateTime.currentDateTimeUtc())
        start.setTimeZone(utc)
        self.when.setDateTime(start)
        self.title = QLineEdit(event.title if event else "", self)
        self.title.setPlaceholderText("e.g. Victim reports the message to the SOC")
        self.detail = QPlainTextEdit(event.detail if event else "", self)
        self.detail.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.title.textChanged.connect(self._on_title_text_changed)
        form = QFormLayout(self)
        form.addRow("&When", self.when)
        form.addRow("&Title", self.title)
        form.addRow("&Detail", self.detail)
        form.addRow(self.buttons)
        self.resize(520, 260)
        self._on_title_text_changed(self.title.text())

    def iso_time(self) -> str:
        """The chosen time as ISO 8601 UTC, the form the core reads."""
        return self.when.dateTime().toUTC().toString("yyyy-MM-ddTHH:mm:ss") + "Z"

    def _on_title_text_changed(self, text: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(text.strip()))


class TimelineView(QWidget):
    """Source switches, search, the events table, and the analyst's event actions.

    Signals:
        loaded: the timeline on screen was read afresh.

    Attributes:
        hides_detail_pane: the window hides the item detail pane while this tab is current.
    """

    loaded = Signal()
    hides_detail_pane = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = CaseSession(self)
        self.session.change_saved.connect(self._on_session_change_saved)
        self.session.change_failed.connect(self._on_session_change_saved)
        self.model = TimelineModel(self)
        self.proxy = TimelineFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setObjectName("timelineTable")
        self.table.setModel(self.proxy)
        configure_table(self.table)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        for col, width in enumerate((150, 120, 420, 420, 50)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)

        self.source_buttons: dict[str, QToolButton] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 6, 6, 0)
        bar.addWidget(QLabel("Show:", self))
        for source in analysis.TIMELINE_SOURCES:
            button = QToolButton(self)
            button.setCheckable(True)
            button.setChecked(True)
            button.setText(SOURCE_NAMES[source])
            button.setObjectName(f"source_{source}")
            button.toggled.connect(self._on_source_button_toggled)
            self.source_buttons[source] = button
            bar.addWidget(button)
        self.custody_mode = QComboBox(self)
        for mode, label in CUSTODY_MODES:
            self.custody_mode.addItem(label, mode)
        self.custody_mode.currentIndexChanged.connect(self._on_custody_mode_current_index_changed)
        bar.addWidget(self.custody_mode)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search events\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_search)
        bar.addWidget(self.search, 1)
        self.add_button = QPushButton("Add event\u2026", self)
        self.edit_button = QPushButton("Edit\u2026", self)
        self.delete_button = QPushButton("Delete", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        for b in (self.add_button, self.edit_button, self.delete_button):
            bar.addWidget(b)
        self.summary = QLabel(self)
        self.summary.setObjectName("timelineSummary")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self._update_buttons()

    def set_case(self, case: Case | None, tasks: TaskManager | None) -> None:
        """Show the timeline of ``case`` (None: nothing), reading it on ``tasks``' read pool."""
        self.session.set_case(case, tasks)
        self.model.set_events([])
        self._update_summary()
        self._update_buttons()
        if case is not None and self.isVisible():  # otherwise read when the tab is first shown
            self.reload()

    def reload(self) -> TaskHandle[list[analysis.Event]] | None:
        """Read the timeline again (read pool) and show it."""
        mode = str(self.custody_mode.currentData())
        return self.session.read("Read timeline", lambda case: read_timeline(case, mode),
                                 self._on_timeline_read)

    def visible_events(self) -> list[analysis.Event]:
        """The events the filter lets through, in order (what the analyst sees)."""
        out = []
        for row in range(self.proxy.rowCount()):
            e = self.model.event_at(self.proxy.mapToSource(self.proxy.index(row, 0)).row())
            if e is not None:
                out.append(e)
        return out

    def current_event(self) -> analysis.Event | None:
        """The selected event."""
        index = self.table.currentIndex()
        return self.model.event_at(self.proxy.mapToSource(index).row()) if index.isValid() else None

    def _on_timeline_read(self, events: list[analysis.Event]) -> None:
        if self.session.pending_changes:
            return
        self.model.set_events(events)
        self._update_summary()
        self._update_buttons()
        self.loaded.emit()

    def _update_summary(self) -> None:
        counts = self.model.counts()
        for source, button in self.source_buttons.items():
            button.setText(f"{SOURCE_NAMES[source]} ({counts.get(source, 0)})")
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.summary.setText(f"  {shown} of {total} events shown \u00b7 times in UTC \u00b7 "
                             "times read from evidence are what the evidence claims")

    def _update_buttons(self) -> None:
        writable = self.session.writable
        own = self.current_event()
        self.add_button.setEnabled(writable)
        editable = writable and own is not None and own.event_id is not None
        self.edit_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)

    def _on_source_button_toggled(self, _checked: bool) -> None:
        self.proxy.set_sources({s for s, b in self.source_buttons.items() if b.isChecked()})
        self._update_summary()

    def _on_custody_mode_current_index_changed(self, _index: int) -> None:
        self.reload()

    def _on_selection_current_row_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()

    def _on_table_double_clicked(self, _index: QModelIndex) -> None:
        if self.edit_button.isEnabled():
            self._on_edit_button_clicked()

    def _on_add_button_clicked(self) -> None:
        dialog = EventDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add_event(dialog.iso_time(), dialog.title.text(), dialog.detail.toPlainText())

    def add_event(self, at: str, title: str, detail: str = "") -> TaskHandle[object] | None:
        """Queue an analyst event (the path the dialog takes; tests call it directly)."""
        return self.session.change("Add timeline event",
                                   lambda case: edits.add_event(case, at, title, detail))

    def _on_edit_button_clicked(self) -> None:
        e = self.current_event()
        if e is None or e.event_id is None:
            return
        event_id = e.event_id
        dialog = EventDialog(self, e)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            at, title, detail = dialog.iso_time(), dialog.title.text(), dialog.detail.toPlainText()
            self.session.change("Edit timeline event", lambda case: edits.update_event(
                case, event_id, at=at, title=title, detail=detail))

    def _on_delete_button_clicked(self) -> None:
        e = self.current_event()
        if e is None or e.event_id is None:
            return
        event_id = e.event_id
        if case_text.ask(self, "Casetrail", f"Delete the event \u201c{e.title}\u201d?\n\n"
                                            "The custody log keeps what it said."):
            self.session.change("Delete timeline event",
                                lambda case: edits.delete_event(case, event_id))

    def _on_session_change_saved(self, _name: str) -> None:
        if not self.session.pending_changes:
            self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        """Read when the tab is shown: imports and edits elsewhere add events."""
        super().showEvent(event)
        if self.session.case is not None:
            self.reload()
