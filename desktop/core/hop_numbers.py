# SPDX-License-Identifier: GPL-3.0-or-later
"""How the hops of a message's Received chain are numbered: one way, everywhere.

A message carries its ``Received`` headers newest first: each server prepends one. Casetrail
stores the hops in the order the message travelled, **index 0 = the hop nearest the origin**
(the oldest header, at the bottom), and shows them to people **numbered from 1 in the same
order: "hop 1 of 3" is the first server the message reached**, "hop 3 of 3" the last, nearest
the recipient. Before this module the storage index (from 0) leaked into the timeline, the
briefing and the spoofing flags while the message view and the occurrences counted from 1, so the
same hop was "hop 0" in one place and "hop 1" in the next.

Use :func:`number` / :func:`index_of` to convert, :func:`label` for the words, :func:`where` for an
occurrence's place, and :func:`index_from_header_position` when walking the headers top down.
Qt-free and pure.
"""

from __future__ import annotations

import re
from typing import Final

_WHERE: Final = re.compile(r"Received \(hop (\d+) of (\d+)\)\Z")


def number(index: int) -> int:
    """The number people see for the hop stored at ``index`` (0 → 1)."""
    if index < 0:
        raise ValueError(f"a hop index is never negative: {index}")
    return index + 1


def index_of(hop_number: int) -> int:
    """The storage index of the hop people call ``hop_number`` (1 → 0)."""
    if hop_number < 1:
        raise ValueError(f"hops are numbered from 1: {hop_number}")
    return hop_number - 1


def label(index: int, total: int | None = None) -> str:
    """``hop 2 of 4`` (or ``hop 2`` when the total is not known) for the hop stored at ``index``."""
    return f"hop {number(index)}" + (f" of {total}" if total is not None else "")


def where(index: int, total: int) -> str:
    """Where an occurrence in a Received header was found: ``Received (hop 2 of 4)``."""
    return f"Received ({label(index, total)})"


def index_from_where(text: str) -> int | None:
    """The storage index named by a :func:`where` text, or None when it names no hop."""
    match = _WHERE.match(text.strip())
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        return None
    return index_of(int(match[1]))


def index_from_header_position(position: int, total: int) -> int:
    """The storage index of the ``position``-th Received header from the top (0-based) of ``total``.

    The top header is the last hop (nearest the recipient), the bottom one the first.
    """
    if not 0 <= position < total:
        raise ValueError(f"header {position} of {total} Received headers")
    return total - 1 - position
