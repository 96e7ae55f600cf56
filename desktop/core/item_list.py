# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence list as a tree: which items, in what order, and the facts beside each one.

The window shows a case of a hundred thousand items as a tree (message → attachments → frames)
that it fills lazily: the ids of the top level in the order the analyst chose, then the children
of a row when it is opened, then the rows of what is on screen, a page at a time. Each of those
is one query here, answered from an index (migration 13): sorting by size or name is an index
scan, not a sort of every row in Python. With a filter the list is flat — every item that
matches, wherever it sits in the tree — because a match deep inside a mailbox must not hide
behind a closed parent.

Beside each item: how many children it has, how many other items hold the same content (a
duplicate), its tags, and — from the workstation library, off the GUI thread — whether a feed
or another case already knows its hash (:func:`known_items`).

This module only reads; it never decides what an item is (the acquisition and the analysers did).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core.case import ITEM_COLUMNS, Item, item_from_row
from desktop.core.intel import Library

# column -> the ORDER BY it sorts by (each served by an index on (parent_id, column) or the key).
SORTS: dict[str, str] = {
    "id": "id", "name": "name COLLATE NOCASE", "kind": "kind", "size": "size", "mime": "mime",
    "sha256": "sha256", "acquired_at": "acquired_at", "acquired_by": "acquired_by", "status": "status",
}
FLAGS = ("mismatch", "duplicate", "failed", "tagged", "known")
FLAG_TITLES = {"mismatch": "extension mismatch", "duplicate": "duplicate content",
               "failed": "analysis failed", "tagged": "tagged", "known": "known hash"}
_FLAG_SQL = {
    "mismatch": "items.ext_mismatch = 1",
    "duplicate": "EXISTS (SELECT 1 FROM items d WHERE d.sha256 = items.sha256 AND d.id != items.id)",
    "failed": "items.status LIKE 'analysis failed%'",
    "tagged": "EXISTS (SELECT 1 FROM tags t WHERE t.target = 'item' AND t.target_id = items.id)",
}
_PAGE_LIMIT = 2000  # rows read at once at most: a screenful many times over


@dataclass(frozen=True)
class ItemQuery:
    """Which items to list and how to order them.

    Attributes:
        sort: a key of :data:`SORTS`.
        descending: largest (or last) first.
        text: words every listed item must hold in its name, source, type or hashes
            (case-insensitive; a hash matches by prefix).
        kinds: only these kinds (``email``, ``image``…), or any.
        flags: only items with every one of these :data:`FLAGS`.
        only: only these item ids (a campaign's messages), or any.
        known: the ids whose hash is known (:func:`known_items`), for the ``known`` flag.
    """

    sort: str = "id"
    descending: bool = False
    text: str = ""
    kinds: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    only: frozenset[int] | None = None
    known: frozenset[int] = field(default=frozenset(), compare=False)

    @property
    def filtered(self) -> bool:
        """Whether the list is narrowed (then it is flat rather than a tree)."""
        return bool(self.text.strip() or self.kinds or self.flags or self.only is not None)


@dataclass(frozen=True)
class ItemRow:
    """One item as the evidence tree shows it.

    Attributes:
        item: the item.
        children: how many items were derived from it directly.
        duplicates: how many other items of the case hold the same content.
        tags: its tags, in the order they were added.
        first_copy: the lowest id of an item holding the same content (its own id when it is
            the first or the only one): where "Go to the first copy" goes.
    """

    item: Item
    children: int
    duplicates: int
    tags: tuple[str, ...]
    first_copy: int = 0


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(query: ItemQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for word in query.text.lower().split():
        clauses.append("(items.name LIKE ? ESCAPE '\\' OR items.source_path LIKE ? ESCAPE '\\' "
                       "OR items.mime LIKE ? ESCAPE '\\' OR items.kind = ? "
                       "OR items.sha256 LIKE ? OR items.md5 LIKE ? OR items.sha1 LIKE ?)")
        pattern = _like(word)
        prefix = word.replace("%", "").replace("_", "") + "%"
        args += [pattern, pattern, pattern, word, prefix, prefix, prefix]
    if query.kinds:
        clauses.append("items.kind IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(sorted(query.kinds)))
    for flag in sorted(query.flags):
        if flag == "known":
            clauses.append("items.id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(sorted(query.known)))
        elif flag in _FLAG_SQL:
            clauses.append(_FLAG_SQL[flag])
        else:
            raise ValueError(f"unknown item flag {flag!r}; use one of {', '.join(FLAGS)}")
    if query.only is not None:
        clauses.append("items.id IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(sorted(query.only)))
    return clauses, args


def order_by(query: ItemQuery) -> str:
    """The ORDER BY clause of a query's sort (each served by an index, ties broken by id)."""
    if query.sort not in SORTS:
        raise ValueError(f"cannot sort items by {query.sort!r}; use one of {', '.join(SORTS)}")
    direction = " DESC" if query.descending else ""
    tie = "" if query.sort == "id" else f", id{direction}"
    return f" ORDER BY {SORTS[query.sort]}{direction}{tie}"


def top_ids(conn: sqlite3.Connection, query: ItemQuery = ItemQuery()) -> list[int]:
    """The ids of the first level of the list: top-level items, or every match when filtered."""
    clauses, args = _where(query)
    if not query.filtered:
        clauses.append("items.parent_id IS NULL")
    sql = "SELECT id FROM items" + (" WHERE " + " AND ".join(clauses) if clauses else "")  # noqa: S608
    return [int(r[0]) for r in conn.execute(sql + order_by(query), args)]


def all_ids(conn: sqlite3.Connection, query: ItemQuery = ItemQuery()) -> list[int]:
    """The ids of every item the query lists, at any depth, in its order (the flat table)."""
    clauses, args = _where(query)
    sql = "SELECT id FROM items" + (" WHERE " + " AND ".join(clauses) if clauses else "")  # noqa: S608
    return [int(r[0]) for r in conn.execute(sql + order_by(query), args)]


def child_ids(conn: sqlite3.Connection, parent_id: int, query: ItemQuery = ItemQuery()) -> list[int]:
    """The ids of the items derived from one item, in the list's order (filters do not apply)."""
    return [int(r[0]) for r in conn.execute(
        "SELECT id FROM items WHERE parent_id = ?" + order_by(query), (parent_id,))]  # noqa: S608


def parent_ids(conn: sqlite3.Connection) -> set[int]:
    """The ids of every item something was derived from (an index scan): which rows can be opened.

    A tree view asks every top-level row whether it has children when it lays itself out; this
    answers for all of them at once instead of reading each row.
    """
    return {int(r[0]) for r in conn.execute(
        "SELECT DISTINCT parent_id FROM items WHERE parent_id IS NOT NULL")}


@dataclass(frozen=True)
class FirstLevel:
    """What the tree needs before it can show a case: read once, off the GUI thread, when it opens.

    Attributes:
        query: the query the ids answer.
        ids: :func:`top_ids` of the query.
        parents: :func:`parent_ids`.
        count: :func:`count`.
    """

    query: ItemQuery
    ids: list[int]
    parents: set[int]
    count: int


def first_level(conn: sqlite3.Connection, query: ItemQuery = ItemQuery()) -> FirstLevel:
    """The first level of the list, which rows can be opened and how many items there are."""
    return FirstLevel(query, top_ids(conn, query), parent_ids(conn), count(conn))


@dataclass(frozen=True)
class Listing:
    """The lists of a tree in a new order: read off the GUI thread when the analyst sorts.

    Attributes:
        query: the query (its sort) the lists answer.
        top: :func:`top_ids` of the query.
        children: :func:`child_ids` of each parent that was open, by parent id.
    """

    query: ItemQuery
    top: list[int]
    children: dict[int, list[int]]


def listing(conn: sqlite3.Connection, query: ItemQuery, opened: Sequence[int] = ()) -> Listing:
    """The first level and the children of the ``opened`` parents, in the order of ``query``."""
    return Listing(query, top_ids(conn, query), {int(p): child_ids(conn, int(p), query) for p in opened})


def count(conn: sqlite3.Connection) -> int:
    """How many items the case holds."""
    return int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])


def rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, ItemRow]:
    """The rows of these items (at most a page at a time is asked for), by id."""
    out: dict[int, ItemRow] = {}
    for start in range(0, len(ids), _PAGE_LIMIT):
        page = json.dumps([int(i) for i in ids[start:start + _PAGE_LIMIT]])
        columns = ", ".join(f"items.{c}" for c in ITEM_COLUMNS)
        found = conn.execute(
            f"SELECT {columns}, "  # noqa: S608 - our own column names
            "(SELECT COUNT(*) FROM items c WHERE c.parent_id = items.id), "
            "(SELECT COUNT(*) FROM items d WHERE d.sha256 = items.sha256 AND d.id != items.id), "
            "(SELECT MIN(f.id) FROM items f WHERE f.sha256 = items.sha256) "
            "FROM items WHERE items.id IN (SELECT value FROM json_each(?))", (page,)).fetchall()
        tags: dict[int, list[str]] = {}
        for target_id, tag in conn.execute(
                "SELECT target_id, tag FROM tags WHERE target = 'item' AND target_id IN "
                "(SELECT value FROM json_each(?)) ORDER BY id", (page,)):
            tags.setdefault(int(target_id), []).append(str(tag))
        n = len(ITEM_COLUMNS)
        for r in found:
            item = item_from_row(r[:n])
            out[item.id] = ItemRow(item, int(r[n]), int(r[n + 1]), tuple(tags.get(item.id, ())),
                                   int(r[n + 2]))
    return out


def ancestors(conn: sqlite3.Connection, item_id: int) -> list[int]:
    """The ids from the top-level item down to ``item_id``'s parent (empty for a top-level item)."""
    chain: list[int] = []
    current: int | None = item_id
    seen: set[int] = set()
    while current is not None and current not in seen:
        seen.add(current)
        row = conn.execute("SELECT parent_id FROM items WHERE id = ?", (current,)).fetchone()
        current = int(row[0]) if row and row[0] is not None else None
        if current is not None:
            chain.append(current)
    return list(reversed(chain))


def kinds(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Every kind of item in the case with how many items it has, most common first."""
    return [(str(k), int(n)) for k, n in conn.execute(
        "SELECT kind, COUNT(*) FROM items GROUP BY kind ORDER BY COUNT(*) DESC, kind")]


@dataclass(frozen=True)
class KnownHash:
    """Where the hash of an item is already known.

    Attributes:
        item_id: the item.
        names: who knows it: a feed's actor or name, another case's title.
    """

    item_id: int
    names: tuple[str, ...]


def known_items(conn: sqlite3.Connection, library: Library, *, case_id: str | None = None,
                ) -> dict[int, KnownHash]:
    """Items whose SHA-256, SHA-1 or MD5 a feed lists or another case on this workstation holds.

    Autopsy's "known bad" hash-set hit, from the analyst's own intelligence: an attachment whose
    hash a partner reported is the first thing to look at.

    Args:
        conn: the case (read-only is enough).
        library: the workstation library.
        case_id: this case's id, so it does not know itself.
    """
    probes: list[tuple[int, str, str]] = []
    for item_id, sha256, sha1, md5 in conn.execute("SELECT id, sha256, sha1, md5 FROM items"):
        probes += [(int(item_id), "sha256", str(sha256)), (int(item_id), "sha1", str(sha1)),
                   (int(item_id), "md5", str(md5))]
    if not probes:
        return {}
    feed_hits, case_hits = library.match(probes, exclude_case=case_id)
    names: dict[int, list[str]] = {}
    for hit in feed_hits:
        names.setdefault(hit.key, []).append(hit.name or hit.feed_name)
    for case_hit in case_hits:
        names.setdefault(case_hit.key, []).append(f"case {case_hit.title}")
    return {k: KnownHash(k, tuple(dict.fromkeys(v))) for k, v in names.items()}

