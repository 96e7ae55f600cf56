# SPDX-License-Identifier: GPL-3.0-or-later
"""The media pane: an image, a video frame or a kept frame, with its OCR boxes, zoom and regions.

How pictures get into this process (the choice the issue asks us to explain):

- **Images and video frames are decoded in a child** (:mod:`desktop.ingest.frames`, run through
  the read pool) that has a memory limit and a timeout, and answers with a PNG that Pillow
  wrote. A crafted JPEG, TIFF or H.264 stream that crashes or exhausts a decoder then kills only
  that child, and the window shows the reason. We preferred this to ``QImageReader`` with an
  allocation limit on the evidence itself because Qt's image plugins (TIFF, WebP, ICO...) are
  not hardened against hostile files, an allocation limit does not stop a parser bug, and video
  cannot be decoded by Qt without system codecs anyway.
- **Kept frames** (items derived with ``video frame``) are PNGs our own analyser wrote, so they are
  read directly, but still only as PNG (``QImageReader`` with the format forced and an
  allocation limit) and off the GUI thread.

Coordinates: the scene is in the picture's upright full-resolution pixels, the space the OCR boxes
and analyst regions are recorded in; a rendered picture that was scaled down is scaled back up in
the scene, so a box always lands where it was read.

Recording an indicator from a region writes an ``analyst`` occurrence (with the box and the frame
time) and a ``note`` custody entry in one transaction, on the write pool.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QImage,
    QImageReader,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSlider,
    QSplitter,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import edits, findings, item_detail, recordings
from desktop.core.case import Case, Item
from desktop.core.indicators import TYPES, classify, normalise
from desktop.core.progress import Progress, Task
from desktop.core.store import Database
from desktop.ingest import enhance, frames
from desktop.ingest.player import VideoInfo
from desktop.ui import case_text
from desktop.ui.custody_view import configure_table
from desktop.ui.enhanced_view import EnhancedPanel
from desktop.ui.ocr_hits import OcrHitsModel, OcrLineRow, time_text
from desktop.ui.playback import FrameSource
from desktop.ui.tasks import TaskHandle, TaskManager, as_task

PNG_ALLOCATION_LIMIT_MB = 512  # a 16k x 8k RGBA frame; anything larger is not a frame we wrote
BOX_PEN = QColor("#1e88e5")
INDICATOR_PEN = QColor("#ff8f00")
SELECTED_PEN = QColor("#e53935")
ANALYST_PEN = QColor("#8e24aa")
UNCERTAIN_PEN = QColor("#9e9e9e")
ANALYST_WHERE = findings.ANALYST_WHERE


def decode_png(data: bytes) -> QImage:
    """Decode PNG bytes (and nothing else) into a QImage, refusing oversized pictures.

    Raises:
        frames.RenderError: not a PNG, or beyond the allocation limit.
    """
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(b"png"))
    reader.setDecideFormatFromContent(False)
    reader.setAllocationLimit(PNG_ALLOCATION_LIMIT_MB)
    image = reader.read()
    if image.isNull():
        raise frames.RenderError(f"the picture could not be shown ({reader.errorString()})")
    return image


def record_analyst_indicator(case: Case, item_id: int, type_: str, value: str,
                             bbox: list[int], time_s: float | None, note: str = "") -> Task[int]:
    """Record what an analyst read in a region (``edits.record_region``) on the write pool.

    Returns:
        The item id, for the caller's refresh.
    """
    yield Progress("recording the indicator")
    edits.record_region(case, item_id, type_, value, bbox, time_s, note)
    return item_id


@dataclass(frozen=True)
class Box:
    """A rectangle drawn over the picture.

    Attributes:
        rect: ``(x, y, w, h)`` in upright full-resolution pixels.
        text: shown as the tooltip.
        kind: ``line``, ``indicator`` (a line holding an indicator), ``uncertain`` (a line whose
            indicators are all uncertain readings) or ``analyst``.
        line_id: the OCR line it shows, if any.
    """

    rect: tuple[int, int, int, int]
    text: str
    kind: str = "line"
    line_id: int | None = None


ViewState = tuple[float, QPointF]  # a zoom factor and the picture point at the view's centre
_KEPT_VIEWS = 1000  # items whose zoom is remembered, most recently left last


class MediaCanvas(QGraphicsView):
    """The picture with boxes over it: wheel to zoom, drag to pan, or drag out a region.

    Signals:
        region_selected: a region was dragged out in selection mode; carries a ``QRectF`` in
            picture pixels, clipped to the picture.
        zoom_changed: the zoom factor (1.0 = one picture pixel per screen pixel).
    """

    region_selected = Signal(QRectF)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mediaCanvas")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(QBrush(QColor("#37474f")))
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.pixmap_item)
        self.box_items: list[tuple[Box, QGraphicsRectItem]] = []
        self.picture_size = (0, 0)
        self.highlighted: int | None = None
        self._selecting = False
        self._last_band = QRectF()
        self._fit_on_resize = True
        self._restore: ViewState | None = None  # applied to the next picture shown
        self.rubberBandChanged.connect(self._on_self_rubber_band_changed)

    # -- the picture -------------------------------------------------------------------------

    def set_picture(self, image: QImage | None, size: tuple[int, int] | None = None) -> None:
        """Show a picture whose full upright size is ``size`` (the image may be a scaled render)."""
        if image is None or image.isNull():
            self.pixmap_item.setPixmap(QPixmap())
            self.picture_size = (0, 0)
            self.scene().setSceneRect(QRectF())
            return
        width, height = size if size and size[0] > 0 and size[1] > 0 else (image.width(), image.height())
        self.pixmap_item.setPixmap(QPixmap.fromImage(image))
        self.pixmap_item.setScale(width / image.width())  # a scaled-down render covers the full size
        self.picture_size = (width, height)
        self.scene().setSceneRect(QRectF(0, 0, width, height))
        if self._restore is not None:
            zoom, centre = self._restore
            self._restore = None
            self._fit_on_resize = False
            self.resetTransform()
            self.scale(zoom, zoom)
            self.centerOn(centre)
            self.zoom_changed.emit(self.zoom)
        elif self._fit_on_resize:
            self.fit()

    def view_state(self) -> ViewState | None:
        """The zoom and the picture point at the centre, or None while the picture is fitted.

        Before the picture has arrived, the view it is going to be shown with.
        """
        if self.picture_size == (0, 0):
            return self._restore
        if self._fit_on_resize:
            return None
        return self.zoom, self.mapToScene(self.viewport().rect().center())

    def start_view(self, state: ViewState | None) -> None:
        """How the next picture is first shown: fitted (None), or at a zoom and centre kept."""
        self._restore = state
        self._fit_on_resize = state is None

    def set_boxes(self, boxes: list[Box]) -> None:
        """Replace the boxes drawn over the picture."""
        for _box, item in self.box_items:
            self.scene().removeItem(item)
        self.box_items = []
        for box in boxes:
            item = QGraphicsRectItem(QRectF(*box.rect))
            item.setToolTip(case_text.tooltip(box.text))
            item.setZValue(2 if box.kind != "line" else 1)
            self.scene().addItem(item)
            self.box_items.append((box, item))
        self._style_boxes()

    def highlight(self, line_id: int | None) -> None:
        """Draw one OCR line's box in the selection colour and bring it into view."""
        self.highlighted = line_id
        self._style_boxes()
        for box, item in self.box_items:
            if line_id is not None and box.line_id == line_id:
                self.ensureVisible(item, 40, 40)

    # -- zoom --------------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        """The current zoom factor."""
        return float(self.transform().m11())

    def fit(self) -> None:
        """Fit the whole picture into the view (and keep fitting on resize until zoomed)."""
        self._fit_on_resize = True
        self._restore = None  # the analyst's choice wins over a kept view
        if self.picture_size != (0, 0):
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        """Zoom in (``factor`` > 1) or out, within 2% to 3200%."""
        target = min(32.0, max(0.02, self.zoom * factor))
        self._fit_on_resize = False
        self._restore = None  # the analyst's choice wins over a kept view
        self.scale(target / self.zoom, target / self.zoom)
        self.zoom_changed.emit(self.zoom)

    def actual_size(self) -> None:
        """One picture pixel per screen pixel."""
        self._fit_on_resize = False
        self._restore = None  # the analyst's choice wins over a kept view
        self.resetTransform()
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The wheel zooms around the mouse, as in every image viewer."""
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.2 ** steps)
        event.accept()

    def resizeEvent(self, event: Any) -> None:
        """Keep the picture fitted until the analyst chose a zoom."""
        super().resizeEvent(event)
        if self._fit_on_resize and self.picture_size != (0, 0):
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    # -- region selection --------------------------------------------------------------------

    def set_selecting(self, on: bool) -> None:
        """Drag to select a region (on) or to pan (off)."""
        self._selecting = on
        drag = QGraphicsView.DragMode
        self.setDragMode(drag.RubberBandDrag if on else drag.ScrollHandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor)

    def select_region(self, rect: QRectF) -> None:
        """Select a region programmatically (what a drag ends in); used by tests and scripts."""
        self._finish_region(rect)

    def _on_self_rubber_band_changed(self, band: QRect, from_scene: QPointF, to_scene: QPointF) -> None:
        if not band.isNull():
            self._last_band = QRectF(from_scene, to_scene).normalized()
            return
        # Qt reports a null band when the drag ends: what was last shown is the selection.
        rect, self._last_band = self._last_band, QRectF()
        if self._selecting:
            self._finish_region(rect)

    def _finish_region(self, rect: QRectF) -> None:
        clipped = rect.normalized().intersected(self.sceneRect())
        if clipped.width() >= 3 and clipped.height() >= 3:
            self.region_selected.emit(clipped)

    def _style_boxes(self) -> None:
        for box, item in self.box_items:
            selected = box.line_id is not None and box.line_id == self.highlighted
            colour = SELECTED_PEN if selected else {"indicator": INDICATOR_PEN, "analyst": ANALYST_PEN,
                                                    "uncertain": UNCERTAIN_PEN}.get(box.kind, BOX_PEN)
            pen = QPen(colour, 3 if selected or box.kind != "line" else 1.5)
            if box.kind == "uncertain":
                pen.setStyle(Qt.PenStyle.DashLine)  # an uncertain reading: shown, but not as a finding
            pen.setCosmetic(True)  # the same line width at every zoom
            item.setPen(pen)
            fill = QColor(colour)
            fill.setAlpha(60 if selected else 18)
            item.setBrush(QBrush(fill))


class RegionIndicatorDialog(QDialog):
    """Ask what a selected region shows: the value, its type, and a note for the custody log.

    Args:
        region: the region, in picture pixels.
        time_s: the frame time, for videos.
        suggestions: values read in the region (indicators first, then OCR text), to prefill.
        parent: the owning widget.
    """

    def __init__(self, region: QRectF, time_s: float | None, suggestions: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record an indicator from the selected region")
        self.setMinimumWidth(460)
        where = (f"{int(region.width())} \u00d7 {int(region.height())} px at "
                 f"({int(region.x())}, {int(region.y())})")
        if time_s is not None:
            where += f", frame at {time_text(time_s)}"
        self.value = QComboBox(self)
        self.value.setEditable(True)
        # Shown escaped; what is recorded is what the analyst leaves in the field (see result_value).
        self.value.addItems([case_text.shown(s) for s in suggestions])
        self.value.setCurrentText(case_text.shown(suggestions[0]) if suggestions else "")
        self.type = QComboBox(self)
        self.type.addItems(list(TYPES))
        self.normalised = case_text.plain_label(self)
        self.normalised.setWordWrap(True)
        self.note = QLineEdit(self)
        self.note.setPlaceholderText("optional: why this region matters")
        form = QFormLayout()
        form.addRow("Region:", QLabel(where, self))
        form.addRow("Value:", self.value)
        form.addRow("Type:", self.type)
        form.addRow("Recorded as:", self.normalised)
        form.addRow("Note:", self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.value.currentTextChanged.connect(self._on_value_current_text_changed)
        self.type.currentTextChanged.connect(self._on_type_current_text_changed)
        self._on_value_current_text_changed(self.value.currentText())

    def result_value(self) -> tuple[str, str] | None:
        """``(type, normalised value)``, or None while the value is not valid for its type."""
        text = self.value.currentText().strip()
        if not text:
            return None
        type_ = self.type.currentText()
        try:
            return type_, normalise(type_, text)
        except (ValueError, UnicodeError):
            return None

    def _on_value_current_text_changed(self, text: str) -> None:
        guessed = classify(text) if text.strip() else None
        self.type.blockSignals(True)
        self.type.setCurrentText(guessed or "selector")
        self.type.blockSignals(False)
        self._update()

    def _on_type_current_text_changed(self, _text: str) -> None:
        self._update()

    def _update(self) -> None:
        result = self.result_value()
        case_text.plain(self.normalised, f"{result[0]} {result[1]}" if result else
                        "not a valid value of this type")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(result is not None)


class MediaView(QWidget):
    """An image, a video with a frame scrubber, or a kept frame; OCR boxes and the hits list.

    Args:
        tasks: the window's task manager (renders on the read pool, records on the write pool).
        parent: the owning widget.

    Signals:
        picture_shown: a picture (image, frame) is on screen; carries the time (-1 for images).
        indicator_recorded: an analyst indicator was written for the item id it carries.
        frame_shown: a video frame is on screen; carries its index (counted from 0).

    Video: frames come from a decoder child kept up while the video is shown
    (:class:`desktop.ui.playback.FrameSource`); play/pause (Space, K), one frame on (.) or back
    (,), the slider seeks, clicking an OCR line shows the frame it was read on.
    """

    picture_shown = Signal(float)
    frame_shown = Signal(int)
    indicator_recorded = Signal(int)

    def __init__(self, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self.reader: Database | None = None
        self.item: Item | None = None
        self.mode = ""  # "image", "video", "frame" or "" (nothing shown)
        self.time_s: float | None = None
        self.error = ""
        self._video_item: Item | None = None  # the video whose lines and frames are shown
        self._token = 0
        self._hit_times: list[float] = []
        self._deferred: Any = None  # the render to start when the pane is next shown
        self._renders: list[TaskHandle[Any]] = []  # in flight for the item shown now
        self.region_dialog: RegionIndicatorDialog | None = None
        # Zoom and position per item, as the analyst left them: coming back to a screenshot
        # shows the same detail; an item never zoomed starts fitted.
        self._views: dict[int, ViewState] = {}
        self._source: FrameSource | None = None  # the video's decoder child, while one is shown
        self.video_info: VideoInfo | None = None
        self.frame_index: int | None = None  # the frame on screen
        self._asked_index: int | None = None  # the frame asked for last (steps add to it)
        self._in_flight = False
        self.playing = False
        self._play_from = (0.0, 0)  # wall clock and frame index where playing started
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_play_timer_timeout)

        self.canvas = MediaCanvas(self)
        self.canvas.region_selected.connect(self._on_canvas_region_selected)
        self.canvas.zoom_changed.connect(self._on_canvas_zoom_changed)
        self.status = case_text.plain_label(self)
        self.status.setObjectName("mediaStatus")
        self.zoom_label = QLabel(self)
        style = self.style()
        self.fit_button = self._tool("Fit", "Fit the picture into the view", self.canvas.fit)
        self.actual_button = self._tool("100%", "One picture pixel per screen pixel", self.canvas.actual_size)
        self.zoom_in_button = self._tool("+", "Zoom in (or use the mouse wheel)",
                                         lambda: self.canvas.zoom_by(1.25))
        self.zoom_out_button = self._tool("\u2212", "Zoom out (or use the mouse wheel)",
                                          lambda: self.canvas.zoom_by(0.8))
        self.select_button = QToolButton(self)
        self.select_button.setText("Select region\u2026")
        self.select_button.setCheckable(True)
        self.select_button.setToolTip("Drag out a region of the picture and record what it shows as an "
                                      "indicator (source: analyst).")
        self.select_button.toggled.connect(self._on_select_button_toggled)
        self.enhance_button = QToolButton(self)
        self.enhance_button.setText("Enhance region\u2026")
        self.enhance_button.setCheckable(True)
        self.enhance_button.setToolTip(
            "Drag out a blurred or faint region: enhanced variants are made, read and kept as derived items "
            "with their recipe, and shown beside the original.")
        self.enhance_button.toggled.connect(self._on_enhance_button_toggled)
        self.boxes_toggle = QCheckBox("OCR boxes", self)
        self.boxes_toggle.setChecked(True)
        self.boxes_toggle.toggled.connect(self._on_boxes_toggle_toggled)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.fit_button, self.actual_button, self.zoom_out_button, self.zoom_in_button):
            bar.addWidget(w)
        bar.addWidget(self.zoom_label)
        bar.addSpacing(12)
        bar.addWidget(self.boxes_toggle)
        bar.addWidget(self.select_button)
        bar.addWidget(self.enhance_button)
        bar.addStretch(1)
        bar.addWidget(self.status)

        self.prev_hit = self._tool("", "Previous frame with an OCR hit", lambda: self._jump_hit(-1))
        self.prev_hit.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward))
        self.next_hit = self._tool("", "Next frame with an OCR hit", lambda: self._jump_hit(1))
        self.next_hit.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward))
        self.scrubber = QSlider(Qt.Orientation.Horizontal, self)
        self.scrubber.setObjectName("frameScrubber")
        self.scrubber.valueChanged.connect(self._on_scrubber_value_changed)
        self.scrubber.sliderReleased.connect(self._on_scrubber_slider_released)
        self.time_label = QLabel(self)
        self.time_label.setObjectName("videoTime")
        self.time_label.setMinimumWidth(110)
        self.time_label.setToolTip("Time of the frame shown, and its index: frames are counted from 0, "
                                   "as FFmpeg and the OCR analyser count them.")
        self.play_action = self._action("Play or pause the video", ["Space", "K"], self.toggle_play)
        self.next_frame_action = self._action("Next video frame", ["."], lambda: self.step(1))
        self.prev_frame_action = self._action("Previous video frame", [","], lambda: self.step(-1))
        self.play_button = self._tool("", "Play or pause (Space)", self.toggle_play)
        self.play_button.setObjectName("playButton")
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.prev_frame = self._tool("\u2039", "One frame back (,)", lambda: self.step(-1))
        self.next_frame = self._tool("\u203a", "One frame on (.)", lambda: self.step(1))
        self.video_bar = QWidget(self)
        video_layout = QHBoxLayout(self.video_bar)
        video_layout.setContentsMargins(0, 0, 0, 0)
        video_layout.addWidget(self.play_button)
        video_layout.addWidget(self.prev_frame)
        video_layout.addWidget(self.next_frame)
        video_layout.addWidget(self.prev_hit)
        video_layout.addWidget(self.scrubber, 1)
        video_layout.addWidget(self.next_hit)
        video_layout.addWidget(self.time_label)
        self._scrub_timer = QTimer(self)
        self._scrub_timer.setSingleShot(True)
        self._scrub_timer.setInterval(40)  # while scrubbing: the decoder takes the latest time asked
        self._scrub_timer.timeout.connect(self._on_scrub_timer_timeout)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.canvas, 1)
        left_layout.addWidget(self.video_bar)

        self.meta = QLabel(self)
        self.meta.setTextFormat(Qt.TextFormat.RichText)  # our markup, the metadata escaped into it
        self.meta.setObjectName("mediaMeta")
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hits_model = OcrHitsModel(self)
        self.hits = QTableView(self)
        self.hits.setObjectName("ocrHits")
        self.hits.setModel(self.hits_model)
        configure_table(self.hits)
        self.hits.horizontalHeader().setStretchLastSection(False)
        self.hits.horizontalHeader().setSectionResizeMode(1, self.hits.horizontalHeader().ResizeMode.Stretch)
        # The whole line, wrapped: eliding its middle hid exactly the path an analyst looks for.
        self.hits.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.hits.setWordWrap(True)
        self.hits.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.hits.selectionModel().currentRowChanged.connect(self._on_hits_current_row_changed)
        self.hits.clicked.connect(self._on_hits_clicked)
        self.only_hits = QCheckBox("Only lines with indicators", self)
        self.only_hits.toggled.connect(self._on_only_hits_toggled)
        hits_label = QLabel("OCR lines (click to jump to the frame)", self)
        hits_label.setObjectName("sectionLabel")
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.addWidget(self.meta)
        right_layout.addWidget(hits_label)
        right_layout.addWidget(self.only_hits)
        self.enhanced = EnhancedPanel(self._enhanced_png, self)
        self.enhanced.variant_activated.connect(self._on_enhanced_variant_activated)
        lists = QSplitter(Qt.Orientation.Vertical, self)
        lists.setChildrenCollapsible(False)
        lists.addWidget(self.hits)
        lists.addWidget(self.enhanced)
        lists.setSizes([260, 260])
        right_layout.addWidget(lists, 1)

        self.content = QSplitter(Qt.Orientation.Horizontal, self)
        self.content.setChildrenCollapsible(False)
        self.content.addWidget(left)
        self.content.addWidget(right)
        self.content.setStretchFactor(0, 3)
        self.content.setStretchFactor(1, 2)
        self.content.setSizes([800, 480])
        self.empty = QLabel("The selected item is not an image or a video.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("emptyHint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.content, 1)
        self.show_item(None, None, None)

    def _action(self, text: str, keys: list[str], slot: Any) -> QAction:
        """A keyboard action of the pane (active while the focus is in it; listed under Shortcuts)."""
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _tool(self, text: str, tip: str, slot: Any) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # -- feeding -----------------------------------------------------------------------------

    @staticmethod
    def handles(item: Item | None) -> bool:
        """Whether this pane shows an item: images, videos and kept frames."""
        return item is not None and (item.kind in ("image", "video") or item.derived_how == "video frame")

    def show_item(self, item: Item | None, reader: Database | None, case: Case | None) -> bool:
        """Show an item; False (and a hint) when it is not a picture this pane shows."""
        self._keep_view()
        self._token += 1
        self._deferred = None
        self._cancel_renders()
        self._scrub_timer.stop()
        self._stop_video()
        self.case, self.reader, self.item = case, reader, item
        self.error = ""
        self.time_s = None
        self.canvas.set_picture(None)
        self.canvas.set_boxes([])
        self.canvas.start_view(self._views.get(item.id) if item is not None else None)
        shown = self.handles(item) and reader is not None and case is not None
        self.empty.setVisible(not shown)
        self.content.setVisible(shown)
        self.select_button.setChecked(False)
        if not shown or item is None or reader is None or case is None:
            self.mode = ""
            self.hits_model.clear()
            return False
        self.select_button.setEnabled(not case.read_only)
        self.enhance_button.setEnabled(not case.read_only)
        self.enhance_button.setChecked(False)
        media = self._media(item.analysis_id)  # the same content as another item: its analysis
        owner = item.parent_id if item.derived_how == "video frame" and item.parent_id else item.analysis_id
        self.enhanced.set_rows(findings.enhanced_images(reader.conn, owner))
        if item.derived_how == "video frame":
            self.mode = "frame"
            self._show_frame_item(item, reader)
        elif item.kind == "video":
            self.mode = "video"
            self._video_item = item
            self.hits_model.load(reader, item.analysis_id)
            self._hit_times = self._times_with_hits(item.analysis_id)
            duration = float(media.get("duration_s") or 0.0) if media else 0.0
            self.scrubber.blockSignals(True)
            self.scrubber.setRange(0, max(0, int(duration * 1000)))
            fps = float(media.get("fps") or 0) if media else 0.0
            self.scrubber.setSingleStep(max(1, round(1000 / fps)) if fps else 100)
            self.scrubber.setPageStep(max(1000, self.scrubber.maximum() // 20))
            start = self._hit_times[0] if self._hit_times else 0.0
            self.scrubber.setValue(int(start * 1000))
            self.scrubber.blockSignals(False)
            self.seek(start)
        else:
            self.mode = "image"
            self._video_item = item
            self.hits_model.load(reader, item.analysis_id)
            self._render_image(item, media)
        self.video_bar.setVisible(self.mode == "video")
        for action in (self.play_action, self.next_frame_action, self.prev_frame_action):
            action.setEnabled(self.mode == "video")
        self.meta.setText(self._describe(item, media))
        self.hits.resizeColumnToContents(0)
        return True

    def _keep_view(self) -> None:
        """Remember how the item shown until now was zoomed (or forget it, if it is fitted)."""
        if self.item is None:
            return
        state = self.canvas.view_state()
        self._views.pop(self.item.id, None)
        if state is not None:
            self._views[self.item.id] = state
            while len(self._views) > _KEPT_VIEWS:
                del self._views[next(iter(self._views))]

    def seek(self, time_s: float) -> None:
        """Show the video frame at ``time_s`` (rendered in a child; the latest request wins)."""
        if self.mode != "video" or self.item is None:
            return
        self.time_s = max(0.0, time_s)
        self._sync_scrubber(self.time_s)
        self._show_time()
        self._render_frame(self.time_s)

    # -- playing -----------------------------------------------------------------------------

    def step(self, frames_on: int) -> None:
        """Show the frame ``frames_on`` frames after (or, negative, before) the one shown."""
        if self.mode != "video" or self.video_info is None or self._source is None:
            return
        self.pause()
        base = self._asked_index if self._asked_index is not None else (self.frame_index or 0)
        target = min(max(0, base + frames_on), self.video_info.frames - 1)
        self._ask_index(target)

    @property
    def decoding(self) -> bool:
        """Whether a frame was asked for and has not arrived yet."""
        return self._in_flight

    def toggle_play(self) -> None:
        """Play from the frame shown, or pause where it is."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Play at the video's frame rate; frames the decoder cannot keep up with are skipped."""
        info = self.video_info
        if self.mode != "video" or info is None or self._source is None or self.playing:
            return
        start = self.frame_index or 0
        if start >= info.frames - 1:
            start = 0  # at the end: from the start again, as players do
        self.playing = True
        self._play_from = (time.monotonic(), start)
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self._play_timer.start(max(5, round(1000 / (info.fps or 25.0))))
        self._on_play_timer_timeout()

    def pause(self) -> None:
        """Stop playing; the frame shown stays."""
        if not self.playing:
            return
        self.playing = False
        self._play_timer.stop()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def _on_play_timer_timeout(self) -> None:
        info = self.video_info
        if info is None or self._in_flight:
            return  # the decoder is behind: this tick's frame is skipped
        started, first = self._play_from
        due = min(first + int((time.monotonic() - started) * (info.fps or 25.0)), info.frames - 1)
        if self.frame_index == info.frames - 1 and due == info.frames - 1:
            self.pause()  # the last frame is on screen: stop there
        elif due != self.frame_index:
            self._ask_index(due)

    def _ask_index(self, index: int) -> None:
        assert self._source is not None  # noqa: S101 - callers checked
        self._asked_index = index
        self._in_flight = True
        self._source.want_index(index)

    def _ensure_source(self) -> FrameSource:
        if self._source is None:
            assert self.case is not None  # noqa: S101 - seek checked
            assert self.item is not None  # noqa: S101 - seek checked
            source = FrameSource(self.case.vault.blob_path(self.item.sha256))
            source.opened.connect(functools.partial(self._on_source_opened, source))
            source.frame_ready.connect(functools.partial(self._on_source_frame_ready, source))
            source.failed.connect(functools.partial(self._on_source_failed, source))
            self._source = source
        return self._source

    def _stop_video(self) -> None:
        """Stop the decoder child of the video shown until now (its late frames are dropped)."""
        self.pause()
        if self._source is not None:
            self._source.stop()
            self._source = None
        self.video_info = None
        self.frame_index = self._asked_index = None
        self._in_flight = False

    def _on_source_opened(self, source: FrameSource, info: VideoInfo) -> None:
        if source is not self._source:
            return
        self.video_info = info
        if info.fps:
            self.scrubber.setSingleStep(max(1, round(1000 / info.fps)))
        if info.duration_s * 1000 > self.scrubber.maximum():
            self.scrubber.setMaximum(round(info.duration_s * 1000))
        if info.note:
            case_text.plain(self.status, f"\u26a0 {info.note}")
        self._show_time()

    def _on_source_frame_ready(self, source: FrameSource, index: int, time_s: float, image: QImage) -> None:
        if source is not self._source or self.item is None:
            return
        self._in_flight = source.busy
        if not self._in_flight:
            self._asked_index = None
        self.frame_index = index
        self.time_s = time_s
        self.canvas.set_picture(image, _upright_size(self._media(self.item.analysis_id)))
        self._update_boxes(time_s)
        if not self.playing:
            self.enhanced.show_original(image, time_s, self.canvas.picture_size[0])
            self.status.setText("")
        self._sync_scrubber(time_s)
        self._show_time()
        self.picture_shown.emit(time_s)
        self.frame_shown.emit(index)

    def _on_source_failed(self, source: FrameSource, why: str) -> None:
        if source is not self._source:
            return
        self.pause()
        self._in_flight = False
        self._asked_index = None
        self._show_failure(why)

    def _show_time(self) -> None:
        shown = self.time_s or 0.0
        text = f"{time_text(shown)} / {time_text(self.scrubber.maximum() / 1000)}"
        if self.video_info is not None and self.frame_index is not None:
            text += f" \u00b7 frame {self.frame_index:,} / {self.video_info.frames - 1:,}"
        self.time_label.setText(text)

    def select_line(self, line_id: int) -> None:
        """Jump to an OCR line: its frame (for a video) and its box, highlighted."""
        row = self.hits_model.row_of(line_id)
        if row is not None:
            self.hits.selectRow(row)
            self._activate_row(row)

    # -- rendering ---------------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        """Start a render that waited for the pane to be shown (no child process for a hidden tab)."""
        super().showEvent(event)
        if self._deferred is not None:
            start, self._deferred = self._deferred, None
            start()

    def hideEvent(self, event: Any) -> None:
        """A video nobody sees does not go on playing (its decoder child stays up, paused)."""
        self.pause()
        super().hideEvent(event)

    def _when_shown(self, start: Any) -> bool:
        """Run ``start`` now if the pane is on screen, else when it is next shown; True if deferred."""
        if self.isVisible():
            return False
        self._deferred = start
        return True

    def _shower(self, token: int, size: tuple[int, int] | None,
                time_s: float | None) -> Callable[[QImage | str], None]:
        """What to do with a rendered picture: show it, unless another item was chosen meanwhile."""

        def shown(image: QImage | str) -> None:
            if token == self._token and self._show_failure(image):
                return
            if token == self._token and isinstance(image, QImage):
                self.canvas.set_picture(image, size)
                self._update_boxes(time_s)
                self.enhanced.show_original(image, time_s, size[0] if size else 0)
                self.status.setText("")
                self.picture_shown.emit(-1.0 if time_s is None else time_s)

        return shown

    def _render_image(self, item: Item, media: dict[str, Any] | None) -> None:
        if self._when_shown(lambda: self._render_image(item, media)):
            return
        case, token = self.case, self._token
        assert case is not None  # noqa: S101 - show_item checked
        path = case.vault.blob_path(item.sha256)
        size = _upright_size(media)
        self.status.setText("Rendering the image in a separate process\u2026")

        render = _in_child(lambda: frames.image_png(path))
        shown = self._shower(token, size, None)
        self._track(self.tasks.run_read("Render image", lambda: as_task(render, "rendering"),
                                        on_success=shown,
                                        on_done=lambda outcome: self._render_done(token, outcome)))

    def _render_frame(self, time_s: float) -> None:
        if self._when_shown(lambda: self._render_frame(time_s)):
            return
        if not self.playing:
            self.status.setText(f"Decoding the frame at {time_text(time_s)} in a separate process\u2026")
        self._in_flight = True
        self._asked_index = None
        self._ensure_source().want_time(time_s)

    def _show_frame_item(self, item: Item, reader: Database) -> None:
        """A kept frame: our own PNG, shown with the parent video's lines read at that time."""
        time_s = self._frame_time(item, reader)
        self.time_s = time_s
        self.hits_model.load(reader, item.parent_id, at_time=time_s)
        self._load_frame_png(item, time_s)

    def _load_frame_png(self, item: Item, time_s: float | None) -> None:
        if self._when_shown(lambda: self._load_frame_png(item, time_s)):
            return
        case, token = self.case, self._token
        assert case is not None  # noqa: S101 - show_item checked
        path = case.vault.blob_path(item.sha256)
        self.status.setText("")

        def load() -> QImage | str:
            try:
                return decode_png(path.read_bytes())
            except frames.RenderError as exc:
                return str(exc)

        def shown(image: QImage | str) -> None:
            if token == self._token and self._show_failure(image):
                return
            if token == self._token and isinstance(image, QImage):
                self.canvas.set_picture(image)
                self._update_boxes(time_s)
                self.enhanced.show_original(image, time_s)
                self.picture_shown.emit(time_s if time_s is not None else -1.0)

        self._track(self.tasks.run_read("Show frame", lambda: as_task(load, "reading"), on_success=shown,
                                        on_done=lambda outcome: self._render_done(token, outcome)))

    def _track(self, handle: TaskHandle[Any]) -> None:
        self._renders = [h for h in self._renders if h.running] + [handle]

    def _cancel_renders(self) -> None:
        """Drop the renders of the item shown until now.

        Pressing Down through a case queues one render per picture passed; a picture nobody looks
        at any more must not keep a child process and a pool thread busy (a thousand presses would
        otherwise queue minutes of decoding ahead of the picture the analyst stopped on).
        """
        for handle in self._renders:
            handle.cancel()
        self._renders = []

    def _show_failure(self, result: QImage | str) -> bool:
        if isinstance(result, str):
            self.error = result
            case_text.plain(self.status, f"\u26a0 Cannot show this picture: {result}")
            self.picture_shown.emit(-2.0)
            return True
        return False

    def _render_done(self, token: int, outcome: str) -> None:
        if token == self._token and outcome == "failed":
            self.status.setText("The picture could not be shown (see the message).")

    def _update_boxes(self, time_s: float | None) -> None:
        if not self.boxes_toggle.isChecked():
            self.canvas.set_boxes([])
            return
        lines: list[OcrLineRow] = self.hits_model.lines_near(time_s)
        boxes = [Box(line.box, line.text + (f"\nIndicators: {', '.join(line.indicators)}"
                                            if line.indicators else ""),
                     "uncertain" if line.uncertain else "indicator" if line.indicators else "line", line.id)
                 for line in lines]
        boxes += self._analyst_boxes(time_s)
        self.canvas.set_boxes(boxes)
        self.canvas.highlight(self.canvas.highlighted)

    def _analyst_boxes(self, time_s: float | None) -> list[Box]:
        if self.item is None:
            return []
        owner = self.item.parent_id if self.mode == "frame" else self.item.id
        if self.reader is None or owner is None:
            return []
        out = []
        for found in item_detail.analyst_boxes(self.reader.conn, [owner, self.item.id]):
            if time_s is not None and found.time_s is not None and abs(found.time_s - time_s) > 0.05:
                continue
            out.append(Box(found.box, f"Recorded by the analyst: {found.type} {found.value}", "analyst"))
        return out

    # -- reading -----------------------------------------------------------------------------

    def _media(self, item_id: int) -> dict[str, Any] | None:
        return item_detail.media_of(self.reader.conn, item_id) if self.reader is not None else None

    def _frame_time(self, item: Item, reader: Database) -> float | None:
        return item_detail.frame_time(reader.conn, item.id)

    def _times_with_hits(self, item_id: int) -> list[float]:
        return item_detail.hit_times(self.reader.conn, item_id) if self.reader is not None else []

    def _describe(self, item: Item, media: dict[str, Any] | None) -> str:
        if self.mode == "frame":
            parent = f"item {item.parent_id}" if item.parent_id else "its video"
            at = f" at {time_text(self.time_s)}" if self.time_s is not None else ""
            return (f"<b>Kept frame</b> of {parent}{at}: a lossless PNG acquired as evidence because an "
                    "indicator was read on it.")
        if not media:
            return "<i>Not analysed yet: no metadata and no OCR lines.</i>"
        parts: list[str] = []
        if self.mode == "image":
            parts.append(f"<b>{case_text.escape(media.get('format', ''))}</b> "
                         f"{case_text.escape(media.get('width'))} \u00d7 "
                         f"{case_text.escape(media.get('height'))} px"
                         f", {case_text.escape(media.get('mode', ''))}")
            exif = media.get("exif") or {}
            for key, label in (("make", "Camera"), ("model", "Model"), ("software", "Software"),
                               ("datetime_original", "Taken"), ("datetime", "Modified")):
                if exif.get(key):
                    parts.append(f"{label}: {case_text.escape(str(exif[key]))}")
            if exif.get("gps_latitude") is not None and exif.get("gps_longitude") is not None:
                parts.append(f"GPS: {exif['gps_latitude']:.5f}, {exif['gps_longitude']:.5f}")
        else:
            video: dict[str, Any] = next(
                (st for st in media.get("streams") or [] if st.get("type") == "video"), {})
            container = str(media.get("container_long") or media.get("container") or "")
            codec = f"{str(video.get('codec') or '').upper()} in " if video.get("codec") else ""
            parts.append(f"<b>{case_text.escape(codec + container)}</b>, "
                         f"{case_text.escape(media.get('width'))} \u00d7 "
                         f"{case_text.escape(media.get('height'))} px, "
                         f"{case_text.escape(media.get('fps') or '?')} fps, "
                         f"{time_text(media.get('duration_s'))}")
            if media.get("encoder"):
                parts.append(f"Encoder: {case_text.escape(str(media['encoder']))}")
            if media.get("creation_time"):
                parts.append(f"Created: {case_text.escape(str(media['creation_time']))}")
            if self.reader is not None:
                # copies in this case (re-encoded, cropped, re-posted); other cases: casetrail recordings
                copies = recordings.same_recordings(self.reader.conn).get(item.analysis_id, [])
                for copy in copies[:5]:
                    parts.append(f"<b>{case_text.escape(copy.describe().capitalize())}</b> "
                                 f"({case_text.escape(copy.other_name)})")
        for warning in media.get("warnings") or []:
            parts.append(f"<span style='color:#8a4b00'>\u26a0 {case_text.escape(str(warning))}</span>")
        return "<br>".join(parts)

    # -- slots -------------------------------------------------------------------------------

    def _on_scrubber_value_changed(self, value: int) -> None:
        self.pause()
        self.time_label.setText(f"{time_text(value / 1000)} / {time_text(self.scrubber.maximum() / 1000)}")
        self._scrub_timer.start()

    def _on_scrubber_slider_released(self) -> None:
        self._scrub_timer.stop()
        self.seek(self.scrubber.value() / 1000)

    def _on_scrub_timer_timeout(self) -> None:
        self.seek(self.scrubber.value() / 1000)

    def _on_hits_current_row_changed(self, current: Any, _previous: Any) -> None:
        if current.isValid():
            self._activate_row(current.row())

    def _on_hits_clicked(self, index: Any) -> None:
        self._activate_row(index.row())

    def _on_only_hits_toggled(self, only: bool) -> None:
        self.hits_model.set_only_indicators(only)

    def _on_boxes_toggle_toggled(self, _on: bool) -> None:
        self._update_boxes(self.time_s)

    def _on_select_button_toggled(self, on: bool) -> None:
        self.canvas.set_selecting(on)

    def _on_canvas_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def _on_canvas_region_selected(self, region: QRectF) -> None:
        if self.enhance_button.isChecked():
            self.enhance_button.setChecked(False)
            self.enhance_region(region)
            return
        self.select_button.setChecked(False)
        self.ask_region_indicator(region)

    def _on_enhance_button_toggled(self, on: bool) -> None:
        if on:
            self.select_button.setChecked(False)
        self.canvas.set_selecting(on)

    def _on_enhanced_variant_activated(self, time_s: float) -> None:
        if self.mode == "video" and time_s >= 0:
            self.seek(time_s)

    def _enhanced_png(self, item_id: int) -> QImage | str:
        if self.case is None:
            return "no case"
        try:
            return decode_png(enhance.variant_png(self.case, item_id))
        except (ValueError, OSError, frames.RenderError) as exc:
            return str(exc)

    def enhance_region(self, region: QRectF) -> None:
        """Enhance a marked region (in a child, on the write pool) and show the variants beside it."""
        if self.item is None or self.case is None or self.case.read_only:
            return
        case = self.case
        target = case.item(self.item.parent_id) if self.mode == "frame" and self.item.parent_id else self.item
        if target is None:
            return
        box = (int(region.x()), int(region.y()), round(region.width()), round(region.height()))
        time_s = self.time_s if self.mode in ("video", "frame") else None
        self.status.setText("Enhancing the region in a separate process\u2026")
        self.tasks.run_write("Enhance region", lambda: enhance.enhance_region(case, target, time_s, box),
                             on_success=self._on_enhance_succeeded)

    def _on_enhance_succeeded(self, outcome: enhance.EnhanceOutcome) -> None:
        if self.reader is None or self.item is None:
            return
        owner = self.item.parent_id if self.mode == "frame" and self.item.parent_id else self.item.id
        self.enhanced.set_rows(findings.enhanced_images(self.reader.conn, owner))
        self.hits_model.load(self.reader, owner, at_time=self.time_s if self.mode == "frame" else None)
        read = "; ".join(t for v in outcome.variants for t, _ in v.lines) or "nothing legible"
        self.status.setText(f"Enhanced {len(outcome.variants)} variants (derived items): read {read}")
        image = self.canvas.pixmap_item.pixmap().toImage()
        self.enhanced.show_original(image, self.time_s, self.canvas.picture_size[0])
        self.indicator_recorded.emit(outcome.item_id)

    # -- recording an indicator --------------------------------------------------------------

    def ask_region_indicator(self, region: QRectF) -> RegionIndicatorDialog | None:
        """Ask what the region shows (non-blocking dialog); record it when the analyst accepts."""
        if self.item is None or self.case is None or self.case.read_only:
            return None
        dialog = RegionIndicatorDialog(region, self.time_s, self._suggestions(region), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        bbox = [int(region.x()), int(region.y()), round(region.width()), round(region.height())]
        dialog.accepted.connect(lambda: self._on_region_dialog_accepted(dialog, bbox))
        self.region_dialog = dialog
        dialog.open()
        return dialog

    def record_region(self, type_: str, value: str, bbox: list[int], note: str = "") -> None:
        """Record an indicator for a region of the shown picture (on the write pool)."""
        if self.item is None or self.case is None:
            return
        # A kept frame is evidence in its own right: the region is recorded on the frame item.
        case, item_id, time_s = self.case, self.item.id, self.time_s
        self.tasks.run_write(
            "Record indicator",
            lambda: record_analyst_indicator(case, item_id, type_, value, bbox, time_s, note),
            on_success=self._on_record_succeeded)

    def _on_region_dialog_accepted(self, dialog: RegionIndicatorDialog, bbox: list[int]) -> None:
        result = dialog.result_value()
        if result is not None:
            self.record_region(result[0], result[1], bbox, dialog.note.text().strip())

    def _on_record_succeeded(self, item_id: int) -> None:
        self._update_boxes(self.time_s)
        self.indicator_recorded.emit(item_id)

    def _suggestions(self, region: QRectF) -> list[str]:
        out: list[str] = []
        for line in self.hits_model.lines_near(self.time_s):
            if QRectF(*line.box).intersects(region):
                out += list(line.indicators)
        for line in self.hits_model.lines_near(self.time_s):
            if QRectF(*line.box).intersects(region) and line.text not in out:
                out.append(line.text)
        return list(dict.fromkeys(out))

    # -- internals ---------------------------------------------------------------------------

    def _activate_row(self, row: int) -> None:
        line = self.hits_model.line_at(row)
        if line is None:
            return
        self.canvas.highlight(line.id)
        if self.mode == "video" and line.time_s is not None and (
                self.time_s is None or abs(line.time_s - self.time_s) > 1e-3):
            self.seek(line.time_s)

    def _jump_hit(self, direction: int) -> None:
        if not self._hit_times:
            return
        now = self.time_s or 0.0
        if direction > 0:
            later = [t for t in self._hit_times if t > now + 1e-3]
            target = later[0] if later else self._hit_times[-1]
        else:
            earlier = [t for t in self._hit_times if t < now - 1e-3]
            target = earlier[-1] if earlier else self._hit_times[0]
        self.seek(target)

    def _sync_scrubber(self, time_s: float) -> None:
        self.scrubber.blockSignals(True)
        self.scrubber.setValue(round(time_s * 1000))
        self.scrubber.blockSignals(False)


def _in_child(produce: Callable[[], bytes]) -> Callable[[], QImage | str]:
    """Wrap a child-process renderer: the picture, or why the evidence cannot be shown."""

    def render() -> QImage | str:
        try:
            return decode_png(produce())
        except frames.RenderError as exc:  # hostile or broken evidence: say so in the pane
            return str(exc)

    return render


def _upright_size(media: dict[str, Any] | None) -> tuple[int, int] | None:
    """The picture's size as OCR saw it: EXIF orientations 5-8 and 90° rotations swap the sides."""
    if not media or not media.get("width") or not media.get("height"):
        return None
    width, height = int(media["width"]), int(media["height"])
    turned = media.get("orientation") in (5, 6, 7, 8) or (round((media.get("rotation") or 0) / 90) % 2 == 1)
    return (height, width) if turned else (width, height)


_ = QPoint  # re-exported for tests that build mouse events
