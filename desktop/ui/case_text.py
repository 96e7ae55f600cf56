# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way case text reaches the screen: as text, never as markup.

Qt guesses: a ``QLabel``, a ``QMessageBox`` and every tooltip render a string as rich text when it
*looks* like HTML (``Qt::mightBeRichText``). A subject of ``URGENT <img src='file:///…'>`` then
shows as "URGENT ￼" and Qt's text engine tries to open the local file. So, in the window:

- **Evidence and analyst text** (names, subjects, headers, bodies, OCR lines, tags, notes,
  hypotheses, feed names…) goes through :func:`plain` (labels: ``Qt.PlainText`` plus
  :func:`~desktop.core.printable.visible`), :func:`shown` (cells, list and combo entries, window
  titles, graph labels, status messages), :func:`tooltip` (escaped so Qt shows it literally),
  :func:`message` / :func:`ask` (message boxes in plain text), or :func:`rich` (a fragment of the
  program's own markup with the case text escaped into it).
- **Rich text only for strings the program writes itself**, such as the welcome page or a legend.

Table models get this at the root: :class:`desktop.ui.row_model.ReadOnlyTableModel` passes every
display and tooltip value through :func:`for_role`. HTML bodies are a separate, sanitised path
(:mod:`desktop.ui.safe_html`).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from desktop.core.printable import visible

__all__ = ["ask", "escape", "for_role", "message", "plain", "plain_label", "rich", "shown", "tooltip",
           "visible"]


def shown(text: object) -> str:
    """Case text for one line of plain text (a cell, a list entry, a title, a graph label)."""
    return visible("" if text is None else str(text))


def escape(text: object, *, multiline: bool = False) -> str:
    """Case text escaped for a place that is rich text (a tooltip, a fragment of our markup)."""
    escaped = html.escape(visible("" if text is None else str(text), multiline=multiline), quote=True)
    return escaped.replace("\n", "<br>") if multiline else escaped


def tooltip(text: object) -> str:
    """A tooltip Qt shows literally, line breaks kept.

    Tooltips are always guessed (there is no plain-text switch), so the text is escaped and made
    rich on purpose; ``white-space: pre-wrap`` keeps runs of spaces as they were.
    """
    if text is None or text == "":
        return ""
    return f"<p style='white-space:pre-wrap'>{escape(text, multiline=True)}</p>"


def rich(template: str, *values: object) -> str:
    """The program's markup ``template`` with case ``values`` escaped into its ``{}`` fields."""
    return template.format(*(escape(v) for v in values))


def plain(label: QLabel, text: object, *, multiline: bool = False) -> None:
    """Show case text in a label, as text."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(visible("" if text is None else str(text), multiline=multiline))


def plain_label(parent: QWidget | None = None, text: object = "") -> QLabel:
    """A label that only ever shows text (its format fixed before any case text reaches it)."""
    label = QLabel(parent)
    plain(label, text)
    return label


def for_role(role: int, value: Any) -> Any:
    """What a table model hands Qt for a role: display text made visible, tooltips escaped."""
    if isinstance(value, str):
        if role == Qt.ItemDataRole.DisplayRole:
            return visible(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(value)
    return value


def _box(icon: QMessageBox.Icon, title: str, text: str, parent: QWidget | None,
         buttons: QMessageBox.StandardButton) -> QMessageBox:
    box = QMessageBox(icon, shown(title), visible(text, multiline=True), buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def message(icon: QMessageBox.Icon, title: str, text: str, parent: QWidget | None) -> QMessageBox:
    """A message box whose text is plain text (not shown yet: ``open()`` or ``exec()`` it)."""
    return _box(icon, title, text, parent, QMessageBox.StandardButton.Ok)


def ask(parent: QWidget | None, title: str, question: str) -> bool:
    """Ask a yes/no question that may quote case text (``Delete hypothesis “…”?``)."""
    box = _box(QMessageBox.Icon.Question, title, question, parent,
               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes
