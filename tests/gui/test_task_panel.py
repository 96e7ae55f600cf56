# SPDX-License-Identifier: GPL-3.0-or-later
"""The task panel: each background task with progress, time left (once there is a rate), cancel,
and the result of those that ended."""

from __future__ import annotations

import queue
from collections.abc import Generator

import pytest
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core.errors import CasetrailError
from desktop.core.progress import Progress
from desktop.ui import task_panel, tasks
from desktop.ui.main_window import MainWindow
from desktop.ui.task_panel import RemainingTime, TaskRow, duration_text


def test_the_time_left_waits_for_a_rate_then_follows_it() -> None:
    left = RemainingTime()
    left.update("acquiring", 0.0, 100.0)
    assert left.text(100.5) == "estimating\u2026"
    left.update("acquiring", 0.005, 101.0)
    assert left.seconds_left(103.0) is None  # half a percent: no rate yet
    left.update("acquiring", 0.25, 110.0)  # a quarter in ten seconds
    assert left.seconds_left(110.0) == pytest.approx(30.0)
    assert left.text(110.0) == "about 30 s left (acquiring)"
    left.update("analysing", 0.0, 111.0)  # another stage: another rate
    assert left.text(111.0) == "estimating\u2026"
    assert duration_text(200) == "3 min 20 s"
    assert duration_text(3 * 3600 + 300) == "3 h 05 min"


def _fed(ticks: queue.Queue[int | None]) -> Generator[Progress, None, str]:
    while True:
        share = ticks.get(timeout=TASK_MS / 1000)
        if share is None:
            return "12 files checked"
        yield Progress("checking", overall_done=share, overall_total=100, stage="verifying")


def test_a_task_is_listed_with_its_progress_time_left_and_result(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(task_panel, "_now", lambda: clock[0])
    monkeypatch.setattr(tasks, "PROGRESS_INTERVAL_S", 0.0)  # every tick reaches the panel
    ticks: queue.Queue[int | None] = queue.Queue()
    handle = window.tasks.run_write("Verify", lambda: _fed(ticks))
    panel = window.task_panel
    assert panel.rows
    row: TaskRow = panel.rows[0]
    assert row.title.text() == "Verify"
    assert "1 task running" in window.tasks_button.text()
    ticks.put(0)
    qtbot.waitUntil(lambda: "0 of 100" in row.step.text(), timeout=TASK_MS)
    assert row.eta.text() == "estimating\u2026"
    clock[0] += 20
    ticks.put(40)
    qtbot.waitUntil(lambda: "40 of 100" in row.step.text(), timeout=TASK_MS)
    assert row.eta.text() == "about 30 s left (verifying)"  # 40 % in 20 s: 60 % in 30 s
    assert row.bar.value() == 400
    clock[0] += 30
    ticks.put(None)
    qtbot.waitUntil(lambda: row.finished, timeout=TASK_MS)
    assert handle.outcome == "succeeded"
    assert row.sentence == "Done in 50 s: 12 files checked"
    assert row.step.text() == row.sentence
    assert not row.cancel_button.isVisibleTo(row)
    assert window.tasks_button.text() == "\u2699 Tasks"
    panel.clear_finished()
    assert not panel.rows


def _forever() -> Generator[Progress, None, None]:
    while True:
        yield Progress("waiting")


def _broken() -> Generator[Progress, None, None]:
    yield Progress("starting")
    raise CasetrailError("the case folder is gone")


def test_cancel_and_failure_end_in_one_sentence(qtbot: QtBot, window: MainWindow,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window, "show_task_error", lambda *a: None)
    window.tasks_action.trigger()
    assert window.task_dock.isVisible()
    window.tasks.run_write("Import", _forever)
    row = window.task_panel.rows[0]
    row.cancel_button.click()
    qtbot.waitUntil(lambda: row.finished, timeout=TASK_MS)
    assert row.sentence.startswith("Cancelled after")
    window.tasks._error_handler = lambda *a: None  # the window's dialog is not what is tested here
    window.tasks.run_write("Export STIX", _broken)
    failed = window.task_panel.rows[0]
    qtbot.waitUntil(lambda: failed.finished, timeout=TASK_MS)
    assert failed.sentence.startswith("Failed after")
    assert failed.sentence.endswith("the case folder is gone")
    window.tasks.run_read("Render frame", _broken)  # a pane's picture: not listed
    assert window.task_panel.rows[0] is failed
    qtbot.waitUntil(lambda: not window.tasks.running(), timeout=TASK_MS)


def test_the_status_bar_stops_counting_a_read_task_when_it_ends(qtbot: QtBot, window: MainWindow) -> None:
    # A read task (correlation, a graph layout) changes no write state: the count must still
    # follow it, or the status bar says "1 task running" while the panel shows all done.
    ticks: queue.Queue[int | None] = queue.Queue()
    handle = window.tasks.run_read("Lay out graph", lambda: _fed(ticks), listed=True)
    assert "1 task running" in window.tasks_button.text()
    ticks.put(None)
    qtbot.waitUntil(lambda: handle.outcome == "succeeded", timeout=TASK_MS)
    assert window.tasks_button.text() == "\u2699 Tasks"
