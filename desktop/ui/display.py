# SPDX-License-Identifier: GPL-3.0-or-later
"""How case facts are written for people: sizes, times, verify outcomes and their colours.

Presentation only, shared by the models and panes so the table, the detail pane and the dialogs
say the same thing the same way. Nothing here decides what a fact means.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

VERIFY_TEXT = {"ok": "ok", "modified": "MODIFIED", "missing": "MISSING"}

# Dark text on light tints: readable in light and dark palettes, and still distinct when printed.
VERIFY_FOREGROUND = {"ok": QColor("#1b5e20"), "modified": QColor("#b71c1c"), "missing": QColor("#8a4b00")}
VERIFY_BACKGROUND = {"ok": QColor("#e8f5e9"), "modified": QColor("#ffebee"), "missing": QColor("#fff3e0")}
WARNING_FOREGROUND = QColor("#b71c1c")

_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """Return a size in decimal units, e.g. ``40.4 KB`` (exact bytes stay in the detail pane)."""
    if size < 1000:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in _UNITS[1:]:
        value /= 1000
        if value < 1000 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}"


def verify_text(status: str | None) -> str:
    """Return how a verify outcome is shown; empty when the item has not been verified here."""
    if status is None:
        return ""
    return VERIFY_TEXT.get(status, status.upper())
