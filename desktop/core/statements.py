# SPDX-License-Identifier: GPL-3.0-or-later
"""The analyst's statements around the judgments: assumptions, gaps, alternatives, what to watch.

A sceptical reader asks what a judgment takes for granted, what is not known, what else could
explain the evidence, and what would change the analyst's mind (ICD 203's standards on
assumptions, alternatives and changes in analytic line; structured analytic techniques' key
assumptions check and indicators to watch). The analyst writes each as a short statement; the
briefing prints a section for a kind only when it holds at least one.

Kinds (:data:`KINDS`): ``assumption`` (key assumptions), ``gap`` (intelligence gaps),
``alternative`` (alternative explanations considered, and why they are less likely), ``watch``
(what would change the judgment: indicators to watch).

Every change is written with its custody entry (``note``) in one transaction; the entry holds the
complete new value, and the old one of what was edited or deleted. Never imports Qt.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from desktop.core import custody, state
from desktop.core.case import Case
from desktop.core.errors import CasetrailError

KINDS = ("assumption", "gap", "alternative", "watch")
KIND_TITLES = {
    "assumption": "Key assumptions",
    "gap": "Intelligence gaps",
    "alternative": "Alternative explanations",
    "watch": "What would change this judgment: indicators to watch",
}


class StatementError(CasetrailError):
    """A statement change that cannot be made (unknown kind or statement, blank text)."""


@dataclass(frozen=True)
class Statement:
    """One statement the analyst wrote."""

    id: int
    kind: str
    text: str
    position: int
    created_at: str
    created_by: str


_COLS = "id, kind, text, position, created_at, created_by"


def _kind(kind: str) -> str:
    k = kind.strip().lower()
    if k not in KINDS:
        raise StatementError(f"unknown kind of statement {kind!r}; use one of {', '.join(KINDS)}")
    return k


def _get(conn: sqlite3.Connection, statement_id: int) -> Statement:
    row = conn.execute(f"SELECT {_COLS} FROM statements WHERE id = ?", (statement_id,)).fetchone()  # noqa: S608
    if row is None:
        raise StatementError(f"there is no statement {statement_id} in this case")
    return Statement(*row)


def _record(conn: sqlite3.Connection, case: Case, what: str, statement_id: int, **detail: Any) -> None:
    """Record a change with the complete row as it is now (``state``: replayed by ``verify``)."""
    custody.append(
        conn,
        action="note",
        examiner=case.examiner,
        result=what,
        detail={"what": what, "statement_id": statement_id, **detail},
        state=[state.row_change(conn, "statements", statement_id)],
    )


def list_statements(
    case: Case, kind: str | None = None, *, conn: sqlite3.Connection | None = None
) -> list[Statement]:
    """Every statement (or those of one kind), by kind then in the analyst's order."""
    db = conn or case.db.conn
    if kind is None:
        rows = db.execute(f"SELECT {_COLS} FROM statements ORDER BY position, id")  # noqa: S608
        found = [Statement(*r) for r in rows]
        return sorted(found, key=lambda s: KINDS.index(s.kind))
    rows = db.execute(
        f"SELECT {_COLS} FROM statements WHERE kind = ? ORDER BY position, id",  # noqa: S608
        (_kind(kind),),
    )
    return [Statement(*r) for r in rows]


def add_statement(case: Case, kind: str, text: str) -> Statement:
    """Add a statement at the end of its kind.

    Raises:
        StatementError: unknown kind or blank text.
    """
    k = _kind(kind)
    if not text.strip():
        raise StatementError("a statement needs some text")
    with case.transaction() as conn:
        pos = int(conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM statements").fetchone()[0])
        cur = conn.execute(
            "INSERT INTO statements (kind, text, position, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
            (k, text.strip(), pos, custody.utc_now(), case.examiner),
        )
        new = _get(conn, int(cur.lastrowid or 0))
        _record(conn, case, f"{k} added", new.id, new=asdict(new))
    return new


def update_statement(case: Case, statement_id: int, text: str) -> Statement:
    """Replace a statement's text; custody keeps the old and the new value.

    Raises:
        StatementError: unknown statement or blank text.
    """
    if not text.strip():
        raise StatementError("a statement needs some text")
    with case.transaction() as conn:
        old = _get(conn, statement_id)
        conn.execute("UPDATE statements SET text = ? WHERE id = ?", (text.strip(), statement_id))
        new = _get(conn, statement_id)
        _record(conn, case, f"{old.kind} edited", statement_id, new=asdict(new), old=asdict(old))
    return new


def delete_statement(case: Case, statement_id: int) -> None:
    """Delete a statement; custody keeps what it said."""
    with case.transaction() as conn:
        old = _get(conn, statement_id)
        conn.execute("DELETE FROM statements WHERE id = ?", (statement_id,))
        _record(conn, case, f"{old.kind} deleted", statement_id, new=None, old=asdict(old))
