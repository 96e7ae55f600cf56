# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's analysis panels: the per-item tabs (Details, Message, Media), Indicators and Graph.

This is the glue between the main window and the views of the analysis findings, kept out of
``main_window.py`` so the window needs only a handful of calls (``set_case``, ``show_item``,
``refresh``, ``add_tabs``) and several people can extend the window at once. It owns no data and
decides nothing: it routes the selection to the view that can show it, and an analyst's "show me
where this was found" to the evidence table and the right view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTabWidget

from desktop.core.case import Case, Item
from desktop.core.graph import Node
from desktop.core.store import Database
from desktop.ui import case_text
from desktop.ui.detail_pane import DetailPane
from desktop.ui.email_view import EmailView
from desktop.ui.graph_view import GraphView
from desktop.ui.indicators_view import IndicatorsView
from desktop.ui.media_view import MediaView
from desktop.ui.search_view import SearchView
from desktop.ui.tasks import TaskManager

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow

DETAILS_TAB, MESSAGE_TAB, MEDIA_TAB = 0, 1, 2


class AnalysisPanels(QObject):
    """Creates the analysis views and routes the window's selection and refreshes to them.

    Args:
        window: the main window (its evidence table, tabs, custody view and status bar are used).
        detail: the window's plain detail pane, which becomes the "Details" tab.
        tasks: the window's task manager.

    Signals:
        item_shown: the item views were updated for an item id (-1: none).
    """

    item_shown = Signal(int)

    def __init__(self, window: MainWindow, detail: DetailPane, tasks: TaskManager) -> None:
        super().__init__(window)
        self.window = window
        self.case: Case | None = None
        self.reader: Database | None = None
        self.item: Item | None = None
        self._switching = False
        # Which tab the analyst wants for each kind of item: what the item is (the message, the
        # picture) first; a choice of Details for a kind then sticks for later items of it.
        self._preferred = {"email": MESSAGE_TAB, "media": MEDIA_TAB}

        self.item_tabs = QTabWidget(window)
        self.item_tabs.setObjectName("itemTabs")
        self.item_tabs.setDocumentMode(True)
        self.email_view = EmailView(window)
        self.media_view = MediaView(tasks, window)
        self.item_tabs.addTab(detail, "Details")
        self.item_tabs.addTab(self.email_view, "Message")
        self.item_tabs.addTab(self.media_view, "Media")
        self.item_tabs.currentChanged.connect(self._on_item_tabs_current_changed)
        self.email_view.link_hovered.connect(self._on_email_view_link_hovered)
        self.email_view.attachment_activated.connect(self.reveal_item)
        self.media_view.indicator_recorded.connect(self._on_media_view_indicator_recorded)

        self.indicators_view = IndicatorsView(tasks, window)
        self.indicators_view.occurrence_activated.connect(self._on_indicators_view_occurrence_activated)
        self.indicators_view.tags_changed.connect(self._on_indicators_view_tags_changed)
        self.indicators_view.graph_requested.connect(self._on_indicators_view_graph_requested)
        self.indicators_view.correlations_ready.connect(self._on_indicators_view_correlations_ready)
        self.graph_view = GraphView(tasks, self.indicators_view.model.correlations, window)
        self.graph_view.node_activated.connect(self._on_graph_view_node_activated)
        self.search_view = SearchView(window)
        self.search_view.item_activated.connect(self._on_search_view_item_activated)

    def add_tabs(self, tabs: QTabWidget) -> None:
        """Add the "Indicators" and "Graph" tabs to the window's top tabs."""
        tabs.addTab(self.indicators_view, "Indicators")
        tabs.addTab(self.graph_view, "Graph")
        tabs.addTab(self.search_view, "Search")
        tabs.currentChanged.connect(self._on_tabs_current_changed)

    # -- the window's calls ------------------------------------------------------------------

    def set_case(self, case: Case | None, reader: Database | None) -> None:
        """Follow the window's case (None when it is closed)."""
        self.case, self.reader = case, reader
        self.indicators_view.set_case(case, reader)
        self.graph_view.set_case(case)
        self.search_view.set_reader(reader)
        if case is None:
            self.show_item(None, None, None)

    def show_item(self, item: Item | None, reader: Database | None, case: Case | None) -> None:
        """Show the selected evidence item in the view that fits it."""
        self.item = item
        is_mail = self.email_view.show_item(item.id if item else None, reader, case)
        is_media = self.media_view.show_item(item, reader, case)
        wanted = DETAILS_TAB
        if is_mail:
            wanted = self._preferred["email"]
        elif is_media:
            wanted = self._preferred["media"]
        # Disabling the current tab makes Qt pick another one: not the analyst's choice, so ignored.
        self._switching = True
        try:
            self.item_tabs.setTabEnabled(MESSAGE_TAB, is_mail)
            self.item_tabs.setTabEnabled(MEDIA_TAB, is_media)
            self.item_tabs.setCurrentIndex(wanted)
        finally:
            self._switching = False
        self.item_shown.emit(item.id if item else -1)

    def refresh(self) -> None:
        """The case changed (an import, an analysis): re-read indicators; the graph when shown."""
        self.indicators_view.refresh()
        self.graph_view.mark_stale()

    def indicators_changed(self) -> None:
        """Indicators or their occurrences changed: re-read them when shown (now, if they are)."""
        self.indicators_view.mark_stale()
        self.graph_view.mark_stale()

    # -- jumping -----------------------------------------------------------------------------

    def reveal_occurrence(self, item_id: int, occurrence: dict[str, Any]) -> bool:
        """Select the item an occurrence is in and show the occurrence there (header, body, frame).

        Returns:
            False when the item is not in the evidence table.
        """
        target = item_id
        frame = occurrence.get("frame_item_id")
        if occurrence.get("source") == "ocr" and frame is not None:
            target = int(frame)  # the kept frame is the exhibit: show it rather than re-decoding
        self.window.tabs.setCurrentIndex(0)  # the evidence tab: the item views sit below it
        if not self._select_item(target):
            return False
        where = str(occurrence.get("where") or "")
        if self.email_view.mail is not None:
            self.item_tabs.setCurrentIndex(MESSAGE_TAB)
            self.email_view.reveal(where, occurrence.get("raw"), occurrence.get("offset"))
        elif self.media_view.mode:
            self.item_tabs.setCurrentIndex(MEDIA_TAB)
            time_s = occurrence.get("time_s")
            if self.media_view.mode == "video" and time_s is not None:
                self.media_view.seek(float(time_s))
            bbox = occurrence.get("bbox")
            if bbox:
                for line in self.media_view.hits_model.lines_near(time_s if time_s is not None else None):
                    if list(line.box) == list(bbox):
                        self.media_view.canvas.highlighted = line.id
                        break
        return True

    def reveal_item(self, item_id: int) -> bool:
        """Select an item in the evidence table (showing it below); False when it is not there."""
        return self._select_item(item_id)

    def _select_item(self, item_id: int) -> bool:
        window = self.window
        if not window.table.select_item(item_id):  # opens the path down to the item
            window.model.refresh()
            if not window.table.select_item(item_id):
                if not window.model.query.text:
                    return False
                window.evidence_filter.clear()  # hidden by the filter: show every item again
                if not window.table.select_item(item_id):
                    return False
        if self.item is None or self.item.id != item_id:  # selecting an already-current row emits nothing
            window._show_selected(window.table.currentIndex())
        return True

    def open_current_view(self) -> None:
        """Give the shown item's own view (message or media) the focus, as Enter on the tree asks."""
        if self.item is None:
            return
        tab = (MESSAGE_TAB if self.email_view.mail is not None
               else MEDIA_TAB if self.media_view.mode else DETAILS_TAB)
        self.item_tabs.setCurrentIndex(tab)
        self.item_tabs.currentWidget().setFocus()

    # -- slots -------------------------------------------------------------------------------

    def _on_search_view_item_activated(self, item_id: int) -> None:
        self.window.tabs.setCurrentIndex(0)  # the evidence tab: the item views sit below it
        self._select_item(item_id)

    def _on_item_tabs_current_changed(self, index: int) -> None:
        if self._switching or self.item is None:
            return
        kind = "email" if self.email_view.mail is not None else "media" if self.media_view.mode else ""
        if kind:
            self._preferred[kind] = index

    def _on_tabs_current_changed(self, _index: int) -> None:
        # The graph draws actors and other cases from the correlation: start it if nobody has.
        if (self.window.tabs.currentWidget() is self.graph_view
                and self.indicators_view.model.correlation_state == "not run"):
            self.indicators_view.correlate()

    def _on_email_view_link_hovered(self, url: str) -> None:
        if url:
            self.window.statusBar().showMessage(f"Link target (not opened): {case_text.shown(url)}", 8000)

    def _on_media_view_indicator_recorded(self, _item_id: int) -> None:
        self.window.custody_view.load(self.window.reader)
        self.indicators_view.refresh()
        self.graph_view.mark_stale()
        self.window.statusBar().showMessage(
            "Indicator recorded (source: analyst), with a custody note.", 8000)

    def _on_indicators_view_occurrence_activated(self, item_id: int, occurrence: object) -> None:
        if isinstance(occurrence, dict):
            self.reveal_occurrence(item_id, occurrence)

    def _on_indicators_view_graph_requested(self, indicator_id: int) -> None:
        self.show_in_graph(f"indicator:{indicator_id}")

    def show_in_graph(self, key: str) -> None:
        """Open the Graph tab built around one node (``indicator:ID`` or ``item:ID``)."""
        self.graph_view.show_around(key)
        self.window.tabs.setCurrentWidget(self.graph_view)

    def _on_indicators_view_tags_changed(self) -> None:
        self.window.custody_view.load(self.window.reader)

    def _on_indicators_view_correlations_ready(self) -> None:
        self.graph_view.mark_stale()

    def _on_graph_view_node_activated(self, node: Node) -> None:
        if node.ref is None:
            return
        if node.kind == "indicator":
            self.window.tabs.setCurrentWidget(self.indicators_view)
            self.indicators_view.select_indicator(node.ref)
        elif node.kind == "item":
            self.window.tabs.setCurrentIndex(0)
            self._select_item(node.ref)
