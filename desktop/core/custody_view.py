# SPDX-License-Identifier: GPL-3.0-or-later
"""The custody log a screenful at a time, by position, for the window's custody table.

The window's table asks for "rows 99,800 to 99,999" of a log of 100,000 entries (it opens at the
newest). ``LIMIT … OFFSET`` answers that by stepping over every earlier entry: ~120 ms at the end
of such a log, several hundred under load, each time the table is shown or scrolled. The log is
append-only and numbered from its first entry without gaps, so a position is a sequence number:
row ``n`` is entry ``first + n``, one primary-key range. A log with a gap (an entry deleted behind
the application's back, which ``verify`` names) is paged by position as before, so every entry
that is there is still shown.

This module only reads; whether the chain is intact is :func:`desktop.core.custody.verify_chain`'s.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from desktop.core import custody


@dataclass(frozen=True)
class LogShape:
    """How many entries the log holds and the sequence numbers of its first and last.

    Attributes:
        count: entries in the log.
        first: the lowest sequence number (0 for an empty log).
        last: the highest sequence number (0 for an empty log).
    """

    count: int
    first: int
    last: int

    @property
    def contiguous(self) -> bool:
        """Whether every sequence number from ``first`` to ``last`` is there (positions are numbers)."""
        return self.count == 0 or self.last - self.first + 1 == self.count


def shape(conn: sqlite3.Connection) -> LogShape:
    """The log's size and bounds (one count and two primary-key look-ups)."""
    count, first, last = conn.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM custody").fetchone()
    return LogShape(int(count), int(first or 0), int(last or 0))


def grown(conn: sqlite3.Connection, old: LogShape) -> LogShape:
    """The log's shape after entries were appended to the one ``old`` describes.

    Only the new entries are counted (a range of the primary key): counting a log of 100,000
    entries after every batch of an import stalled the window 40 to 380 ms each time. The log is
    append-only (triggers refuse the rest); if its first entry is not the one ``old`` saw, it is
    counted whole again. An entry deleted behind the application's back in the middle of the log
    meanwhile is found by ``verify``, and by :func:`shape` at the next full load.
    """
    first = conn.execute("SELECT MIN(seq) FROM custody").fetchone()[0]
    if old.count == 0 or first is None or int(first) != old.first:
        return shape(conn)
    added, last = conn.execute("SELECT COUNT(*), MAX(seq) FROM custody WHERE seq > ?", (old.last,)).fetchone()
    return LogShape(old.count + int(added), old.first, int(last) if added else old.last)


def page(conn: sqlite3.Connection, log: LogShape, offset: int, limit: int) -> list[dict[str, Any]]:
    """Entries at positions ``offset`` to ``offset + limit - 1`` (0-based, log order) of ``log``.

    A contiguous log is read by sequence number (a primary-key range, as fast at the end as at the
    start); one with a gap by position.
    """
    if offset < 0 or limit <= 0:
        return []
    if log.contiguous:
        first = log.first + offset
        return custody.entries_between(conn, first, min(first + limit - 1, log.last))
    return custody.entries_page(conn, offset, limit)
