# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence tree's model: messages, their attachments, the frames and images derived from them.

A thin, lazy adapter from the core's item queries (``core.item_list``) to Qt views. It holds
only ordered item ids, one list per parent that was opened: the top level when a case is shown,
the children of a row when the analyst expands it (``canFetchMore``/``fetchMore``, one indexed
query by parent id). The top level is handed to the view a page at a time too (``fetchMore`` of
the root, as ``QSqlQueryModel`` does): the model holds every top-level id, but the view is told
of :data:`TOP_PAGE` rows and asks for more as it scrolls to the end, because a ``QTreeView`` lays
out every row it is told of — 60,000 top-level rows took it over half a second.
Whether a row has children comes from the child count the core reads with
its row (an index lookup), never from loading the children. Rows themselves are read a page at a
time into a cache when a view paints them, so a case of a hundred thousand items opens as fast as
one of four.

Sorting is the core's ``ORDER BY`` (served by an index on ``(parent_id, column)``); a sort keeps
what is expanded and selected (a layout change, not a reset) and shows the first page of the new
order again: a tree lays out every row it was told of after each layout change, and a list
scrolled to its 60,000th row took seconds. Beyond :data:`ASYNC_ABOVE` items a sort or a filter
is read on the read pool (through the ``loader`` the window hands in) and the tree keeps the old
order until the new one is back (``loading``, then ``loaded``). With a filter the tree is a flat
list of every match wherever it sits — what X-Ways' recursive view and Autopsy's result lists
show — because a match three levels inside a mailbox must not hide behind a closed parent; the
detail pane says where the match was derived from.

New items (an import in progress) are inserted where the order puts them, never by a reset, so
the analyst's selection, expansion and scroll position stay. The model reads through the case's
read-only connection and so only ever shows committed items.

No business logic here: what an item is comes from the core; verify outcomes and known hashes
are handed in by the window after the core has decided them.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterable
from enum import IntEnum
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QFontDatabase, QIcon

from desktop.core import item_list, timestamps
from desktop.core.case import Item
from desktop.core.store import Database
from desktop.ui import theme
from desktop.ui.case_text import for_role
from desktop.ui.display import (
    VERIFY_BACKGROUND,
    VERIFY_FOREGROUND,
    WARNING_FOREGROUND,
    human_size,
    verify_text,
)

ItemIdRole = Qt.ItemDataRole.UserRole + 1
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, _BACKGROUND, _DECORATION, _FONT, _ALIGNMENT,
                    int(ItemIdRole)})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_PAGE = 200  # rows read per query: one screenful several times over
_CACHE_LIMIT = 20 * _PAGE  # beyond this the cache is dropped and refilled from what is visible
_ROOT = 0  # the parent id of the top level (item ids start at 1)
TOP_PAGE = 1000  # top-level rows handed to the view at a time (``fetchMore`` of the root)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags
ASYNC_ABOVE = 2_000  # items beyond which a sort or a filter is read on the read pool, not in place

# The window's way of running one of the core's reads off the GUI thread, on a connection of its
# own: called with the read and with what to do with its result (None: it failed or was cancelled).
Loader = Callable[[Callable[[sqlite3.Connection], Any], Callable[[Any], None]], None]

_Index = QModelIndex | QPersistentModelIndex


def _extension(name: str) -> str:
    suffix = PurePath(name).suffix
    return suffix if suffix else "what the name says"


class Column(IntEnum):
    """The evidence tree's columns, in display order."""

    ID = 0
    NAME = 1
    KIND = 2
    SIZE = 3
    MIME = 4
    SHA256 = 5
    ACQUIRED_AT = 6
    ACQUIRED_BY = 7
    STATUS = 8
    DUPLICATE = 9
    KNOWN = 10
    VERIFY = 11


_NCOLS = len(Column)

# column -> the core's sort key (duplicate, known and verify are not the case's columns: no sort).
SORT_KEYS = {
    Column.ID: "id", Column.NAME: "name", Column.KIND: "kind", Column.SIZE: "size", Column.MIME: "mime",
    Column.SHA256: "sha256", Column.ACQUIRED_AT: "acquired_at", Column.ACQUIRED_BY: "acquired_by",
    Column.STATUS: "status",
}

HEADERS = {
    Column.ID: "ID", Column.NAME: "Name", Column.KIND: "Kind", Column.SIZE: "Size",
    Column.MIME: "MIME type", Column.SHA256: "SHA-256", Column.ACQUIRED_AT: "Acquired at (UTC)",
    Column.ACQUIRED_BY: "Acquired by", Column.STATUS: "Status", Column.DUPLICATE: "Duplicate",
    Column.KNOWN: "Known hash", Column.VERIFY: "Verify",
}


class EvidenceModel(QAbstractItemModel):
    """Items of one case as a tree, plus what this window learnt about them (verify, known hashes).

    Rows are addressed by ``QModelIndex``; the lookups that take an ``int`` mean a row of the top
    level (the whole list when filtered).

    Args:
        mismatch_icon: shown next to a MIME type that disagrees with the file's extension.
        parent: the owning QObject.

    Signals:
        loaded: a sort or a filter read on the read pool is shown (or failed: the old list stays).
    """

    loaded = Signal()

    def __init__(self, mismatch_icon: QIcon | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader: Database | None = None
        self._query = item_list.ItemQuery()
        self._flat = False  # ``_query.filtered``, asked for every row a view lays out
        self.loader: Loader | None = None
        self.loading = False  # a sort or a filter is being read on the read pool
        self._pending: item_list.ItemQuery | None = None  # what it reads
        self._ticket = 0  # bumped per read asked for: an older answer is dropped
        self._stale = False  # items were recorded while it read: read again in place when back
        self._settling = False  # inside the layout change of a sort: no rows are added
        self._items = 0  # how many items the case holds (the threshold for reading off the GUI thread)
        self._kids: dict[int, list[int]] = {_ROOT: []}  # parent id -> child ids, for opened parents
        self._top: list[int] = []  # every top-level id in order; ``_kids[_ROOT]`` is the shown prefix
        self._up: dict[int, int] = {}  # item id -> parent id, for listed items
        self._rows: dict[int, dict[int, int] | None] = {}  # parent id -> {child id: row}, made on demand
        self._cache: dict[int, item_list.ItemRow] = {}
        self._texts: dict[int, tuple[str, ...]] = {}
        self._verify: dict[int, str] = {}
        self._known: dict[int, item_list.KnownHash] = {}
        self._total = 0
        self._parents: set[int] = set()  # ids with children (hasChildren without reading each row)
        self._mismatch_icon = mismatch_icon or QIcon()
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._bold = QFont()
        self._bold.setBold(True)

    # -- feeding the model -------------------------------------------------------------------

    def set_reader(self, reader: Database | None, first: item_list.FirstLevel | None = None) -> None:
        """Show the items readable through ``reader`` (a read-only connection), or none.

        ``first``: the first level as read through that connection off the GUI thread (opening a
        case of 100,000 items), used when it answers the model's query; else it is read here.
        """
        self._drop_pending()
        self.beginResetModel()
        self._reader = reader
        self._verify.clear()
        self._known.clear()
        self._relist(first if first is not None and first.query == self._query else None)
        self.endResetModel()

    def refresh(self, changed: Iterable[int] | None = None, *, added: bool = True) -> None:
        """Pick up items recorded since the last look, and re-read the rows of ``changed`` items.

        Args:
            changed: the items whose rows are new or changed (a batch's ``Changes.items``: it then
                names *every* new item); None: anything may have changed.
            added: whether new items exist.

        New rows are inserted where the order puts them (a sort by status may also move rows:
        a layout change); nothing is reset, so selection, expansion and scroll stay. In the
        default order (by id) the new items of a batch are appended to the lists that are open
        without reading those lists again.
        """
        if self._reader is None:
            return
        self._stale = self.loading  # what the read pool is reading may miss what is new
        wanted = set(changed) if changed is not None else None
        new = {i for i in wanted if i not in self._up} if wanted is not None and added else set()
        found_new = item_list.rows(self._reader.conn, sorted(new)) if new else {}
        parents = {r.item.parent_id or _ROOT for r in found_new.values()}
        self._parents |= parents - {_ROOT}
        query = self._query
        if wanted is not None and query.sort == "id" and not query.descending and not query.filtered:
            self._append(found_new)  # ids grow: a new item goes at the end of its parent's list
        elif added or wanted is None or query.sort == "status" or query.filtered:
            for parent_id in sorted(self._kids, key=lambda p: (p != _ROOT, p)):
                if parent_id in self._kids:  # an earlier merge may have dropped a list
                    self._merge(parent_id, self._list_ids(parent_id))
        self._items = item_list.count(self._reader.conn)
        self._total = len(self._top) if query.filtered else self._items
        if wanted is not None:
            self.rows_changed(wanted | (parents - {_ROOT}))  # a parent's child count changed too
        else:  # statuses may have changed anywhere: every shown row is read again when next painted
            self._parents = item_list.parent_ids(self._reader.conn)
            self._cache.clear()
            self._texts.clear()
            for parent_id, ids in self._kids.items():
                if ids:
                    parent = self._index_of_parent(parent_id)
                    self.dataChanged.emit(self.index(0, 0, parent),
                                          self.index(len(ids) - 1, _NCOLS - 1, parent))

    def _append(self, new: dict[int, item_list.ItemRow]) -> None:
        """Insert new items (ids higher than any listed) at the end of their parents' open lists."""
        by_parent: dict[int, list[int]] = {}
        for item_id, found in sorted(new.items()):
            by_parent.setdefault(found.item.parent_id or _ROOT, []).append(item_id)
        for parent_id in sorted(by_parent, key=lambda p: (p != _ROOT, p)):
            ids = self._kids.get(parent_id)
            if parent_id == _ROOT:
                complete = len(self._kids[_ROOT]) == len(self._top)
                self._top.extend(by_parent[_ROOT])
                self._up.update(dict.fromkeys(by_parent[_ROOT], _ROOT))
                if not complete:
                    continue  # the view has not scrolled to the end: they come with its next page
            if ids is None:
                continue  # a closed parent: its children are read when it is opened
            parent = self._index_of_parent(parent_id)
            if parent_id != _ROOT and not parent.isValid():
                continue
            rows = by_parent[parent_id]
            self.beginInsertRows(parent, len(ids), len(ids) + len(rows) - 1)
            ids.extend(rows)
            self._rows[parent_id] = None
            for item_id in rows:
                self._up[item_id] = parent_id
            self.endInsertRows()

    def rows_changed(self, item_ids: Iterable[int]) -> None:
        """These items' rows changed (status, tags, children): read them again, repaint them only."""
        for item_id in item_ids:
            self._cache.pop(item_id, None)
            self._texts.pop(item_id, None)
            index = self.index_of(item_id, expand=False)
            if index.isValid():
                self.dataChanged.emit(index, index.siblingAtColumn(_NCOLS - 1))

    def set_verify_results(self, results: dict[int, str]) -> None:
        """Show each item's verify outcome (``ok``, ``modified``, ``missing``) from the core."""
        self._verify = dict(results)
        self._column_changed(Column.VERIFY)

    def set_known(self, known: dict[int, item_list.KnownHash]) -> None:
        """Show which items' hashes a feed or another case knows (the core's ``known_items``)."""
        self._known = dict(known)
        self._column_changed(Column.KNOWN)

    # -- lookups for views -------------------------------------------------------------------

    def item_id_at(self, where: int | _Index) -> int | None:
        """The item id shown at an index (or a top-level row), or None."""
        if isinstance(where, int):
            ids = self._kids[_ROOT]
            return ids[where] if 0 <= where < len(ids) else None
        if not where.isValid():
            return None
        ids = self._kids.get(int(where.internalId()), [])
        return ids[where.row()] if 0 <= where.row() < len(ids) else None

    def item_at(self, where: int | _Index) -> Item | None:
        """The item shown at an index (or a top-level row), read from the cache or the database."""
        found = self.row_at(where)
        return found.item if found is not None else None

    def row_at(self, where: int | _Index) -> item_list.ItemRow | None:
        """The item's row (item, child count, duplicates, tags) at an index or a top-level row."""
        item_id = self.item_id_at(where)
        if item_id is None:
            return None
        return self._row(item_id)

    def row_of(self, item_id: int) -> int | None:
        """The top-level row showing ``item_id``, or None (an item inside a parent: ``index_of``)."""
        if self._up.get(item_id) != _ROOT:
            return None
        return self._row_in(_ROOT).get(item_id)

    def index_of(self, item_id: int, *, expand: bool = True, within: int | None = None) -> QModelIndex:
        """The index showing ``item_id`` (column 0), opening the parents on its path if needed.

        With ``expand=False`` only items already listed are found. ``within``: show the view no
        more than that many top-level rows to reach it (each row shown is laid out by the view);
        a row further down is not found. Invalid when the item is not in the model (another
        filter hides it, or it does not exist).
        """
        if expand:
            self._show_top(item_id, within)
        if item_id not in self._up and expand and self._reader is not None and not self._query.filtered:
            for ancestor in item_list.ancestors(self._reader.conn, item_id):
                if ancestor not in self._up:
                    return QModelIndex()
                self._show_top(ancestor, within)
                parent = self._index_of_parent(ancestor)
                if ancestor not in self._kids and self.canFetchMore(parent):
                    self.fetchMore(parent)
        parent_id = self._up.get(item_id)
        if parent_id is None:
            return QModelIndex()
        row = self._row_in(parent_id).get(item_id)
        return self.createIndex(row, 0, parent_id) if row is not None else QModelIndex()

    def verify_status(self, item_id: int) -> str | None:
        """Return the last verify outcome shown for an item, or None if not verified here."""
        return self._verify.get(item_id)

    def known(self, item_id: int) -> item_list.KnownHash | None:
        """Who knows this item's hash, as last looked up, or None."""
        return self._known.get(item_id)

    @property
    def total(self) -> int:
        """How many items the model lists: every item of the case, or every match of the filter."""
        return self._total

    @property
    def filtered(self) -> bool:
        """Whether only some items are shown (then as a flat list)."""
        return self._query.filtered

    @property
    def query(self) -> item_list.ItemQuery:
        """The core query the rows come from."""
        return self._query

    # -- filtering and sorting -----------------------------------------------------------------

    def set_only(self, item_ids: list[int] | None) -> None:
        """Show only these items (a campaign's messages), or every item again (None)."""
        self._requery(only=frozenset(item_ids) if item_ids is not None else None)

    def set_text_filter(self, text: str) -> None:
        """Show only items holding every word in their name, source, type or hashes ("" for all)."""
        self._requery(text=text)

    def set_flags(self, flags: Iterable[str]) -> None:
        """Show only items with every one of these flags (``core.item_list.FLAGS``)."""
        self._requery(flags=frozenset(flags), known=frozenset(self._known))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order every opened list by a column, in SQL; expansion and selection stay.

        The view is shown the first page of the new order (a selected row beyond it is no longer
        selected; what the window shows of it stays). A big case is read on the read pool.
        """
        key = SORT_KEYS.get(Column(column)) if 0 <= column < _NCOLS else None
        if key is None:
            return
        base = self._pending if self._pending is not None else self._query
        query = dataclasses.replace(base, sort=key, descending=order == Qt.SortOrder.DescendingOrder)
        if query == base:
            return
        if query == self._query:  # back to the order shown while another was being read
            self._drop_pending()
            return
        if self._reader is None:
            self._set_query(query)
            return
        if self._off_thread():
            self._read_later(query)
            return
        self._show_listing(item_list.listing(self._reader.conn, query, self._opened()))

    def _show_listing(self, listing: item_list.Listing) -> None:
        """Show the lists in a new order: one layout change, the top level cut to its first page.

        The rest of the top level comes back a page at a time as the view scrolls down
        (``fetchMore``); a row no longer shown loses its persistent indexes (the tree lets go of
        its selection), as a view does for rows it no longer has.
        """
        old = {parent_id: list(ids) for parent_id, ids in self._kids.items()}
        self._settling = True  # a view (or a checker) looking at the model in its slots adds no rows
        try:
            self.layoutAboutToBeChanged.emit()
            self._set_query(listing.query)
            self._top = listing.top
            self._kids[_ROOT] = self._top[:TOP_PAGE]
            for parent_id in self._kids:
                if parent_id != _ROOT:
                    found = listing.children.get(parent_id)
                    self._kids[parent_id] = found if found is not None else self._list_ids(parent_id)
                self._rows[parent_id] = None
            self._move_persistent(old)
            self.layoutChanged.emit()
        finally:
            self._settling = False

    def _opened(self) -> list[int]:
        return [parent_id for parent_id in self._kids if parent_id != _ROOT]

    def _off_thread(self) -> bool:
        return self.loader is not None and self._reader is not None and self._items > ASYNC_ABOVE

    def _same_rows(self, query: item_list.ItemQuery) -> bool:
        """Whether ``query`` lists what is shown, only in another order (a sort, not a filter)."""
        shown = self._query
        return (dataclasses.replace(query, sort=shown.sort, descending=shown.descending) == shown
                and query.known == shown.known)

    def _read_later(self, query: item_list.ItemQuery) -> None:
        """Read what ``query`` lists on the read pool; the lists shown stay until it is back."""
        assert self.loader is not None  # noqa: S101 - _off_thread checked it
        self._ticket += 1
        ticket = self._ticket
        self._pending = query
        self.loading = True
        self._stale = False
        if self._same_rows(query):
            opened = self._opened()

            def work(conn: sqlite3.Connection) -> Any:
                return item_list.listing(conn, query, opened)
        else:
            def work(conn: sqlite3.Connection) -> Any:
                return item_list.first_level(conn, query)
        self.loader(work, lambda result: self._read_back(ticket, result))

    def _read_back(self, ticket: int, result: Any) -> None:
        """The read pool's answer: show it (re-read in place if items were recorded meanwhile)."""
        if ticket != self._ticket or self._pending is None:
            return  # another sort or filter was asked for meanwhile, or the case was closed
        query, stale = self._pending, self._stale
        self._drop_pending()
        if result is None or self._reader is None:
            self.loaded.emit()  # it failed (the window reported it): the old lists stay
            return
        if isinstance(result, item_list.Listing) and self._same_rows(query):
            fresh = (not stale and set(result.top) == set(self._top)
                     and set(self._opened()) <= set(result.children))
            self._show_listing(result if fresh else
                               item_list.listing(self._reader.conn, query, self._opened()))
        else:
            first = result if isinstance(result, item_list.FirstLevel) and not stale else None
            self.beginResetModel()
            self._set_query(query)
            self._relist(first)
            self.endResetModel()
        self.loaded.emit()

    def _drop_pending(self) -> None:
        self._ticket += 1
        self._pending = None
        self.loading = False
        self._stale = False

    def _set_query(self, query: item_list.ItemQuery) -> None:
        self._query = query
        self._flat = query.filtered

    def lists(self, item_id: int) -> bool:
        """Whether the item is in the model's lists, shown to the view or not (yet)."""
        return item_id in self._up

    # -- QAbstractItemModel ------------------------------------------------------------------

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:
        """The index of a child of ``parent`` (children hang off column 0)."""
        # Asked for every row a view lays out: kept to a few dictionary look-ups.
        if parent.isValid():
            siblings = self._kids.get(parent.internalId())
            at = parent.row()
            if parent.column() != 0 or siblings is None or not 0 <= at < len(siblings):
                return QModelIndex()
            ids = self._kids.get(siblings[at])
            parent_id = siblings[at]
        else:
            ids, parent_id = self._kids[_ROOT], _ROOT
        if ids is None or not (0 <= row < len(ids) and 0 <= column < _NCOLS):
            return QModelIndex()
        return self.createIndex(row, column, parent_id)

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        """The row an item was derived from (invalid for the top level)."""
        if not index.isValid():
            return QModelIndex()
        parent_id = int(index.internalId())
        return self._index_of_parent(parent_id)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Children listed so far under ``parent`` (the top level when invalid)."""
        if parent.isValid() and parent.column() != 0:
            return 0
        parent_id = self.item_id_at(parent) if parent.isValid() else _ROOT
        return len(self._kids.get(parent_id, [])) if parent_id is not None else 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        """The same columns at every level."""
        return _NCOLS

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:
        """Whether a row has derived items, from its child count (the children are not loaded)."""
        if not parent.isValid():
            return bool(self._kids[_ROOT])
        if self._flat or parent.column() != 0:
            return False
        siblings = self._kids.get(parent.internalId())
        at = parent.row()
        if siblings is None or not 0 <= at < len(siblings):
            return False
        item_id = siblings[at]
        kids = self._kids.get(item_id)
        return bool(kids) if kids is not None else item_id in self._parents

    def canFetchMore(self, parent: _Index) -> bool:
        """A row with derived items whose children were not read yet; the root: more top-level rows."""
        if not parent.isValid():
            return self._reader is not None and not self._settling and len(self._kids[_ROOT]) < len(self._top)
        if parent.column() != 0 or self._query.filtered or self._reader is None:
            return False
        item_id = self.item_id_at(parent)
        return item_id is not None and item_id not in self._kids and item_id in self._parents

    def fetchMore(self, parent: _Index) -> None:
        """Read the children of a row (one query by parent id, in the tree's order).

        The root: show the next :data:`TOP_PAGE` top-level rows.
        """
        if not self.canFetchMore(parent) or self._reader is None:
            return
        if not parent.isValid():
            self._show_top_rows(len(self._kids[_ROOT]) + TOP_PAGE)
            return
        item_id = self.item_id_at(parent)
        assert item_id is not None  # noqa: S101 - canFetchMore checked it
        ids = item_list.child_ids(self._reader.conn, item_id, self._query)
        if not ids:
            self._kids[item_id] = []
            return
        self.beginInsertRows(parent, 0, len(ids) - 1)
        self._kids[item_id] = ids
        self._rows[item_id] = None
        for child in ids:
            self._up[child] = item_id
        self.endInsertRows()

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Selectable, never editable: what is shown was recorded by the core."""
        return _FLAGS if index.isValid() else _NO_FLAGS

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY and 0 <= section < _NCOLS:
            return HEADERS[Column(section)]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The cell's value for ``role``, display text and tooltips made safe (case text is data)."""
        return for_role(role, self._cell(index, role))

    # -- internals ---------------------------------------------------------------------------

    def _cell(self, index: _Index, role: int) -> Any:
        """Asked for every role of every painted cell: unused roles return at once, texts are kept."""
        if role not in _ROLES or not index.isValid():
            return None
        found = self.row_at(index)
        if found is None:
            return None
        item = found.item
        column = index.column()
        if role == _DISPLAY:
            texts = self._texts.get(item.id)
            if texts is None:
                texts = self._texts[item.id] = tuple(self._display(found, c) for c in Column)
            return texts[column] if column != Column.VERIFY else verify_text(self._verify.get(item.id))
        if role == ItemIdRole:
            return item.id
        if role == _TOOLTIP:
            return self._tooltip(found, Column(column))
        if role == _FOREGROUND:
            if column == Column.MIME and item.ext_mismatch:
                return QBrush(theme.ink(WARNING_FOREGROUND))
            if column == Column.KNOWN and item.id in self._known:
                return QBrush(theme.ink(WARNING_FOREGROUND))
            if column == Column.VERIFY and (status := self._verify.get(item.id)) in VERIFY_FOREGROUND:
                return QBrush(theme.ink(VERIFY_FOREGROUND[status]))
            return None
        if role == _BACKGROUND:
            if column == Column.VERIFY and (status := self._verify.get(item.id)) in VERIFY_BACKGROUND:
                return QBrush(theme.tint(VERIFY_BACKGROUND[status]))
            return None
        if role == _DECORATION:
            return self._mismatch_icon if column == Column.MIME and item.ext_mismatch else None
        if role == _FONT:
            if column == Column.SHA256:
                return self._mono
            if column == Column.VERIFY and self._verify.get(item.id, "ok") != "ok":
                return self._bold
            if column == Column.KNOWN and item.id in self._known:
                return self._bold
            return None
        if role == _ALIGNMENT:
            return _RIGHT if column in (Column.ID, Column.SIZE) else None
        return None

    def _display(self, found: item_list.ItemRow, column: Column) -> str:
        item = found.item
        match column:
            case Column.ID:
                return str(item.id)
            case Column.NAME:
                return item.name
            case Column.KIND:
                return item.kind
            case Column.SIZE:
                return human_size(item.size)
            case Column.MIME:
                return f"{item.mime} (not {_extension(item.name)})" if item.ext_mismatch else item.mime
            case Column.SHA256:
                return item.sha256
            case Column.ACQUIRED_AT:
                return timestamps.human(item.acquired_at)
            case Column.ACQUIRED_BY:
                return item.acquired_by
            case Column.STATUS:
                return item.status
            case Column.DUPLICATE:
                return duplicate_text(found)
            case Column.KNOWN:
                known = self._known.get(item.id)
                return ", ".join(known.names) if known else ""
            case Column.VERIFY:
                return verify_text(self._verify.get(item.id))

    def _tooltip(self, found: item_list.ItemRow, column: Column) -> str | None:
        item = found.item
        if column == Column.NAME:
            derived = f"\nDerived from item {item.parent_id} ({item.derived_how})" if item.parent_id else ""
            return f"{item.name}\nSource: {item.source_path}{derived}"
        if column == Column.MIME and item.ext_mismatch:
            return (f"The content is {item.mime} ({item.magic}), which the extension of "
                    f"\u201c{item.name}\u201d does not match.")
        if column == Column.SIZE:
            return f"{item.size:,} bytes"
        if column == Column.SHA256:
            return item.sha256
        if column == Column.DUPLICATE and found.duplicates:
            return (f"{found.duplicates + 1} items of this case hold exactly these bytes (same SHA-256); "
                    "they share one analysis. Right-click \u2192 Go to the first copy.")
        if column == Column.KNOWN and (known := self._known.get(item.id)) is not None:
            return "This file's hash is known to: " + "; ".join(known.names)
        if column == Column.VERIFY and item.id not in self._verify:
            return "Not verified in this session; use Verify case."
        return None

    def _row(self, item_id: int) -> item_list.ItemRow | None:
        found = self._cache.get(item_id)
        if found is None and self._reader is not None:
            self._fetch_page(item_id)
            found = self._cache.get(item_id)
        return found

    def _fetch_page(self, item_id: int) -> None:
        """Read the page of siblings around ``item_id`` (what is painted next to it)."""
        assert self._reader is not None  # noqa: S101 - callers check
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
            self._texts.clear()
        parent_id = self._up.get(item_id)
        siblings = self._kids.get(parent_id, []) if parent_id is not None else []
        row = self._row_in(parent_id).get(item_id) if parent_id is not None else None
        if row is None:
            page = [item_id]
        else:
            start = row - row % _PAGE
            page = siblings[start:start + _PAGE]
        self._cache.update(item_list.rows(self._reader.conn, page))

    def _row_in(self, parent_id: int) -> dict[int, int]:
        rows = self._rows.get(parent_id)
        if rows is None:
            ids = self._kids.get(parent_id, [])
            rows = self._rows[parent_id] = {item_id: row for row, item_id in enumerate(ids)}
        return rows

    def _index_of_parent(self, parent_id: int) -> QModelIndex:
        if parent_id == _ROOT:
            return QModelIndex()
        grandparent = self._up.get(parent_id)
        if grandparent is None:
            return QModelIndex()
        row = self._row_in(grandparent).get(parent_id)
        return self.createIndex(row, 0, grandparent) if row is not None else QModelIndex()

    def _move_persistent(self, old: dict[int, list[int]]) -> None:
        """After rows moved (inside a layout change): point persistent indexes at their items' new rows."""
        moved_from, moved_to = [], []
        for index in self.persistentIndexList():
            parent_id = int(index.internalId())
            ids = old.get(parent_id)
            if ids is None or not 0 <= index.row() < len(ids):
                continue
            row = self._row_in(parent_id).get(ids[index.row()])
            moved_from.append(index)
            moved_to.append(self.createIndex(row, index.column(), parent_id) if row is not None
                            else QModelIndex())
        self.changePersistentIndexList(moved_from, moved_to)

    def _list_ids(self, parent_id: int) -> list[int]:
        if self._reader is None:
            return []
        if parent_id == _ROOT:
            return item_list.top_ids(self._reader.conn, self._query)
        return item_list.child_ids(self._reader.conn, parent_id, self._query)

    def _relist(self, first: item_list.FirstLevel | None = None) -> None:
        """Start again from the top level (inside a reset), from ``first`` when it was read already."""
        self._top = first.ids if first is not None else self._list_ids(_ROOT)
        self._kids = {_ROOT: self._top[:TOP_PAGE]}
        self._rows = {}
        self._up = dict.fromkeys(self._top, _ROOT)
        self._cache.clear()
        self._texts.clear()
        if first is not None:
            self._parents = set(first.parents)
        else:
            self._parents = item_list.parent_ids(self._reader.conn) if self._reader is not None else set()
        if self._reader is None:
            self._items = self._total = 0
            return
        self._items = first.count if first is not None else item_list.count(self._reader.conn)
        self._total = len(self._top) if self._query.filtered else self._items

    def _requery(self, **change: object) -> None:
        base = self._pending if self._pending is not None else self._query
        query = dataclasses.replace(base, **change)  # type: ignore[arg-type]
        if query == base and query.known == base.known:
            return
        if query == self._query and query.known == self._query.known:
            self._drop_pending()  # back to what is shown while another list was being read
            return
        if self._off_thread():
            self._read_later(query)
            return
        self._drop_pending()
        self.beginResetModel()
        self._set_query(query)
        self._relist()
        self.endResetModel()

    def _merge(self, parent_id: int, new: list[int]) -> None:
        """Bring one opened list to ``new``: move rows whose order changed, insert the new ones.

        For the top level ``new`` is every top-level id; the view is told of the prefix that holds
        every row it was shown (and, when it had been shown them all, the new ones up to a page).
        """
        old = self._kids[parent_id]
        if parent_id == _ROOT:
            if new == self._top:
                return
            if not set(self._top) <= set(new):  # rows left the list: start again
                self.beginResetModel()
                self._relist()
                self.endResetModel()
                return
            complete = len(old) == len(self._top)
            full, self._top = new, self._top
            shown = self._shown_for(len(old), set(old), full)
            new = full[:max(shown, min(len(full), TOP_PAGE)) if complete else shown]
            try:  # the old top level until the rows are in: no fetchMore of the root meanwhile
                self._merge_shown(parent_id, old, new)
            finally:
                self._top = full
                self._up.update(dict.fromkeys(full, _ROOT))
            return
        self._merge_shown(parent_id, old, new)

    def _merge_shown(self, parent_id: int, old: list[int], new: list[int]) -> None:
        if new == old:
            return
        new_set, old_set = set(new), set(old)
        parent = self._index_of_parent(parent_id)
        if parent_id != _ROOT and not parent.isValid():
            return
        if not old_set <= new_set:  # rows left the list (a flag filter no longer matches): start again
            self.beginResetModel()
            self._relist()
            self.endResetModel()
            return
        kept = [i for i in new if i in old_set]
        if kept != old:  # a sort by status: rows moved
            self.layoutAboutToBeChanged.emit([QPersistentModelIndex(parent)] if parent.isValid() else [])
            self._kids[parent_id] = kept
            self._rows[parent_id] = None
            self._move_persistent({parent_id: old})
            self.layoutChanged.emit([QPersistentModelIndex(parent)] if parent.isValid() else [])
        ids = self._kids[parent_id]
        at = 0
        while at < len(new):
            if at < len(ids) and ids[at] == new[at]:
                at += 1
                continue
            end = at
            while end < len(new) and new[end] not in old_set:
                end += 1
            self.beginInsertRows(parent, at, end - 1)
            ids[at:at] = new[at:end]
            self._rows[parent_id] = None
            for item_id in new[at:end]:
                self._up[item_id] = parent_id
            self.endInsertRows()
            at = end

    def _shown_for(self, shown: int, keep: set[int], top: list[int] | None = None) -> int:
        """How many rows of the top level (``top``, else ``_top``) to show.

        At least ``shown``, and every id of ``keep``.
        """
        top = self._top if top is None else top
        if keep:
            last = max((row for row, item_id in enumerate(top) if item_id in keep), default=-1)
            shown = max(shown, last + 1)
        return min(len(top), shown)

    def _show_top_rows(self, count: int) -> None:
        """Tell the view of the first ``count`` top-level rows (those not shown yet are inserted)."""
        shown = self._kids[_ROOT]
        count = min(count, len(self._top))
        if count <= len(shown) or self._settling:
            return
        self._settling = True  # a slot of the insert signals asking for more adds nothing twice
        try:
            self.beginInsertRows(QModelIndex(), len(shown), count - 1)
            shown.extend(self._top[len(shown):count])
            self._rows[_ROOT] = None
            self.endInsertRows()
        finally:
            self._settling = False

    def _show_top(self, item_id: int, within: int | None = None) -> None:
        """Make a top-level item's row shown (a jump to it), with every row above it.

        ``within``: only if that shows at most so many rows.
        """
        if self._up.get(item_id) != _ROOT or item_id in self._row_in(_ROOT):
            return
        try:
            row = self._top.index(item_id)
        except ValueError:
            return
        if within is None or row < within:
            self._show_top_rows(row + 1)

    def _column_changed(self, column: Column) -> None:
        for parent_id, ids in self._kids.items():
            if ids:
                parent = self._index_of_parent(parent_id)
                self.dataChanged.emit(self.index(0, column, parent), self.index(len(ids) - 1, column, parent))


def duplicate_text(found: item_list.ItemRow) -> str:
    """What the Duplicate column says: the first item holding the same content, or how many copies."""
    if not found.duplicates:
        return ""
    if found.first_copy and found.first_copy != found.item.id:
        return f"same content as item {found.first_copy}"
    return f"first of {found.duplicates + 1} copies"
