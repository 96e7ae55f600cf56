# SPDX-License-Identifier: GPL-3.0-or-later
"""Enhanced images beside their originals: what a blurred or faint region reads as, labelled as such.

Each row shows the original pixels of a region (cropped from the picture on screen, so they are the
evidence's own pixels as decoded), the enhanced variant (a derived item, our own PNG) and what was
read on it, under a label that says it is an enhanced image and names its recipe. The panel decides
nothing: the variants and their recipes are what the core recorded (``findings.enhanced_images``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.core.findings import EnhancedImageRow
from desktop.ui import case_text
from desktop.ui.ocr_hits import time_text

THUMB_W = 420
ENHANCED_LABEL = "ENHANCED IMAGE, not the original pixels"


def _scaled(image: QImage, width: int = THUMB_W) -> QPixmap:
    """A line band scaled to the panel's width (never more than 3x up: pixels stay honest)."""
    pixmap = QPixmap.fromImage(image)
    target = min(width, pixmap.width() * 3)
    if pixmap.width() != target:
        pixmap = pixmap.scaledToWidth(target, Qt.TransformationMode.SmoothTransformation)
    return pixmap


class EnhancedPanel(QWidget):
    """Original and enhanced variants side by side (see the module docstring).

    Args:
        load_png: returns the PNG bytes of an enhanced image item as a QImage (or why not, as text).
        parent: the owning widget.

    Signals:
        variant_activated: a row was clicked; carries the frame time (-1 for a still image).
    """

    variant_activated = Signal(float)

    def __init__(self, load_png: Callable[[int], QImage | str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enhancedPanel")
        self._load_png = load_png
        self.rows: list[EnhancedImageRow] = []
        self.originals: dict[int, QLabel] = {}
        self.title = QLabel(self)
        self.title.setObjectName("sectionLabel")
        self.grid_host = QWidget(self)
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.grid_host)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        self.set_rows([])

    def set_rows(self, rows: list[EnhancedImageRow]) -> None:
        """Show these enhanced images (originals are filled in by :meth:`show_original`)."""
        while self.grid.count():
            taken = self.grid.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rows = rows
        self.originals = {}
        self.title.setText(f"Enhanced images ({len(rows)}): derived items, never the original pixels"
                           if rows else "No enhanced images for this item.")
        for n, row in enumerate(rows):
            original = QLabel("(shown when its frame is)", self.grid_host)
            original.setMinimumHeight(16)
            self.originals[row.item_id] = original
            enhanced = QLabel(self.grid_host)
            image = self._load_png(row.item_id)
            if isinstance(image, QImage):
                enhanced.setPixmap(_scaled(image))
            else:
                case_text.plain(enhanced, f"cannot be shown: {image}")
            enhanced.setToolTip(case_text.tooltip(f"{ENHANCED_LABEL}\nItem {row.item_id}: {row.recipe}"))
            when = f" at {time_text(row.time_s)}" if row.time_s is not None else ""
            who = (f", region marked by {row.marked_by}" if row.marked_by
                   else ", found weak or faint by analysis")
            read = QLabel(self.grid_host)
            read.setWordWrap(True)
            # What OCR read and who marked the region are case text: shown as text, escapes visible.
            reading = " | ".join(case_text.shown(r) for r in row.read_as) or "(nothing legible)"
            case_text.plain(read, f"{ENHANCED_LABEL} (item {row.item_id}{when}{case_text.shown(who)})\n"
                                  f"Recipe: {case_text.shown(row.recipe)}\nRead as: {reading}",
                            multiline=True)
            read.setObjectName("enhancedReading")
            # one block per variant: the original pixels above, the enhanced variant below, then
            # what it reads and the recipe, so wide line bands keep their shape
            labels = (QLabel("Original pixels:", self.grid_host), QLabel("Enhanced variant:", self.grid_host))
            block = (labels[0], original, labels[1], enhanced, read)
            for offset, widget in enumerate(block):
                widget.setProperty("row_time", row.time_s if row.time_s is not None else -1.0)
                widget.mousePressEvent = self._clicker(row)  # type: ignore[method-assign]
                self.grid.addWidget(widget, n * 6 + offset, 0)
            spacer = QFrame(self.grid_host)
            spacer.setFrameShape(QFrame.Shape.HLine)
            self.grid.addWidget(spacer, n * 6 + 5, 0)
        self.grid.setRowStretch(len(rows) * 6 + 1, 1)

    def _clicker(self, row: EnhancedImageRow) -> Callable[[object], None]:
        def clicked(_event: object) -> None:
            self.variant_activated.emit(row.time_s if row.time_s is not None else -1.0)

        return clicked

    def show_original(self, picture: QImage | None, time_s: float | None, full_width: int = 0) -> None:
        """Crop the original pixels of every row whose frame is the picture now shown.

        ``full_width`` is the picture's full upright width when ``picture`` is a scaled-down render.
        """
        if picture is None or picture.isNull():
            return
        scale = picture.width() / full_width if full_width else 1.0
        for row in self.rows:
            if row.time_s is not None and (time_s is None or abs(row.time_s - time_s) > 0.06):
                continue
            label = self.originals.get(row.item_id)
            if label is None:
                continue
            x, y, w, h = (round(v * scale) for v in row.box)
            label.setPixmap(_scaled(picture.copy(QRect(x, y, max(1, w), max(1, h)))))
            at = f" at {time_text(row.time_s)}" if row.time_s is not None else ""
            label.setToolTip(f"Original pixels of the region{at}, as decoded from the evidence")
