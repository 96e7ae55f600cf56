# SPDX-License-Identifier: GPL-3.0-or-later
"""The New case dialog: title, examiner, TLP and the folder the case is created in.

The dialog only collects answers; :meth:`desktop.core.case.Case.create` checks them and says,
in one sentence, what is wrong.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from desktop.core.case import SUFFIX, TLP_LEVELS
from desktop.core.custody import os_user

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass(frozen=True)
class NewCaseRequest:
    """What the examiner asked for.

    Attributes:
        path: the case folder to create (``<folder>/<title>.casetrail``).
        title: the case title.
        examiner: who is acting.
        tlp: the case's TLP level.
    """

    path: Path
    title: str
    examiner: str
    tlp: str


def case_folder_name(title: str) -> str:
    """Return a folder name for a case title that is safe on every desktop file system."""
    cleaned = _UNSAFE.sub("-", title).strip(" .-") or "case"
    return f"{cleaned}{SUFFIX}"


class NewCaseDialog(QDialog):
    """Asks for the facts a new case needs.

    Args:
        parent: the owning widget.
        folder: where cases are kept by default.
    """

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New case")
        self.title = QLineEdit(self)
        self.title.setPlaceholderText("e.g. Phishing wave March 2024")
        self.examiner = QLineEdit(os.environ.get("CASETRAIL_EXAMINER") or os_user(), self)
        self.tlp = QComboBox(self)
        for level in TLP_LEVELS:
            self.tlp.addItem(f"TLP:{level.upper()}", level)
        self.tlp.setCurrentIndex(TLP_LEVELS.index("amber"))
        self.folder = QLineEdit(str(folder or Path.home()), self)
        browse = QPushButton("Browse\u2026", self)
        browse.clicked.connect(self._on_browse_clicked)
        folder_row = QWidget(self)
        row = QHBoxLayout(folder_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.folder)
        row.addWidget(browse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create case")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.title.textChanged.connect(self._on_title_text_changed)
        self._on_title_text_changed(self.title.text())
        form = QFormLayout(self)
        form.addRow("Title:", self.title)
        form.addRow("Examiner:", self.examiner)
        form.addRow("TLP:", self.tlp)
        form.addRow("Create in folder:", folder_row)
        form.addRow(self.buttons)
        self.resize(520, self.sizeHint().height())

    def request(self) -> NewCaseRequest:
        """Return what the fields say now."""
        title = self.title.text().strip()
        return NewCaseRequest(Path(self.folder.text().strip()) / case_folder_name(title), title,
                              self.examiner.text().strip(), str(self.tlp.currentData()))

    @staticmethod
    def ask(parent: QWidget | None, folder: Path | None = None) -> NewCaseRequest | None:
        """Show the dialog; return the request, or None if it was cancelled."""
        dialog = NewCaseDialog(parent, folder)
        return dialog.request() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _on_title_text_changed(self, text: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(text.strip()))

    def _on_browse_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Create the case in folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)
