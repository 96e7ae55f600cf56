# SPDX-License-Identifier: GPL-3.0-or-later
"""Help → About and Help → Open log folder: what this Casetrail is, and where its run log is.

The About box shows :func:`desktop.about.build_info` (the block ``casetrail --version`` prints and
every briefing carries) as plain text, with the Qt the window actually loaded, so an analyst can
copy it into a bug report together with the run log.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.about import build_info
from desktop.runlog import log_dir


def about_text() -> str:
    """Return the version block, with the Qt version loaded at run time."""
    return f"{build_info().text()}\n  {'Qt loaded:':<12}{qVersion()}"


class AboutDialog(QDialog):
    """The About box: the version block as selectable plain text, Copy and Open log folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Casetrail")
        layout = QVBoxLayout(self)
        heading = QLabel("Casetrail \u2014 offline evidence, chain of custody and attribution briefings.\n"
                         "Free software under the GNU GPL, version 3 or later (see LICENSE); the "
                         "components it carries and their licences are listed in THIRD-PARTY-NOTICES.",
                         self)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.details = QPlainTextEdit(about_text(), self)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(720, 260)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("&Copy", self)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.log_button = QPushButton("Open &log folder", self)
        self.log_button.clicked.connect(open_log_folder)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.log_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())


def open_url(url: QUrl) -> bool:
    """Hand a local folder to the desktop's file manager (a seam for the tests)."""
    return QDesktopServices.openUrl(url)


def open_log_folder() -> Path:
    """Open the run log's folder in the file manager, creating it if needed; return it."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    open_url(QUrl.fromLocalFile(str(folder)))
    return folder
