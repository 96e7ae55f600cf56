# SPDX-License-Identifier: GPL-3.0-or-later
"""The detail pane: everything the case knows about the selected item, and its custody entries.

Hashes are shown in read-only fields so an analyst can select and copy them exactly (each also has
a Copy button); nothing in the pane can change the evidence. It reads custody through the read-only
connection the window hands it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import timestamps
from desktop.core.case import Item
from desktop.core.store import Database
from desktop.ui import case_text
from desktop.ui.custody_view import ITEM_COLUMNS, CustodyModel, configure_table
from desktop.ui.display import human_size, verify_text


class HashField(QWidget):
    """A hash in a fixed-width, selectable, read-only field with a Copy button.

    Args:
        label: the algorithm, used in the Copy button's tooltip.
        parent: the owning widget.
    """

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setReadOnly(True)
        self.edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy_button = QToolButton(self)
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip(f"Copy the {label} to the clipboard")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)
        layout.addWidget(self.copy_button)

    def set_value(self, value: str) -> None:
        """Show a hash (empty to clear)."""
        self.edit.setText(value)
        self.edit.setCursorPosition(0)
        self.copy_button.setEnabled(bool(value))

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.edit.text())


def _value_label(parent: QWidget) -> QLabel:
    label = case_text.plain_label(parent)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class DetailPane(QWidget):
    """Facts and custody of one item; empty with a hint when nothing is selected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = case_text.plain_label(self, "No item selected")
        self.title.setObjectName("detailTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mismatch = case_text.plain_label(self)
        self.mismatch.setObjectName("mismatchWarning")
        self.mismatch.setWordWrap(True)
        self.mismatch.hide()

        self.item_id = _value_label(self)
        self.size_value = _value_label(self)
        self.mime = _value_label(self)
        self.magic = _value_label(self)
        self.source = _value_label(self)
        self.acquired = _value_label(self)
        self.status = _value_label(self)
        self.verify = _value_label(self)
        self.sha256 = HashField("SHA-256", self)
        self.sha1 = HashField("SHA-1", self)
        self.md5 = HashField("MD5", self)

        self.facts = QWidget(self)
        form = QFormLayout(self.facts)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        for text, widget in (("Item:", self.item_id), ("Size:", self.size_value), ("MIME type:", self.mime),
                             ("Content:", self.magic), ("Source:", self.source),
                             ("Acquired:", self.acquired), ("Status:", self.status),
                             ("Verify:", self.verify), ("SHA-256:", self.sha256),
                             ("SHA-1:", self.sha1), ("MD5:", self.md5)):
            form.addRow(text, widget)

        self.custody_label = QLabel("Custody entries for the selected item", self)
        self.custody_label.setObjectName("sectionLabel")
        self.custody_model = CustodyModel(ITEM_COLUMNS, self)
        self.custody_table = QTableView(self)
        self.custody_table.setModel(self.custody_model)
        configure_table(self.custody_table)

        # Facts on the left, custody on the right: under a full-width table, both have room for
        # a whole SHA-256 without eliding it.
        # The facts scroll rather than push their height on the window: eleven rows would make
        # the whole window taller than a laptop screen, cutting off its bottom lines.
        left_inner = QWidget(self)
        left_layout = QVBoxLayout(left_inner)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.title)
        left_layout.addWidget(self.mismatch)
        left_layout.addWidget(self.facts)
        left_layout.addStretch(1)
        self.facts_scroll = QScrollArea(self)
        self.facts_scroll.setWidgetResizable(True)
        self.facts_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.facts_scroll.setWidget(left_inner)
        left = QVBoxLayout()
        left.addWidget(self.facts_scroll)
        right = QVBoxLayout()
        right.addWidget(self.custody_label)
        right.addWidget(self.custody_table, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addLayout(left, 5)
        layout.addLayout(right, 6)
        self.show_item(None, None)

    def show_item(self, item: Item | None, reader: Database | None, verify_status: str | None = None) -> None:
        """Show one item (None clears the pane), reading its custody through ``reader``."""
        self.facts.setVisible(item is not None)
        self.custody_table.setEnabled(item is not None)
        if item is None:
            self.title.setText("No item selected")
            self.mismatch.hide()
            self.custody_model.clear()
            for field in (self.sha256, self.sha1, self.md5):
                field.set_value("")
            return
        plain = case_text.plain
        plain(self.title, item.name)
        parent = f" (derived from item {item.parent_id}: {item.derived_how})" if item.parent_id else ""
        plain(self.item_id, f"{item.id}{parent}")
        exact = f"{item.size:,} bytes"
        shown = human_size(item.size)
        plain(self.size_value, shown if shown == exact else f"{shown} ({exact})")
        plain(self.mime, item.mime)
        plain(self.magic, item.magic or "(libmagic's description is added when the item is analysed)")
        plain(self.source, item.source_path)
        plain(self.acquired, f"{timestamps.human(item.acquired_at)} by {item.acquired_by}")
        plain(self.status, item.status)
        plain(self.verify, verify_text(verify_status) or "not verified in this session")
        self.sha256.set_value(item.sha256)
        self.sha1.set_value(item.sha1)
        self.md5.set_value(item.md5)
        if item.ext_mismatch:
            plain(self.mismatch, f"\u26a0 Extension mismatch: the content is {item.mime}, "
                                 f"which the name \u201c{item.name}\u201d does not suggest.")
            self.mismatch.show()
        else:
            self.mismatch.hide()
        self.custody_model.load(reader, item.id)
        self.custody_table.resizeColumnsToContents()
        header = self.custody_table.horizontalHeader()
        for col in range(self.custody_model.columnCount()):
            header.resizeSection(col, min(header.sectionSize(col), 200))
