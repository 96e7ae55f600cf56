# SPDX-License-Identifier: GPL-3.0-or-later
"""One tab's link to the open case: reads on the read pool, changes on the write pool.

The Assessment and Timeline tabs each hold a :class:`CaseSession`. A change is a call of a core
function (``analysis.set_rating(case, …)``) queued on the window's single-thread write pool, so
it never races an import and the custody entry the core appends is in order; a read is a task on
the read pool that opens its own connection (:mod:`desktop.ui.case_snapshot`). Results come back
on the GUI thread; results for a case that has since been closed are dropped.

This module must never call the core on the GUI thread or decide what a change means.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from desktop.core.case import Case
from desktop.core.changes import Changes
from desktop.core.progress import Task
from desktop.ui.tasks import TaskHandle, TaskManager, as_task

T = TypeVar("T")


class CaseSession(QObject):
    """Runs one tab's reads and changes against the open case.

    Signals:
        change_saved: a change was committed; carries its name (e.g. ``"Rate cell"``).
        change_failed: a change was refused or failed (the error dialog has been shown);
            carries its name.
        changes_made: a change returned what it changed (a :class:`~desktop.core.changes.Changes`,
            with its inverse when it can be undone); the window files it for Undo and refreshes
            what it names.
    """

    change_saved = Signal(str)
    change_failed = Signal(str)
    changes_made = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.case: Case | None = None
        self.tasks: TaskManager | None = None
        self._generation = 0
        self._pending = 0

    def set_case(self, case: Case | None, tasks: TaskManager | None) -> None:
        """Work on ``case`` from now on (None: no case); late results of the old one are dropped."""
        self._generation += 1
        self._pending = 0
        self.case = case
        self.tasks = tasks if case is not None else None

    @property
    def writable(self) -> bool:
        """Whether changes can be made (a case is open, and not read-only)."""
        return self.case is not None and not self.case.read_only

    @property
    def pending_changes(self) -> int:
        """Changes queued or running on the write pool; a snapshot read meanwhile may be stale."""
        return self._pending

    def read(self, name: str, factory: Callable[[Case], Task[T]],
             on_result: Callable[[T], None]) -> TaskHandle[T] | None:
        """Run ``factory(case)`` (a core generator task) on the read pool; hand back its result.

        Args:
            name: what is read, for the error dialog.
            factory: called on the worker thread with the case; returns the task generator.
            on_result: called on the GUI thread with the result, unless the case changed since.
        """
        if self.case is None or self.tasks is None:
            return None
        case, generation = self.case, self._generation

        def succeeded(result: T) -> None:
            if generation == self._generation:
                on_result(result)

        return self.tasks.run_read(name, lambda: factory(case), on_success=succeeded)

    def change(self, name: str, fn: Callable[[Case], object]) -> TaskHandle[object] | None:
        """Run ``fn(case)`` (one core write, recorded in custody by the core) on the write pool.

        Returns:
            The task's handle, or None when there is no writable case.
        """
        if not self.writable or self.tasks is None or self.case is None:
            return None
        case, generation = self.case, self._generation
        self._pending += 1

        def done(outcome: str) -> None:
            if generation != self._generation:
                return
            self._pending = max(0, self._pending - 1)
            if outcome == "succeeded":
                self.change_saved.emit(name)
            else:
                self.change_failed.emit(name)

        def succeeded(result: object) -> None:
            if generation == self._generation and isinstance(result, Changes):
                self.changes_made.emit(result)

        return self.tasks.run_write(name, lambda: as_task(lambda: fn(case), name), on_success=succeeded,
                                    on_done=done)
