# SPDX-License-Identifier: GPL-3.0-or-later
"""The task runner: results, coalesced progress, cancel at a yield, one error path, one writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core.errors import CasetrailError
from desktop.core.progress import Progress
from desktop.ui.tasks import TaskManager, as_task


@pytest.fixture
def errors() -> list[tuple[str, BaseException]]:
    return []


@pytest.fixture
def manager(qtbot: QtBot, errors: list[tuple[str, BaseException]]) -> TaskManager:
    return TaskManager(lambda name, exc: errors.append((name, exc)))


def counting(n: int, result: str) -> Generator[Progress, None, str]:
    for i in range(n):
        yield Progress("step", i + 1, n, i + 1, n)
    return result


def test_result_arrives_on_the_gui_thread(qtbot: QtBot, manager: TaskManager) -> None:
    seen: list[tuple[str, bool]] = []
    gui = threading.get_ident()
    handle = manager.run_read("Count", lambda: counting(3, "done"),
                              on_success=lambda r: seen.append((r, threading.get_ident() == gui)))
    with qtbot.waitSignal(handle.finished, timeout=TASK_MS) as blocker:
        pass
    assert blocker.args == ["succeeded"]
    assert seen == [("done", True)]
    assert handle.result == "done"


def test_progress_is_coalesced_and_the_last_tick_is_shown(qtbot: QtBot, manager: TaskManager) -> None:
    ticks: list[Progress] = []
    started = time.monotonic()
    handle = manager.run_read("Many", lambda: counting(200_000, "ok"), on_progress=ticks.append)
    with qtbot.waitSignal(handle.finished, timeout=TASK_MS):
        pass
    elapsed = time.monotonic() - started
    assert handle.outcome == "succeeded"
    # ~10 a second: far fewer than the 200 000 ticks yielded, and the final state is shown.
    assert 1 <= len(ticks) <= 12 * elapsed + 2
    assert ticks[-1].done == 200_000


def test_cancel_closes_the_generator_at_a_yield(qtbot: QtBot, manager: TaskManager) -> None:
    closed = threading.Event()
    first = threading.Event()

    def endless() -> Generator[Progress, None, None]:
        try:
            while True:
                first.set()
                yield Progress("spin")
        finally:
            closed.set()

    handle = manager.run_write("Spin", endless)
    qtbot.waitUntil(first.is_set, timeout=TASK_MS)
    with qtbot.waitSignal(handle.finished, timeout=TASK_MS) as blocker:
        handle.cancel()
    assert blocker.args == ["cancelled"]
    assert closed.is_set()


def test_failures_go_to_the_one_error_handler(qtbot: QtBot, manager: TaskManager,
                                              errors: list[tuple[str, BaseException]]) -> None:
    def failing() -> Generator[Progress, None, None]:
        yield Progress("a")
        raise CasetrailError("the vault cannot be written")

    succeeded: list[object] = []
    handle = manager.run_write("Import", failing, on_success=succeeded.append)
    with qtbot.waitSignal(handle.finished, timeout=TASK_MS) as blocker:
        pass
    assert blocker.args == ["failed"]
    assert succeeded == []
    assert len(errors) == 1
    assert errors[0][0] == "Import"
    assert str(errors[0][1]) == "the vault cannot be written"


def test_writes_run_one_at_a_time(qtbot: QtBot, manager: TaskManager) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def write() -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)  # hold the "write" so an overlap would be seen, not to wait for anything
        with lock:
            active -= 1
        return threading.get_ident()

    handles = [manager.run_write(f"W{i}", lambda: as_task(write)) for i in range(4)]
    assert manager.writing
    qtbot.waitUntil(lambda: all(not h.running for h in handles), timeout=TASK_MS)
    assert peak == 1
    assert len({h.result for h in handles}) == 1  # the single writer thread did all of them
    assert not manager.writing


def test_leftover_guard_fails_a_test_that_leaves_a_job_running(qtbot: QtBot, manager: TaskManager,
                                                                task_guard: Any) -> None:
    started = threading.Event()

    def endless() -> Generator[Progress, None, None]:
        while True:
            started.set()
            yield Progress("never ends")

    handle = manager.run_read("Forgotten", endless)
    qtbot.waitUntil(started.is_set, timeout=TASK_MS)
    assert task_guard.running() == ["Forgotten"]
    with pytest.raises(pytest.fail.Exception, match="left task\\(s\\) running in a pool: Forgotten"):
        task_guard.fail_on_leftovers()
    # The guard stopped the job, so it cannot leak into the next test.
    qtbot.waitUntil(lambda: not handle.running, timeout=TASK_MS)
    assert handle.outcome == "cancelled"
