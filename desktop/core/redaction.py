# SPDX-License-Identifier: GPL-3.0-or-later
"""Redaction by role: which values of a case are personal data of recipients or victims.

A briefing travels further than the case; the people a threatening message was sent to must not
travel with it. Rather than make the analyst list every address, a briefing can redact by role:

- ``recipients``: every address (and display name) a message of the case was addressed to — To,
  Cc, Bcc, the ``for`` clause of its Received headers, and indicators read from those headers;
- ``victims``: the recipients, plus every indicator or item the analyst tagged as a victim
  (``victim``, ``role:victim``, ``pii:victim`` or a machine tag ``…:victim="…"``).

The values come back as plain strings for :class:`reports.safe_text.Redactor`, which blacks them
out everywhere (also defanged, and OCR boxes that hold one). Display names shorter than four
characters are left out: a redactor matching "Al" would black out half the page. This module
only reads the case.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable

from desktop.core.errors import CasetrailError

ROLES = ("recipients", "victims")
_RECIPIENT_HEADERS = ("to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to", "resent-to")
_ADDR = re.compile(r"[^\s<>,;\"']+@[^\s<>,;\"']+")
_MIN_NAME = 4


def _is_victim_tag(tag: str) -> bool:
    low = tag.strip().lower()
    return (
        low in ("victim", "role:victim", "pii:victim") or low.endswith('="victim"') or low.endswith(":victim")
    )


def _addresses(detail: object, key: str, stored: object) -> list[str]:
    out: list[str] = []
    value = detail.get(key) if isinstance(detail, dict) else None
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict):
                out += [str(entry.get("addr") or ""), str(entry.get("name") or "")]
            else:
                out.append(str(entry))
    elif isinstance(stored, str):
        out += _ADDR.findall(stored)
    return out


def role_values(conn: sqlite3.Connection, roles: Iterable[str]) -> list[str]:
    """The values to black out for the given roles, sorted.

    Raises:
        CasetrailError: a role that is not one of :data:`ROLES`.
    """
    wanted = {r.strip().lower() for r in roles}
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise CasetrailError(f"unknown redaction role(s) {', '.join(unknown)}; use {', '.join(ROLES)}")
    found: set[str] = set()
    if wanted & {"recipients", "victims"}:
        for detail, to, cc in conn.execute("SELECT detail, to_addrs, cc_addrs FROM emails"):
            try:
                parsed = json.loads(detail) if detail else {}
            except ValueError:
                parsed = {}
            for key, stored in (("to", to), ("cc", cc), ("bcc", None)):
                found.update(_addresses(parsed, key, stored))
        found.update(str(r[0]) for r in conn.execute("SELECT for_addr FROM hops WHERE for_addr IS NOT NULL"))
        marks = ",".join("?" for _ in _RECIPIENT_HEADERS)
        found.update(
            str(r[0])
            for r in conn.execute(
                f"SELECT DISTINCT i.value FROM occurrences o JOIN indicators i ON i.id = o.indicator_id "  # noqa: S608
                f"WHERE o.source = 'header' AND lower(o.where_) IN ({marks})",
                _RECIPIENT_HEADERS,
            )
        )
    if "victims" in wanted:
        for target, target_id, tag in conn.execute("SELECT target, target_id, tag FROM tags"):
            if not _is_victim_tag(str(tag)):
                continue
            table, column = ("indicators", "value") if target == "indicator" else ("items", "name")
            row = conn.execute(f"SELECT {column} FROM {table} WHERE id = ?", (target_id,)).fetchone()  # noqa: S608
            if row:
                found.add(str(row[0]))
    out = set()
    for v in found:
        v = v.strip().strip("<>").strip()
        if len(v) >= _MIN_NAME or "@" in v:
            out.add(v)
    return sorted(out)


def parse_redactions(specs: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split ``--redact`` arguments into roles and literal values.

    ``recipients`` and ``victims`` are roles; ``value:TEXT`` is the literal ``TEXT`` (for a value
    that happens to spell a role); anything else is a literal value.
    """
    roles: list[str] = []
    values: list[str] = []
    for spec in specs:
        s = spec.strip()
        if s.lower() in ROLES:
            roles.append(s.lower())
        elif s.lower().startswith("value:"):
            values.append(s[6:])
        elif s:
            values.append(s)
    return roles, values
