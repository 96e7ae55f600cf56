# SPDX-License-Identifier: GPL-3.0-or-later
"""The indicator list: which indicators, in what order, and the facts beside each one.

Like the evidence tree, the window's indicator table holds only ids and reads rows for what is on
screen. Sorting is an index scan (type then value — addresses as numbers —, occurrences, items,
first seen: migration 13 keeps the counts with each indicator), filtering one query with the
type, tag, search words, warninglist and "only these" conditions. What correlation found
(matches in feeds and other cases) is not in the case database; the window hands in the ids it
found matched, and sorting by matches orders by the counts it hands in.

This module only reads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core.findings import decode_warnings

SORTS: dict[str, str] = {
    "type": "type{d}, sort_key{d}", "value": "sort_key{d}",
    "occurrences": "n_occurrences{d}", "items": "n_items{d}", "first_seen": "first_seen{d}",
}
SOURCES = ("header", "body", "attachment", "metadata", "ocr", "analyst")
MATCH_MODES = ("any", "matched", "unmatched")
WARNING_MODES = ("any", "flagged", "clean")
_PAGE_LIMIT = 2000


@dataclass(frozen=True)
class IndicatorQuery:
    """Which indicators to list and how to order them.

    Attributes:
        sort: a key of :data:`SORTS`, or ``matches`` (by the counts in ``match_counts``).
        descending: largest (or last) first.
        type: only this type, or any ("").
        tag: only indicators with this tag, or any ("").
        text: words every listed indicator must hold in its value or a tag (case-insensitive).
        match: ``any``, ``matched`` (the ids in ``matched``) or ``unmatched``.
        warninglist: ``any``, ``flagged`` (on a warninglist) or ``clean``.
        source: only indicators found at least once by this source (``ocr``…), or any.
        only: only these ``(type, value)`` pairs (a campaign's indicators), or any.
        matched: the ids correlation found matched beyond a warninglist.
        match_counts: how many matches each id has, for sorting by matches.
    """

    sort: str = "type"
    descending: bool = False
    type: str = ""
    tag: str = ""
    text: str = ""
    match: str = "any"
    warninglist: str = "any"
    source: str = ""
    only: frozenset[tuple[str, str]] | None = None
    matched: frozenset[int] = field(default=frozenset(), compare=False)
    match_counts: Mapping[int, int] = field(default_factory=dict, compare=False)

    @property
    def filtered(self) -> bool:
        """Whether the list is narrowed."""
        return bool(self.type or self.tag or self.text.strip() or self.match != "any"
                    or self.warninglist != "any" or self.source or self.only is not None)


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator as the table shows it.

    Attributes:
        id: its id in the case.
        type: its type.
        value: its normalised value.
        first_seen: when the case first recorded it.
        occurrences: how many times it was found.
        items: in how many items.
        sources: where it was read (``header``, ``body``, ``ocr``…), in :data:`SOURCES` order.
        warninglists: the names of the warninglists it is on.
        tags: its tags in the order they were added.
    """

    id: int
    type: str
    value: str
    first_seen: str
    occurrences: int
    items: int
    sources: tuple[str, ...]
    warninglists: tuple[str, ...]
    tags: tuple[str, ...]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def ids(conn: sqlite3.Connection, query: IndicatorQuery = IndicatorQuery()) -> list[int]:
    """The ids of the indicators the query lists, in its order (only those found somewhere)."""
    clauses = ["n_occurrences > 0"]
    args: list[Any] = []
    if query.type:
        clauses.append("type = ?")
        args.append(query.type)
    if query.tag:
        clauses.append("EXISTS (SELECT 1 FROM tags t WHERE t.target = 'indicator' "
                       "AND t.target_id = indicators.id AND t.tag = ?)")
        args.append(query.tag)
    for word in query.text.lower().split():  # in the value or in one of its tags
        clauses.append("(value LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM tags t WHERE t.target = "
                       "'indicator' AND t.target_id = indicators.id AND t.tag LIKE ? ESCAPE '\\'))")
        args += [_like(word), _like(word)]
    if query.match in ("matched", "unmatched"):
        clauses.append("id IN (SELECT value FROM json_each(?))" if query.match == "matched"
                       else "id NOT IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(sorted(query.matched)))
    elif query.match != "any":
        raise ValueError(f"unknown match filter {query.match!r}; use one of {', '.join(MATCH_MODES)}")
    if query.warninglist == "flagged":
        clauses.append("warnings IS NOT NULL AND warnings != '[]'")
    elif query.warninglist == "clean":
        clauses.append("(warnings IS NULL OR warnings = '[]')")
    elif query.warninglist != "any":
        raise ValueError(f"unknown warninglist filter {query.warninglist!r}")
    if query.source:
        if query.source not in SOURCES:
            raise ValueError(f"unknown source {query.source!r}; use one of {', '.join(SOURCES)}")
        clauses.append(f"n_{query.source} > 0")
    if query.only is not None:
        clauses.append("(type, value) IN (SELECT json_extract(j.value, '$[0]'), "
                       "json_extract(j.value, '$[1]') FROM json_each(?) AS j)")
        args.append(json.dumps(sorted(query.only)))
    sql = "SELECT id FROM indicators WHERE " + " AND ".join(clauses)  # noqa: S608 - our own clauses
    if query.sort == "matches":
        found = [int(r[0]) for r in conn.execute(sql + " ORDER BY type, sort_key", args)]
        counts = query.match_counts
        found.sort(key=lambda i: counts.get(i, 0), reverse=query.descending)  # stable: ties by value
        return found
    return [int(r[0]) for r in conn.execute(sql + order_by(query.sort, query.descending), args)]


def order_by(sort: str, descending: bool = False) -> str:
    """The ORDER BY clause of a sort (each served by an index, ties broken by id)."""
    if sort not in SORTS:
        raise ValueError(f"cannot sort indicators by {sort!r}; use one of {', '.join(SORTS)}")
    d = " DESC" if descending else ""
    return f" ORDER BY {SORTS[sort].format(d=d)}, id{d}"


def rows(conn: sqlite3.Connection, indicator_ids: Sequence[int]) -> dict[int, IndicatorRow]:
    """The rows of these indicators, by id."""
    out: dict[int, IndicatorRow] = {}
    counted = ", ".join(f"n_{s}" for s in SOURCES)
    for start in range(0, len(indicator_ids), _PAGE_LIMIT):
        page = json.dumps([int(i) for i in indicator_ids[start:start + _PAGE_LIMIT]])
        tags: dict[int, list[str]] = {}
        for target_id, tag in conn.execute(
                "SELECT target_id, tag FROM tags WHERE target = 'indicator' AND target_id IN "
                "(SELECT value FROM json_each(?)) ORDER BY id", (page,)):
            tags.setdefault(int(target_id), []).append(str(tag))
        for r in conn.execute(
                f"SELECT id, type, value, first_seen, n_occurrences, n_items, warnings, {counted} "  # noqa: S608
                "FROM indicators WHERE id IN (SELECT value FROM json_each(?))", (page,)):
            ind_id = int(r[0])
            sources = tuple(s for s, n in zip(SOURCES, r[7:], strict=True) if n)
            warned = tuple(h.name for h in decode_warnings(r[6])) if r[6] else ()
            out[ind_id] = IndicatorRow(ind_id, str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5]),
                                       sources, warned, tuple(tags.get(ind_id, ())))
    return out


def count(conn: sqlite3.Connection) -> int:
    """How many indicators were found somewhere in the case."""
    return int(conn.execute("SELECT COUNT(*) FROM indicators WHERE n_occurrences > 0").fetchone()[0])


def types(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Every indicator type in the case with how many indicators it has."""
    return [(str(t), int(n)) for t, n in conn.execute(
        "SELECT type, COUNT(*) FROM indicators WHERE n_occurrences > 0 GROUP BY type ORDER BY type")]


def tags_used(conn: sqlite3.Connection) -> list[str]:
    """Every tag on an indicator of the case, sorted without regard to case."""
    found = conn.execute("SELECT DISTINCT tag FROM tags WHERE target = 'indicator'")
    return sorted({str(r[0]) for r in found}, key=str.lower)


def values(conn: sqlite3.Connection, limit: int = 5000) -> list[str]:
    """Distinct indicator values, sorted (what the briefing dialog offers to redact)."""
    return [str(r[0]) for r in conn.execute(
        "SELECT DISTINCT value FROM indicators WHERE n_occurrences > 0 ORDER BY value LIMIT ?", (limit,))]


def lookup(conn: sqlite3.Connection, type_: str, value: str) -> int | None:
    """The id of an indicator of this type and value, or None."""
    row = conn.execute("SELECT id FROM indicators WHERE type = ? AND value = ?", (type_, value)).fetchone()
    return int(row[0]) if row else None
