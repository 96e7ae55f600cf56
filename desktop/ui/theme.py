# SPDX-License-Identifier: GPL-3.0-or-later
"""Colours that stay readable in a light and in a dark palette (issue 15).

Casetrail follows the system's palette (Qt gives a dark one where the desktop is dark). The
window's marks — a verify outcome, a timeline source, a mail verdict, an ACH cell — were fixed
pastel backgrounds and dark text: on a dark palette the text they left to the palette was light on
pastel, unreadable. Every such colour now goes through here: a background is the mark's hue mixed
into the palette's base (faint on light, deep on dark), a mark's text keeps its hue at a lightness
that reads on the palette's base, and text on a strong fill is black or white by its luminance.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette


def _palette() -> QPalette:
    return QGuiApplication.palette()


def is_dark() -> bool:
    """Whether the palette in use is dark (light text on a dark base)."""
    palette = _palette()
    base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
    return base.lightness() < text.lightness()


def _mix(a: QColor, b: QColor, share_of_b: float) -> QColor:
    k = max(0.0, min(1.0, share_of_b))
    return QColor(round(a.red() * (1 - k) + b.red() * k), round(a.green() * (1 - k) + b.green() * k),
                  round(a.blue() * (1 - k) + b.blue() * k))


def tint(colour: str | QColor) -> QColor:
    """A background for a mark: the pastel itself on a light palette, its hue deepened on a dark one."""
    c = QColor(colour)
    if not is_dark():
        return c
    base = _palette().color(QPalette.ColorRole.Base)
    hue = QColor.fromHsl(c.hslHue(), min(255, c.hslSaturation()), 128)
    return _mix(base, hue, 0.28)


def ink(colour: str | QColor) -> QColor:
    """A mark's text colour (red for modified, amber for an indicator …) that reads on the base."""
    c = QColor(colour)
    if not is_dark() or c.lightness() >= 150:
        return c
    return QColor.fromHsl(c.hslHue(), c.hslSaturation(), 175)


def on(fill: str | QColor) -> QColor:
    """Black or white, whichever reads on a strong fill (an ACH rating's colour)."""
    c = QColor(fill)
    luminance = 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF()
    return QColor("#000000") if luminance > 0.45 else QColor("#ffffff")


def base() -> QColor:
    """The palette's base (a view's background)."""
    return _palette().color(QPalette.ColorRole.Base)


def text() -> QColor:
    """The palette's text colour."""
    return _palette().color(QPalette.ColorRole.Text)
