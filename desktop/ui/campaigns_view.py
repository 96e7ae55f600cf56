# SPDX-License-Identifier: GPL-3.0-or-later
"""The Campaigns tab: groups of messages that belong together, what each shares and what varies.

Grouping is a core function (:func:`desktop.core.campaigns.group`) run on the read pool; this view
only shows its result. Selecting a campaign filters the evidence table to its messages and the
indicators view to its indicators (the window does both through :attr:`CampaignsView.selected`);
"Tag campaign…" records a tag through the core on the write pool. Every text shown here is case
text and goes into plain-text widgets only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core import campaigns, timestamps
from desktop.core.campaigns import Campaign
from desktop.core.case import Case
from desktop.core.printable import visible
from desktop.core.progress import Progress, Task
from desktop.ui.custody_view import configure_table
from desktop.ui.row_model import RowTableModel
from desktop.ui.tag_editor import TagDialog
from desktop.ui.tasks import TaskManager

_Index = QModelIndex | QPersistentModelIndex
_BAR = 30  # characters of the widest histogram bar


def load_campaigns(case: Case) -> Task[tuple[list[Campaign], dict[str, list[str]]]]:
    """Group the case's messages on a read connection of its own; return campaigns and their tags."""
    yield Progress("grouping messages", 0, 0)
    reader = case.reader()
    try:
        return campaigns.group(reader.conn), campaigns.tags_of(reader.conn)
    finally:
        reader.conn.close()


def tag_campaign(case: Case, campaign_id: str, tags: list[str]) -> Task[list[str]]:
    """Tag a campaign on the write pool (each change in custody, see the core)."""
    yield Progress(campaign_id, 0, 0)
    return campaigns.tag_campaign(case, campaign_id, tags)


class CampaignsModel(RowTableModel[tuple[Campaign, list[str]]]):
    """One row per campaign: id, size, first and last send time, what it shares, its tags."""

    HEADERS = ("Campaign", "Messages", "First sent", "Last sent", "Shares", "Tags")

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents."""
        row = self.row_for(index)
        if row is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        c, tags = row
        shares = ", ".join(sorted(c.constant)) or "(linked, nothing constant)"
        return (c.id, len(c.items), _short(c.first_seen), _short(c.last_seen), shares,
                ", ".join(tags))[index.column()]


def _short(when: str | None) -> str:
    return timestamps.human(when)[:16] if when else ""  # to the minute


def describe(campaign: Campaign, tags: list[str]) -> str:
    """The campaign as plain text: what is constant, what varies, when it was sent, its indicators."""
    c = campaign
    lines = [f"Campaign {c.id}: {len(c.items)} messages, sent {_short(c.first_seen)} to "
             f"{_short(c.last_seen)}",
             f"Grouped by: {', '.join(f'{k} ({v})' for k, v in c.links.items()) or 'nothing'}"]
    if tags:
        lines.append(f"Tags: {', '.join(tags)}")
    lines.append("")
    lines.append("CONSTANT")
    constant = c.constant
    if "template" in constant:
        lines.append(f"  template: {constant['template'][:300]}")
    if "sender" in constant:
        lines.append(f"  sender: {constant['sender']}")
    for key, value in (constant.get("infrastructure") or {}).items():
        lines.append(f"  {campaigns.INFRA_LABELS.get(key, key)}: {value}")
    for att in constant.get("attachments") or []:
        lines.append(f"  attachment: {att['name']}  sha256 {att['sha256']}")
    for url in constant.get("urls") or []:
        lines.append(f"  URL: {url}")
    lines.append("")
    lines.append("VARYING")
    varying = c.varying
    for key in ("subjects", "senders", "recipients", "names"):
        values = varying.get(key) or []
        if values:
            shown = "; ".join(values[:8]) + (f"; … {len(values) - 8} more" if len(values) > 8 else "")
            lines.append(f"  {key} ({len(values)}): {shown}")
    for key, values in (varying.get("infrastructure") or {}).items():
        lines.append(f"  {campaigns.INFRA_LABELS.get(key, key)} ({len(values)}): {'; '.join(values[:8])}")
    bins = varying.get("send_time_histogram") or []
    if bins:
        lines.append("")
        lines.append("SEND TIMES")
        top = max(b["count"] for b in bins) or 1
        for b in bins:
            bar = "\u2588" * round(_BAR * b["count"] / top) if b["count"] else "\u00b7"
            lines.append(f"  {_short(b['from'])}  {b['count']:>5}  {bar}")
    lines.append("")
    lines.append(f"INDICATORS ({len(c.indicators)})")
    lines += [f"  {i['type']}\t{i['value']}" for i in c.indicators[:200]]
    if len(c.indicators) > 200:
        lines.append(f"  … {len(c.indicators) - 200} more")
    return "\n".join(lines)


class CampaignsView(QWidget):
    """The campaigns of the open case, a description of the selected one, filter and tag buttons.

    Signals:
        selected: the analyst chose a campaign to look at (its item ids and its indicators as
            ``(type, value)``), or cleared the choice (both empty).
    """

    selected = Signal(list, list)

    def __init__(self, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self._generation = 0
        self._tags: dict[str, list[str]] = {}
        self.model = CampaignsModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("campaignsTable")
        self.table.setModel(self.model)
        configure_table(self.table)
        header = self.table.horizontalHeader()
        for column in range(4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("campaignDetail")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))  # the histogram
        self.status = QLabel("No case is open.", self)
        self.filter_button = QPushButton("Show its messages and indicators", self)
        self.filter_button.setToolTip("Filter the evidence table and the indicators to this campaign")
        self.filter_button.clicked.connect(self._on_filter_button_clicked)
        self.clear_button = QPushButton("Show everything", self)
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self.tag_button = QPushButton("Tag campaign\u2026", self)
        self.tag_button.clicked.connect(self._on_tag_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for b in (self.filter_button, self.clear_button, self.tag_button):
            buttons.addWidget(b)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.text)
        splitter.setSizes([560, 640])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self._update_buttons()

    def set_case(self, case: Case | None) -> None:
        """Follow the window's case; campaigns are grouped when the tab is shown."""
        self._generation += 1
        self.case = case
        self.model.set_rows([])
        self.text.clear()
        self.status.setText("" if case else "No case is open.")
        if case is not None and self.isVisible():
            self.reload()
        self._update_buttons()

    def reload(self) -> None:
        """Group the case's messages again on the read pool."""
        if self.case is None:
            return
        case, generation = self.case, self._generation
        self.status.setText("Grouping messages into campaigns\u2026")

        def shown(result: tuple[list[Campaign], dict[str, list[str]]]) -> None:
            if generation != self._generation:
                return
            found, self._tags = result
            current = self.current()
            self.model.set_rows([(c, self._tags.get(c.id, [])) for c in found])
            self.status.setText(f"{len(found)} campaign{'s' if len(found) != 1 else ''}"
                                if found else "No campaign: no two messages belong together.")
            ids = [c.id for c in found]
            row = ids.index(current.id) if current is not None and current.id in ids else 0
            if found:
                self.table.selectRow(row)
            self._update_buttons()

        self.tasks.run_read("Group campaigns", lambda: load_campaigns(case), on_success=shown)

    def current(self) -> Campaign | None:
        """The selected campaign."""
        row = self.model.row(self.table.currentIndex().row())
        return row[0] if row else None

    def showEvent(self, event: Any) -> None:
        """Group when first shown (and after a change of case)."""
        super().showEvent(event)
        if self.case is not None and not self.model.rowCount():
            self.reload()

    def _update_buttons(self) -> None:
        chosen = self.current() is not None
        self.filter_button.setEnabled(chosen)
        self.tag_button.setEnabled(chosen and self.case is not None and not self.case.read_only)

    def _on_table_current_row_changed(self, current: _Index, _previous: _Index) -> None:
        row = self.model.row(current.row())
        # Subjects, senders and names are evidence: shown as text, escapes visible.
        self.text.setPlainText(visible(describe(row[0], row[1]), multiline=True) if row else "")
        self._update_buttons()

    def _on_filter_button_clicked(self) -> None:
        c = self.current()
        if c is not None:
            self.selected.emit(list(c.items), [(i["type"], i["value"]) for i in c.indicators])

    def _on_clear_button_clicked(self) -> None:
        self.selected.emit([], [])

    def _on_tag_button_clicked(self) -> None:
        c, case = self.current(), self.case
        if c is None or case is None:
            return
        dialog = TagDialog(1, self, what=f"campaign {c.id}")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        campaign_id = c.id
        dialog.accepted.connect(lambda: self._tag(case, campaign_id, dialog.tags()))
        self.tag_dialog = dialog
        dialog.open()

    def _tag(self, case: Case, campaign_id: str, tags: list[str]) -> None:
        if tags:
            self.tasks.run_write("Tag campaign", lambda: tag_campaign(case, campaign_id, tags),
                                 on_done=lambda _outcome: self.reload())
