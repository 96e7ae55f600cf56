# SPDX-License-Identifier: GPL-3.0-or-later
"""The import dialogs: the reason asked for, and the progress window's wording and Cancel."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from desktop.core.acquire import ACQUIRING
from desktop.core.progress import Progress
from desktop.ui.import_dialog import ImportReasonDialog, TaskProgressDialog


def test_the_reason_is_returned_trimmed_and_cancel_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def accept(dialog: ImportReasonDialog) -> int:
        dialog.reason.setText("  warrant 2024-117 ")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ImportReasonDialog, "exec", accept)
    assert ImportReasonDialog.ask(None, [Path("/evidence/a.eml")]) == "warrant 2024-117"
    monkeypatch.setattr(ImportReasonDialog, "exec", lambda _d: QDialog.DialogCode.Rejected)
    assert ImportReasonDialog.ask(None, [Path("/evidence/a.eml")]) is None


def test_progress_shows_the_file_and_the_whole_run(qtbot: QtBot) -> None:
    dialog = TaskProgressDialog("Importing evidence", stages=(ACQUIRING,))
    qtbot.addWidget(dialog)
    dialog.update_progress(Progress("a.bin", 2_000_000, 4_000_000, 0, 3, ACQUIRING))
    assert dialog.file_label.text() == "a.bin \u2014 2.0 MB of 4.0 MB"
    assert dialog.file_bar.value() == 500
    assert dialog.overall_label.text() == "File 1 of 3 \u2014 2.0 MB read"
    assert dialog.overall_bar.value() == 167  # half of the first of three files
    dialog.update_progress(Progress("b.bin", 1_000_000, 5_000_000, 1, 3, ACQUIRING))
    assert dialog.overall_label.text() == "File 2 of 3 \u2014 5.0 MB read"
    assert dialog.overall_bar.value() == 400  # one file and a fifth of the second


def test_cancel_and_escape_both_ask_to_cancel_once(qtbot: QtBot) -> None:
    dialog = TaskProgressDialog("Importing evidence")
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.cancel_requested, timeout=1000):
        dialog.reject()  # Escape / window close
    assert not dialog.cancel_button.isEnabled()
    with qtbot.assertNotEmitted(dialog.cancel_requested):
        dialog.reject()
