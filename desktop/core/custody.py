# SPDX-License-Identifier: GPL-3.0-or-later
"""The chain of custody: an append-only, hash-chained log of everything done to the evidence.

Each entry records who (examiner, OS user), what (item, hashes), when (UTC), where (host, source
path), why (reason), how (tool and version) and the result of the hash comparison. Every entry
stores ``prev_hash`` and ``entry_hash = SHA-256(prev_hash ‖ canonical JSON of the entry)``, so an
edited, deleted, inserted or reordered row breaks the chain from that row on. SQLite triggers
(see ``store.py``) refuse UPDATE and DELETE; the chain catches whoever removes the triggers first.

This module never decides *whether* to record: callers record every action, inside the same
transaction as the change the entry describes.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from desktop import TOOL_NAME, __version__

GENESIS = "0" * 64
ACTIONS = frozenset(
    {"created", "acquired", "derived", "analysed", "tagged", "verified", "exported", "note",
     "recovered", "opened"}
)
_FIELDS = (
    "seq", "at", "action", "item_id", "examiner", "os_user", "host", "source", "reason", "tool",
    "sha256", "hash_before", "hash_after", "result", "detail", "prev_hash",
)


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def os_user() -> str:
    """Return the operating-system account running this process."""
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


def canonical(entry: dict[str, Any]) -> bytes:
    """Serialise the chained fields of an entry the one way the hash is defined over."""
    body = {k: entry.get(k) for k in _FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """Return ``SHA-256(prev_hash ‖ canonical(entry))`` as hex."""
    return hashlib.sha256(bytes.fromhex(entry["prev_hash"]) + canonical(entry)).hexdigest()


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
) -> dict[str, Any]:
    """Append one entry to the chain; the caller owns the surrounding transaction.

    Returns:
        The entry as stored, including ``seq`` and ``entry_hash``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown custody action {action!r}")
    head = conn.execute("SELECT seq, entry_hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    entry: dict[str, Any] = {
        "seq": seq,
        "at": utc_now(),
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
        "detail": json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
        "prev_hash": prev,
    }
    entry["entry_hash"] = entry_hash(entry)
    cols = ", ".join(entry)
    marks = ", ".join("?" for _ in entry)
    conn.execute(f"INSERT INTO custody ({cols}) VALUES ({marks})", tuple(entry.values()))  # noqa: S608 - column names are ours
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
    cur = conn.execute(f"SELECT {', '.join(_FIELDS)}, entry_hash FROM custody ORDER BY seq")  # noqa: S608
    names = [*_FIELDS, "entry_hash"]
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
    cur = conn.execute(sql + " ORDER BY seq", args)
    cols = [d[0] for d in cur.description]
    out = []
    for row in cur:
        entry = dict(zip(cols, row, strict=True))
        # A detail that is not JSON (tampered) is shown as stored: it must still be visible.
        with contextlib.suppress(TypeError, ValueError):
            entry["detail"] = json.loads(entry["detail"])
        out.append(entry)
    return out
