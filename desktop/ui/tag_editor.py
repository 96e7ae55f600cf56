# SPDX-License-Identifier: GPL-3.0-or-later
"""Typing tags: a line edit that completes from the shipped taxonomies, and the bulk-tag dialog.

Completion comes from :func:`desktop.core.tags.completions` (TLP 2.0, ATT&CK techniques by ID or by
a word of their name, MISP machine tags); the popup shows each tag with what it means, the field
receives the tag itself. What a tag *is* (and whether it is valid) is the core's decision
(:func:`desktop.core.tags.parse_tag`); writing goes through :func:`desktop.core.tags.apply_tags`,
which puts every change in custody, on the window's write pool.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import tags as core_tags
from desktop.core.case import Case
from desktop.core.progress import Progress, Task
from desktop.ui import case_text

TagRole = Qt.ItemDataRole.UserRole + 1


def describe(tag: str) -> str:
    """How a tag is shown; falls back to the tag itself if the taxonomies cannot be read."""
    try:
        return core_tags.describe_tag(tag)
    except (RuntimeError, KeyError, OSError):
        return tag


def check(tag: str) -> str | None:
    """Why a typed tag cannot be used, or None when the core accepts it."""
    text = tag[1:] if tag.startswith("-") else tag
    try:
        core_tags.parse_tag(text)
    except core_tags.TagError as exc:
        return str(exc)
    return None


def tag_indicators(case: Case, values: list[str], tags: list[str]) -> Task[list[str]]:
    """Add (or, with a leading ``-``, remove) tags on several indicators: the bulk-tag operation.

    Each indicator's changes and their custody entries are one transaction (``apply_tags``); a
    cancel between indicators leaves the ones done recorded and the rest untouched.

    Returns:
        What was done, one line per indicator and tag.
    """
    lines: list[str] = []
    for index, value in enumerate(values):
        yield Progress(value, 0, 0, index, len(values))
        lines += core_tags.apply_tags(case, indicator=value, tags=list(tags))
    yield Progress("done", 0, 0, len(values), len(values))
    return lines


class TagLineEdit(QLineEdit):
    """A line edit offering taxonomy tags as the analyst types.

    Args:
        parent: the owning widget.
        completions: where suggestions come from (the core's by default; tests may pass their own).
    """

    def __init__(self, parent: QWidget | None = None,
                 completions: Callable[[str], list[str]] | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("tlp:amber, T1566, admiralty-scale:\u2026 or any free tag")
        self._completions = completions or (lambda prefix: core_tags.completions(prefix, limit=40))
        self.completion_model = QStandardItemModel(self)
        completer = QCompleter(self.completion_model, self)
        completer.setCompletionRole(TagRole)
        # The core matches by prefix *and* by words of technique names ("phish"): show its list as is.
        completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setMaxVisibleItems(12)
        self.setCompleter(completer)
        self.completions_available = True
        self.textEdited.connect(self._on_self_text_edited)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter commits one tag (the suggestion chosen in the popup, else the text typed) once.

        With the suggestion popup open, QCompleter hands Enter to the line edit and, since a line
        edit does not accept it, then writes the chosen suggestion into the field: after the tag
        was added and the field cleared, the field was refilled, and the next tag typed became
        ``tlp:amberT1190``. Here the suggestion is taken first, the popup closed, and Enter
        accepted, so the completer writes nothing afterwards.
        """
        if event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            super().keyPressEvent(event)
            return
        completer = self.completer()
        popup = completer.popup() if completer is not None else None
        if completer is not None and popup is not None and popup.isVisible():
            chosen = popup.currentIndex()
            if chosen.isValid():
                self.setText(str(chosen.data(completer.completionRole())))
            popup.hide()
        super().keyPressEvent(event)  # returnPressed: the owner adds the tag and clears the field
        event.accept()

    def _on_self_text_edited(self, text: str) -> None:
        self.update_completions(text)

    def update_completions(self, text: str) -> list[str]:
        """Refill the suggestions for ``text``; returns them (empty when the taxonomies are missing)."""
        prefix = text[1:] if text.startswith("-") else text
        try:
            found = self._completions(prefix) if prefix.strip() else []
        except (RuntimeError, OSError, KeyError, ValueError):
            found, self.completions_available = [], False
        self.completion_model.clear()
        for tag in found:
            shown = describe(tag)
            item = QStandardItem(case_text.shown(f"{tag}  \u2014  {shown}" if shown != tag else tag))
            item.setData(("-" if text.startswith("-") else "") + tag, TagRole)
            item.setEditable(False)
            self.completion_model.appendRow(item)
        if found and self.hasFocus():
            self.completer().complete()
        return found


class TagDialog(QDialog):
    """Ask for one tag to add to (or remove from) a set of indicators.

    Args:
        count: how many indicators it applies to (for the title).
        parent: the owning widget.
        what: what is tagged, when not indicators (e.g. ``campaign C12``).
    """

    def __init__(self, count: int, parent: QWidget | None = None, *, what: str | None = None) -> None:
        super().__init__(parent)
        target = what or f"{count} selected indicator{'s' if count != 1 else ''}"
        self.setWindowTitle(f"Tag {what}" if what else f"Tag {count} indicator{'s' if count != 1 else ''}")
        self.setMinimumWidth(460)
        self.edit = TagLineEdit(self)
        self.add_button = QRadioButton("Add the tag", self)
        self.remove_button = QRadioButton("Remove the tag", self)
        self.add_button.setChecked(True)
        self.meaning = case_text.plain_label(self)
        self.meaning.setWordWrap(True)
        hint = QLabel("Every change is recorded in the custody log (action \u201ctagged\u201d).", self)
        hint.setObjectName("hint")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Tag for the {target}:", self))
        layout.addWidget(self.edit)
        layout.addWidget(self.meaning)
        layout.addWidget(self.add_button)
        layout.addWidget(self.remove_button)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._on_edit_text_changed)
        self._on_edit_text_changed("")

    def tags(self) -> list[str]:
        """The change as ``apply_tags`` takes it (``-tag`` to remove)."""
        tag = self.edit.text().strip().removeprefix("-")
        return [f"-{tag}" if self.remove_button.isChecked() else tag] if tag else []

    def _on_edit_text_changed(self, text: str) -> None:
        tag = text.strip().removeprefix("-")
        problem = check(tag) if tag else "type a tag"
        case_text.plain(self.meaning, problem if problem else f"Means: {describe(tag)}")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
