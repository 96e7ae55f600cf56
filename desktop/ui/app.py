# SPDX-License-Identifier: GPL-3.0-or-later
"""Starting the window: the QApplication, the house stylesheet, the main window and its case.

``casetrail gui [CASE]`` and ``python -m desktop.demo --launch`` both come here. Nothing here
knows about evidence; it only sets the application up and hands the case path to the window.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.resources import resource_path
from desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Write an exception that escaped a Qt slot to the run log, then report it as Python would."""
    log.critical("uncaught exception in the window", exc_info=(kind, exc, tb))
    sys.__excepthook__(kind, exc, tb)


def ensure_application() -> QApplication:
    """Return the running QApplication, creating it (with name, icon and style) if needed."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Casetrail")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Casetrail")
    app.setStyle("Fusion")  # the same look on every desktop, so screenshots in reports match
    apply_theme(app, os.environ.get("CASETRAIL_THEME", "system"))
    apply_stylesheet(app)
    icon = resource_path("icons", "casetrail.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def apply_theme(app: QApplication, theme: str) -> None:
    """Follow the desktop's palette (``system``), or force ``light`` or ``dark``.

    The window's own marks take their colours from the palette (``desktop.ui.theme``), so a dark
    desktop gets readable tables without any setting; ``CASETRAIL_THEME=dark`` forces it where
    the desktop says nothing (a plain X session, a screenshot of the dark look).
    """
    if theme not in ("light", "dark"):
        return
    palette = app.style().standardPalette()
    if theme == "dark":
        role = QPalette.ColorRole
        for r, colour in ((role.Window, "#2b2d30"), (role.WindowText, "#e6e6e6"), (role.Base, "#1f2023"),
                          (role.AlternateBase, "#27292c"), (role.Text, "#e6e6e6"), (role.Button, "#33363a"),
                          (role.ButtonText, "#e6e6e6"), (role.ToolTipBase, "#33363a"),
                          (role.ToolTipText, "#e6e6e6"), (role.Highlight, "#2f5d8a"),
                          (role.HighlightedText, "#ffffff"), (role.Link, "#8ab4f8"), (role.Mid, "#55585c"),
                          (role.PlaceholderText, "#9a9a9a")):
            palette.setColor(r, QColor(colour))
        palette.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor("#7a7a7a"))
        palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor("#7a7a7a"))
        palette.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor("#7a7a7a"))
    app.setPalette(palette)


def apply_stylesheet(app: QApplication) -> None:
    """Apply ``resources/style.qss`` if it is there (the window works without it)."""
    qss = resource_path("style.qss")
    if qss.is_file():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))


def run_app(case_path: Path | None, *, verify_on_open: bool = False) -> int:
    """Show the main window, open ``case_path`` if given, and run the event loop.

    Args:
        case_path: the case folder to open, or None for the welcome page.
        verify_on_open: verify the case once it is open (the demo tour does, so the Verify
            column is filled from the start).

    Returns:
        The event loop's exit code.
    """
    app = ensure_application()
    sys.excepthook = _log_uncaught
    log.info("window started (Qt platform %s)", app.platformName())
    window = MainWindow()
    window.show()
    if case_path is not None and window.open_case(case_path):
        log.info("opened case %s", case_path)
        if verify_on_open:
            window.start_verify()
    return app.exec()
