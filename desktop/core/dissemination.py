# SPDX-License-Identifier: GPL-3.0-or-later
"""Who a briefing is for and who stands behind it: distribution list, point of contact, declaration.

A briefing that leaves the examiner's desk must say who may hold a copy (the distribution list:
each recipient, their organisation, a note such as "copy 2 of 3, by hand"), whom to ask about it
(the point of contact), and what the examiner declares about their work (the declaration above
the signature block, as forensic reports to a court carry). These are analyst state of the case:
each change is written with its custody entry (``note``) holding the complete new value.

Settings (:data:`SETTINGS`) are single values: ``poc_name``, ``poc_role``, ``poc_contact``,
``examiner_role``, ``examiner_organisation`` and ``declaration``; an empty value removes one.
When the analyst has written no declaration, :func:`declaration` gives the standard one, so every
briefing carries a declaration; it is printed as the analyst's only once they have set it.
Never imports Qt.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from desktop.core import custody, state
from desktop.core.case import Case
from desktop.core.errors import CasetrailError

SETTINGS = ("poc_name", "poc_role", "poc_contact", "examiner_role", "examiner_organisation", "declaration")
SETTING_LABELS = {
    "poc_name": "Point of contact",
    "poc_role": "Point of contact's role",
    "poc_contact": "How to reach the point of contact",
    "examiner_role": "Examiner's role",
    "examiner_organisation": "Examiner's organisation",
    "declaration": "Examiner's declaration",
}
_MAX_SETTING = 4000
DEFAULT_DECLARATION = (
    "I, {examiner}, declare that the facts in this briefing come from the evidence items listed "
    "in Appendix A, each identified by its SHA-256 and preserved unaltered in the case's vault; "
    "that every action taken on them is recorded in the chain of custody printed here; that the "
    "tools used are named in the methodology section; and that the judgments are my own, made "
    "with the confidence stated, and would be revised if the evidence changed."
)


class DisseminationError(CasetrailError):
    """A change to the distribution list or the settings that cannot be made."""


@dataclass(frozen=True)
class Recipient:
    """One entry of the distribution list."""

    id: int
    recipient: str
    organisation: str
    note: str
    position: int
    added_at: str
    added_by: str


_COLS = "id, recipient, organisation, note, position, added_at, added_by"


def _record(conn: sqlite3.Connection, case: Case, what: str, change: dict[str, Any], **detail: Any) -> None:
    """Record a change with the complete row as it is now (``change``: replayed by ``verify``)."""
    custody.append(
        conn,
        action="note",
        examiner=case.examiner,
        result=what,
        detail={"what": what, **detail},
        state=[change],
    )


def _get(conn: sqlite3.Connection, recipient_id: int) -> Recipient:
    row = conn.execute(f"SELECT {_COLS} FROM distribution WHERE id = ?", (recipient_id,)).fetchone()  # noqa: S608
    if row is None:
        raise DisseminationError(f"there is no recipient {recipient_id} on the distribution list")
    return Recipient(*row)


def distribution(case: Case, *, conn: sqlite3.Connection | None = None) -> list[Recipient]:
    """The distribution list, in the analyst's order."""
    rows = (conn or case.db.conn).execute(f"SELECT {_COLS} FROM distribution ORDER BY position, id")  # noqa: S608
    return [Recipient(*r) for r in rows]


def add_recipient(case: Case, recipient: str, organisation: str = "", note: str = "") -> Recipient:
    """Add a recipient at the end of the distribution list.

    Raises:
        DisseminationError: the recipient is blank.
    """
    if not recipient.strip():
        raise DisseminationError("a recipient needs a name")
    with case.transaction() as conn:
        pos = int(conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM distribution").fetchone()[0])
        cur = conn.execute(
            "INSERT INTO distribution (recipient, organisation, note, position, added_at, added_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (recipient.strip(), organisation.strip(), note.strip(), pos, custody.utc_now(), case.examiner),
        )
        new = _get(conn, int(cur.lastrowid or 0))
        _record(
            conn,
            case,
            "recipient added to the distribution list",
            state.row_change(conn, "distribution", new.id),
            recipient_id=new.id,
            new=asdict(new),
        )
    return new


def remove_recipient(case: Case, recipient_id: int) -> None:
    """Remove a recipient from the distribution list; custody keeps who it was."""
    with case.transaction() as conn:
        old = _get(conn, recipient_id)
        conn.execute("DELETE FROM distribution WHERE id = ?", (recipient_id,))
        _record(
            conn,
            case,
            "recipient removed from the distribution list",
            state.row_change(conn, "distribution", recipient_id),
            recipient_id=recipient_id,
            new=None,
            old=asdict(old),
        )


def settings(case: Case, *, conn: sqlite3.Connection | None = None) -> dict[str, str]:
    """Every setting the analyst made (unset ones are absent)."""
    rows = (conn or case.db.conn).execute("SELECT key, value FROM briefing_settings ORDER BY key")
    return {str(k): str(v) for k, v in rows}


def set_setting(case: Case, key: str, value: str) -> None:
    """Set one setting (an empty value removes it); custody keeps the old and the new value.

    Raises:
        DisseminationError: an unknown setting or an over-long value.
    """
    if key not in SETTINGS:
        raise DisseminationError(f"unknown briefing setting {key!r}; use one of {', '.join(SETTINGS)}")
    text = value.strip()
    if len(text) > _MAX_SETTING:
        raise DisseminationError(f"the {SETTING_LABELS[key].lower()} is at most {_MAX_SETTING} characters")
    with case.transaction() as conn:
        row = conn.execute("SELECT value FROM briefing_settings WHERE key = ?", (key,)).fetchone()
        old = str(row[0]) if row else None
        if old == (text or None):
            return
        if text:
            conn.execute(
                "INSERT INTO briefing_settings (key, value, set_at, set_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at, "
                "set_by = excluded.set_by",
                (key, text, custody.utc_now(), case.examiner),
            )
        else:
            conn.execute("DELETE FROM briefing_settings WHERE key = ?", (key,))
        _record(
            conn,
            case,
            f"briefing setting {key} {'set' if text else 'removed'}",
            state.row_change(conn, "briefing_settings", key),
            key=key,
            new=text or None,
            old=old,
        )


def declaration(case: Case, values: dict[str, str] | None = None) -> tuple[str, bool]:
    """The examiner's declaration to print, and whether the analyst wrote it (else the standard one)."""
    values = settings(case) if values is None else values
    written = values.get("declaration")
    if written:
        return written, True
    return DEFAULT_DECLARATION.format(examiner=case.meta.get("examiner", case.examiner)), False
