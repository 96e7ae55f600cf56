# SPDX-License-Identifier: GPL-3.0-or-later
"""A big case is browsable at once while its integrity check runs; writes wait for the check (fail closed).

The 200 MB database of a 100,000-item case took 6 s to check under load, and the window was not
usable for 18.8 s after opening it. Now the window shows such a case read-only at once and takes
the full opening (writer lock, check, recovery) when it is back; a failing check leaves it
read-only and says so in a critical message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import case_open, store
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ui.main_window import MainWindow


@pytest.fixture
def big_case(tmp_path: Path, evidence_files: list[Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "Big.casetrail"
    with Case.create(path, title="Big", examiner="E") as case:
        run_to_end(import_paths(case, evidence_files))
    monkeypatch.setattr(case_open, "CHECK_LATER_ABOVE", 0)  # every case counts as big
    return path


def test_a_big_case_is_browsed_read_only_until_its_check_passes(
        qtbot: QtBot, window: MainWindow, big_case: Path) -> None:
    assert window.open_case(big_case)
    case = window.case
    assert case is not None
    assert case.read_only, "nothing can be written before the check has passed"
    assert case.read_only_reason == case_open.CHECKING_REASON
    assert window.model.rowCount() == 3, "the evidence is browsable meanwhile"
    assert not window.import_files_action.isEnabled()
    assert not window.export_briefing_action.isEnabled()
    assert not window.read_only_banner.isHidden()
    qtbot.waitUntil(lambda: window.case is not case, timeout=TASK_MS)
    assert window.case is not None
    assert not window.case.read_only
    assert window.read_only_banner.isHidden()
    assert window.import_files_action.isEnabled()
    assert window.export_briefing_action.isEnabled()
    assert window.model.rowCount() == 3
    window.close_case()
    assert window.case is None
    with Case.open(big_case) as again:  # both cases were closed, the writer lock released
        assert not again.read_only


def test_a_failing_check_leaves_the_case_read_only_and_says_so(
        qtbot: QtBot, window: MainWindow, big_case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "integrity_problems", lambda _db: ["*** in database main *** Page 7: corrupt"])
    assert window.open_case(big_case)
    browsed = window.case
    qtbot.waitUntil(lambda: window.case is not browsed, timeout=TASK_MS)
    assert window.case is not None
    assert window.case.read_only
    assert "integrity check" in window.case.read_only_reason
    assert not window.import_files_action.isEnabled()
    box = window.last_message
    assert box is not None
    assert box.icon() == QMessageBox.Icon.Critical
    assert "Page 7: corrupt" in box.text()
    assert "Page 7" in window.read_only_banner.text()


def test_closing_while_the_check_runs_leaves_no_lock(qtbot: QtBot, window: MainWindow,
                                                     big_case: Path) -> None:
    assert window.open_case(big_case)
    assert window.close_case()
    qtbot.wait(200)
    with Case.open(big_case) as again:
        assert not again.read_only, "the full opening that came back late was closed"
