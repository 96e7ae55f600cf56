# SPDX-License-Identifier: GPL-3.0-or-later
"""Source grading on the Admiralty scale (NATO STANAG 2511): how far to trust each source.

Intelligence is only as good as where it came from. Each source the briefing rests on — an
imported feed, an ip2asn table — is graded with a letter for the *source's reliability* (A
completely reliable … E unreliable, F cannot be judged) and a digit for the *information's
credibility* (1 confirmed by other sources … 5 improbable, 6 cannot be judged): "B2".

A grade comes from the analyst (stored in the case, keyed by the source file's SHA-256, and
recorded in custody with its complete new value) or, failing that, from the source's own
markings: MISP ``admiralty-scale`` tags, the same machine tags as STIX labels, or a STIX 2.1
``confidence`` mapped to credibility by the STIX 2.1 specification's Admiralty table (§A.4:
80-100 → 1, 60-79 → 2, 40-59 → 3, 20-39 → 4, 0-19 → 5). The analyst's grade always wins; a
grade is never invented where neither exists. Descriptions come from the shipped MISP
``admiralty-scale`` taxonomy. Never imports Qt.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from desktop.core import custody, state
from desktop.core.case import Case
from desktop.core.errors import CasetrailError

RELIABILITY = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY = {
    "1": "confirmed by other sources",
    "2": "probably true",
    "3": "possibly true",
    "4": "doubtful",
    "5": "improbable",
    "6": "truth cannot be judged",
}
_TAG_RE = re.compile(r'admiralty-scale:(source-reliability|information-credibility)="?([a-f1-6])"?\Z', re.I)


class GradingError(CasetrailError):
    """A grade that cannot be recorded (a letter or digit outside the scale)."""


@dataclass(frozen=True)
class Grade:
    """A source's grade and where it comes from.

    Attributes:
        reliability: ``A``-``F``, or None when the source says nothing about it.
        credibility: ``1``-``6``, or None.
        by: ``analyst`` or ``source`` (the source's own markings).
        basis: what the grade rests on, in a few words ("the analyst, 2024-03-05: …",
            "STIX confidence 85 on 3 indicators").
    """

    reliability: str | None
    credibility: str | None
    by: str
    basis: str

    @property
    def code(self) -> str:
        """``B2``; a part the source does not give is ``?``."""
        return f"{self.reliability or '?'}{self.credibility or '?'}"

    def describe(self) -> str:
        """``B2: usually reliable; probably true``."""
        parts = [
            f"source {RELIABILITY[self.reliability]}" if self.reliability else "source reliability not given",
            f"information {CREDIBILITY[self.credibility]}"
            if self.credibility
            else "information credibility not given",
        ]
        return f"{self.code}: {'; '.join(parts)}"


@dataclass(frozen=True)
class StoredGrade:
    """The analyst's grade of one source, as stored."""

    sha256: str
    name: str
    reliability: str
    credibility: str
    note: str
    graded_at: str
    graded_by: str

    def grade(self) -> Grade:
        """As a :class:`Grade`."""
        basis = f"graded by {self.graded_by} on {self.graded_at[:10]}" + (
            f": {self.note}" if self.note else ""
        )
        return Grade(self.reliability, self.credibility, "analyst", basis)


_COLS = "sha256, name, reliability, credibility, note, graded_at, graded_by"


def analyst_grades(case: Case, *, conn: sqlite3.Connection | None = None) -> dict[str, StoredGrade]:
    """Every grade the analyst gave, by source SHA-256."""
    rows = (conn or case.db.conn).execute(f"SELECT {_COLS} FROM source_grades ORDER BY sha256")  # noqa: S608
    return {str(r[0]): StoredGrade(*r) for r in rows}


def grade_source(case: Case, sha256: str, name: str, code: str, note: str = "") -> StoredGrade:
    """Record the analyst's grade of a source (``B2``); an empty code removes it.

    Args:
        case: a case open for writing.
        sha256: the source file's SHA-256 (the feed or table as imported).
        name: what the source is called, for the reader.
        code: a reliability letter and a credibility digit, e.g. ``B2``; ``""`` to remove.
        note: why, in a few words.

    Raises:
        GradingError: a code outside the Admiralty scale or a SHA-256 that is not one.
    """
    digest = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise GradingError(f"{sha256!r} is not a SHA-256")
    c = code.strip().upper()
    if c and (len(c) != 2 or c[0] not in RELIABILITY or c[1] not in CREDIBILITY):
        raise GradingError(f"{code!r} is not an Admiralty grade: a letter A-F then a digit 1-6, e.g. B2")
    with case.transaction() as tx:
        row = tx.execute(f"SELECT {_COLS} FROM source_grades WHERE sha256 = ?", (digest,)).fetchone()  # noqa: S608
        old = asdict(StoredGrade(*row)) if row else None
        if not c:
            if row is None:
                raise GradingError(f"the source {digest[:16]}… has no grade to remove")
            tx.execute("DELETE FROM source_grades WHERE sha256 = ?", (digest,))
            custody.append(
                tx,
                action="note",
                examiner=case.examiner,
                result="source grade removed",
                detail={"what": "source grade removed", "new": None, "old": old},
                state=[state.row_change(tx, "source_grades", digest)],
            )
            return StoredGrade(*row)
        new = StoredGrade(
            digest, name.strip() or digest[:16], c[0], c[1], note.strip(), custody.utc_now(), case.examiner
        )
        tx.execute(
            "INSERT INTO source_grades (sha256, name, reliability, credibility, note, graded_at, graded_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET name = excluded.name, "
            "reliability = excluded.reliability, credibility = excluded.credibility, "
            "note = excluded.note, graded_at = excluded.graded_at, graded_by = excluded.graded_by",
            tuple(asdict(new).values()),
        )
        custody.append(
            tx,
            action="note",
            examiner=case.examiner,
            result=f"source graded {c}",
            detail={"what": "source graded", "new": asdict(new), "old": old},
            state=[state.row_change(tx, "source_grades", digest)],
        )
    return new


def credibility_of_confidence(confidence: int) -> str:
    """STIX 2.1 confidence (0-100) → Admiralty credibility, by the specification's table."""
    c = max(0, min(100, int(confidence)))
    return "1" if c >= 80 else "2" if c >= 60 else "3" if c >= 40 else "4" if c >= 20 else "5"


def _from_tags(tags: list[str]) -> tuple[str | None, str | None]:
    rel: str | None = None
    cred: str | None = None
    for t in tags:
        m = _TAG_RE.match(t.strip())
        if m is None:
            continue
        if m.group(1).lower() == "source-reliability" and m.group(2).upper() in RELIABILITY:
            rel = rel or m.group(2).upper()
        elif m.group(1).lower() == "information-credibility" and m.group(2) in CREDIBILITY:
            cred = cred or m.group(2)
    return rel, cred


def _misp_tags(doc: Any) -> list[str]:
    events = doc if isinstance(doc, list) else [doc]
    out: list[str] = []
    for ev in events:
        event = ev.get("Event", ev) if isinstance(ev, dict) else None
        if isinstance(event, dict):
            out += [str(t.get("name", "")) for t in event.get("Tag") or [] if isinstance(t, dict)]
    return out


def source_markings(data: bytes) -> Grade | None:
    """The grade a feed file gives itself (MISP admiralty tags, STIX labels or confidence), or None."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    tags = _misp_tags(doc)
    found = doc.get("objects") if isinstance(doc, dict) else None
    objects: list[Any] = found if isinstance(found, list) else []
    for obj in objects:
        labels = obj.get("labels") if isinstance(obj, dict) else None
        if isinstance(labels, list):
            tags += [str(x) for x in labels if isinstance(x, str)]
    rel, cred = _from_tags(tags)
    basis = "the source's admiralty-scale tags" if rel or cred else ""
    if cred is None:
        confidences = [
            int(o["confidence"])
            for o in objects
            if isinstance(o, dict)
            and isinstance(o.get("confidence"), int)
            and not isinstance(o.get("confidence"), bool)
        ]
        if confidences:
            typical, _n = Counter(credibility_of_confidence(c) for c in confidences).most_common(1)[0]
            cred = typical
            basis = (basis + "; " if basis else "") + (
                f"STIX confidence on {len(confidences)} object{'s' if len(confidences) > 1 else ''} "
                f"(most often credibility {typical})"
            )
    if rel is None and cred is None:
        return None
    return Grade(rel, cred, "source", basis)
