# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the core's long operations off the GUI thread, so the window never freezes.

Core operations are generators that yield :class:`~desktop.core.progress.Progress` and return a
result (napari's generator workers). A :class:`TaskRunnable` drives one on a ``QThreadPool``; its
signals live on a separate :class:`TaskSignals` object because a ``QRunnable`` is not a
``QObject``. Two pools, as in Anki's ``taskman``: a single-thread *write* pool through which every
operation that writes to the case passes (imports and verify both append custody), so writes never
race; and a general *read* pool for read-only work.

Progress is coalesced to about ten updates a second: hashing yields once per 4 MiB chunk, which is
hundreds of ticks a second on a fast disk, far more than a progress bar can show. Cancel is
cooperative: the worker checks between yields and calls ``gen.close()``, which the core guarantees
leaves nothing half-recorded. Every failure goes to one error handler (the window shows a dialog);
results come back to the GUI thread by queued signal, never by touching widgets from a worker.

This module must never touch widgets or the case's writer connection itself: it only moves
generators, progress and results between threads.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Generator
from typing import Any, ClassVar, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from desktop.core.progress import Progress

T = TypeVar("T")
TaskFactory = Callable[[], Generator[Progress, None, T]]
ErrorHandler = Callable[[str, BaseException], None]

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1  # ~10 updates a second: smooth to the eye, cheap for the event loop


def as_task(fn: Callable[[], T], label: str = "") -> Generator[Progress, None, T]:
    """Wrap a plain function as a one-step task, for work that has no progress of its own."""
    yield Progress(label)
    return fn()


class TaskSignals(QObject):
    """The signals of one :class:`TaskRunnable`, emitted from the worker thread.

    Signals:
        progress_made: a coalesced :class:`Progress` tick.
        succeeded: the task returned; carries its result.
        failed: the task raised; carries the exception.
        cancelled: the task was closed at a cancel point before it finished.
    """

    progress_made = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()


class TaskRunnable(QRunnable):
    """Drives one generator task to its end on a pool thread, honouring cancel between yields.

    Args:
        factory: called on the worker thread to create the generator, so even the task's setup
            (e.g. walking a folder before an import) stays off the GUI thread.
        cancel_event: set by the GUI thread to ask the task to stop at its next yield.
    """

    def __init__(self, factory: TaskFactory[Any], cancel_event: threading.Event) -> None:
        super().__init__()
        self.signals = TaskSignals()
        self._factory = factory
        self._cancel = cancel_event

    def run(self) -> None:
        """Run the task; every outcome ends in exactly one of succeeded, failed or cancelled."""
        try:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
                return
            gen = self._factory()
            last_emit = 0.0
            pending: Progress | None = None
            while True:
                if self._cancel.is_set():
                    gen.close()  # GeneratorExit at the yield: the core cleans up what it began
                    self.signals.cancelled.emit()
                    return
                try:
                    tick = next(gen)
                except StopIteration as stop:
                    if pending is not None:
                        self.signals.progress_made.emit(pending)
                    self.signals.succeeded.emit(stop.value)
                    return
                now = time.monotonic()
                if now - last_emit >= PROGRESS_INTERVAL_S:
                    self.signals.progress_made.emit(tick)
                    last_emit, pending = now, None
                else:
                    pending = tick
        except Exception as exc:  # all failures go to the one error handler, on the GUI thread
            self.signals.failed.emit(exc)


class TaskHandle(QObject, Generic[T]):
    """The GUI-thread side of one running task: callbacks, cancel, and its outcome.

    Signals:
        progress_changed: a coalesced :class:`Progress` tick, on the GUI thread.
        finished: the task ended; carries ``"succeeded"``, ``"failed"`` or ``"cancelled"``.

    Attributes:
        name: what the task does, for messages (e.g. ``"Import"``).
        outcome: empty while running, then the value ``finished`` carried.
        result: the task's return value when it succeeded.
        error: the exception when it failed.
        listed: whether the task panel lists it (long work the analyst started, not a picture
            rendered for a pane).
    """

    progress_changed = Signal(object)
    finished = Signal(str)

    def __init__(self, name: str, runnable: TaskRunnable, cancel_event: threading.Event,
                 on_success: Callable[[T], None] | None,
                 on_progress: Callable[[Progress], None] | None,
                 on_done: Callable[[str], None] | None,
                 error_handler: ErrorHandler, parent: QObject | None = None,
                 owner: QObject | None = None, listed: bool = False) -> None:
        super().__init__(parent)
        self.name = name
        self.listed = listed
        self._owner = owner
        self.outcome = ""
        self.result: T | None = None
        self.error: BaseException | None = None
        self._cancel = cancel_event
        self._on_success = on_success
        self._on_progress = on_progress
        self._on_done = on_done
        self._error_handler = error_handler
        # The handle lives on the GUI thread, so these connections are queued: the slots run on
        # the GUI thread whichever thread emits.
        runnable.signals.progress_made.connect(self._on_runnable_progress_made)
        runnable.signals.succeeded.connect(self._on_runnable_succeeded)
        runnable.signals.failed.connect(self._on_runnable_failed)
        runnable.signals.cancelled.connect(self._on_runnable_cancelled)
        self._signals = runnable.signals  # keep the emitter alive until the task has ended

    def _owner_alive(self) -> bool:
        """Whether the widget the callbacks belong to still exists (a closed dialog deletes itself)."""
        return self._owner is None or shiboken6.isValid(self._owner)

    @property
    def running(self) -> bool:
        """Whether the task has not ended yet."""
        return not self.outcome

    def cancel(self) -> None:
        """Ask the task to stop at its next cancel point (a ``yield``)."""
        self._cancel.set()

    @Slot(object)
    def _on_runnable_progress_made(self, tick: Progress) -> None:
        if self.outcome:
            return
        if self._on_progress is not None and self._owner_alive():
            self._on_progress(tick)
        self.progress_changed.emit(tick)

    @Slot(object)
    def _on_runnable_succeeded(self, result: T) -> None:
        self.result = result
        try:
            if self._on_success is not None and self._owner_alive():
                self._on_success(result)
        except Exception as exc:  # a bug in a success callback is still reported, not lost
            self.error = exc
            self._error_handler(self.name, exc)
        self._finish("succeeded")

    @Slot(object)
    def _on_runnable_failed(self, exc: BaseException) -> None:
        self.error = exc
        self._error_handler(self.name, exc)
        self._finish("failed")

    @Slot()
    def _on_runnable_cancelled(self) -> None:
        self._finish("cancelled")

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        if self._on_done is not None and self._owner_alive():
            self._on_done(outcome)
        self.finished.emit(outcome)


class TaskManager(QObject):
    """Owns the two pools and every running task (Anki's ``taskman``).

    Args:
        error_handler: called on the GUI thread with the task name and the exception of every
            task that fails; the window shows it in a dialog.
        parent: the owning QObject (the main window).

    Signals:
        busy_changed: whether any write task is running now.
        started: a task was started; carries its :class:`TaskHandle` (the task panel lists it).
        ended: a task ended, read or write; carries its handle, no longer among ``running()``
            (the status bar's count of running tasks follows it).
        wrote: a write task ended (its name), whatever its outcome: the case may have new
            custody entries, so views of the whole case (the custody log, the status bar)
            read it again instead of going stale until the next import or verify.
    """

    busy_changed = Signal(bool)
    wrote = Signal(str)
    started = Signal(object)
    ended = Signal(object)

    _instances: ClassVar[weakref.WeakSet[TaskManager]] = weakref.WeakSet()

    def __init__(self, error_handler: ErrorHandler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._error_handler = error_handler
        self._write_pool = QThreadPool(self)
        self._write_pool.setMaxThreadCount(1)  # one writer: custody appends never race
        self._read_pool = QThreadPool(self)
        self._handles: list[TaskHandle[Any]] = []
        self._writes = 0
        TaskManager._instances.add(self)

    @classmethod
    def live(cls) -> list[TaskManager]:
        """Every task manager still alive (the test suite checks none leaves work running)."""
        return [mgr for mgr in cls._instances if shiboken6.isValid(mgr)]

    def run_write(self, name: str, factory: TaskFactory[T], *,
                  on_success: Callable[[T], None] | None = None,
                  on_progress: Callable[[Progress], None] | None = None,
                  on_done: Callable[[str], None] | None = None,
                  owner: QObject | None = None, listed: bool = True) -> TaskHandle[T]:
        """Run a task that writes to the case on the single-thread write pool.

        ``owner``: the widget the callbacks touch; if it is deleted first (a dialog closed while
        its task ran), the callbacks are skipped instead of calling into a deleted object. A
        failure is still reported. ``listed``: shown in the task panel (writes are, by default).
        """
        return self._start(self._write_pool, True, name, factory, on_success, on_progress, on_done, owner,
                           listed)

    def run_read(self, name: str, factory: TaskFactory[T], *,
                 on_success: Callable[[T], None] | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_done: Callable[[str], None] | None = None,
                 owner: QObject | None = None, listed: bool = False) -> TaskHandle[T]:
        """Run a read-only task on the general pool (it must open its own read connection).

        ``owner``: as for :meth:`run_write`. ``listed``: shown in the task panel (reads are not,
        by default: most render a pane; long reads the analyst waits for say so).
        """
        return self._start(self._read_pool, False, name, factory, on_success, on_progress, on_done, owner,
                           listed)

    @property
    def writing(self) -> bool:
        """Whether a write task is queued or running."""
        return self._writes > 0

    @property
    def read_threads(self) -> int:
        """How many read tasks can run at once (the pool's threads: the machine's cores)."""
        return self._read_pool.maxThreadCount()

    def running(self) -> list[TaskHandle[Any]]:
        """The tasks that have not ended yet."""
        return [h for h in self._handles if h.running]

    def cancel_all(self) -> None:
        """Ask every running task to stop at its next cancel point."""
        for handle in self.running():
            handle.cancel()

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until both pools are idle (for shutdown); True if they are."""
        return self._write_pool.waitForDone(msecs) and self._read_pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 30000) -> bool:
        """Cancel everything and wait for the pools; True if they stopped in time."""
        self.cancel_all()
        return self.wait_for_done(msecs)

    def _start(self, pool: QThreadPool, write: bool, name: str, factory: TaskFactory[T],
               on_success: Callable[[T], None] | None,
               on_progress: Callable[[Progress], None] | None,
               on_done: Callable[[str], None] | None, owner: QObject | None,
               listed: bool) -> TaskHandle[T]:
        cancel_event = threading.Event()
        runnable = TaskRunnable(factory, cancel_event)
        handle: TaskHandle[T] = TaskHandle(name, runnable, cancel_event, on_success, on_progress,
                                           on_done, self._error_handler, self, owner, listed)
        self._handles.append(handle)
        if write:
            self._writes += 1
            if self._writes == 1:
                self.busy_changed.emit(True)
        handle.finished.connect(lambda _outcome: self._on_handle_finished(handle, write))
        self.started.emit(handle)
        pool.start(runnable)
        return handle

    def _on_handle_finished(self, handle: TaskHandle[Any], write: bool) -> None:
        if handle in self._handles:
            self._handles.remove(handle)
        handle.deleteLater()
        self.ended.emit(handle)
        if write:
            self._writes -= 1
            self.wrote.emit(handle.name)
            if self._writes == 0:
                self.busy_changed.emit(False)
