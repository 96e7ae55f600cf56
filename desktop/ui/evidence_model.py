# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence table's model: a thin adapter from item rows in the case database to Qt views.

As in Anki's browser table, the model holds only the ordered item ids; rows are read lazily, a page
at a time, into a cache when a view asks for them, so a case with a hundred thousand items opens
as fast as one with four. Which ids, in what order, is the core's item query
(``core.item_list``: sorted and filtered in SQL on indexes); the model only hands it the column
and the words the analyst chose. It reads through the case's *read-only* connection
(``case.reader()``), never the writer connection the write pool uses, and so only ever shows
committed items.

No business logic here: what an item is comes from the core; verify outcomes are handed in by the
window after the core has decided them.
"""

from __future__ import annotations

import dataclasses
from enum import IntEnum
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QFontDatabase, QIcon

from desktop.core import item_list, timestamps
from desktop.core.case import Item
from desktop.core.store import Database
from desktop.ui import theme
from desktop.ui.display import (
    VERIFY_BACKGROUND,
    VERIFY_FOREGROUND,
    WARNING_FOREGROUND,
    human_size,
    verify_text,
)
from desktop.ui.row_model import ReadOnlyTableModel

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

_Index = QModelIndex | QPersistentModelIndex


def _extension(name: str) -> str:
    suffix = PurePath(name).suffix
    return suffix if suffix else "what the name says"


class Column(IntEnum):
    """The evidence table's columns, in display order."""

    ID = 0
    NAME = 1
    KIND = 2
    SIZE = 3
    MIME = 4
    SHA256 = 5
    ACQUIRED_AT = 6
    ACQUIRED_BY = 7
    STATUS = 8
    VERIFY = 9


# column -> the core's sort key (the Verify column is this window's, not the case's: no sort).
SORT_KEYS = {
    Column.ID: "id", Column.NAME: "name", Column.KIND: "kind", Column.SIZE: "size", Column.MIME: "mime",
    Column.SHA256: "sha256", Column.ACQUIRED_AT: "acquired_at", Column.ACQUIRED_BY: "acquired_by",
    Column.STATUS: "status",
}

HEADERS = {
    Column.ID: "ID", Column.NAME: "Name", Column.KIND: "Kind", Column.SIZE: "Size",
    Column.MIME: "MIME type", Column.SHA256: "SHA-256", Column.ACQUIRED_AT: "Acquired at (UTC)",
    Column.ACQUIRED_BY: "Acquired by", Column.STATUS: "Status", Column.VERIFY: "Verify",
}


class EvidenceModel(ReadOnlyTableModel):
    """Items of one case, in id order, plus the outcome of the last verify run in this window.

    Args:
        mismatch_icon: shown next to a MIME type that disagrees with the file's extension.
        parent: the owning QObject.
    """

    def __init__(self, mismatch_icon: QIcon | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=[HEADERS[column] for column in Column])
        self._reader: Database | None = None
        self._ids: list[int] = []
        self._query = item_list.ItemQuery()
        self._cache: dict[int, Item] = {}
        self._verify: dict[int, str] = {}
        self._mismatch_icon = mismatch_icon or QIcon()
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._bold = QFont()
        self._bold.setBold(True)
        self._texts: dict[int, tuple[str, ...]] = {}

    # -- feeding the model -------------------------------------------------------------------

    def set_reader(self, reader: Database | None) -> None:
        """Show the items readable through ``reader`` (a read-only connection), or none."""
        self.beginResetModel()
        self._reader = reader
        self._ids = self._load_ids()
        self._cache.clear()
        self._texts.clear()
        self._verify.clear()
        self.endResetModel()

    def refresh(self) -> None:
        """Pick up items recorded since the last look; appended rows are inserted, not reset."""
        if self._reader is None:
            return
        ids = self._load_ids()
        old = self._ids
        if ids[: len(old)] == old:
            self._cache.clear()  # statuses may have changed; rows are re-read when next shown
            self._texts.clear()
            if old:
                self.dataChanged.emit(self.index(0, 0), self.index(len(old) - 1, len(Column) - 1))
            if len(ids) > len(old):
                self.beginInsertRows(QModelIndex(), len(old), len(ids) - 1)
                self._ids = ids
                self.endInsertRows()
        else:
            self.beginResetModel()
            self._ids = ids
            self._cache.clear()
            self._texts.clear()
            self.endResetModel()

    def set_verify_results(self, results: dict[int, str]) -> None:
        """Show each item's verify outcome (``ok``, ``modified``, ``missing``) from the core."""
        self._verify = dict(results)
        if self._ids:
            self.dataChanged.emit(self.index(0, Column.VERIFY), self.index(len(self._ids) - 1, Column.VERIFY))

    # -- lookups for views -------------------------------------------------------------------

    def item_id_at(self, row: int) -> int | None:
        """Return the item id shown in ``row``, or None outside the table."""
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def item_at(self, row: int) -> Item | None:
        """Return the item shown in ``row`` (read from the cache, or the database on a miss)."""
        if not 0 <= row < len(self._ids):
            return None
        item_id = self._ids[row]
        if item_id not in self._cache:
            self._fetch_page(row)
        return self._cache.get(item_id)

    def row_of(self, item_id: int) -> int | None:
        """Return the row showing ``item_id``, or None."""
        try:
            return self._ids.index(item_id)
        except ValueError:
            return None

    def verify_status(self, item_id: int) -> str | None:
        """Return the last verify outcome shown for an item, or None if not verified here."""
        return self._verify.get(item_id)

    # -- QAbstractTableModel -----------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Number of items (a table has no children)."""
        return 0 if parent.isValid() else len(self._ids)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents for each role.

        Asked for every role of every cell on every paint: roles the table does not use return at
        once, and an item's display texts are made once and kept with it.
        """
        if role not in _ROLES or not index.isValid():
            return None
        item = self.item_at(index.row())
        if item is None:
            return None
        column = index.column()
        if role == _DISPLAY:
            texts = self._texts.get(item.id)
            if texts is None:
                texts = self._texts[item.id] = tuple(self._display(item, c) for c in Column)
            return texts[column] if column != Column.VERIFY else verify_text(self._verify.get(item.id))
        if role == ItemIdRole:
            return item.id
        if role == _TOOLTIP:
            return self._tooltip(item, Column(column))
        if role == _FOREGROUND:
            if column == Column.MIME and item.ext_mismatch:
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
            return None
        if role == _ALIGNMENT:
            return _RIGHT if column in (Column.ID, Column.SIZE) else None
        return None

    # -- internals ---------------------------------------------------------------------------

    def _display(self, item: Item, column: Column) -> str:
        match column:
            case Column.ID:
                return str(item.id)
            case Column.NAME:
                return f"    \u21b3 {item.name}" if item.parent_id is not None else item.name
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
                if item.same_as is not None:
                    return f"{item.status} (same content as item {item.same_as})"
                return item.status
            case Column.VERIFY:
                return verify_text(self._verify.get(item.id))

    def _tooltip(self, item: Item, column: Column) -> str | None:
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
        if column == Column.VERIFY and item.id not in self._verify:
            return "Not verified in this session; use Verify case."
        return None

    def set_only(self, item_ids: list[int] | None) -> None:
        """Show only these items (a campaign's messages), or every item again (None)."""
        self._requery(only=frozenset(item_ids) if item_ids is not None else None)

    def set_text_filter(self, text: str) -> None:
        """Show only items holding every word in their name, source, type or hashes ("" for all)."""
        self._requery(text=text)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by a column, in SQL (the Verify column keeps the order it has)."""
        key = SORT_KEYS.get(Column(column)) if 0 <= column < len(Column) else None
        if key is None:
            return
        self._requery(sort=key, descending=order == Qt.SortOrder.DescendingOrder)

    @property
    def filtered(self) -> bool:
        """Whether only some items are shown."""
        return self._query.filtered

    @property
    def query(self) -> item_list.ItemQuery:
        """The core query the rows come from."""
        return self._query

    def _requery(self, **change: object) -> None:
        query = dataclasses.replace(self._query, **change)  # type: ignore[arg-type]
        if query == self._query:
            return
        self.beginResetModel()
        self._query = query
        self._ids = self._load_ids()
        self._cache.clear()
        self._texts.clear()
        self.endResetModel()

    def _load_ids(self) -> list[int]:
        if self._reader is None:
            return []
        return item_list.all_ids(self._reader.conn, self._query)

    def _fetch_page(self, row: int) -> None:
        if self._reader is None:
            return
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
            self._texts.clear()
        start = row - row % _PAGE
        for item_id, found in item_list.rows(self._reader.conn, self._ids[start : start + _PAGE]).items():
            self._cache[item_id] = found.item
