# SPDX-License-Identifier: GPL-3.0-or-later
"""The assessment: hypotheses, the ACH matrix and its score, key judgments, notes, the timeline.

Everything an analyst writes here is case content and lands in custody: each change appends a
``note`` entry, in the same transaction, whose detail says what changed (and the old value of
what was edited or deleted), so the briefing's every claim can be traced to who wrote it when.

Analysis of Competing Hypotheses (Heuer; scoring as in PARC ACH 2.0): each piece of evidence is
rated against each hypothesis — CC very consistent, C consistent, N neutral, I inconsistent, II
very inconsistent, NA not applicable. ACH ranks hypotheses by how much evidence argues *against*
them, because consistent evidence is often consistent with several hypotheses and so
discriminates little. The weighted inconsistency score of a hypothesis is::

    score(h) = sum over evidence e rated against h of  inconsistency(rating) x cred(e) x rel(e)

    inconsistency: II = 2, I = 1, N = C = CC = NA = 0 (an unrated cell counts 0)
    cred, rel:     low = 1/sqrt(2) (0.7071), medium = 1, high = sqrt(2) (1.4142)

so one II on high-credibility, high-relevance evidence weighs 2 x 1.414 x 1.414 = 4. PARC ACH
shows the same number negated; here it is kept positive: **lower is more likely**. Ties share a
rank. The plain (unweighted) inconsistency count and the consistency count are reported beside
it, because a reader should see when a ranking rests on weights alone.

Key judgments use the ICD 203 vocabulary: an analytic confidence (low, moderate, high) that is
*separate* from the estimated likelihood, which must be one of the seven ICD 203 terms (table
:data:`LIKELIHOOD`; the standard's synonyms such as "probable" are accepted and stored as the
main term).

This module never imports Qt; every function takes a :class:`~desktop.core.case.Case` and returns
plain data classes, so the window, the CLI and the briefing share one implementation.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from desktop.core import custody, hop_numbers, state, timestamps
from desktop.core.case import Case
from desktop.core.errors import CasetrailError

RATINGS = ("CC", "C", "N", "I", "II", "NA")
RATING_NAMES = {"CC": "very consistent", "C": "consistent", "N": "neutral", "I": "inconsistent",
                "II": "very inconsistent", "NA": "not applicable"}
INCONSISTENCY = {"II": 2.0, "I": 1.0, "N": 0.0, "C": 0.0, "CC": 0.0, "NA": 0.0}
LEVELS = ("low", "medium", "high")
WEIGHT = {"low": 1 / math.sqrt(2), "medium": 1.0, "high": math.sqrt(2)}
EVIDENCE_KINDS = ("item", "indicator", "match", "note", "other")
CONFIDENCE = ("low", "moderate", "high")
CONFIDENCE_MEANING = {
    "low": "the information is scant, questionable, fragmented or poorly corroborated",
    "moderate": "the information is credibly sourced and plausible but not corroborated enough "
                "for a higher level",
    "high": "the judgment is based on high-quality information from multiple sources",
}
# ICD 203 §D.6.e(2)(a): the seven expressions of likelihood and their probability ranges (percent).
LIKELIHOOD: dict[str, tuple[int, int]] = {
    "almost no chance": (1, 5),
    "very unlikely": (5, 20),
    "unlikely": (20, 45),
    "roughly even chance": (45, 55),
    "likely": (55, 80),
    "very likely": (80, 95),
    "almost certain": (95, 99),
}
_LIKELIHOOD_SYNONYMS = {
    "remote": "almost no chance", "highly improbable": "very unlikely",
    "improbable": "unlikely", "improbably": "unlikely", "roughly even odds": "roughly even chance",
    "probable": "likely", "probably": "likely", "highly probable": "very likely",
    "nearly certain": "almost certain", "almost certainly": "almost certain",
}
TIMELINE_SOURCES = ("email", "hop", "media", "ocr", "custody", "analyst")


class AssessmentError(CasetrailError):
    """An assessment change that cannot be made (unknown row, invalid rating or term)."""


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hypothesis:
    """One competing explanation, e.g. "state-linked operators"."""

    id: int
    title: str
    description: str
    position: int
    created_at: str
    created_by: str


@dataclass(frozen=True)
class Evidence:
    """One row of the ACH matrix: a label and what it refers to in the case.

    Attributes:
        kind: ``item``, ``indicator``, ``match``, ``note`` or ``other``.
        ref_id: the item, indicator or note id it stands for (None for ``other``).
        credibility, relevance: ``low``, ``medium`` or ``high``; they weight the score.
    """

    id: int
    label: str
    kind: str
    ref_id: int | None
    credibility: str
    relevance: str
    position: int
    created_at: str

    @property
    def weight(self) -> float:
        """Credibility weight x relevance weight (0.5 … 2)."""
        return WEIGHT[self.credibility] * WEIGHT[self.relevance]


@dataclass(frozen=True)
class HypothesisScore:
    """Where a hypothesis stands in the ACH ranking.

    Attributes:
        weighted: Heuer's weighted inconsistency score; lower is more likely.
        inconsistent: how many cells are I or II (unweighted).
        consistent: how many cells are C or CC (shown, never used to rank).
        rated: how many cells were rated at all (NA excluded).
        rank: 1 for the most likely; ties share a rank.
    """

    hypothesis: Hypothesis
    weighted: float
    inconsistent: int
    consistent: int
    rated: int
    rank: int


@dataclass(frozen=True)
class Matrix:
    """The whole ACH matrix as a window or a report shows it."""

    hypotheses: list[Hypothesis]
    evidence: list[Evidence]
    ratings: dict[tuple[int, int], str]  # (evidence_id, hypothesis_id) -> rating
    scores: list[HypothesisScore]  # ranked, most likely first

    def rating(self, evidence_id: int, hypothesis_id: int) -> str | None:
        """Return a cell's rating, or None when it has not been rated."""
        return self.ratings.get((evidence_id, hypothesis_id))


@dataclass(frozen=True)
class Judgment:
    """A key judgment: what we assess, how likely, and how confident we are in the basis."""

    id: int
    text: str
    confidence: str
    likelihood: str
    position: int
    created_at: str
    created_by: str

    @property
    def probability(self) -> tuple[int, int]:
        """The ICD 203 probability range of the likelihood term, in percent."""
        return LIKELIHOOD[self.likelihood]

    def statement(self) -> str:
        """One plain sentence stating likelihood, range and confidence."""
        lo, hi = self.probability
        return f"{self.likelihood.capitalize()} ({lo}-{hi}%); {self.confidence} confidence."


@dataclass(frozen=True)
class Note:
    """An analyst note, on the case, an item or an indicator."""

    id: int
    item_id: int | None
    indicator_id: int | None
    text: str
    created_at: str
    author: str


@dataclass(frozen=True)
class Event:
    """One point on the case timeline.

    Attributes:
        at: the canonical UTC instant (:mod:`desktop.core.timestamps`); sort with its ``sort_key``.
        source: ``email`` (Date header), ``hop`` (a Received line), ``media`` (creation time),
            ``ocr`` (first sighting of an indicator in a video), ``custody`` or ``analyst``.
        title: one line.
        detail: more, may be empty.
        item_id: the item it is about, if any.
        event_id: the ``events`` row for analyst events (editable), else None.
        ref: a stable reference into the case (``custody:12``, ``hop:3/2``), for traceability.
        indicator_id: for an ``ocr`` sighting, the indicator seen.
        offset_s: for an ``ocr`` sighting, the offset into the video it was first read at.
        hop_index: for a ``hop``, the stored index of the Received line (``hops.idx``).
    """

    at: str
    source: str
    title: str
    detail: str = ""
    item_id: int | None = None
    event_id: int | None = None
    ref: str = ""
    indicator_id: int | None = None
    offset_s: float | None = None
    hop_index: int | None = None


# -- helpers ---------------------------------------------------------------------------------


def _note(conn: sqlite3.Connection, case: Case, what: str, item_id: int | None = None, *,
          changes: list[dict[str, Any]], **detail: Any) -> None:
    """Record an assessment change with the complete new rows it wrote (``changes``)."""
    custody.append(conn, action="note", examiner=case.examiner, item_id=item_id,
                   result=what, detail={"what": what, **detail}, state=changes)


def _rows(conn: sqlite3.Connection, table: str, *keys: Any) -> list[dict[str, Any]]:
    return [state.row_change(conn, table, *(k if isinstance(k, tuple) else (k,))) for k in keys]


def _level(value: str, allowed: Iterable[str], name: str) -> str:
    v = value.strip().lower()
    allowed = tuple(allowed)
    if v not in allowed:
        raise AssessmentError(f"unknown {name} {value!r}; use one of {', '.join(allowed)}")
    return v


def _require(conn: sqlite3.Connection, table: str, row_id: int, what: str) -> sqlite3.Row | tuple[Any, ...]:
    row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()  # noqa: S608 - our table names
    if row is None:
        raise AssessmentError(f"there is no {what} {row_id} in this case")
    return row  # type: ignore[no-any-return]


def _next_position(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COALESCE(MAX(position), 0) + 1 FROM {table}").fetchone()[0])  # noqa: S608


def normalise_likelihood(term: str) -> str:
    """Return the ICD 203 term for ``term`` (a main term or a standard synonym).

    Raises:
        AssessmentError: the term is not ICD 203 estimative language.
    """
    t = " ".join(term.strip().lower().split())
    t = _LIKELIHOOD_SYNONYMS.get(t, t)
    if t not in LIKELIHOOD:
        raise AssessmentError(f"{term!r} is not ICD 203 estimative language; use one of "
                              f"{', '.join(LIKELIHOOD)}")
    return t


def likelihood_for(probability: float) -> str:
    """Return the ICD 203 term whose range holds ``probability`` (0 to 1; a boundary goes up)."""
    pct = probability * 100
    for term, (_lo, hi) in LIKELIHOOD.items():
        if pct < hi:
            return term
    return "almost certain"


# -- hypotheses ------------------------------------------------------------------------------

_HYP_COLS = "id, title, description, position, created_at, created_by"


def list_hypotheses(case: Case) -> list[Hypothesis]:
    """Return the hypotheses in the order the analyst arranged them."""
    rows = case.db.conn.execute(f"SELECT {_HYP_COLS} FROM hypotheses ORDER BY position, id")  # noqa: S608
    return [Hypothesis(*r) for r in rows]


def add_hypothesis(case: Case, title: str, description: str = "") -> Hypothesis:
    """Add a hypothesis at the end of the list.

    Raises:
        AssessmentError: the title is blank.
    """
    if not title.strip():
        raise AssessmentError("a hypothesis needs a title")
    with case.transaction() as conn:
        pos = _next_position(conn, "hypotheses")
        cur = conn.execute(
            "INSERT INTO hypotheses (title, description, position, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?)", (title.strip(), description, pos, custody.utc_now(), case.examiner))
        hid = int(cur.lastrowid or 0)
        _note(conn, case, "hypothesis added", hypothesis_id=hid, title=title.strip(),
              description=description, changes=_rows(conn, "hypotheses", hid))
        row = conn.execute(f"SELECT {_HYP_COLS} FROM hypotheses WHERE id = ?", (hid,)).fetchone()  # noqa: S608
    return Hypothesis(*row)


def update_hypothesis(case: Case, hypothesis_id: int, *, title: str | None = None,
                      description: str | None = None, position: int | None = None) -> Hypothesis:
    """Change a hypothesis's title, description or position; custody keeps the old values."""
    with case.transaction() as conn:
        old = Hypothesis(*_require(conn, "hypotheses", hypothesis_id, "hypothesis"))
        new_title = old.title if title is None else title.strip()
        if not new_title:
            raise AssessmentError("a hypothesis needs a title")
        new = (new_title, old.description if description is None else description,
               old.position if position is None else int(position))
        conn.execute("UPDATE hypotheses SET title = ?, description = ?, position = ? WHERE id = ?",
                     (*new, hypothesis_id))
        changed = {k: {"old": getattr(old, k), "new": v} for k, v in
                   zip(("title", "description", "position"), new, strict=True) if getattr(old, k) != v}
        _note(conn, case, "hypothesis edited", hypothesis_id=hypothesis_id, changed=changed,
              changes=_rows(conn, "hypotheses", hypothesis_id))
        row = conn.execute(f"SELECT {_HYP_COLS} FROM hypotheses WHERE id = ?",  # noqa: S608
                           (hypothesis_id,)).fetchone()
    return Hypothesis(*row)


def delete_hypothesis(case: Case, hypothesis_id: int) -> None:
    """Delete a hypothesis and its column of ratings; custody keeps what was deleted."""
    with case.transaction() as conn:
        old = Hypothesis(*_require(conn, "hypotheses", hypothesis_id, "hypothesis"))
        ratings = dict(conn.execute("SELECT evidence_id, rating FROM ach_ratings WHERE hypothesis_id = ?",
                                    (hypothesis_id,)).fetchall())
        conn.execute("DELETE FROM ach_ratings WHERE hypothesis_id = ?", (hypothesis_id,))
        conn.execute("DELETE FROM hypotheses WHERE id = ?", (hypothesis_id,))
        _note(conn, case, "hypothesis deleted", hypothesis_id=hypothesis_id, title=old.title,
              description=old.description, ratings={str(k): v for k, v in ratings.items()},
              changes=_rows(conn, "ach_ratings", *((e, hypothesis_id) for e in ratings))
              + _rows(conn, "hypotheses", hypothesis_id))


# -- evidence and ratings --------------------------------------------------------------------

_EV_COLS = "id, label, kind, ref_id, credibility, relevance, position, created_at"


def list_evidence(case: Case) -> list[Evidence]:
    """Return the ACH evidence rows in the order the analyst arranged them."""
    rows = case.db.conn.execute(f"SELECT {_EV_COLS} FROM evidence ORDER BY position, id")  # noqa: S608
    return [Evidence(*r) for r in rows]


def _check_ref(conn: sqlite3.Connection, kind: str, ref_id: int | None) -> None:
    table = {"item": "items", "indicator": "indicators", "note": "notes"}.get(kind)
    if table is None:
        return
    if ref_id is None:
        raise AssessmentError(f"evidence of kind {kind!r} must name the {kind} it refers to")
    _require(conn, table, ref_id, kind)


def add_evidence(case: Case, label: str, *, kind: str = "other", ref_id: int | None = None,
                 credibility: str = "medium", relevance: str = "medium") -> Evidence:
    """Add a row to the ACH matrix.

    Raises:
        AssessmentError: blank label, unknown kind or level, or a reference to nothing.
    """
    if not label.strip():
        raise AssessmentError("evidence needs a label")
    kind = _level(kind, EVIDENCE_KINDS, "evidence kind")
    cred = _level(credibility, LEVELS, "credibility")
    rel = _level(relevance, LEVELS, "relevance")
    with case.transaction() as conn:
        _check_ref(conn, kind, ref_id)
        pos = _next_position(conn, "evidence")
        cur = conn.execute(
            "INSERT INTO evidence (label, kind, ref_id, credibility, relevance, position, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (label.strip(), kind, ref_id, cred, rel, pos, custody.utc_now()))
        eid = int(cur.lastrowid or 0)
        _note(conn, case, "ACH evidence added", item_id=ref_id if kind == "item" else None,
              evidence_id=eid, label=label.strip(), kind=kind, ref_id=ref_id, credibility=cred,
              relevance=rel, changes=_rows(conn, "evidence", eid))
        row = conn.execute(f"SELECT {_EV_COLS} FROM evidence WHERE id = ?", (eid,)).fetchone()  # noqa: S608
    return Evidence(*row)


def update_evidence(case: Case, evidence_id: int, *, label: str | None = None,
                    credibility: str | None = None, relevance: str | None = None,
                    position: int | None = None) -> Evidence:
    """Change an evidence row's label, weights or position; custody keeps the old values."""
    with case.transaction() as conn:
        old = Evidence(*_require(conn, "evidence", evidence_id, "evidence row"))
        new = {
            "label": old.label if label is None else label.strip(),
            "credibility": (old.credibility if credibility is None
                            else _level(credibility, LEVELS, "credibility")),
            "relevance": old.relevance if relevance is None else _level(relevance, LEVELS, "relevance"),
            "position": old.position if position is None else int(position),
        }
        if not new["label"]:
            raise AssessmentError("evidence needs a label")
        conn.execute("UPDATE evidence SET label = ?, credibility = ?, relevance = ?, position = ? "
                     "WHERE id = ?", (*new.values(), evidence_id))
        changed = {k: {"old": getattr(old, k), "new": v} for k, v in new.items() if getattr(old, k) != v}
        _note(conn, case, "ACH evidence edited", evidence_id=evidence_id, changed=changed,
              changes=_rows(conn, "evidence", evidence_id))
        row = conn.execute(f"SELECT {_EV_COLS} FROM evidence WHERE id = ?", (evidence_id,)).fetchone()  # noqa: S608
    return Evidence(*row)


def delete_evidence(case: Case, evidence_id: int) -> None:
    """Delete an evidence row and its ratings; custody keeps what was deleted."""
    with case.transaction() as conn:
        old = Evidence(*_require(conn, "evidence", evidence_id, "evidence row"))
        ratings = dict(conn.execute("SELECT hypothesis_id, rating FROM ach_ratings WHERE evidence_id = ?",
                                    (evidence_id,)).fetchall())
        conn.execute("DELETE FROM ach_ratings WHERE evidence_id = ?", (evidence_id,))
        conn.execute("DELETE FROM evidence WHERE id = ?", (evidence_id,))
        _note(conn, case, "ACH evidence deleted", evidence_id=evidence_id, label=old.label,
              kind=old.kind, ref_id=old.ref_id, ratings={str(k): v for k, v in ratings.items()},
              changes=_rows(conn, "ach_ratings", *((evidence_id, h) for h in ratings))
              + _rows(conn, "evidence", evidence_id))


def set_rating(case: Case, evidence_id: int, hypothesis_id: int, rating: str | None) -> None:
    """Rate one cell (CC, C, N, I, II, NA), or clear it with None; custody keeps old and new.

    Raises:
        AssessmentError: unknown rating, evidence row or hypothesis.
    """
    value = None if rating is None or not rating.strip() else rating.strip().upper()
    if value is not None and value not in RATINGS:
        raise AssessmentError(f"unknown ACH rating {rating!r}; use one of {', '.join(RATINGS)}")
    with case.transaction() as conn:
        _require(conn, "evidence", evidence_id, "evidence row")
        _require(conn, "hypotheses", hypothesis_id, "hypothesis")
        old_row = conn.execute("SELECT rating FROM ach_ratings WHERE evidence_id = ? AND hypothesis_id = ?",
                               (evidence_id, hypothesis_id)).fetchone()
        old = old_row[0] if old_row else None
        if old == value:
            return
        if value is None:
            conn.execute("DELETE FROM ach_ratings WHERE evidence_id = ? AND hypothesis_id = ?",
                         (evidence_id, hypothesis_id))
        else:
            conn.execute("INSERT INTO ach_ratings (evidence_id, hypothesis_id, rating) VALUES (?, ?, ?) "
                         "ON CONFLICT (evidence_id, hypothesis_id) DO UPDATE SET rating = excluded.rating",
                         (evidence_id, hypothesis_id, value))
        _note(conn, case, "ACH rating set", evidence_id=evidence_id, hypothesis_id=hypothesis_id,
              old=old, new=value, changes=_rows(conn, "ach_ratings", (evidence_id, hypothesis_id)))


def score(hypotheses: list[Hypothesis], evidence: list[Evidence],
          ratings: dict[tuple[int, int], str]) -> list[HypothesisScore]:
    """Rank hypotheses by Heuer's weighted inconsistency score (see the module docstring).

    A pure function, so the window can rescore as the analyst types without touching the case.

    Returns:
        One score per hypothesis, most likely (lowest score) first; ties keep the analyst's
        order and share a rank.
    """
    out = []
    for h in hypotheses:
        weighted, inconsistent, consistent, rated = 0.0, 0, 0, 0
        for e in evidence:
            r = ratings.get((e.id, h.id))
            if r is None or r == "NA":
                continue
            rated += 1
            weighted += INCONSISTENCY[r] * e.weight
            inconsistent += r in ("I", "II")
            consistent += r in ("C", "CC")
        out.append((round(weighted, 6), inconsistent, consistent, rated, h))
    ordered = sorted(out, key=lambda t: t[0])  # stable: ties keep the analyst's order
    scores: list[HypothesisScore] = []
    for index, (w, inc, con, rated, h) in enumerate(ordered):
        rank = scores[-1].rank if scores and scores[-1].weighted == w else index + 1
        scores.append(HypothesisScore(h, w, inc, con, rated, rank))
    return scores


def matrix(case: Case) -> Matrix:
    """Return hypotheses, evidence, ratings and the ranking in one read."""
    hyps, ev = list_hypotheses(case), list_evidence(case)
    ratings = {(int(e), int(h)): str(r) for e, h, r in
               case.db.conn.execute("SELECT evidence_id, hypothesis_id, rating FROM ach_ratings")}
    return Matrix(hyps, ev, ratings, score(hyps, ev, ratings))


# -- key judgments ---------------------------------------------------------------------------

_J_COLS = "id, text, confidence, likelihood, position, created_at, created_by"


def list_judgments(case: Case) -> list[Judgment]:
    """Return the key judgments in the order they are to be read."""
    rows = case.db.conn.execute(f"SELECT {_J_COLS} FROM judgments ORDER BY position, id")  # noqa: S608
    return [Judgment(*r) for r in rows]


def add_judgment(case: Case, text: str, *, confidence: str, likelihood: str) -> Judgment:
    """Add a key judgment with its ICD 203 confidence and likelihood.

    Raises:
        AssessmentError: blank text, or a confidence or likelihood outside ICD 203.
    """
    if not text.strip():
        raise AssessmentError("a key judgment needs its text")
    conf = _level(confidence, CONFIDENCE, "confidence level")
    term = normalise_likelihood(likelihood)
    with case.transaction() as conn:
        pos = _next_position(conn, "judgments")
        cur = conn.execute(
            "INSERT INTO judgments (text, confidence, likelihood, position, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?)", (text.strip(), conf, term, pos, custody.utc_now(), case.examiner))
        jid = int(cur.lastrowid or 0)
        _note(conn, case, "key judgment added", judgment_id=jid, text=text.strip(), confidence=conf,
              likelihood=term, changes=_rows(conn, "judgments", jid))
        row = conn.execute(f"SELECT {_J_COLS} FROM judgments WHERE id = ?", (jid,)).fetchone()  # noqa: S608
    return Judgment(*row)


def update_judgment(case: Case, judgment_id: int, *, text: str | None = None,
                    confidence: str | None = None, likelihood: str | None = None,
                    position: int | None = None) -> Judgment:
    """Change a key judgment; custody keeps the old values."""
    with case.transaction() as conn:
        old = Judgment(*_require(conn, "judgments", judgment_id, "key judgment"))
        new = {
            "text": old.text if text is None else text.strip(),
            "confidence": old.confidence if confidence is None else _level(confidence, CONFIDENCE,
                                                                            "confidence level"),
            "likelihood": old.likelihood if likelihood is None else normalise_likelihood(likelihood),
            "position": old.position if position is None else int(position),
        }
        if not new["text"]:
            raise AssessmentError("a key judgment needs its text")
        conn.execute("UPDATE judgments SET text = ?, confidence = ?, likelihood = ?, position = ? "
                     "WHERE id = ?", (*new.values(), judgment_id))
        changed = {k: {"old": getattr(old, k), "new": v} for k, v in new.items() if getattr(old, k) != v}
        _note(conn, case, "key judgment edited", judgment_id=judgment_id, changed=changed,
              changes=_rows(conn, "judgments", judgment_id))
        row = conn.execute(f"SELECT {_J_COLS} FROM judgments WHERE id = ?", (judgment_id,)).fetchone()  # noqa: S608
    return Judgment(*row)


def delete_judgment(case: Case, judgment_id: int) -> None:
    """Delete a key judgment; custody keeps its text."""
    with case.transaction() as conn:
        old = Judgment(*_require(conn, "judgments", judgment_id, "key judgment"))
        conn.execute("DELETE FROM judgments WHERE id = ?", (judgment_id,))
        _note(conn, case, "key judgment deleted", judgment_id=judgment_id, text=old.text,
              confidence=old.confidence, likelihood=old.likelihood,
              changes=_rows(conn, "judgments", judgment_id))


# -- notes -----------------------------------------------------------------------------------

_N_COLS = "id, item_id, indicator_id, text, created_at, author"


def list_notes(case: Case, *, item_id: int | None = None, indicator_id: int | None = None) -> list[Note]:
    """Return notes in the order written: all, or those on one item or one indicator."""
    sql = f"SELECT {_N_COLS} FROM notes"  # noqa: S608
    args: tuple[Any, ...] = ()
    if item_id is not None:
        sql, args = sql + " WHERE item_id = ?", (item_id,)
    elif indicator_id is not None:
        sql, args = sql + " WHERE indicator_id = ?", (indicator_id,)
    return [Note(*r) for r in case.db.conn.execute(sql + " ORDER BY id", args)]


def add_note(case: Case, text: str, *, item_id: int | None = None,
             indicator_id: int | None = None) -> Note:
    """Write a note on the case, an item or an indicator; custody keeps its full text."""
    if not text.strip():
        raise AssessmentError("a note needs some text")
    with case.transaction() as conn:
        if item_id is not None:
            _require(conn, "items", item_id, "item")
        if indicator_id is not None:
            _require(conn, "indicators", indicator_id, "indicator")
        cur = conn.execute("INSERT INTO notes (item_id, indicator_id, text, created_at, author) "
                           "VALUES (?, ?, ?, ?, ?)", (item_id, indicator_id, text, custody.utc_now(),
                                                     case.examiner))
        nid = int(cur.lastrowid or 0)
        _note(conn, case, "note added", item_id=item_id, note_id=nid, indicator_id=indicator_id, text=text,
              changes=_rows(conn, "notes", nid))
        row = conn.execute(f"SELECT {_N_COLS} FROM notes WHERE id = ?", (nid,)).fetchone()  # noqa: S608
    return Note(*row)


def update_note(case: Case, note_id: int, text: str) -> Note:
    """Replace a note's text; custody keeps the old text."""
    if not text.strip():
        raise AssessmentError("a note needs some text")
    with case.transaction() as conn:
        old = Note(*_require(conn, "notes", note_id, "note"))
        conn.execute("UPDATE notes SET text = ? WHERE id = ?", (text, note_id))
        _note(conn, case, "note edited", item_id=old.item_id, note_id=note_id, old=old.text, new=text,
              changes=_rows(conn, "notes", note_id))
        row = conn.execute(f"SELECT {_N_COLS} FROM notes WHERE id = ?", (note_id,)).fetchone()  # noqa: S608
    return Note(*row)


def delete_note(case: Case, note_id: int) -> None:
    """Delete a note; custody keeps its text. Refused while ACH evidence refers to it."""
    with case.transaction() as conn:
        old = Note(*_require(conn, "notes", note_id, "note"))
        if conn.execute("SELECT 1 FROM evidence WHERE kind = 'note' AND ref_id = ?", (note_id,)).fetchone():
            raise AssessmentError(f"note {note_id} is ACH evidence; remove the evidence row first")
        conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))
        _note(conn, case, "note deleted", item_id=old.item_id, note_id=note_id, text=old.text,
              changes=_rows(conn, "notes", note_id))


# -- analyst timeline events -----------------------------------------------------------------


_E_COLS = "id, at, title, detail, item_id, created_at, created_by"


def list_events(case: Case) -> list[Event]:
    """Return the analyst's own timeline events, oldest first."""
    rows = case.db.conn.execute(f"SELECT {_E_COLS} FROM events ORDER BY id")  # noqa: S608
    events = [Event(at=timestamps.canonical(r[1]) or r[1], source="analyst", title=r[2], detail=r[3],
                    item_id=r[4], event_id=r[0], ref=f"event:{r[0]}") for r in rows]
    return sorted(events, key=lambda e: timestamps.sort_key(e.at))  # instants, not text (stable)


def add_event(case: Case, at: str, title: str, detail: str = "", *, item_id: int | None = None) -> Event:
    """Add an analyst event to the timeline (``at`` is ISO 8601; naive means UTC).

    Raises:
        AssessmentError: the time cannot be read, or the title is blank.
    """
    when = timestamps.canonical(at)
    if when is None:
        raise AssessmentError(f"{at!r} is not an ISO 8601 time (e.g. 2024-03-01T14:05:00Z)")
    if not title.strip():
        raise AssessmentError("a timeline event needs a title")
    with case.transaction() as conn:
        if item_id is not None:
            _require(conn, "items", item_id, "item")
        cur = conn.execute("INSERT INTO events (at, title, detail, item_id, created_at, created_by) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (when, title.strip(), detail, item_id,
                                                         custody.utc_now(), case.examiner))
        eid = int(cur.lastrowid or 0)
        _note(conn, case, "timeline event added", item_id=item_id, event_id=eid, at=when,
              title=title.strip(), detail_text=detail, changes=_rows(conn, "events", eid))
    return Event(when, "analyst", title.strip(), detail, item_id, eid, f"event:{eid}")


def update_event(case: Case, event_id: int, *, at: str | None = None, title: str | None = None,
                 detail: str | None = None) -> Event:
    """Change an analyst event; custody keeps the old values."""
    with case.transaction() as conn:
        row = _require(conn, "events", event_id, "timeline event")
        old = dict(zip(("id", "at", "title", "detail", "item_id"), tuple(row)[:5], strict=True))
        when = old["at"] if at is None else timestamps.canonical(at)
        if when is None:
            raise AssessmentError(f"{at!r} is not an ISO 8601 time (e.g. 2024-03-01T14:05:00Z)")
        new = {"at": when, "title": old["title"] if title is None else title.strip(),
               "detail": old["detail"] if detail is None else detail}
        if not new["title"]:
            raise AssessmentError("a timeline event needs a title")
        conn.execute("UPDATE events SET at = ?, title = ?, detail = ? WHERE id = ?",
                     (*new.values(), event_id))
        changed = {k: {"old": old[k], "new": v} for k, v in new.items() if old[k] != v}
        _note(conn, case, "timeline event edited", item_id=old["item_id"], event_id=event_id,
              changed=changed, changes=_rows(conn, "events", event_id))
    return Event(new["at"], "analyst", new["title"], new["detail"], old["item_id"], event_id,
                 f"event:{event_id}")


def delete_event(case: Case, event_id: int) -> None:
    """Delete an analyst event; custody keeps what it said."""
    with case.transaction() as conn:
        row = tuple(_require(conn, "events", event_id, "timeline event"))
        conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
        _note(conn, case, "timeline event deleted", item_id=row[4], event_id=event_id, at=row[1],
              title=row[2], detail_text=row[3], changes=_rows(conn, "events", event_id))


# -- the timeline ----------------------------------------------------------------------------


def _json(value: object) -> dict[str, Any]:
    if not isinstance(value, str):
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _media_time(detail: dict[str, Any]) -> tuple[str | None, str]:
    """Find a creation time in media metadata, wherever the analyser put it."""
    for key in ("creation_time", "DateTimeOriginal", "date_time_original", "DateTime"):
        if key in detail:
            return timestamps.canonical(detail[key]), key
    for nested in ("exif", "tags", "format_tags"):
        sub = detail.get(nested)
        if isinstance(sub, dict):
            for key in ("DateTimeOriginal", "creation_time", "DateTime"):
                if key in sub:
                    return timestamps.canonical(sub[key]), f"{nested}.{key}"
    return None, ""


def _sort_key(e: Event) -> tuple[tuple[datetime, str], int, str]:
    # As instants: "...07.500000Z" is after "...07Z", whatever the text says.
    return (timestamps.sort_key(e.at), TIMELINE_SOURCES.index(e.source) if e.source in TIMELINE_SOURCES
            else 99, e.ref)


def timeline(case: Case, *, custody_events: str = "all") -> list[Event]:
    """Return every dated event of the case in time order.

    Sources: mail Date headers, Received hop times, media creation times (video
    ``creation_time``, image EXIF ``DateTimeOriginal``), the first OCR sighting of each indicator
    in each video (its offset in the video added to the video's creation time; a video without
    a creation time has no place on a clock, so its sightings are left to the exhibits),
    custody entries and analyst events. Times that cannot be read are left out, never guessed.

    Args:
        case: the case to read.
        custody_events: ``all`` (one event per entry), ``grouped`` (a run of consecutive
            entries with the same action becomes one event, so 500 acquisitions read as one
            line) or ``none``.
    """
    conn = case.db.conn
    names = {int(r[0]): str(r[1]) for r in conn.execute("SELECT id, name FROM items")}
    out: list[Event] = []
    for item_id, date_utc, date_raw, subject, from_addr in conn.execute(
            "SELECT item_id, date_utc, date_raw, subject, from_addr FROM emails"):
        at = timestamps.canonical(date_utc)
        if at:
            out.append(Event(at, "email", f"Message sent (Date header): {subject or '(no subject)'}",
                             f"From {from_addr or '?'}; Date: {date_raw or date_utc}", item_id,
                             ref=f"email:{item_id}"))
    for item_id, idx, from_host, from_ip, by_host, time_utc in conn.execute(
            "SELECT item_id, idx, from_host, from_ip, by_host, time_utc FROM hops ORDER BY item_id, idx"):
        at = timestamps.canonical(time_utc)
        if at:
            src = from_host or from_ip or "?"
            out.append(Event(at, "hop", f"Received {hop_numbers.label(int(idx))}: {src} → {by_host or '?'}",
                             f"in {names.get(item_id, item_id)}", item_id, ref=f"hop:{item_id}/{idx}",
                             hop_index=int(idx)))
    media_start: dict[int, str] = {}
    for item_id, kind, detail in conn.execute("SELECT item_id, kind, detail FROM media"):
        at, key = _media_time(_json(detail))
        if at:
            media_start[int(item_id)] = at
            out.append(Event(at, "media", f"{str(kind).capitalize()} created ({key})",
                             names.get(item_id, ""), item_id, ref=f"media:{item_id}"))
    for item_id, ind_id, ind_type, value, t in conn.execute(
            "SELECT o.item_id, o.indicator_id, i.type, i.value, MIN(o.time_s) FROM occurrences o "
            "JOIN indicators i ON i.id = o.indicator_id "
            "WHERE o.source = 'ocr' AND o.time_s IS NOT NULL GROUP BY o.item_id, o.indicator_id"):
        start = media_start.get(int(item_id))
        if start is None:
            continue
        base = timestamps.parse(start)
        at = timestamps.canonical(base + _seconds(t)) if base is not None else None
        if at:
            out.append(Event(at, "ocr", f"{ind_type} first seen on screen at {float(t):.1f} s",
                             f"{value} in {names.get(item_id, item_id)}", item_id,
                             ref=f"ocr:{item_id}/{ind_type}:{value}", indicator_id=int(ind_id),
                             offset_s=float(t)))
    if custody_events != "none":
        out.extend(_custody_events(case, grouped=custody_events == "grouped"))
    out.extend(list_events(case))
    return sorted(out, key=_sort_key)


def _seconds(t: object) -> timedelta:
    try:
        return timedelta(seconds=float(t))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return timedelta(0)


def _custody_events(case: Case, *, grouped: bool) -> list[Event]:
    out: list[Event] = []
    run: list[dict[str, Any]] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0], run[-1]
        if len(run) == 1 or not grouped:
            for e in run:
                what = e["detail"].get("what") if isinstance(e["detail"], dict) else None
                title = f"Custody: {e['action']}" + (f" — {what}" if what else "")
                subject = f"item {e['item_id']}" if e["item_id"] is not None else "case"
                out.append(Event(timestamps.canonical(e["at"]) or e["at"], "custody", title,
                                 f"{subject}; {e['examiner']}; {e['result']}", e["item_id"],
                                 ref=f"custody:{e['seq']}"))
        else:
            out.append(Event(timestamps.canonical(first["at"]) or first["at"], "custody",
                             f"Custody: {first['action']} x {len(run)}",
                             f"entries {first['seq']} to {last['seq']}; {first['examiner']}; "
                             f"until {last['at']}",
                             None, ref=f"custody:{first['seq']}-{last['seq']}"))
        run.clear()

    for e in case.custody():
        if run and (not grouped or e["action"] != run[-1]["action"]):
            flush()
        run.append(e)
    flush()
    return out


# -- what ACH evidence may refer to ----------------------------------------------------------

REFERENCE_LIMIT = 500  # choices offered at once: a picker over 100,000 items is a search, not a list


def reference_choices(case: Case, kind: str, text: str = "", limit: int = REFERENCE_LIMIT,
                      ) -> list[tuple[int, str]]:
    """What an ACH evidence row of ``kind`` may refer to, as ``(id, one line)``, matching ``text``.

    Items and indicators are searched (by name or value, or by id when ``text`` is a number) and
    at most ``limit`` are returned, so the choice stays quick in a case of any size.
    """
    conn = case.db.conn
    words = text.strip()
    like = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    by_id = int(words) if words.isdigit() else -1
    if kind == "item":
        rows = conn.execute("SELECT id, name FROM items WHERE ? = '' OR id = ? OR name LIKE ? ESCAPE '\\' "
                            "ORDER BY id LIMIT ?", (words, by_id, like, limit))
        return [(int(i), f"{i}: {name}") for i, name in rows]
    if kind == "indicator":
        rows = conn.execute("SELECT id, type, value FROM indicators WHERE n_occurrences > 0 AND "
                            "(? = '' OR id = ? OR value LIKE ? ESCAPE '\\') ORDER BY type, sort_key LIMIT ?",
                            (words, by_id, like, limit))
        return [(int(i), f"{i}: {t} {v}") for i, t, v in rows]
    if kind == "note":
        notes = [n for n in list_notes(case) if not words or words.lower() in n.text.lower()
                 or n.id == by_id]
        return [(n.id, f"{n.id}: {' '.join(n.text.split())[:80]}") for n in notes[:limit]]
    return []
