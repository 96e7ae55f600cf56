# SPDX-License-Identifier: GPL-3.0-or-later
"""The progress value that long core operations yield.

Long operations are generators: every ``yield Progress(...)`` is both a progress tick and a point
where the caller may stop (cancel) the work cleanly. The generator's return value is the result.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One tick of a long operation.

    Attributes:
        label: what is being worked on now (a file name, a step).
        done: units finished within the current step (bytes for hashing).
        total: units in the current step, 0 when unknown.
        overall_done: steps (files) finished so far.
        overall_total: steps (files) in the whole operation, 0 when unknown; it may grow (an
            analysis finds attachments to analyse too).
        stage: which part of a longer operation this is (``acquiring``, ``analysing``; empty
            when the operation has one part), so a progress display can say what is being
            done and move one bar through all the parts without going back.
    """

    label: str
    done: int = 0
    total: int = 0
    overall_done: int = 0
    overall_total: int = 0
    stage: str = ""


Task = Generator[Progress, None, T]


def run_to_end(task: Generator[Progress, None, T]) -> T:
    """Drive a task without reporting progress and return its result."""
    while True:
        try:
            next(task)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
