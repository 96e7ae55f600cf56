# SPDX-License-Identifier: GPL-3.0-or-later
"""Handling markings across cases: may another case appear in this case's briefing?

A match with an earlier case names that case; its title and what it holds are that case's
information, under that case's TLP. So another case may be named in a briefing only when its
marking is no stricter than the briefing's (a TLP:RED case never appears in a TLP:AMBER
briefing), and only when its marking can be read at all: a case folder that is gone, moved or
unreadable, or that now holds another case, is treated as stricter than any briefing (fail
closed). The marking is read from the
other case's own database, read-only, never from the library's index, because the case is what
holds the marking.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from desktop.core.case import DB_NAME, TLP_LEVELS
from desktop.core.correlate import Correlation, Match
from desktop.core.intel import Library

TLP_ORDER = {level: n for n, level in enumerate(TLP_LEVELS)}


def stricter(a: str, b: str) -> bool:
    """Whether marking ``a`` is stricter than marking ``b`` (an unknown marking is strictest)."""
    return TLP_ORDER.get(a.lower(), len(TLP_LEVELS)) > TLP_ORDER.get(b.lower(), len(TLP_LEVELS))


def case_marking(path: str | Path, case_id: str | None = None) -> str | None:
    """The TLP of the case at ``path``, or None when it cannot be read.

    With ``case_id``, the folder must still hold that case: a case deleted and another made in
    its place (the same folder name, a rebuilt demo) is not the case the index meant.
    """
    db = Path(path) / DB_NAME
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM case_meta WHERE key = 'tlp'").fetchone()
        held = conn.execute("SELECT value FROM case_meta WHERE key = 'case_id'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    if case_id is not None and (held is None or str(held[0]) != case_id):
        return None
    value = str(row[0]).lower() if row else None
    return value if value in TLP_ORDER else None


def printable_cases(case_paths: dict[str, str], briefing_tlp: str, wanted: Iterable[str]) -> set[str]:
    """The ids (of ``wanted``) of the other cases a briefing marked ``briefing_tlp`` may name.

    Args:
        case_paths: ``case id → case folder`` as the workstation library knows them.
        briefing_tlp: the briefing's marking.
        wanted: the ids of the cases the correlation matched.
    """
    out: set[str] = set()
    for case_id in set(wanted):
        path = case_paths.get(case_id)
        marking = case_marking(path, case_id) if path else None
        if marking is not None and not stricter(marking, briefing_tlp):
            out.add(case_id)
    return out


def printable_correlations(
    corr: dict[int, Correlation], library: Library | None, tlp: str, *, other_cases: bool = True
) -> tuple[dict[int, Correlation], int]:
    """The correlations without the other cases a document marked ``tlp`` may not name.

    Args:
        corr: ``indicator id → Correlation``.
        library: the workstation library that knows where the other cases are (None: no case
            can be checked, so none is named).
        tlp: the document's marking.
        other_cases: False leaves every other case out.

    Returns:
        The correlations to print and how many other-case matches were left out.
    """
    others = [m for c in corr.values() for m in c.matches if m.kind == "other-case"]
    if not others:
        return corr, 0
    known = library.cases() if other_cases and library is not None else []
    paths = {info.case_id: info.path for info in known}
    # A match taken from a case's intelligence snapshot names the other case by its title only:
    # every indexed case of that title must be printable (an unknown title is not: fail closed).
    by_title: dict[str, list[str]] = {}
    for info in known:
        by_title.setdefault(info.title, []).append(info.case_id)
    wanted = {m.ref for m in others if m.ref} | {
        cid for m in others if not m.ref for cid in by_title.get(m.name, [])
    }
    allowed = printable_cases(paths, tlp, wanted) if other_cases else set()

    def printable(m: Match) -> bool:
        if m.kind != "other-case":
            return True
        ids = [m.ref] if m.ref else by_title.get(m.name, [])
        return bool(ids) and all(i in allowed for i in ids)

    hidden = 0
    out: dict[int, Correlation] = {}
    for ind_id, c in corr.items():
        keep = tuple(m for m in c.matches if printable(m))
        hidden += len(c.matches) - len(keep)
        out[ind_id] = replace(c, matches=keep) if len(keep) != len(c.matches) else c
    return out, hidden
