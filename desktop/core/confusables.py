# SPDX-License-Identifier: GPL-3.0-or-later
"""Characters OCR confuses, and values that differ only by them.

One owner for the question "could these two readings be the same text, misread?": ``l``/``1``/``I``,
``O``/``0``, ``rn``/``m``, ``S``/``5``/``$`` and case. A value's *skeleton* maps every member of a
confusable class to one representative, so ``f1-voter.org``, ``fl-voter.org`` and ``FI-voter.org``
share one skeleton. Used by the screen-text consensus (two frames read a line differently) and when
OCR occurrences are recorded (a reading that differs from an indicator already in the case only by
confusables is an alternative reading of it, not a new lead). Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

# Each class is written as its members; the first is the representative.
CLASSES = ("l1Ii|", "o0O", "s5S$", "z2Z", "b6", "B8", "g9")
_MAP = {ch: cls[0] for cls in CLASSES for ch in cls}
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def skeleton(text: str) -> str:
    """The text with every confusable character (and case) reduced to one representative."""
    low = text
    for many, one in _MULTI:
        low = low.replace(many, one)
    return "".join(_MAP.get(ch, _MAP.get(ch.lower(), ch.lower())) for ch in low)


def is_confusable(ch: str) -> bool:
    """Whether OCR commonly mistakes this character for another."""
    return ch in _MAP or ch in "mrnwvcd"


def confusable_positions(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Indexes in ``text[start:end]`` of characters that could be a misread of another."""
    stop = len(text) if end is None else end
    return [i for i in range(start, stop) if text[i] in _MAP or text[i:i + 2] in ("rn", "vv", "cl")
            or (i > 0 and text[i - 1:i + 1] in ("rn", "vv", "cl"))]


def confusable_twins(value: str, known: Iterable[str]) -> list[str]:
    """Values of ``known`` that differ from ``value`` only by confusable characters or case."""
    mine = skeleton(value)
    return [k for k in known if k != value and skeleton(k) == mine]


# Characters a recogniser loses or swaps in a line (not within a value): a thin underscore read as a
# space, a comma for a full stop. Two readings of a line that differ only by these are one text.
_LINE_PAIRS = frozenset({frozenset("_ "), frozenset(".,"), frozenset(":;"), frozenset("'`")})


def misread_pair(a: str, b: str) -> bool:
    """Whether two characters of two readings of one line could be one character misread."""
    return a == b or skeleton(a) == skeleton(b) or frozenset((a, b)) in _LINE_PAIRS
