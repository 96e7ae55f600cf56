# SPDX-License-Identifier: GPL-3.0-or-later
"""The indicators tab: every indicator of the case with its tags and matches, filters and bulk tagging.

The table model holds the ids the core's indicator query lists (``core.indicator_list``: sorted
and filtered in SQL on indexes, addresses in numeric order) and reads rows with their tags a page
at a time, through the window's read-only connection. Correlation (matches in this case, other
cases, feeds, warninglists; ASN) is the core's :func:`desktop.core.correlate.correlate`, run on
the read pool with a connection of its own, because against a large workstation library it
takes longer than a frame; the ids it found matched go into the query for the match filter.
Until it is back (or if it fails) the table still shows every indicator; the columns it feeds
say so. Tag writes go through :func:`desktop.ui.tag_editor.tag_indicators` on the write pool;
the view then re-reads tags.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core import edits, indicator_list
from desktop.core.case import Case
from desktop.core.changes import Changes
from desktop.core.indicators import TYPES, defang
from desktop.core.progress import Progress, Task
from desktop.core.store import Database
from desktop.ui import case_text, theme
from desktop.ui.custody_view import configure_table
from desktop.ui.indicator_detail import IndicatorDetail
from desktop.ui.row_model import ReadOnlyTableModel
from desktop.ui.tag_editor import TagDialog, describe
from desktop.ui.tasks import TaskManager, as_task

log = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
_PAGE = 500
ASYNC_ABOVE = 2_000  # indicators beyond which the id list is read on the read pool, not in place
# (14,186 indicators read in place took 320 ms of a 100,000-item case's opening under load)

IndicatorIdRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2
TypeRole = Qt.ItemDataRole.UserRole + 3
TagsRole = Qt.ItemDataRole.UserRole + 4
MatchedRole = Qt.ItemDataRole.UserRole + 5
WarninglistedRole = Qt.ItemDataRole.UserRole + 6
ValueRole = Qt.ItemDataRole.UserRole + 7
_ROLES = frozenset(int(r) for r in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.TextAlignmentRole, IndicatorIdRole, SortRole, TypeRole,
    TagsRole, MatchedRole, WarninglistedRole, ValueRole))

HEADERS = ("Type", "Value", "Occurrences", "Items", "Sources", "Tags", "Matches", "ASN / provider")
COL_TYPE, COL_VALUE, COL_OCC, COL_ITEMS, COL_SOURCES, COL_TAGS, COL_MATCHES, COL_ASN = range(len(HEADERS))
MATCHED_FOREGROUND = QColor("#b71c1c")
WARNINGLIST_FOREGROUND = QColor("#757575")


IndicatorRow = indicator_list.IndicatorRow


@dataclass(frozen=True)
class CorrelationResult:
    """What the correlation task brought back: correlations by indicator id, or why there are none."""

    by_id: dict[int, Any] = field(default_factory=dict)
    error: str = ""


def correlate_task(case: Case) -> Task[CorrelationResult]:
    """Correlate the case on a read-pool thread, through a read-only connection of its own.

    A failure (a library written by a newer version, a missing table while the intel API is being
    finished) is reported as ``error`` rather than raised: the indicators stay usable without it.
    """
    yield Progress("correlating")
    db = case.reader()
    try:
        from desktop.core.correlate import correlate

        return CorrelationResult(correlate(case, conn=db.conn))
    except Exception as exc:  # degrade: the table is still useful without matches
        log.warning("correlation unavailable", exc_info=exc)
        return CorrelationResult(error=f"{type(exc).__name__}: {exc}")
    finally:
        db.conn.close()


def matched(correlation: Any) -> bool:
    """Whether an indicator matched intelligence (a feed) or another case.

    Being in several items of the same case is not a match (it said 30 of 32 indicators
    matched), nor is a warninglist entry: "Matched" is what links the case to something else.
    """
    return correlation is not None and any(
        m.source != "warninglist" and not (m.source == "case" and m.kind == "this-case")
        for m in correlation.matches)


def seen_before(correlation: Any) -> bool:
    """Whether another case or a feed knows the indicator: shown in red, it is what attributes."""
    return correlation is not None and bool(getattr(correlation, "seen_before", False))


def warninglisted(correlation: Any) -> bool:
    """Whether an indicator is on a warninglist (flagged, never hidden by default)."""
    return correlation is not None and bool(getattr(correlation, "warninglisted", False))


# column -> the sort the core runs for it (None: correlation counts, handed in by the window).
_SORT_OF = {COL_TYPE: "type", COL_VALUE: "value", COL_OCC: "occurrences", COL_ITEMS: "items",
            COL_MATCHES: "matches"}
_WARNINGLIST_MODES = {"any": "any", "only": "flagged", "hide": "clean"}


# the view's way of running the core's id query off the GUI thread: (query, called with the ids)
IdLoader = Callable[[indicator_list.IndicatorQuery, Callable[[list[int] | None], None]], None]


class IndicatorsModel(ReadOnlyTableModel):
    """The indicators a query lists (``core.indicator_list``: sorted and filtered in SQL), lazily read.

    The model holds only the ids, in the query's order; rows are read a page at a time for what is
    on screen, so sorting or filtering 100,000 indicators is one indexed query. Beyond
    :data:`ASYNC_ABOVE` indicators that query runs on the read pool (through the ``loader`` the
    view hands in): the table keeps showing the previous list until the new one is back, and
    ``loaded`` is emitted then. A smaller case is answered in place.

    Signals:
        loaded: a new id list is shown.
    """

    loaded = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=HEADERS)
        self._reader: Database | None = None
        self._ids: list[int] = []
        self._cache: dict[int, IndicatorRow] = {}
        self._corr: dict[int, Any] = {}
        self._tags_used: list[str] = []
        self.total = 0
        self.query = indicator_list.IndicatorQuery()
        self.correlation_state = "not run"  # "not run", "running", "ready" or the error
        self.loader: IdLoader | None = None
        self._ticket = 0  # bumped per id list asked for: an older answer is dropped
        self.loading = False
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._bold = QFont()
        self._bold.setBold(True)

    # -- feeding -----------------------------------------------------------------------------

    def set_reader(self, reader: Database | None) -> None:
        """Show the indicators readable through ``reader``, or none."""
        self._reader = reader
        self._corr = {}
        self.correlation_state = "not run"
        self.refresh()

    def refresh(self) -> None:
        """Re-read ids, counts and tags (after an import, an analysis or a tag change)."""
        if self._reader is None:
            self.beginResetModel()
            self._cache.clear()
            self._ids, self.total, self._tags_used = [], 0, []
            self._ticket += 1
            self.loading = False
            self.endResetModel()
            return
        self.total = indicator_list.count(self._reader.conn)
        self._tags_used = indicator_list.tags_used(self._reader.conn)
        self._cache.clear()
        self._reload_ids()

    def _reload_ids(self) -> None:
        """List what the query lists: in place for a small case, else on the read pool."""
        self._ticket += 1
        if self._reader is None or self.loader is None or self.total <= ASYNC_ABOVE:
            self.loading = False
            self.beginResetModel()
            self._ids = self._query_ids()
            self._cache.clear()
            self.endResetModel()
            self.loaded.emit()
            return
        ticket = self._ticket
        self.loading = True
        self.loader(self.query, lambda ids: self._ids_back(ticket, ids))

    def _ids_back(self, ticket: int, ids: list[int] | None) -> None:
        """The read pool's answer (None: it failed or was cancelled; the list shown stays)."""
        if ticket != self._ticket:
            return  # another query was asked for meanwhile
        self.loading = False
        if ids is None:
            self.loaded.emit()
            return
        self.beginResetModel()
        self._ids = ids
        self._cache.clear()
        self.endResetModel()
        self.loaded.emit()

    def set_query(self, query: indicator_list.IndicatorQuery) -> None:
        """List what ``query`` lists, in its order (the filters and the sort of the view)."""
        if query == self.query and query.matched == self.query.matched:
            return
        self.query = query
        self._reload_ids()

    def refresh_tags(self, indicator_ids: set[int] | None = None) -> None:
        """Re-read the tags of these indicators (None: all); rows stay where they are."""
        if self._reader is not None:
            self._tags_used = indicator_list.tags_used(self._reader.conn)
        if indicator_ids is None:
            self._cache.clear()
        else:
            for ind_id in indicator_ids:
                self._cache.pop(ind_id, None)
        if self.query.tag or self.query.text.strip():  # the tags decide what is listed
            self._reload_ids()
        elif self._ids:
            self.dataChanged.emit(self.index(0, COL_TAGS), self.index(len(self._ids) - 1, COL_TAGS))

    def set_correlations(self, result: CorrelationResult) -> None:
        """Show the correlation task's result."""
        self._corr = dict(result.by_id)
        self.correlation_state = result.error or "ready"
        matched_ids = frozenset(i for i, c in self._corr.items() if matched(c))
        counts = {i: len(c.matches) for i, c in self._corr.items()}
        self.query = dataclasses.replace(self.query, matched=matched_ids, match_counts=counts)
        if self.query.match != "any" or self.query.sort == "matches":
            self._reload_ids()
        elif self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(HEADERS) - 1))

    def _query_ids(self) -> list[int]:
        return indicator_list.ids(self._reader.conn, self.query) if self._reader is not None else []

    # -- lookups -----------------------------------------------------------------------------

    def row_at(self, row: int) -> IndicatorRow | None:
        """The indicator shown in ``row``."""
        if not 0 <= row < len(self._ids):
            return None
        ind_id = self._ids[row]
        if ind_id not in self._cache:
            self._fetch_page(row)
        return self._cache.get(ind_id)

    def row_of(self, indicator_id: int) -> int | None:
        """The row showing an indicator id, or None."""
        try:
            return self._ids.index(indicator_id)
        except ValueError:
            return None

    def tags_of(self, indicator_id: int) -> list[str]:
        """The tags of one indicator, as last read (only rows that were read are known)."""
        row = self._cache.get(indicator_id)
        return list(row.tags) if row is not None else []

    def correlation(self, indicator_id: int) -> Any:
        """The correlation of one indicator, once the task is back (else None)."""
        return self._corr.get(indicator_id)

    def correlations(self) -> dict[int, Any]:
        """Every correlation known now (the graph uses them)."""
        return dict(self._corr)

    def all_tags(self) -> list[str]:
        """Every tag used on an indicator of this case, sorted."""
        return list(self._tags_used)

    # -- QAbstractTableModel -----------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Number of indicators."""
        return 0 if parent.isValid() else len(self._ids)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents, plus the typed roles the filter proxy reads."""
        if role not in _ROLES or not index.isValid():  # asked for every role of every painted cell
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        col = index.column()
        corr = self._corr.get(row.id)
        tags = list(row.tags)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col, corr, tags)
        if role == SortRole:
            if col == COL_OCC:
                return row.occurrences
            if col == COL_ITEMS:
                return row.items
            if col == COL_MATCHES:
                return len(corr.matches) if corr is not None else -1
            return str(self._display(row, col, corr, tags)).lower()
        if role == IndicatorIdRole:
            return row.id
        if role == TypeRole:
            return row.type
        if role == ValueRole:
            return row.value
        if role == TagsRole:
            return tags
        if role == MatchedRole:
            return matched(corr)
        if role == WarninglistedRole:
            return bool(row.warninglists) or warninglisted(corr)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col, corr, tags)
        if role == Qt.ItemDataRole.FontRole:
            if col == COL_VALUE:
                return self._mono
            if col == COL_MATCHES and seen_before(corr):
                return self._bold
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_MATCHES and seen_before(corr):
                return QBrush(theme.ink(MATCHED_FOREGROUND))
            if (row.warninglists or warninglisted(corr)) and col in (COL_VALUE, COL_MATCHES):
                return QBrush(theme.ink(WARNINGLIST_FOREGROUND))
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_OCC, COL_ITEMS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- internals ---------------------------------------------------------------------------

    def _display(self, row: IndicatorRow, col: int, corr: Any, tags: list[str]) -> Any:
        if col == COL_TYPE:
            return row.type
        if col == COL_VALUE:
            return row.value
        if col == COL_OCC:
            return str(row.occurrences)
        if col == COL_ITEMS:
            return str(row.items)
        if col == COL_SOURCES:
            return ", ".join(row.sources)
        if col == COL_TAGS:
            return ", ".join(describe(t) for t in tags)
        if col == COL_MATCHES:
            if corr is None:
                return "\u2026" if self.correlation_state in ("running", "not run") else ""
            return _match_summary(corr)
        if col == COL_ASN:
            asn = getattr(corr, "asn", None) if corr is not None else None
            if asn is None:
                return ""
            data = asn.to_json() if hasattr(asn, "to_json") else {}
            return " ".join(str(v) for v in (data.get("asn"), data.get("name") or data.get("provider"),
                                             data.get("country")) if v)
        return None

    def _tooltip(self, row: IndicatorRow, col: int, corr: Any, tags: list[str]) -> str | None:
        if col == COL_MATCHES and corr is not None and corr.matches:
            return "\n".join(f"{m.source}: {m.name} \u2014 {m.detail}" for m in corr.matches)
        failed = self.correlation_state not in ("running", "not run", "ready")
        if col == COL_MATCHES and corr is None and failed:
            return f"Correlation unavailable: {self.correlation_state}"
        if col == COL_TAGS and tags:
            return "\n".join(f"{t}: {describe(t)}" for t in tags)
        if col == COL_VALUE:
            return f"{row.type} {row.value}\nfirst recorded {row.first_seen}"
        return None

    def _fetch_page(self, row: int) -> None:
        if self._reader is None:
            return
        if len(self._cache) > 20 * _PAGE:
            self._cache.clear()
        start = row - row % _PAGE
        self._cache.update(indicator_list.rows(self._reader.conn, self._ids[start : start + _PAGE]))


def _to_clipboard(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def _match_summary(corr: Any) -> str:
    """What attributes first: feeds (their actors), then other cases, this case, warninglists."""
    matches = list(corr.matches)
    feeds = list(dict.fromkeys(m.name for m in matches if m.source == "feed"))
    others = list(dict.fromkeys(m.name for m in matches if m.source == "case" and m.kind != "this-case"))
    parts = [", ".join(feeds)] if feeds else []
    if others:
        parts.append(f"case {others[0]}" + (f" +{len(others) - 1}" if len(others) > 1 else ""))
    if any(m.kind == "this-case" for m in matches):
        parts.append("other items here")
    if any(m.source == "warninglist" for m in matches):
        parts.append("warninglisted")
    return "; ".join(parts)


class IndicatorFilter(QSortFilterProxyModel):
    """The view's filters and sort, handed to the model as a core query (nothing sorted in Python).

    A pass-through proxy: rows are in the model's order, which is the SQL query's; ``sort`` and
    the filters change the query.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.type_ = ""
        self.tag = ""
        self.match_mode = "any"  # "any", "matched", "unmatched"
        self.warninglist = "any"  # "any", "only", "hide"
        self.text = ""
        self.only: set[tuple[str, str]] | None = None  # a campaign's indicators, as (type, value)
        self._sort = ("type", False)

    def _model(self) -> IndicatorsModel:
        model = self.sourceModel()
        assert isinstance(model, IndicatorsModel)  # noqa: S101 - set in IndicatorsView
        return model

    def _apply(self) -> None:
        model = self._model()
        model.set_query(dataclasses.replace(
            model.query, type=self.type_, tag=self.tag, text=self.text, match=self.match_mode,
            warninglist=_WARNINGLIST_MODES.get(self.warninglist, "any"), sort=self._sort[0],
            descending=self._sort[1], only=frozenset(self.only) if self.only is not None else None))

    def set_filters(self, *, type_: str | None = None, tag: str | None = None, match: str | None = None,
                    warninglist: str | None = None, text: str | None = None) -> None:
        """Change any of the filters (None leaves one as it is)."""
        if type_ is not None:
            self.type_ = type_
        if tag is not None:
            self.tag = tag
        if match is not None:
            self.match_mode = match
        if warninglist is not None:
            self.warninglist = warninglist
        if text is not None:
            self.text = text.strip().lower()
        self._apply()

    def set_only(self, values: set[tuple[str, str]] | None) -> None:
        """Show only these indicators (``(type, value)``), or all again (None)."""
        self.only = values
        self._apply()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column in SQL (columns without an index keep the type-and-value order)."""
        key = _SORT_OF.get(column, "type")
        self._sort = (key, order == Qt.SortOrder.DescendingOrder and column in _SORT_OF)
        self._apply()


class IndicatorsView(QWidget):
    """The indicators table with its filters, the bulk-tag button and the detail of the current one.

    Args:
        tasks: the window's task manager.
        parent: the owning widget.

    Signals:
        occurrence_activated: the analyst asked to see an occurrence; carries the item id and the
            occurrence (``where``, ``source``, ``time_s``, ``offset``, ``raw``, ``bbox``...).
        tags_changed: a tag write finished (the window refreshes what shows tags).
        changes_made: a tag edit returned what it changed (the window files it for Undo).
        graph_requested: the analyst asked to see an indicator in the link graph; carries its id.
        correlations_ready: the correlation task is back (successfully or not).
    """

    occurrence_activated = Signal(int, object)
    tags_changed = Signal()
    changes_made = Signal(object)
    graph_requested = Signal(int)
    correlations_ready = Signal()

    hides_detail_pane = True  # a full-height tab: the window hides the item views below it

    def __init__(self, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self.reader: Database | None = None
        self._generation = 0
        self.model = IndicatorsModel(self)
        self.model.loader = self._load_ids
        self.model.loaded.connect(self._on_model_loaded)
        self._pending_select: int | None = None
        self.proxy = IndicatorFilter(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search values and tags\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.type_filter = QComboBox(self)
        self.type_filter.addItem("All types", "")
        for t in TYPES:
            self.type_filter.addItem(t, t)
        self.type_filter.currentIndexChanged.connect(self._on_filters_changed)
        self.tag_filter = QComboBox(self)
        # Tag descriptions are long (ATT&CK names): the combo must not push the other filters off.
        self.tag_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.tag_filter.setMinimumContentsLength(16)
        self.tag_filter.currentIndexChanged.connect(self._on_filters_changed)
        self.match_filter = QComboBox(self)
        for text, data in (("Matched or not", "any"), ("Matched", "matched"), ("Unmatched", "unmatched")):
            self.match_filter.addItem(text, data)
        self.match_filter.setToolTip(
            "Matched: seen in another case of this workstation, or in imported intelligence")
        self.match_filter.currentIndexChanged.connect(self._on_filters_changed)
        self.warn_filter = QComboBox(self)
        for text, data in (("Warninglisted or not", "any"), ("Only warninglisted", "only"),
                           ("Hide warninglisted", "hide")):
            self.warn_filter.addItem(text, data)
        self.warn_filter.currentIndexChanged.connect(self._on_filters_changed)
        self.tag_button = QPushButton("Tag selected\u2026", self)
        self.tag_button.setToolTip("Add or remove a tag on every selected indicator (recorded in custody)")
        self.tag_button.clicked.connect(self._on_tag_button_clicked)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("indicatorCount")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.addWidget(self.search, 2)
        for w in (self.type_filter, self.tag_filter, self.match_filter, self.warn_filter):
            bar.addWidget(w)
        bar.addWidget(self.tag_button)
        bar.addWidget(self.count_label, 1)

        self.table = QTableView(self)
        self.table.setObjectName("indicatorsTable")
        self.table.setModel(self.proxy)
        configure_table(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        for col, width in ((COL_TYPE, 74), (COL_VALUE, 230), (COL_OCC, 84), (COL_ITEMS, 46),
                           (COL_SOURCES, 110), (COL_TAGS, 130), (COL_MATCHES, 230)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu_requested)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.detail = IndicatorDetail(tasks, self)
        self.detail.occurrence_activated.connect(self.occurrence_activated)
        self.detail.tags_changed.connect(self._on_detail_tags_changed)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([900, 480])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self._fill_tag_filter()
        self._update_count()
        self._on_table_selection_changed()

    # -- feeding -----------------------------------------------------------------------------

    def set_case(self, case: Case | None, reader: Database | None) -> None:
        """Show a case's indicators (None: nothing) and start correlating them."""
        self._generation += 1
        self.case, self.reader = case, reader
        self.model.set_reader(reader)
        self.detail.set_case(case, reader)
        self._fill_tag_filter()
        self._update_count()
        self._on_table_selection_changed()
        if case is not None and self.isVisible():
            self.correlate()

    def refresh(self) -> None:
        """Re-read indicators (after an import or an analyst entry) and correlate again."""
        if self.reader is None:
            return
        current = self.current_indicator_id()
        self.model.refresh()
        self._fill_tag_filter()
        self._update_count()
        if current is not None:
            self.select_indicator(current)
        if self.isVisible():
            self.correlate()
        else:
            self.model.correlation_state = "not run"  # correlated again when next shown

    def correlate(self) -> None:
        """Run the correlation on the read pool; the table fills in its matches when it is back."""
        if self.case is None:
            return
        case, generation = self.case, self._generation
        self.model.correlation_state = "running"
        self.count_label.setText(self.count_label.text().split("  \u00b7")[0] + "  \u00b7  correlating\u2026")

        def shown(result: CorrelationResult) -> None:
            if generation == self._generation:
                self.model.set_correlations(result)
                self.detail.set_correlation_source(self.model.correlation)
                self._update_count()
                self.correlations_ready.emit()

        self.tasks.run_read("Correlate indicators", lambda: correlate_task(case), on_success=shown,
                            listed=True)

    def mark_stale(self) -> None:
        """New indicators or occurrences were committed: re-read now if shown, else when next shown."""
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event: Any) -> None:
        """Correlate lazily: against a large library it is the slow part, and only this tab needs it."""
        super().showEvent(event)
        if getattr(self, "_stale", False):
            self._stale = False
            self.refresh()
        elif self.case is not None and self.model.correlation_state == "not run":
            self.correlate()

    # -- selection ---------------------------------------------------------------------------

    def current_indicator_id(self) -> int | None:
        """The id of the indicator in the current row, if any."""
        index = self.table.currentIndex()
        return int(self.proxy.data(index, IndicatorIdRole)) if index.isValid() else None

    def select_indicator(self, indicator_id: int) -> bool:
        """Make an indicator current (clearing filters that hide it); False if the case has none such.

        While the id list is being read (a big case) the indicator is selected when it is back.
        """
        if self.model.loading:
            self._pending_select = indicator_id
            return True
        row = self.model.row_of(indicator_id)
        if row is None and self.model.query.filtered:
            self.clear_filters()
            if self.model.loading:
                self._pending_select = indicator_id
                return True
            row = self.model.row_of(indicator_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def selected_values(self) -> list[str]:
        """Values of every selected indicator, in table order."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [str(self.proxy.data(self.proxy.index(r, 0), ValueRole)) for r in rows]

    def clear_filters(self) -> None:
        """Show every indicator."""
        for combo in (self.type_filter, self.tag_filter, self.match_filter, self.warn_filter):
            combo.setCurrentIndex(0)
        self.search.clear()

    # -- tagging -----------------------------------------------------------------------------

    def selected_ids(self) -> list[int]:
        """Ids of every selected indicator, in table order."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [int(self.proxy.data(self.proxy.index(r, 0), IndicatorIdRole)) for r in rows]

    def tag_selected(self, tags: list[str]) -> None:
        """Apply ``tags`` (``-tag`` removes) to every selected indicator, on the write pool.

        One core edit (``edits.tag``): one transaction, each tag change in custody, and an inverse
        the window files for Undo.
        """
        ids = self.selected_ids()
        if not ids or not tags or self.case is None or self.case.read_only:
            return
        case, generation = self.case, self._generation
        add = [t for t in tags if not t.startswith("-")]
        remove = [t[1:] for t in tags if t.startswith("-")]

        def made(changes: Changes) -> None:
            if generation == self._generation:
                self.changes_made.emit(changes)

        def write() -> Changes:
            return edits.tag(case, "indicator", ids, add, remove)

        self.tasks.run_write("Tag indicators", lambda: as_task(write, "tagging"),
                             on_success=made, on_done=self._on_tag_write_done)

    # -- the context menu ----------------------------------------------------------------------

    def context_menu(self) -> QMenu:
        """The actions on the selected indicators (what a right click offers)."""
        menu = QMenu(self)
        ids = self.selected_ids()
        found = (self.model.row_of(i) for i in ids)
        rows = [r for r in (self.model.row_at(n) for n in found if n is not None) if r is not None]
        one = rows[0] if len(rows) == 1 else None
        copy = menu.addAction("Copy value" if len(rows) == 1 else f"Copy {len(rows)} values")
        copy.triggered.connect(lambda: _to_clipboard("\n".join(r.value for r in rows)))
        defanged = menu.addAction("Copy defanged" if len(rows) == 1 else f"Copy {len(rows)} defanged")
        defanged.setToolTip("hxxp://, [.] and [@]: safe to paste into a report or a chat")
        defanged.triggered.connect(lambda: _to_clipboard("\n".join(defang(r.value, r.type) for r in rows)))
        menu.addSeparator()
        writable = self.case is not None and not self.case.read_only
        tag = menu.addAction("Tag\u2026")
        tag.setEnabled(writable and bool(rows))
        tag.triggered.connect(self._on_tag_button_clicked)
        evidence = menu.addAction("Add to the assessment as ACH evidence")
        evidence.setEnabled(writable and one is not None)
        if one is not None:
            evidence.triggered.connect(lambda: self._add_as_evidence(one))
        graph = menu.addAction("Show in the graph")
        graph.setEnabled(one is not None)
        if one is not None:
            graph.triggered.connect(lambda: self.graph_requested.emit(one.id))
        for action in menu.actions():
            action.setEnabled(action.isEnabled() and bool(rows))
        return menu

    def _on_table_context_menu_requested(self, pos: QPoint) -> None:
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_menu = menu
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _add_as_evidence(self, row: IndicatorRow) -> None:
        if self.case is None or self.case.read_only:
            return
        case, generation = self.case, self._generation

        def made(changes: Changes) -> None:
            if generation == self._generation:
                self.changes_made.emit(changes)

        def write() -> Changes:
            return edits.add_evidence(case, f"{row.type} {row.value}", kind="indicator", ref_id=row.id)

        self.tasks.run_write("Add ACH evidence", lambda: as_task(write, "adding evidence"), on_success=made)

    def _on_tag_button_clicked(self) -> None:
        count = len(self.selected_values())
        if not count:
            return
        dialog = TagDialog(count, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.tag_selected(dialog.tags()))
        self.tag_dialog = dialog
        dialog.open()

    def _on_tag_write_done(self, _outcome: str) -> None:
        self._after_tags_changed()

    def _on_detail_tags_changed(self) -> None:
        self._after_tags_changed()

    def tags_edited(self) -> None:
        """Tags were changed elsewhere (an undo): show them and what they filter."""
        self._after_tags_changed()

    def _after_tags_changed(self) -> None:
        self.model.refresh_tags()
        self._fill_tag_filter()
        self._update_count()
        self.detail.reload()
        self.tags_changed.emit()

    # -- slots -------------------------------------------------------------------------------

    def _load_ids(self, query: indicator_list.IndicatorQuery,
                  done: Callable[[list[int] | None], None]) -> None:
        """The model's loader: the core's indicator query on the read pool, on a connection of its own."""
        case = self.case
        if case is None:
            done(None)
            return

        def work() -> list[int]:
            db = case.reader()
            try:
                return indicator_list.ids(db.conn, query)
            finally:
                db.conn.close()

        self.tasks.run_read("List indicators", lambda: as_task(work, "listing indicators"),
                            on_success=done, owner=self,
                            on_done=lambda outcome: None if outcome == "succeeded" else done(None))

    def _on_model_loaded(self) -> None:
        self._update_count()
        if self._pending_select is not None and not self.model.loading:
            wanted, self._pending_select = self._pending_select, None
            self.select_indicator(wanted)

    def _on_search_text_changed(self, text: str) -> None:
        self.proxy.set_filters(text=text)
        self._update_count()

    def _on_filters_changed(self, _index: int) -> None:
        self.proxy.set_filters(type_=self.type_filter.currentData() or "",
                               tag=self.tag_filter.currentData() or "",
                               match=self.match_filter.currentData() or "any",
                               warninglist=self.warn_filter.currentData() or "any")
        self._update_count()

    def _on_table_current_row_changed(self, current: _Index, _previous: _Index) -> None:
        ind_id = self.proxy.data(current, IndicatorIdRole) if current.isValid() else None
        self.detail.show_indicator(int(ind_id) if ind_id is not None else None)

    def _on_table_selection_changed(self, *_args: Any) -> None:
        count = len(self.table.selectionModel().selectedRows())
        writable = self.case is not None and not self.case.read_only
        self.tag_button.setEnabled(writable and count > 0)
        self.tag_button.setText(f"Tag {count} selected\u2026" if count > 1 else "Tag selected\u2026")

    # -- internals ---------------------------------------------------------------------------

    def _fill_tag_filter(self) -> None:
        current = self.tag_filter.currentData()
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("Any tag", "")
        for tag in self.model.all_tags():
            self.tag_filter.addItem(case_text.shown(describe(tag)), tag)
        found = self.tag_filter.findData(current) if current else 0
        self.tag_filter.setCurrentIndex(max(0, found))
        self.tag_filter.blockSignals(False)
        if current and found < 0:
            self._on_filters_changed(0)

    def _update_count(self) -> None:
        total, shown = self.model.total, self.proxy.rowCount()
        text = f"{shown} of {total} indicators" if shown != total else f"{total} indicators"
        state = self.model.correlation_state
        if state == "running":
            text += "  \u00b7  correlating\u2026"
        elif state not in ("ready", "not run"):
            text += "  \u00b7  correlation unavailable"
            self.count_label.setToolTip(case_text.tooltip(state))
        self.count_label.setText(text)
