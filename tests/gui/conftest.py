# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the window tests: a clean window per test, and a guard against leaked pool jobs.

The guard (napari's idea) fails any test that ends with a task still running in a
``TaskManager`` pool: a job left behind would write into the next test's temp folder or crash the
interpreter at exit, and hide a missing ``waitSignal``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.core.case import Case
from desktop.ui.import_dialog import ImportReasonDialog
from desktop.ui.main_window import MainWindow
from desktop.ui.new_case_dialog import NewCaseRequest
from desktop.ui.tasks import TaskManager

# The offscreen platform warns about a window-manager hint it cannot pass on; it says nothing
# about our code. (Better in pyproject's qt_log_ignore; see the report.)
_OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the offscreen platform's own noise in every window test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.qt_log_ignore(_OFFSCREEN_NOISE))


def running_tasks() -> list[str]:
    """Names of tasks still running in any live TaskManager."""
    return [handle.name for mgr in TaskManager.live() for handle in mgr.running()]


def fail_on_leftover_tasks() -> None:
    """Fail the current test if a pool job is still running; stop it first so the next test is clean."""
    left = running_tasks()
    if left and all(mgr.wait_for_done(0) for mgr in TaskManager.live()):
        # The jobs have ended; their last signal is still queued for the event loop.
        QApplication.processEvents()
        left = running_tasks()
    if left:
        for mgr in TaskManager.live():
            mgr.shutdown(30000)
        QApplication.processEvents()
        pytest.fail(f"the test left task(s) running in a pool: {', '.join(left)}")


@pytest.fixture(autouse=True)
def no_leftover_tasks(qtbot: QtBot) -> Iterator[None]:
    """Fail any test that leaves a pool job running."""
    yield
    fail_on_leftover_tasks()


class TaskGuard:
    """The leftover-task check, handed to tests that check the check."""

    running = staticmethod(running_tasks)
    fail_on_leftovers = staticmethod(fail_on_leftover_tasks)


@pytest.fixture
def task_guard() -> type[TaskGuard]:
    """The leftover-task check itself."""
    return TaskGuard


@pytest.fixture
def window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    """A shown main window with no case; its case is closed when the test ends.

    The leftover check runs here, before ``close_case`` (which would cancel and wait for the
    very jobs the check is looking for).
    """
    monkeypatch.setenv("CASETRAIL_EXAMINER", "Test Examiner")
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        yield win
        fail_on_leftover_tasks()
    finally:
        win.close_case()


@pytest.fixture
def evidence_files(tmp_path: Path) -> list[Path]:
    """Three small files: text, a PNG named .jpg (extension mismatch) and an e-mail."""
    src = tmp_path / "evidence"
    src.mkdir()
    (src / "note.txt").write_text("analyst note: 185.141.63.120 hxxp://example[.]com\n")
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    (src / "photo.jpg").write_bytes(png)
    (src / "mail.eml").write_text(
        "Received: from a.example (a.example [198.51.100.7]) by b.example; "
        "Mon, 11 Mar 2024 09:00:00 +0000\nFrom: x@a.example\nTo: y@b.example\n"
        "Subject: hello\n\nbody\n")
    return sorted(src.iterdir())


@pytest.fixture
def case_window(window: MainWindow, tmp_path: Path) -> MainWindow:
    """The window with a new, empty, writable case open."""
    request = NewCaseRequest(tmp_path / "cases" / "Test.casetrail", "Test case", "Test Examiner", "amber")
    assert window.create_case(request)
    assert window.case is not None
    assert not window.case.read_only
    return window


@pytest.fixture
def no_reason_dialog(monkeypatch: pytest.MonkeyPatch) -> list[list[Path]]:
    """Answer the import reason dialog with a fixed reason; record what it was asked about."""
    asked: list[list[Path]] = []

    def ask(_parent: object, paths: list[Path]) -> str:
        asked.append(list(paths))
        return "test warrant 42"

    monkeypatch.setattr(ImportReasonDialog, "ask", staticmethod(ask))
    return asked


def case_items(path: Path) -> list[str]:
    """Item names as a separate read-only opening of the case sees them."""
    with Case.open(path, read_only=True) as case:
        return [i.name for i in case.items()]

