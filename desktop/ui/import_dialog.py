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
    """A modeless progress window for one long task: the current file and the whole run.

    The window stays usable while it is shown; Cancel asks the task to stop at its next step.

    Signals:
        cancel_requested: the examiner pressed Cancel.
    """

    cancel_requested = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.setMinimumWidth(460)
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
        if tick.overall_done > self._finished_steps:
            # Steps completed since the last tick: count the bytes of the file that just ended.
            self._finished_bytes += self._last_total
            self._finished_steps = tick.overall_done
        self._last_total = tick.total
        self.last_progress = tick
        if tick.total:
            case_text.plain(self.file_label, f"{tick.label} \u2014 {human_size(tick.done)} of "
                                             f"{human_size(tick.total)}")
            self.file_bar.setValue(_BAR_STEPS * tick.done // tick.total)
        else:
            case_text.plain(self.file_label, tick.label)
            self.file_bar.setValue(0)
        if tick.overall_total:
            current = min(tick.overall_done + 1, tick.overall_total)
            read = self._finished_bytes + (tick.done if tick.overall_done < tick.overall_total else 0)
            self.overall_label.setText(f"File {current} of {tick.overall_total} \u2014 "
                                       f"{human_size(read)} read")
            self.overall_bar.setValue(_BAR_STEPS * tick.overall_done // tick.overall_total)
        else:
            self.overall_label.setText("")

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling\u2026")
        self.cancel_requested.emit()

    def reject(self) -> None:
        """Escape or the close button mean Cancel: the task is stopped, never orphaned."""
        if self.cancel_button.isEnabled():
            self._on_cancel_button_clicked()
