# SPDX-License-Identifier: GPL-3.0-or-later
"""The task panel: every background task the analyst started, its progress, time left, cancel.

Fed by :class:`desktop.ui.tasks.TaskManager` (its ``started`` signal and each handle's
progress), the same ticks the progress dialogs show. Each listed task (imports, analyses,
verify, exports, briefings, feed work, opening a case, correlation and the graph's layout) gets
a row: what it does now, a bar, the **time left** estimated from the rate so far ("estimating…"
until a few seconds and a percent of progress give a rate), and Cancel. A task that ended
stays listed with its result in one sentence, until "Clear finished" (at most
:data:`KEEP_FINISHED` finished rows are kept).

The estimate is per stage: an import acquires, then analyses, at very different rates, so the
estimate starts again when the stage changes and says which stage it is for.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.core.acquire import ImportReport
from desktop.core.progress import Progress
from desktop.ui import case_text
from desktop.ui.import_dialog import stage_fraction
from desktop.ui.tasks import TaskHandle, TaskManager

KEEP_FINISHED = 40
_BAR_STEPS = 1000
ESTIMATE_AFTER_S = 2.0  # no estimate from the first ticks: start-up costs are not the rate
ESTIMATE_AFTER_SHARE = 0.01
_now = time.monotonic  # the panel's clock (tests replace it)


def duration_text(seconds: float) -> str:
    """``12 s``, ``3 min 20 s``, ``1 h 05 min``: how long, for a person."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class RemainingTime:
    """The time left of one stage, from the rate at which its share has grown so far."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self._start = (0.0, 0.0)  # time and share when the stage was first seen
        self.share = 0.0

    def update(self, stage: str, share: float, now: float) -> None:
        """A new share (0 to 1) of ``stage`` at monotonic time ``now``."""
        if stage != self.stage:
            self.stage, self._start, self.share = stage, (now, share), share
            return
        self.share = max(self.share, share)

    def seconds_left(self, now: float) -> float | None:
        """Seconds left in the stage, or None while there is no rate to go by."""
        started, first = self._start
        elapsed, gained = now - started, self.share - first
        if elapsed < ESTIMATE_AFTER_S or gained < ESTIMATE_AFTER_SHARE:
            return None
        return max(0.0, (1.0 - self.share) * elapsed / gained)

    def text(self, now: float) -> str:
        """``about 2 min 10 s left (analysing)``, or ``estimating…``."""
        left = self.seconds_left(now)
        if left is None:
            return "estimating\u2026"
        return f"about {duration_text(left)} left" + (f" ({self.stage})" if self.stage else "")


def result_sentence(handle: TaskHandle[Any], elapsed_s: float) -> str:
    """One sentence for a task that ended: its outcome, what it made, how long it took."""
    took = f" after {duration_text(elapsed_s)}"
    if handle.outcome == "cancelled":
        return f"Cancelled{took}; nothing half-done was kept."
    if handle.outcome == "failed":
        return f"Failed{took}: {handle.error}"
    result: Any = handle.result
    said = ""
    summary = getattr(result, "summary", None)
    if callable(summary):
        said = str(summary())
    elif isinstance(result, str):
        said = result
    elif isinstance(result, ImportReport):
        said = f"{len(result.acquired)} acquired, {len(result.failed)} could not be"
        if result.analysed or result.analysis_failed:
            said += f", {len(result.analysed)} analysed"
    first = said.strip().splitlines()[0] if said.strip() else ""
    return f"Done in {duration_text(elapsed_s)}" + (f": {first}" if first else ".")


class TaskRow(QWidget):
    """One task: name, what it does now, a bar, time left, Cancel; then its result."""

    def __init__(self, handle: TaskHandle[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("taskRow")
        self.handle: TaskHandle[Any] | None = handle
        self.name = handle.name
        self.started = _now()
        self.remaining = RemainingTime()
        self.finished = False
        self.title = case_text.plain_label(self, handle.name)
        self.title.setObjectName("taskName")
        self.step = case_text.plain_label(self, "starting\u2026")
        self.step.setObjectName("taskStep")
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)  # busy until a tick gives a share
        self.bar.setMaximumHeight(14)
        self.eta = QLabel("estimating\u2026", self)
        self.eta.setObjectName("taskRemaining")
        self.eta.setMinimumWidth(150)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.step.setWordWrap(True)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.bar, 1)
        bottom.addWidget(self.eta)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.step)
        layout.addLayout(bottom)
        handle.progress_changed.connect(self.show_progress)
        handle.finished.connect(self._on_handle_finished)

    def show_progress(self, tick: Progress) -> None:
        """One coalesced tick of the task."""
        if self.finished:
            return
        now = _now()
        what = tick.label or tick.stage
        if tick.overall_total:
            what += f" \u2014 {tick.overall_done:,} of {tick.overall_total:,}"
        case_text.plain(self.step, what)
        share = stage_fraction(tick)
        if share is None and tick.total:
            share = min(1.0, tick.done / tick.total)
        if share is None:
            self.bar.setRange(0, 0)
            return
        self.bar.setRange(0, _BAR_STEPS)
        self.remaining.update(tick.stage, share, now)
        self.bar.setValue(round(_BAR_STEPS * self.remaining.share))
        self.eta.setText(self.remaining.text(now))

    def refresh_remaining(self) -> None:
        """Count the time left down between ticks (a long step yields no tick for a while)."""
        if not self.finished and self.bar.maximum():
            self.eta.setText(self.remaining.text(_now()))

    def cancel(self) -> None:
        """Ask the task to stop at its next step."""
        if self.handle is not None and not self.finished:
            self.handle.cancel()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling\u2026")

    def _on_handle_finished(self, _outcome: str) -> None:
        handle = self.handle
        if handle is None:
            return
        self.finished = True
        self.outcome = handle.outcome
        self.sentence = result_sentence(handle, _now() - self.started)
        self.handle = None  # the manager deletes it now
        case_text.plain(self.step, self.sentence)
        self.step.setToolTip(case_text.tooltip(self.sentence))
        self.eta.setText({"succeeded": "done", "failed": "failed", "cancelled": "cancelled"}.get(
            self.outcome, self.outcome))
        self.bar.setRange(0, _BAR_STEPS)
        self.bar.setValue(_BAR_STEPS if self.outcome == "succeeded" else self.bar.value())
        self.cancel_button.hide()


class TaskPanel(QWidget):
    """Every listed background task of the window, running ones first."""

    def __init__(self, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("taskPanel")
        self.rows: list[TaskRow] = []
        self._list = QWidget(self)
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        self.empty = QLabel("No background tasks yet: imports, analyses, verify runs, exports and briefings "
                            "are listed here with their progress.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.clear_button = QPushButton("Clear finished", self)
        self.clear_button.clicked.connect(self.clear_finished)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.empty)
        layout.addWidget(scroll, 1)
        layout.addLayout(bar)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._on_clock_timeout)
        tasks.started.connect(self.add)
        self._update()

    def add(self, handle: TaskHandle[Any]) -> TaskRow | None:
        """List a task that just started (tasks not meant to be listed are left out)."""
        if not handle.listed:
            return None
        row = TaskRow(handle, self._list)
        handle.finished.connect(lambda _outcome: self._update())
        self.rows.insert(0, row)
        self._list_layout.insertWidget(0, row)
        finished = [r for r in self.rows if r.finished]
        for old in finished[KEEP_FINISHED:]:
            self._drop(old)
        self._update()
        return row

    def running(self) -> list[TaskRow]:
        """The rows of tasks that have not ended."""
        return [r for r in self.rows if not r.finished]

    def clear_finished(self) -> None:
        """Forget the tasks that ended."""
        for row in [r for r in self.rows if r.finished]:
            self._drop(row)
        self._update()

    def _drop(self, row: TaskRow) -> None:
        self.rows.remove(row)
        self._list_layout.removeWidget(row)
        row.deleteLater()

    def _on_clock_timeout(self) -> None:
        for row in self.running():
            row.refresh_remaining()

    def _update(self) -> None:
        if self.running():
            self._clock.start()
        else:
            self._clock.stop()
        self.empty.setVisible(not self.rows)
        self.clear_button.setEnabled(any(r.finished for r in self.rows))
