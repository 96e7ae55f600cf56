# SPDX-License-Identifier: GPL-3.0-or-later
"""The intelligence behind the matches: which source file, its SHA-256, its grade.

A match is only as good as its source, and a peer must be able to get the same file: every feed
match prints the source's name, file, SHA-256 and the relationship path that led from the
indicator to the actor, and the methodology lists each source with its Admiralty grade.

The sources are the case's reference items (issue 11: each feed or ip2asn table a match came
from is acquired into the case with its SHA-256, and a match names its reference item). A case
without a snapshot yet (a preview before its first export) falls back to the workstation
library's feeds, found by the file name a match names. The source's own markings are read from
the reference item's bytes in the vault, or from the library's kept copy only while its bytes
still hash to the SHA-256 recorded at import.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core import references
from desktop.core.case import Case
from desktop.core.correlate import Match
from desktop.core.grading import Grade, StoredGrade, source_markings
from desktop.core.intel import Library

_MAX_MARKINGS_BYTES = 64 * 1024 * 1024
_REFERENCE_RE = re.compile(r"\s*\(reference item (\d+), SHA-256 ([0-9a-f]{64})\)\s*$")


@dataclass(frozen=True)
class IntelSource:
    """One imported source a match came from.

    Attributes:
        item_id: the reference item of the case holding its bytes (None: the library's only).
    """

    name: str
    file_name: str
    sha256: str
    format: str
    imported_at: str
    entries: int
    grade: Grade | None
    item_id: int | None = None


@dataclass
class Sources:
    """The sources of a briefing's matches, looked up once."""

    by_file: dict[str, IntelSource] = field(default_factory=dict)
    by_item: dict[int, IntelSource] = field(default_factory=dict)
    asn_tables: list[IntelSource] = field(default_factory=list)
    used: dict[str, IntelSource] = field(default_factory=dict)

    def for_match(self, m: Match) -> IntelSource | None:
        """The source a feed match came from (None for other kinds, or an unknown file)."""
        if m.source != "feed":
            return None
        ref = _REFERENCE_RE.search(m.detail)
        src = self.by_item.get(int(ref.group(1))) if ref else None
        if src is None:
            src = self.by_file.get(m.detail.split(": ", 1)[0])
        if src is not None:
            self.used.setdefault(src.sha256, src)
        return src


def path_of(m: Match) -> str:
    """The relationship path of a feed match (what follows the file name, without the reference)."""
    parts = m.detail.split(": ", 1)
    path = parts[1] if len(parts) == 2 else m.detail
    return _REFERENCE_RE.sub("", path)


def load_sources(case: Case, library: Library | None, grades: dict[str, StoredGrade]) -> Sources:
    """The case's reference items (else the library's feeds) and their grades.

    The analyst's grade comes first, else the source's own markings.
    """
    out = Sources()
    refs = references.references_of(case.db.conn)
    if refs:
        for r in refs:
            sha = str(r["sha256"])
            stored = grades.get(sha)
            grade = stored.grade() if stored else _markings(str(case.vault.blob_path(sha)), sha)
            src = IntelSource(str(r["feed_name"] or r["name"]), str(r["name"]), sha, str(r["format"]),
                              str(r["imported_into_library_at"]), 0, grade, int(r["item_id"]))
            out.by_item[src.item_id or 0] = src
            if src.format == "ip2asn":
                out.asn_tables.append(src)
            else:
                out.by_file.setdefault(src.file_name, src)
        return out
    if library is None:
        return out
    paths = {int(r[0]): str(r[1]) for r in library.conn.execute("SELECT id, path FROM feeds")}
    # An ip2asn import replaces the ranges of the one before (per IP version): list those in use.
    in_use = {int(r[0]) for r in library.conn.execute("SELECT DISTINCT feed_id FROM asn_ranges")}
    for f in library.feeds():
        stored = grades.get(f.sha256)
        grade = stored.grade() if stored else _markings(paths.get(f.id), f.sha256)
        src = IntelSource(f.name, f.file_name, f.sha256, f.format, f.imported_at, f.entries, grade)
        if f.format == "ip2asn":
            if f.id in in_use:
                out.asn_tables.append(src)
        else:
            out.by_file.setdefault(f.file_name, src)
    return out


def _markings(path: str | None, sha256: str) -> Grade | None:
    if not path or not sha256:
        return None
    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size > _MAX_MARKINGS_BYTES:
            return None
        data = p.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        return None  # not the bytes that were imported: its markings say nothing about them
    return source_markings(data)
