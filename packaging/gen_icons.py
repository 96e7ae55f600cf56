# SPDX-License-Identifier: GPL-3.0-or-later
"""Render ``packaging/linux/casetrail.svg`` into the PNG sizes a Linux desktop asks for.

Run by a maintainer after changing the SVG (``.venv/bin/python packaging/gen_icons.py``); the
PNGs are committed under ``packaging/linux/icons/SIZExSIZE/apps/casetrail.png`` (the freedesktop
hicolor layout ``install.sh`` copies) and ``resources/icons/casetrail.png`` (the window icon).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
HERE = Path(__file__).resolve().parent
LINUX = HERE / "linux"
WINDOW_ICON = HERE.parent / "resources" / "icons" / "casetrail.png"


def render(svg: Path, size: int) -> QImage:
    """Draw the SVG into a transparent square of ``size`` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    return image


def main() -> int:
    """Write every size."""
    _app = QGuiApplication(sys.argv[:1])
    svg = LINUX / "casetrail.svg"
    for size in SIZES:
        out = LINUX / "icons" / f"{size}x{size}" / "apps" / "casetrail.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not render(svg, size).save(str(out)):
            print(f"gen_icons: cannot write {out}", file=sys.stderr)
            return 1
    render(svg, 64).save(str(WINDOW_ICON))
    print(f"gen_icons: wrote {len(SIZES)} sizes under {LINUX / 'icons'} and {WINDOW_ICON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
