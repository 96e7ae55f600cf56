# SPDX-License-Identifier: GPL-3.0-or-later
"""The chain of custody: an append-only, hash-chained log of everything done to the evidence.

Each entry records who (examiner, OS user), what (item, hashes), when (UTC), where (host, source
path), why (reason), how (tool and version) and the result of the hash comparison. Every entry
stores ``prev_hash`` and ``entry_hash = SHA-256(bytes.fromhex(prev_hash) ‖ JCS(entry))``, where
JCS is the RFC 8785 JSON Canonicalization Scheme and ``entry`` is the object of the sixteen
:data:`FIELDS` (``detail`` is a *string* holding JSON text, so the hashed object holds only
strings, integers and nulls). An edited, deleted, inserted or reordered row breaks the chain from
that row on. SQLite triggers (see ``store.py``) refuse UPDATE and DELETE; the chain catches
whoever removes the triggers first. ``docs/verification.md`` specifies all of it byte for byte.

Entries written before RFC 8785 was named used ``json.dumps(sort_keys=True, separators=(",",
":"), ensure_ascii=False)``, which gives the same bytes as JCS for objects of strings, integers
and nulls (the test suite proves it on arbitrary text): old cases verify unchanged.

Analyst state travels in ``detail["state"]``: a list of row changes (see ``desktop.core.state``)
that ``verify`` replays against the tables.

This module never decides *whether* to record: callers record every action, inside the same
transaction as the change the entry describes.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import json
import socket
import sqlite3
from dataclasses import dataclass
from typing import Any

from desktop import TOOL_NAME, __version__
from desktop.core import jcs, timestamps

GENESIS = "0" * 64
ACTIONS = frozenset(
    {"created", "acquired", "derived", "analysed", "tagged", "verified", "exported", "note",
     "recovered", "opened"}
)
FIELDS = (
    "seq", "at", "action", "item_id", "examiner", "os_user", "host", "source", "reason", "tool",
    "sha256", "hash_before", "hash_after", "result", "detail", "prev_hash",
)


def utc_now() -> str:
    """Return the current UTC time in the one form of :mod:`desktop.core.timestamps`."""
    return timestamps.now_text()


@functools.cache
def os_user() -> str:
    """Return the operating-system account running this process.

    Asked once: it cannot change, and the password-database lookup behind it cost more than the
    rest of an entry.
    """
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): still say something true
        return "unknown"


def host_name() -> str:
    """Return this workstation's host name (no network lookup is made)."""
    return socket.gethostname()


def tool_id() -> str:
    """Return the 'how' of every entry: this tool and its version."""
    return f"{TOOL_NAME} {__version__}"


def hashed_object(entry: dict[str, Any]) -> dict[str, Any]:
    """Return exactly the object whose JCS bytes an entry's hash covers (the :data:`FIELDS`)."""
    return {k: entry.get(k) for k in FIELDS}


def canonical(entry: dict[str, Any]) -> bytes:
    """Serialise the chained fields of an entry with RFC 8785 (JCS), the form the hash covers.

    ``jcs.dumps`` gives ``rfc8785.dumps``'s bytes exactly (property-tested), about five times faster.
    """
    return jcs.dumps(hashed_object(entry))


def entry_hash(entry: dict[str, Any]) -> str:
    """Return ``SHA-256(bytes.fromhex(prev_hash) ‖ JCS(entry))`` as hex.

    A value JCS cannot represent (a lone surrogate, an integer beyond 2**53) cannot have been
    written by this module: such an entry hashes to no valid value and so breaks the chain.
    """
    try:
        body = canonical(entry)
        prev = bytes.fromhex(str(entry["prev_hash"]))
    except (ValueError, TypeError, jcs.CanonicalizationError):
        return ""
    return hashlib.sha256(prev + body).hexdigest()


def append(
    conn: sqlite3.Connection,
    *,
    action: str,
    examiner: str,
    result: str = "n/a",
    item_id: int | None = None,
    source: str | None = None,
    reason: str | None = None,
    sha256: str | None = None,
    hash_before: str | None = None,
    hash_after: str | None = None,
    detail: dict[str, Any] | None = None,
    state: list[dict[str, Any]] | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """Append one entry to the chain; the caller owns the surrounding transaction.

    Args:
        conn: the case connection, inside the caller's transaction.
        action: one of :data:`ACTIONS`.
        examiner: who acts.
        result: the outcome in words.
        item_id: the item concerned, if any.
        source: where the bytes came from (path, package).
        reason: why (authority, request).
        sha256: the content hash concerned.
        hash_before: the hash before the step (source).
        hash_after: the hash after the step (vault copy).
        detail: what else a reader needs; kept as JSON text.
        state: row changes made in the same transaction (``desktop.core.state.row_change``);
            stored as ``detail["state"]`` and replayed by ``verify`` against the tables.
        at: the entry's time, when the caller wrote the same instant into a row (items).

    Returns:
        The entry as stored, including ``seq`` and ``entry_hash``.
    """
    head = conn.execute("SELECT seq, entry_hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    entry = _entry(seq, prev, action=action, examiner=examiner, result=result, item_id=item_id,
                   source=source, reason=reason, sha256=sha256, hash_before=hash_before,
                   hash_after=hash_after, detail=detail, state=state, at=at)
    cols = ", ".join(entry)
    marks = ", ".join("?" for _ in entry)
    conn.execute(f"INSERT INTO custody ({cols}) VALUES ({marks})", tuple(entry.values()))  # noqa: S608 - column names are ours
    return entry


@dataclass(frozen=True)
class Pending:
    """One entry of :func:`append_many`: the arguments :func:`append` takes, as data."""

    action: str
    examiner: str
    result: str = "n/a"
    item_id: int | None = None
    source: str | None = None
    sha256: str | None = None
    detail: dict[str, Any] | None = None


def append_many(conn: sqlite3.Connection, pending: list[Pending]) -> list[dict[str, Any]]:
    """Append several entries in order, each chained to the one before: one read of the head.

    The same entries as as many :func:`append` calls would write (the recording of a batch of
    analyses appends dozens at a time; reading the chain's head and inserting one by one was a
    measurable share of it). The caller owns the transaction, as for :func:`append`.
    """
    if not pending:
        return []
    head = conn.execute("SELECT seq, entry_hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    out: list[dict[str, Any]] = []
    for p in pending:
        entry = _entry(seq, prev, action=p.action, examiner=p.examiner, result=p.result, item_id=p.item_id,
                       source=p.source, reason=None, sha256=p.sha256, hash_before=None, hash_after=None,
                       detail=p.detail, state=None, at=None)
        out.append(entry)
        seq, prev = seq + 1, entry["entry_hash"]
    cols = ", ".join(out[0])
    marks = ", ".join("?" for _ in out[0])
    conn.executemany(f"INSERT INTO custody ({cols}) VALUES ({marks})",  # noqa: S608 - column names are ours
                     [tuple(e.values()) for e in out])
    return out


def _entry(seq: int, prev: str, *, action: str, examiner: str, result: str, item_id: int | None,
           source: str | None, reason: str | None, sha256: str | None, hash_before: str | None,
           hash_after: str | None, detail: dict[str, Any] | None, state: list[dict[str, Any]] | None,
           at: str | None) -> dict[str, Any]:
    """The entry numbered ``seq`` after the entry hashed ``prev``, with its own hash."""
    if action not in ACTIONS:
        raise ValueError(f"unknown custody action {action!r}")
    entry: dict[str, Any] = {
        "seq": seq,
        "at": at or utc_now(),
        "action": action,
        "item_id": item_id,
        "examiner": examiner,
        "os_user": os_user(),
        "host": host_name(),
        "source": source,
        "reason": reason,
        "tool": tool_id(),
        "sha256": sha256,
        "hash_before": hash_before,
        "hash_after": hash_after,
        "result": result,
        "detail": json.dumps({**(detail or {}), **({"state": state} if state else {})},
                             sort_keys=True, ensure_ascii=False),
        "prev_hash": prev,
    }
    entry["entry_hash"] = entry_hash(entry)
    return entry


@dataclass(frozen=True)
class ChainReport:
    """What recomputing the chain found.

    Attributes:
        ok: every entry hashes correctly and links to the one before it.
        first_bad_seq: the first entry that does not, or None.
        reason: one sentence on what is wrong, empty when ok.
        length: how many entries were read.
        head: the entry hash of the last entry (GENESIS for an empty log).
    """

    ok: bool
    first_bad_seq: int | None
    reason: str
    length: int
    head: str


def verify_chain(conn: sqlite3.Connection) -> ChainReport:
    """Recompute every entry hash and link; name the first entry that breaks.

    A gap in sequence numbers (a deleted row), a wrong ``prev_hash`` (a deleted, inserted or
    reordered row) or a wrong ``entry_hash`` (an edited row) all break the chain.
    """
    cur = conn.execute(f"SELECT {', '.join(FIELDS)}, entry_hash FROM custody ORDER BY seq")  # noqa: S608
    names = [*FIELDS, "entry_hash"]
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for row in cur:
        entry = dict(zip(names, row, strict=True))
        count += 1
        seq = int(entry["seq"])
        if seq != expected_seq:
            why = f"custody entry {expected_seq} is missing"
            return ChainReport(False, min(seq, expected_seq), why, count, expected_prev)
        if entry["prev_hash"] != expected_prev:
            why = f"custody entry {seq} does not link to the entry before it"
            return ChainReport(False, seq, why, count, expected_prev)
        if entry_hash(entry) != entry["entry_hash"]:
            why = f"custody entry {seq} was altered after it was written"
            return ChainReport(False, seq, why, count, expected_prev)
        expected_prev, expected_seq = entry["entry_hash"], seq + 1
    return ChainReport(True, None, "", count, expected_prev)


def entries(conn: sqlite3.Connection, item_id: int | None = None) -> list[dict[str, Any]]:
    """Return custody entries in order, all of them or those about one item."""
    sql = "SELECT * FROM custody"
    args: tuple[Any, ...] = ()
    if item_id is not None:
        sql += " WHERE item_id = ?"
        args = (item_id,)
    return _decoded(conn.execute(sql + " ORDER BY seq", args))


def _decoded(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    out = []
    for row in cur:
        entry = dict(zip(cols, row, strict=True))
        # A detail that is not JSON (tampered) is shown as stored: it must still be visible.
        with contextlib.suppress(TypeError, ValueError):
            entry["detail"] = json.loads(entry["detail"])
        out.append(entry)
    return out


def hashed_entries(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Return every entry as exactly the object that is hashed, plus its ``entry_hash``.

    This is what ``casetrail custody --json`` prints: an expert recomputes each hash from it with
    any RFC 8785 implementation and SHA-256, without reading the database.
    """
    cur = conn.execute(f"SELECT {', '.join(FIELDS)}, entry_hash FROM custody ORDER BY seq")  # noqa: S608
    names = [*FIELDS, "entry_hash"]
    return [dict(zip(names, row, strict=True)) for row in cur]


def last_seq(conn: sqlite3.Connection) -> int:
    """The sequence number of the newest entry (0 for an empty log): entries are numbered 1..N."""
    row = conn.execute("SELECT MAX(seq) FROM custody").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def count(conn: sqlite3.Connection, item_id: int | None = None) -> int:
    """How many entries the log holds (all, or about one item)."""
    if item_id is None:
        return int(conn.execute("SELECT COUNT(*) FROM custody").fetchone()[0])
    return int(conn.execute("SELECT COUNT(*) FROM custody WHERE item_id = ?", (item_id,)).fetchone()[0])


def entries_page(conn: sqlite3.Connection, offset: int, limit: int) -> list[dict[str, Any]]:
    """Entries ``offset`` to ``offset + limit - 1`` in log order (0-based), for a view that pages them.

    By position rather than by sequence number, so a log with a gap (an entry deleted behind the
    application's back, which ``verify`` names) still shows every entry that is there.
    """
    return _decoded(conn.execute("SELECT * FROM custody ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)))


def entries_between(conn: sqlite3.Connection, first: int, last: int) -> list[dict[str, Any]]:
    """Entries ``first`` to ``last`` (sequence numbers, inclusive), for a view that pages them in.

    A case of a hundred thousand items has more custody entries than that; the window reads the
    screenful it shows, by primary key, instead of all of them.
    """
    return _decoded(conn.execute("SELECT * FROM custody WHERE seq BETWEEN ? AND ? ORDER BY seq",
                                 (first, last)))
