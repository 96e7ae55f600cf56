# SPDX-License-Identifier: GPL-3.0-or-later
"""Dialogs around an import: asking why the files are acquired, and showing the import's progress.

The reason an examiner gives (a warrant, a ticket, a request) goes into every custody entry of the
import, so it is asked for each time, optional but never silently defaulted.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.progress import Progress
from desktop.ui import case_text
from desktop.ui.display import human_size

_BAR_STEPS = 1000  # bars count in permille: QProgressBar is 32-bit and evidence files are not


class ImportReasonDialog(QDialog):
    """Asks for the optional reason or authority recorded with an import.

    Args:
        paths: what is about to be imported, listed so the examiner confirms the right thing.
        parent: the owning widget.
    """

    def __init__(self, paths: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import evidence")
        shown = "\n".join(case_text.shown(p) for p in paths[:8])
        more = f"\n\u2026 and {len(paths) - 8} more" if len(paths) > 8 else ""
        summary = QLabel(self)
        # One path a line, each escaped on its own (a newline inside a name stays visible as \n).
        case_text.plain(summary, "Acquire into the case (copied, hashed and recorded in custody):\n"
                                 f"{shown}{more}", multiline=True)
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText("e.g. warrant 2024-117, ticket INC-4411 (optional)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(QLabel("Reason or authority, recorded in custody:", self))
        layout.addWidget(self.reason)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    @staticmethod
    def ask(parent: QWidget | None, paths: list[Path]) -> str | None:
        """Show the dialog; return the reason (possibly empty), or None if the import is cancelled."""
        dialog = ImportReasonDialog(paths, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.reason.text().strip()


class TaskProgressDialog(QDialog):
    """A modeless progress window for one long task: the current step and the whole run.

    The window stays usable while it is shown; Cancel asks the task to stop at its next step.

    The overall bar runs once through the task's ``stages`` (an import acquires, then analyses;
    each stage gets an equal share) and never goes back: an analysis that finds attachments
    grows its total, and the bar then waits for the work to catch up instead of jumping back.
    Within acquisition the bytes of the file being copied count, so one large file moves it.

    Args:
        title: the window title.
        parent: the owning widget.
        stages: the :attr:`~desktop.core.progress.Progress.stage` names the task goes through, in
            order (empty: one stage).

    Signals:
        cancel_requested: the examiner pressed Cancel.
    """

    cancel_requested = Signal()

    def __init__(self, title: str, parent: QWidget | None = None, stages: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.setMinimumWidth(460)
        self.stages = stages
        self.file_label = case_text.plain_label(self, "Starting\u2026")
        self.file_bar = QProgressBar(self)
        self.file_bar.setRange(0, _BAR_STEPS)
        self.overall_label = QLabel("", self)
        self.overall_bar = QProgressBar(self)
        self.overall_bar.setRange(0, _BAR_STEPS)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addWidget(self.file_bar)
        layout.addWidget(self.overall_label)
        layout.addWidget(self.overall_bar)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignRight)
        self._finished_bytes = 0
        self._finished_steps = 0
        self._last_total = 0
        self.last_progress: Progress | None = None

    def update_progress(self, tick: Progress) -> None:
        """Show one (coalesced) progress tick."""
        if tick.stage == "analysing":
            self._show_analysis(tick)
        else:
            self._show_step(tick)
        self.last_progress = tick
        share = stage_fraction(tick)
        if share is not None:
            position = self.stages.index(tick.stage) if tick.stage in self.stages else 0
            value = round(_BAR_STEPS * (position + share) / (len(self.stages) or 1))
            self.overall_bar.setValue(max(self.overall_bar.value(), min(_BAR_STEPS, value)))

    def _show_step(self, tick: Progress) -> None:
        """A file being copied (or a step of verify): its bytes, and the files of the whole run."""
        if tick.overall_done > self._finished_steps:
            # Steps completed since the last tick: count the bytes of the file that just ended.
            self._finished_bytes += self._last_total
            self._finished_steps = tick.overall_done
        self._last_total = tick.total
        self.file_bar.setRange(0, _BAR_STEPS)
        if tick.total:
            case_text.plain(self.file_label, f"{tick.label} \u2014 {human_size(tick.done)} of "
                                             f"{human_size(tick.total)}")
            self.file_bar.setValue(_BAR_STEPS * tick.done // tick.total)
        else:
            case_text.plain(self.file_label, tick.label or "Finishing\u2026")
            self.file_bar.setValue(0)
        if tick.overall_total:
            current = min(tick.overall_done + 1, tick.overall_total)
            read = self._finished_bytes + (tick.done if tick.overall_done < tick.overall_total else 0)
            what = "File" if tick.stage == "acquiring" else "Step"
            shown = f"{what} {current} of {tick.overall_total}"
            if read:  # "0 bytes read" says nothing while the first file opens
                shown += f" \u2014 {human_size(read)} read"
            self.overall_label.setText(shown)
        else:
            self.overall_label.setText("")

    def _show_analysis(self, tick: Progress) -> None:
        """Items analysed in their sandboxes: which one was recorded last, how many of how many."""
        case_text.plain(self.file_label, f"Analysing {tick.label}" if tick.label else "Analysing\u2026")
        self.file_bar.setRange(0, 0 if tick.overall_done < tick.overall_total else _BAR_STEPS)  # busy
        if tick.overall_total:
            self.overall_label.setText(f"{tick.overall_done} of {tick.overall_total} item"
                                       f"{'s' if tick.overall_total != 1 else ''} analysed")

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling\u2026")
        self.cancel_requested.emit()

    def reject(self) -> None:
        """Escape or the close button mean Cancel: the task is stopped, never orphaned."""
        if self.cancel_button.isEnabled():
            self._on_cancel_button_clicked()


def stage_fraction(tick: Progress) -> float | None:
    """How far the tick's stage is, 0 to 1 (None: the tick says nothing about it).

    Shared by the progress dialog and the task panel, so both show the same share.
    """
    if not tick.overall_total:
        return None
    done = float(tick.overall_done)
    if tick.stage != "analysing" and tick.total and tick.overall_done < tick.overall_total:
        done += tick.done / tick.total  # the file being copied counts by its bytes
    return min(1.0, done / tick.overall_total)
