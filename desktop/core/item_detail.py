# SPDX-License-Identifier: GPL-3.0-or-later
"""What the window shows about one item or one indicator: media facts, OCR lines, occurrences.

The item panes (message, media, details) and the indicator pane read through these functions,
over the window's read-only connection: an image's or video's metadata, its OCR lines in time
order with the indicators found on each (a long screen recording has thousands of lines, read a
page at a time), the boxes an analyst drew, the times of the frames that hold a hit, where a kept
frame was taken, the places an indicator was found, and the text search. The raw source of a
message is read from its vault copy, never from the original.

This module only reads. Exporting an original file (a write: custody records it) is
:func:`desktop.core.edits.export_original`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.findings import TextHit, analysis_owner, search_text

RAW_SOURCE_LIMIT = 8 << 20  # bytes of a message shown as its source at most (the rest is said)


# -- media -----------------------------------------------------------------------------------


def media_of(conn: sqlite3.Connection, item_id: int) -> dict[str, Any] | None:
    """The metadata the image or video analyser recorded for an item (its own or shared), or None.

    The dict is the analyser's ``media`` detail plus ``_kind`` (``image`` or ``video``).
    """
    row = conn.execute("SELECT kind, detail FROM media WHERE item_id = ?",
                       (analysis_owner(conn, item_id),)).fetchone()
    if row is None:
        return None
    detail: dict[str, Any] = json.loads(row[1])
    detail["_kind"] = row[0]
    return detail


def frame_time(conn: sqlite3.Connection, item_id: int) -> float | None:
    """The time in its video at which a kept frame was taken (from its ``derived`` custody entry)."""
    row = conn.execute("SELECT detail FROM custody WHERE item_id = ? AND action = 'derived' "
                       "ORDER BY seq LIMIT 1", (item_id,)).fetchone()
    if row is not None:
        try:
            value = json.loads(row[0]).get("time_s")
        except (TypeError, ValueError, AttributeError):
            return None
        if isinstance(value, int | float):
            return float(value)
    return None


def hit_times(conn: sqlite3.Connection, item_id: int) -> list[float]:
    """Frame times of a video at which an indicator was found (else at which any text was read)."""
    rows = conn.execute("SELECT DISTINCT time_s FROM occurrences WHERE item_id = ? AND time_s IS NOT NULL "
                        "ORDER BY time_s", (item_id,)).fetchall()
    if not rows:
        rows = conn.execute("SELECT DISTINCT time_s FROM ocr_lines WHERE item_id = ? AND time_s IS NOT NULL "
                            "ORDER BY time_s", (item_id,)).fetchall()
    return [float(r[0]) for r in rows]


@dataclass(frozen=True)
class AnalystBox:
    """A region an analyst recorded an indicator from.

    Attributes:
        box: ``(x, y, w, h)`` in upright full-resolution pixels.
        time_s: the frame time, for a video.
        type: the indicator's type.
        value: its value.
    """

    box: tuple[int, int, int, int]
    time_s: float | None
    type: str
    value: str


def analyst_boxes(conn: sqlite3.Connection, item_ids: list[int]) -> list[AnalystBox]:
    """The regions analysts recorded indicators from on these items (a video and its kept frame)."""
    rows = conn.execute(
        "SELECT o.bbox, o.time_s, i.type, i.value FROM occurrences o "
        "JOIN indicators i ON i.id = o.indicator_id WHERE o.item_id IN (SELECT value FROM json_each(?)) "
        "AND o.source = 'analyst' AND o.bbox IS NOT NULL ORDER BY o.id", (json.dumps(item_ids),)).fetchall()
    out = []
    for bbox, t, type_, value in rows:
        x, y, w, h = (int(v) for v in json.loads(bbox))
        out.append(AnalystBox((x, y, w, h), None if t is None else float(t), str(type_), str(value)))
    return out


# -- OCR lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrLine:
    """One line of text read on an image or a video frame.

    Attributes:
        id: its row id.
        time_s: frame time in seconds (None for a still image).
        text: the text read.
        confidence: the recogniser's score, 0-1.
        box: ``(x, y, w, h)`` in upright full-frame pixels.
        indicators: the values of the indicators the core found on this line.
    """

    id: int
    time_s: float | None
    text: str
    confidence: float
    box: tuple[int, int, int, int]
    indicators: tuple[str, ...] = ()


LineKey = tuple[float, tuple[int, ...]]


def line_key(time_s: float | None, box: Any) -> LineKey:
    """What ties an OCR occurrence to the line it was read on: the frame time and the box."""
    return (round(float(time_s), 2) if time_s is not None else -1.0, tuple(int(v) for v in box))


def ocr_found(conn: sqlite3.Connection, item_id: int) -> dict[LineKey, list[str]]:
    """Indicator values found by OCR on an item, by the line (time and box) they were read on."""
    found: dict[LineKey, list[str]] = {}
    for time_s, bbox, value in conn.execute(
            "SELECT o.time_s, o.bbox, i.value FROM occurrences o JOIN indicators i ON i.id = o.indicator_id "
            "WHERE o.item_id = ? AND o.source = 'ocr' AND o.bbox IS NOT NULL ORDER BY o.id", (item_id,)):
        found.setdefault(line_key(time_s, json.loads(bbox)), []).append(str(value))
    return found


def ocr_line_ids(conn: sqlite3.Connection, item_id: int, *, at_time: float | None = None,
                 only: set[LineKey] | None = None) -> list[int]:
    """Ids of an item's OCR lines in reading order (time, then top to bottom, left to right).

    Args:
        conn: the case.
        item_id: the image or video (the owner of its analysis).
        at_time: only the lines read at this frame time (a kept frame).
        only: only the lines with these keys (those holding an indicator).
    """
    sql = "SELECT id, time_s, x, y, w, h FROM ocr_lines WHERE item_id = ?"
    args: tuple[Any, ...] = (item_id,)
    if at_time is not None:
        sql += " AND ABS(time_s - ?) < 0.002"
        args += (at_time,)
    rows = conn.execute(sql + " ORDER BY COALESCE(time_s, 0), y, x, id", args).fetchall()
    if only is None:
        return [int(r[0]) for r in rows]
    return [int(r[0]) for r in rows if line_key(r[1], r[2:6]) in only]


_LINE_COLUMNS = "id, time_s, text, confidence, x, y, w, h"


def _line(r: Any, found: dict[LineKey, list[str]]) -> OcrLine:
    box = (int(r[4]), int(r[5]), int(r[6]), int(r[7]))
    return OcrLine(int(r[0]), r[1], str(r[2]), float(r[3]), box, tuple(found.get(line_key(r[1], box), ())))


def ocr_lines(conn: sqlite3.Connection, line_ids: list[int],
              found: dict[LineKey, list[str]]) -> dict[int, OcrLine]:
    """The OCR lines with these ids (a page), with the indicator values ``found`` on each."""
    rows = conn.execute(f"SELECT {_LINE_COLUMNS} FROM ocr_lines "  # noqa: S608 - our own columns
                        "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(line_ids),))
    return {int(r[0]): _line(r, found) for r in rows}


def ocr_lines_near(conn: sqlite3.Connection, item_id: int, time_s: float | None,
                   found: dict[LineKey, list[str]], window_s: float = 1.5) -> list[OcrLine]:
    """The lines of the last OCR read at or before ``time_s`` (within ``window_s``); all for an image.

    The video analyser reads only what changed, so the boxes that belong to a picture are those of
    the read closest before it; lines older than ``window_s`` may be off screen.
    """
    args: tuple[Any, ...]
    if time_s is None:
        where, args = "WHERE item_id = ?", (item_id,)
    else:
        row = conn.execute(
            "SELECT MAX(time_s) FROM ocr_lines WHERE item_id = ? AND time_s <= ? AND time_s >= ?",
            (item_id, time_s + 1e-3, time_s - window_s)).fetchone()
        if row is None or row[0] is None:
            return []
        where, args = "WHERE item_id = ? AND time_s = ?", (item_id, row[0])
    rows = conn.execute(f"SELECT {_LINE_COLUMNS} FROM ocr_lines {where} ORDER BY y, x", args)  # noqa: S608
    return [_line(r, found) for r in rows]


# -- where an indicator was found ------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One place an indicator was found.

    Attributes:
        id: the occurrence's row id.
        item_id: the item it was found in.
        item_name: that item's name.
        source: ``header``, ``body``, ``attachment``, ``metadata``, ``ocr`` or ``analyst``.
        where: the field, hop, body or frame.
        raw: the text as found, when it differs from the normalised value.
        offset: offset in the body it was found in.
        time_s: frame time, for videos.
        bbox: box on the picture ``[x, y, w, h]``.
        confidence: how much the finding is worth by where it was read.
        frame_item_id: the kept frame it was read on, if one was kept.
    """

    id: int
    item_id: int
    item_name: str
    source: str
    where: str
    raw: str | None
    offset: int | None
    time_s: float | None
    bbox: list[int] | None
    confidence: float
    frame_item_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """Where to show it: what the window's jump to an occurrence takes."""
        return {"item_id": self.item_id, "source": self.source, "where": self.where, "raw": self.raw,
                "offset": self.offset, "time_s": self.time_s, "bbox": self.bbox,
                "frame_item_id": self.frame_item_id}


def occurrences(conn: sqlite3.Connection, indicator_id: int) -> list[Occurrence]:
    """Every place an indicator was found, by item and then time or offset."""
    rows = conn.execute(
        "SELECT o.id, o.item_id, it.name, o.source, o.where_, o.raw, o.offset, o.time_s, o.bbox, "
        "o.confidence, o.frame_item_id FROM occurrences o JOIN items it ON it.id = o.item_id "
        "WHERE o.indicator_id = ? ORDER BY o.item_id, COALESCE(o.time_s, 0), COALESCE(o.offset, 0), o.id",
        (indicator_id,)).fetchall()
    return [Occurrence(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), r[5], r[6], r[7],
                       json.loads(r[8]) if r[8] else None, float(r[9]), r[10]) for r in rows]


@dataclass(frozen=True)
class IndicatorFacts:
    """The stored facts of one indicator."""

    id: int
    type: str
    value: str
    first_seen: str


def indicator(conn: sqlite3.Connection, indicator_id: int) -> IndicatorFacts | None:
    """One indicator's type, value and first sighting, or None."""
    row = conn.execute("SELECT id, type, value, first_seen FROM indicators WHERE id = ?",
                       (indicator_id,)).fetchone()
    return IndicatorFacts(int(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None


# -- search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    """A text search hit with the name of its item."""

    hit: TextHit
    item_name: str


def search(conn: sqlite3.Connection, query: str, limit: int = 200) -> list[SearchHit]:
    """Search bodies, subjects, text files and OCR text (see ``findings.search_text``)."""
    hits = search_text(conn, query, limit)
    ids = sorted({h.item_id for h in hits})
    names = {int(i): str(n) for i, n in conn.execute(
        "SELECT id, name FROM items WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
    return [SearchHit(h, names.get(h.item_id, "")) for h in hits]


# -- the raw source of an item ---------------------------------------------------------------


@dataclass(frozen=True)
class RawSource:
    r"""The bytes of an item as acquired, decoded for reading (never interpreted).

    Attributes:
        text: the first :data:`RAW_SOURCE_LIMIT` bytes, decoded as UTF-8 with each undecodable
            byte shown as ``\xNN`` (a message's source is mostly ASCII; nothing is dropped).
        size: the item's size in bytes.
        truncated: whether only the first bytes are shown.
    """

    text: str
    size: int
    truncated: bool


def raw_source(blob: Path, size: int, limit: int = RAW_SOURCE_LIMIT) -> RawSource:
    """Read an item's vault copy as text for the raw-source view.

    Raises:
        OSError: the vault copy cannot be read (``verify`` says why).
    """
    with blob.open("rb") as f:
        data = f.read(limit)
    return RawSource(data.decode("utf-8", "backslashreplace"), size, size > len(data))
