# SPDX-License-Identifier: GPL-3.0-or-later
"""Base classes for the window's read-only table models.

Every table in the window shows rows the core produced and never edits them in place (changes go
through custody-recording forms and dialogs). Headers, column count, flags and — for tables
backed by a plain list — row count, reset and row lookup are therefore the same everywhere;
they live here once so each model only says how its cells look (:meth:`ReadOnlyTableModel.cell`).

Case text is data, never markup: :meth:`ReadOnlyTableModel.data` is final and hands every
display value and tooltip through :func:`desktop.ui.case_text.for_role`, so no model can put a
hostile subject into a tooltip Qt would render as rich text, or a right-to-left override into a
cell, by forgetting to escape it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar, final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from desktop.ui.case_text import for_role

_Index = QModelIndex | QPersistentModelIndex

RowT = TypeVar("RowT")


class ReadOnlyTableModel(QAbstractTableModel):
    """A flat table with fixed column titles whose cells can be selected but never edited.

    Subclasses decide where the rows come from (``rowCount``) and what the cells show (``cell``).
    Lazy models that page rows in by id use this class directly, because their row count is not
    the length of a list of rows.

    Attributes:
        HEADERS: the column titles, when they are the same for every instance.

    Args:
        parent: the owning QObject (first, like every Qt constructor, so ``Model(self)`` works).
        headers: column titles for this instance; defaults to :attr:`HEADERS`.
    """

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None, *, headers: Sequence[str] | None = None) -> None:
        super().__init__(parent)
        self._header_titles: tuple[str, ...] = tuple(self.HEADERS if headers is None else headers)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        """One column per title (a table has no children)."""
        return 0 if parent.isValid() else len(self._header_titles)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column titles."""
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._header_titles)):
            return self._header_titles[section]
        return None

    @final
    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The cell's value for ``role``, display text and tooltips made safe (see the module)."""
        return for_role(role, self.cell(index, role))

    def cell(self, index: _Index, role: int) -> Any:
        """What a cell holds for ``role``, as raw as the case has it (subclasses say)."""
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Selectable and copyable, never editable: what is shown was recorded by the core."""
        return _ROW_FLAGS if index.isValid() else _NO_FLAGS


# Computed once: flags() is asked for every cell painted, and combining enum flags costs more
# than the rest of the call (profiled on a scroll of the evidence table).
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


class RowTableModel(ReadOnlyTableModel, Generic[RowT]):
    """A read-only table over a list of rows held in memory, one table row per list entry.

    Args:
        parent: the owning QObject.
        headers: column titles for this instance; defaults to :attr:`HEADERS`.
    """

    def __init__(self, parent: QObject | None = None, *, headers: Sequence[str] | None = None) -> None:
        super().__init__(parent, headers=headers)
        self._rows: list[RowT] = []

    def set_rows(self, rows: Iterable[RowT]) -> None:
        """Show these rows instead of the current ones (a model reset, so views drop selections)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, row: int) -> RowT | None:
        """Return the row shown in ``row``, or None outside the table."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_for(self, index: _Index) -> RowT | None:
        """Return the row a cell belongs to, or None for an invalid, nested or stale index."""
        if not index.isValid() or index.parent().isValid():
            return None
        return self.row(index.row())

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Number of rows (a table has no children)."""
        return 0 if parent.isValid() else len(self._rows)
