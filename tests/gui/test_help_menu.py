# SPDX-License-Identifier: GPL-3.0-or-later
"""Help → About shows the version block; Help → Open log folder opens the run log's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from desktop import __version__
from desktop.runlog import log_dir
from desktop.ui import about_dialog
from desktop.ui.main_window import MainWindow


def _help_actions(window: MainWindow) -> list[str]:
    menus = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"]
    assert menus, "no Help menu"
    return [a.text() for a in menus[0].actions()]  # type: ignore[union-attr]


def test_help_menu_offers_about_and_the_log_folder(window: MainWindow) -> None:
    assert _help_actions(window) == ["&Keyboard shortcuts\u2026", "&About Casetrail\u2026",
                                     "Open &log folder"]


def test_about_shows_the_version_block(window: MainWindow, qtbot: QtBot) -> None:
    window.about_action.trigger()
    dialog = window.about_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    text = dialog.details.toPlainText()
    assert text.splitlines()[0] == f"casetrail {__version__}"
    for label in ("Built from:", "Qt:", "Qt loaded:", "SQLite:", "libmagic:", "FFmpeg:", "OCR models:"):
        assert label in text
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == text
    dialog.reject()


def test_open_log_folder_hands_the_folder_to_the_desktop(window: MainWindow,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(about_dialog, "open_url", lambda url: opened.append(url) or True)
    window.log_folder_action.trigger()
    assert [Path(u.toLocalFile()) for u in opened] == [log_dir()]
    assert log_dir().is_dir()
