# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence table's model: a thin adapter from item rows in the case database to Qt views.

As in Anki's browser table, the model holds only the ordered item ids; rows are read lazily, a page
at a time, into a cache when a view asks for them, so a case with a hundred thousand items opens
as fast as one with four. It reads through the case's *read-only* connection (``case.reader()``),
never the writer connection the write pool uses, and so only ever shows committed items.

No business logic here: what an item is comes from the core; verify outcomes are handed in by the
window after the core has decided them.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QFontDatabase, QIcon

from desktop.core import timestamps
from desktop.core.case import ITEM_COLUMNS, Item, item_from_row
from desktop.core.store import Database
from desktop.ui.display import (
    VERIFY_BACKGROUND,
    VERIFY_FOREGROUND,
    WARNING_FOREGROUND,
    human_size,
    verify_text,
)
from desktop.ui.row_model import ReadOnlyTableModel

ItemIdRole = Qt.ItemDataRole.UserRole + 1
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
        self._only: set[int] | None = None
        self._cache: dict[int, Item] = {}
        self._verify: dict[int, str] = {}
        self._mismatch_icon = mismatch_icon or QIcon()
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    # -- feeding the model -------------------------------------------------------------------

    def set_reader(self, reader: Database | None) -> None:
        """Show the items readable through ``reader`` (a read-only connection), or none."""
        self.beginResetModel()
        self._reader = reader
        self._ids = self._load_ids()
        self._cache.clear()
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
        """Cell contents for each role."""
        if not index.isValid() or index.parent().isValid():
            return None
        item = self.item_at(index.row())
        if item is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == ItemIdRole:
            return item.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == Column.MIME and item.ext_mismatch:
                return QBrush(WARNING_FOREGROUND)
            if column == Column.VERIFY and (status := self._verify.get(item.id)) in VERIFY_FOREGROUND:
                return QBrush(VERIFY_FOREGROUND[status])
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            if column == Column.VERIFY and (status := self._verify.get(item.id)) in VERIFY_BACKGROUND:
                return QBrush(VERIFY_BACKGROUND[status])
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._mismatch_icon if column == Column.MIME and item.ext_mismatch else None
        if role == Qt.ItemDataRole.FontRole:
            if column == Column.SHA256:
                return self._mono
            if column == Column.VERIFY and self._verify.get(item.id, "ok") != "ok":
                bold = QFont()
                bold.setBold(True)
                return bold
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column in (Column.ID, Column.SIZE):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
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
        self.beginResetModel()
        self._only = set(item_ids) if item_ids is not None else None
        self._ids = self._load_ids()
        self._cache.clear()
        self.endResetModel()

    @property
    def filtered(self) -> bool:
        """Whether only some items are shown."""
        return self._only is not None

    def _load_ids(self) -> list[int]:
        if self._reader is None:
            return []
        ids = [int(r[0]) for r in self._reader.execute("SELECT id FROM items ORDER BY id").fetchall()]
        return ids if self._only is None else [i for i in ids if i in self._only]

    def _fetch_page(self, row: int) -> None:
        if self._reader is None:
            return
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        start = row - row % _PAGE
        ids = self._ids[start : start + _PAGE]
        marks = ", ".join("?" for _ in ids)
        sql = f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id IN ({marks})"  # noqa: S608 - our columns
        for r in self._reader.execute(sql, ids).fetchall():
            item = item_from_row(r)
            self._cache[item.id] = item
