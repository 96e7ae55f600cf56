# SPDX-License-Identifier: GPL-3.0-or-later
r"""What a long write (an import, an analysis) has changed so far, as a :class:`Changes`.

An analyst's edit returns its ``Changes`` when it ends. An import of thousands of files runs for
minutes on the write thread and commits batch after batch; the window wants to show each batch
as it lands — new rows in the evidence tree, new entries in the custody log, new indicators —
without re-reading everything and without resetting a view the analyst is scrolling. It keeps a
:class:`Mark` (the highest item id, custody sequence number and indicator id it has shown) and
asks :func:`changes_since` on its read-only connection at each progress tick: three range scans
on primary keys, whatever the size of the case.

Everything an import or an analysis changes is named by a custody entry (issue 11: every item
acquired, derived or analysed has one), so the items whose rows changed are the ``item_id``\\ s of
the entries appended since the mark. This module only reads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from desktop.core.changes import Changes


@dataclass(frozen=True)
class Mark:
    """How far a view has shown a case.

    Attributes:
        item: the highest item id shown.
        custody: the highest custody sequence number shown.
        indicator: the highest indicator id shown.
    """

    item: int = 0
    custody: int = 0
    indicator: int = 0


def mark(conn: sqlite3.Connection) -> Mark:
    """Where the case is now (what a view shows right after reading it all)."""
    def top(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0] or 0)

    return Mark(top("SELECT MAX(id) FROM items"), top("SELECT MAX(seq) FROM custody"),
                top("SELECT MAX(id) FROM indicators"))


def changes_since(conn: sqlite3.Connection, since: Mark, label: str = "") -> tuple[Changes, Mark]:
    """What was committed after ``since``, and the mark to pass next time.

    Args:
        conn: the case (a read-only connection sees every committed batch).
        since: what the caller has shown.
        label: the change's name for the status bar ("Import").

    Returns:
        The changes (new items and those whose custody grew, their indicators, the number of
        new custody entries) and the new mark.
    """
    new_items = [int(r[0]) for r in conn.execute("SELECT id FROM items WHERE id > ? ORDER BY id",
                                                  (since.item,))]
    entries = conn.execute("SELECT seq, item_id FROM custody WHERE seq > ? ORDER BY seq",
                           (since.custody,)).fetchall()
    touched = {int(item_id) for _seq, item_id in entries if item_id is not None}
    new_indicators = [int(r[0]) for r in conn.execute("SELECT id FROM indicators WHERE id > ?",
                                                       (since.indicator,))]
    changed_items = touched | set(new_items)
    indicators: set[int] = set(new_indicators)
    if touched:
        indicators |= {int(r[0]) for r in conn.execute(
            "SELECT DISTINCT indicator_id FROM occurrences WHERE item_id IN (SELECT value FROM json_each(?))",
            (_json_ids(touched),))}
    after = Mark(max([since.item, *new_items]), max([since.custody, *(int(e[0]) for e in entries)]),
                 max([since.indicator, *new_indicators]))
    changes = Changes(items=frozenset(changed_items), items_added=bool(new_items),
                      indicators=frozenset(indicators), indicators_added=bool(new_indicators),
                      custody=len(entries), label=label)
    return changes, after


def _json_ids(ids: set[int]) -> str:
    return "[" + ",".join(str(i) for i in sorted(ids)) + "]"
