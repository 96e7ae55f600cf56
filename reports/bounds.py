# SPDX-License-Identifier: GPL-3.0-or-later
"""How much of one value the briefing prints: every length-driven path is bounded here.

A value from the evidence can be as long as the evidence: a 2,000-character URL, a Subject of
10 MB, a Received header of a few thousand hops, the title an analyst gave another case. reportlab
cannot split a table row over pages, so a cell taller than a page stops the whole briefing, and a
paragraph of megabytes takes minutes to lay out. Every piece of case text therefore passes through
:func:`bounded` on its way into a paragraph: it is cut at a limit that depends on where it is
printed (a table cell, a heading, running text) and the cut is said in the text itself, with the
number of characters left out, so a reader never takes a shortened value for the whole one. The whole value
stays in the case (``casetrail indicators --json``, the CSV export, the window).

The limits are in characters, chosen so that the worst case fits: a cell of a 32 mm column
(8 pt, about 20 characters a line) holding :data:`CELL_CHARS` characters is 50 lines, under a
page; the tables whose cells can be longer split their rows over pages.

This is the briefing's one place for such bounds (issue 16): ``reports.sections.context.Ctx.p``
calls it for every paragraph, the indicator table for the names of what an indicator matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from desktop.core import limits
from reports.safe_text import Run

CELL_CHARS = 1000
"""The most of one value a table cell prints (all the matches of an indicator are one value)."""
NAME_CHARS = 120
"""The most of a name (another case's title, a feed's name) printed beside a value it qualifies."""
FINDING_CHARS = 3000
"""The most of a key finding printed (a table row that does not split over pages)."""
HEADING_CHARS = 200
"""The most of one value a heading (and its outline entry) prints."""
TEXT_CHARS = 20_000
"""The most of one value a paragraph of running text prints (it may span pages)."""

_CELL_STYLES = frozenset({"cell", "cellb", "mono", "head", "headc", "center", "center_on_dark"})
_HEADING_STYLES = frozenset({"h1", "h2", "h3", "title", "kicker"})


def limit_for(style: str) -> int:
    """The number of characters a paragraph of ``style`` prints of one value."""
    if style in _CELL_STYLES:
        return CELL_CHARS
    if style in _HEADING_STYLES:
        return HEADING_CHARS
    if style == "finding":
        return FINDING_CHARS
    return TEXT_CHARS


def bound_text(text: str, limit: int) -> str:
    """``text`` whole when it is at most ``limit`` characters, else its start and the marker.

    The marker is the case's one form (:func:`desktop.core.limits.cut_marker`, as the analysis
    and the window say it): ``… [1,234 more characters]``.
    """
    return limits.shorten(text, limit)


def bounded(text: object | Sequence[Run | str], style: str) -> object | list[Run | str]:
    """Case text (a value, or a paragraph of :class:`Run`) cut to what ``style`` prints.

    A paragraph of runs is cut as a whole: the runs are kept in order until the budget is spent,
    the last one is cut, and the marker (with what the paragraph left out) follows in a run of
    its own. Anything else is ``str()``-ed, as :func:`reports.safe_text.safe_para` would.
    """
    limit = limit_for(style)
    if isinstance(text, list | tuple):
        runs = [r if isinstance(r, Run) else Run(r) for r in text]
        total = sum(len(str(r.text)) for r in runs)
        if total <= limit:
            return list(text)
        out: list[Run | str] = []
        left = limit
        for r in runs:
            s = str(r.text)
            if left <= 0:
                break
            out.append(dataclasses.replace(r, text=s[:left]) if len(s) > left else r)
            left -= len(s)
        out.append(Run(limits.cut_marker(total - limit)))
        return out
    if isinstance(text, str):
        return bound_text(text, limit)
    return bound_text(str(text), limit)
