# SPDX-License-Identifier: GPL-3.0-or-later
"""References inside analyst text, such as ``[item 6]``, ``[indicator 12]``, ``[E2]``, ``[KJ1]``.

An analyst writing a key judgment, a note or an assumption points at what it rests on. Written
as a bracketed reference, the pointer becomes a link in the briefing (to the exhibit that shows
the item, to the indicator's row, to the ACH row), so a reader reaches the evidence behind every
claim in one hop. This module owns the syntax; it only parses, it never looks anything up.

Two kinds of reference:

- stable ids of the case: ``[item 6]``, ``[indicator 12]`` (also ``[I12]``), ``[note 3]`` (also
  ``[N3]``) — the ids the CLI and the window show;
- the labels the window and the briefing give the assessment, by position: ``[H1]`` (hypothesis),
  ``[E2]`` (ACH evidence row), ``[KJ1]`` (key judgment).

Anything else in brackets is text: evidence quoted in a note (``[.]``, ``[REDACTED]``) never
turns into a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("item", "indicator", "note", "hypothesis", "evidence", "judgment")
_WORDS = {"item": "item", "indicator": "indicator", "note": "note"}
_LABELS = {"I": "indicator", "N": "note", "H": "hypothesis", "E": "evidence", "KJ": "judgment"}
_REF_RE = re.compile(
    r"\[(?:(?P<word>(?i:item|indicator|note))\s+|(?P<label>KJ|I|N|H|E)\s?)"
    r"(?P<num>[1-9]\d{0,8})\]"
)


@dataclass(frozen=True)
class Ref:
    """One reference found in a text.

    Attributes:
        kind: one of :data:`KINDS`.
        number: the id (item, indicator, note) or the 1-based position (hypothesis, evidence,
            judgment).
        text: the reference as written, brackets included.
    """

    kind: str
    number: int
    text: str


def split_refs(text: str) -> list[str | Ref]:
    """Split a text into plain pieces and references, in order (no empty pieces)."""
    out: list[str | Ref] = []
    pos = 0
    for m in _REF_RE.finditer(text):
        if m.start() > pos:
            out.append(text[pos : m.start()])
        word = m.group("word")
        kind = _WORDS[word.lower()] if word else _LABELS[m.group("label")]
        out.append(Ref(kind, int(m.group("num")), m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def refs_in(text: str) -> list[Ref]:
    """Every reference in a text, in order."""
    return [p for p in split_refs(text) if isinstance(p, Ref)]


def item_ref(item_id: int) -> str:
    """The reference to an item, as drafted text writes it."""
    return f"[item {int(item_id)}]"


def indicator_ref(indicator_id: int) -> str:
    """The reference to an indicator, as drafted text writes it."""
    return f"[indicator {int(indicator_id)}]"
