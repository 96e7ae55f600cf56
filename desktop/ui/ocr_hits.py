# SPDX-License-Identifier: GPL-3.0-or-later
"""The OCR hits list: every line read on an image or in a video, clickable to jump to its frame.

A thin model over ``ocr_lines`` row ids, read a page at a time through the window's read-only
connection (a long screen recording has thousands of lines). Lines in which the core found an
indicator (an ``ocr`` occurrence at the same time and box) are marked, so the analyst can go
straight to the frames that matter. The model decides nothing: which line holds an indicator is
what the core recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from desktop.core import findings, item_detail
from desktop.core.store import Database
from desktop.ui import theme
from desktop.ui.row_model import ReadOnlyTableModel

_Index = QModelIndex | QPersistentModelIndex
_PAGE = 200
HEADERS = ("Time", "Text", "Confidence")
INDICATOR_FOREGROUND = QColor("#8a4b00")
UNCERTAIN_FOREGROUND = QColor("#6d6d6d")  # shown, never hidden, but not as a finding
LineIdRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class OcrLineRow(item_detail.OcrLine):
    """One OCR line as the window shows it: the core's line and how sure each of its readings is.

    Attributes:
        readings: the OCR findings read on this line (status, confidence, alternatives).
    """

    readings: tuple[findings.OcrFinding, ...] = ()

    @property
    def uncertain(self) -> bool:
        """Every indicator read on this line is an uncertain reading."""
        return bool(self.readings) and all(r.status == "uncertain" for r in self.readings)

    def describe(self) -> str:
        """The line and how sure each of its readings is, for a tooltip."""
        parts = [self.text]
        for r in self.readings:
            label = {"certain": "certain", "uncertain": "UNCERTAIN reading",
                     "enhanced": "read on an ENHANCED image, not the original pixels"}.get(r.status, r.status)
            alt = f"; also read as {', '.join(r.alternatives)}" if r.alternatives else ""
            parts.append(f"{r.value}: {label}, confidence {r.confidence:.2f}, {r.frames_agree} of {r.reads} "
                         f"reads agree{alt}")
        return "\n".join(parts)


def time_text(seconds: float | None) -> str:
    """A frame time as ``m:ss.s`` (empty for a still image)."""
    if seconds is None:
        return ""
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{secs:04.1f}"


_key = item_detail.line_key


class OcrHitsModel(ReadOnlyTableModel):
    """OCR lines of one item in time order, optionally only those holding an indicator."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=HEADERS)
        self._reader: Database | None = None
        self._item_id: int | None = None
        self._ids: list[int] = []
        self._cache: dict[int, OcrLineRow] = {}
        self._found: dict[tuple[float, tuple[int, ...]], list[str]] = {}
        self._status: dict[tuple[float, tuple[int, ...]], list[findings.OcrFinding]] = {}
        self._with_indicators: set[int] = set()
        self._only_indicators = False
        self._at_time: float | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._uncertain_font = QFont()
        self._uncertain_font.setItalic(True)

    # -- feeding -----------------------------------------------------------------------------

    def load(self, reader: Database | None, item_id: int | None, *, at_time: float | None = None) -> None:
        """Show the lines of ``item_id`` (all of them, or only those read at ``at_time``)."""
        self.beginResetModel()
        self._reader, self._item_id, self._at_time = reader, item_id, at_time
        self._cache.clear()
        self._found = {}
        self._status = {}
        if reader is not None and item_id is not None:
            for found in findings.ocr_findings(reader.conn, item_id):
                key = _key(found.frame_time_s, found.box)
                self._found.setdefault(key, []).append(found.value)
                self._status.setdefault(key, []).append(found)
        self._ids = self._load_ids()
        self.endResetModel()

    def set_only_indicators(self, only: bool) -> None:
        """Show only the lines in which an indicator was found."""
        if only != self._only_indicators:
            self.beginResetModel()
            self._only_indicators = only
            self._ids = self._load_ids()
            self.endResetModel()

    def clear(self) -> None:
        """Show nothing."""
        self.load(None, None)

    # -- lookups -----------------------------------------------------------------------------

    def line_at(self, row: int) -> OcrLineRow | None:
        """The line shown in ``row`` (from the cache, else a page read)."""
        if not 0 <= row < len(self._ids):
            return None
        line_id = self._ids[row]
        if line_id not in self._cache:
            self._fetch_page(row)
        return self._cache.get(line_id)

    def row_of(self, line_id: int) -> int | None:
        """The row showing a line id, or None."""
        try:
            return self._ids.index(line_id)
        except ValueError:
            return None

    def lines_near(self, time_s: float | None, window_s: float = 1.5) -> list[OcrLineRow]:
        """The lines of the last OCR read at or before ``time_s`` (within ``window_s``).

        The video analyser reads only what changed, so the boxes that belong to a picture are the
        ones of the read closest before it; lines older than ``window_s`` may be off screen.
        """
        if self._reader is None or self._item_id is None:
            return []
        return [self._row(line) for line in
                item_detail.ocr_lines_near(self._reader.conn, self._item_id, time_s, self._found, window_s)]

    # -- QAbstractTableModel -----------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Number of lines shown."""
        return 0 if parent.isValid() else len(self._ids)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents; lines holding an indicator are bold and amber, with the values as tooltip."""
        if not index.isValid() or index.parent().isValid():
            return None
        line = self.line_at(index.row())
        if line is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            mark = "? " if line.uncertain and col == 1 else ""
            return (time_text(line.time_s), mark + line.text, f"{line.confidence:.2f}")[col]
        if role == LineIdRole:
            return line.id
        if role == Qt.ItemDataRole.ToolTipRole:
            if line.readings:
                return line.describe()
            found = f"\nIndicators: {', '.join(line.indicators)}" if line.indicators else ""
            return f"{line.text}{found}"
        if line.indicators and role == Qt.ItemDataRole.FontRole:
            return self._uncertain_font if line.uncertain else self._bold
        if line.indicators and role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(theme.ink(UNCERTAIN_FOREGROUND if line.uncertain else INDICATOR_FOREGROUND))
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- internals ---------------------------------------------------------------------------

    def _row(self, line: item_detail.OcrLine) -> OcrLineRow:
        key = _key(line.time_s, line.box)
        return OcrLineRow(line.id, line.time_s, line.text, line.confidence, line.box, line.indicators,
                          tuple(self._status.get(key, ())))

    def _load_ids(self) -> list[int]:
        if self._reader is None or self._item_id is None:
            return []
        return item_detail.ocr_line_ids(self._reader.conn, self._item_id, at_time=self._at_time,
                                        only=set(self._found) if self._only_indicators else None)

    def _fetch_page(self, row: int) -> None:
        if self._reader is None:
            return
        if len(self._cache) > 20 * _PAGE:
            self._cache.clear()
        start = row - row % _PAGE
        for line in item_detail.ocr_lines(self._reader.conn, self._ids[start : start + _PAGE],
                                          self._found).values():
            self._cache[line.id] = self._row(line)
