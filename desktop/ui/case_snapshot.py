# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading the assessment and the timeline off the GUI thread, as plain snapshots.

The core's assessment functions take a :class:`~desktop.core.case.Case` and read through its
``db`` connection. The window's writer connection belongs to the write pool, so the views never
pass the window's case to a read: each read task here opens a read-only view of the case on a
connection of its own (``Case.reader()``), calls the core, and closes it. A reader sees only
committed data, so a snapshot never shows a half-written change.

This module only moves data; it must never write to the case or touch widgets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from desktop.core import analysis
from desktop.core.case import Case
from desktop.core.progress import Progress, Task

# What a reference chooser offers per evidence kind: (id, one line).
RefChoices = dict[str, list[tuple[int, str]]]


@dataclass(frozen=True)
class AssessmentSnapshot:
    """Everything the Assessment tab shows, read in one go.

    Attributes:
        matrix: hypotheses, evidence rows, ratings and the ranking.
        judgments: key judgments in reading order.
        notes: analyst notes in the order written.
        refs: what ACH evidence may refer to, per kind (``item``, ``indicator``, ``note``).
    """

    matrix: analysis.Matrix
    judgments: list[analysis.Judgment]
    notes: list[analysis.Note]
    refs: RefChoices = field(default_factory=dict)


@contextlib.contextmanager
def read_only_view(case: Case) -> Iterator[Case]:
    """Yield a read-only ``Case`` over a fresh read connection, for one task on one thread.

    The view has no writer lock (so ``read_only`` is True and any write the core attempts is
    refused) and its connection is closed when the block ends.
    """
    view = Case(case.path, case.reader(), None, "a read-only view for a window task", case.examiner)
    try:
        yield view
    finally:
        view.db.conn.close()


def _refs(view: Case) -> RefChoices:
    return {kind: analysis.reference_choices(view, kind) for kind in ("item", "indicator", "note")}


def read_assessment(case: Case) -> Task[AssessmentSnapshot]:
    """Read the ACH matrix, judgments, notes and reference choices (read pool)."""
    yield Progress("assessment")
    with read_only_view(case) as view:
        return AssessmentSnapshot(analysis.matrix(view), analysis.list_judgments(view),
                                  analysis.list_notes(view), _refs(view))


def read_timeline(case: Case, custody_events: str = "grouped") -> Task[list[analysis.Event]]:
    """Read the case timeline (read pool); see :func:`desktop.core.analysis.timeline`."""
    yield Progress("timeline")
    with read_only_view(case) as view:
        return analysis.timeline(view, custody_events=custody_events)
