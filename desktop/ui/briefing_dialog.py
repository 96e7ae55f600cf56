# SPDX-License-Identifier: GPL-3.0-or-later
"""Case → Export briefing…: choose sections, marking and redactions, preview the pages, save.

The preview is the real document: :func:`reports.briefing.render_briefing` renders the PDF
bytes of the case as it is now (writing nothing) on the read pool, through a read-only view of
the case; PDFium (pypdfium2) rasterises its pages there too, into ``QImage`` objects — never
``QPixmap``, which only the GUI thread may make. Thumbnails of every page fill a strip; the page
in view is rendered at the zoom chosen, on demand, and cached.

Saving calls :func:`reports.briefing.write_briefing` on the write pool: it signs a checkpoint,
writes the PDF atomically and records the export in custody (``exported``, with the PDF's
SHA-256). The dialog shows that path and hash. It never writes a file itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.core import indicator_list, keys
from desktop.core.case import TLP_LEVELS, Case
from desktop.core.errors import CasetrailError
from desktop.core.progress import Progress, Task
from desktop.ui import case_text
from desktop.ui.case_snapshot import read_only_view
from desktop.ui.tasks import TaskHandle, TaskManager, as_task
from reports.briefing import (
    SECTION_TITLES,
    SECTIONS,
    BriefingOptions,
    BriefingResult,
    minimum_tlp,
    render_briefing,
    write_briefing,
)

# PDFium is not thread-safe: one call into it at a time in this process, whichever pool runs it
# (tests that read a preview's PDF while the dialog renders take it too).
PDFIUM_LOCK = threading.Lock()
# reportlab keeps module-level state (fonts, config): a preview and an export never lay out at once.
_LAYOUT = threading.Lock()
THUMB_SCALE = 0.2  # PDF points to pixels in the page strip: an A4 page is 119 x 168
THUMB_LIMIT = 300  # pages beyond this have no thumbnail (a 500-item appendix runs to hundreds)
PAGE_CACHE = 6  # rendered pages kept for going back and forth
ZOOMS = ((0.0, "Fit width"), (0.5, "50 %"), (0.75, "75 %"), (1.0, "100 %"), (1.25, "125 %"),
         (1.5, "150 %"), (2.0, "200 %"))
_POINTS_TO_SCREEN = 96 / 72  # "100 %" is the page at its printed size on a 96 dpi screen


def _pdfium() -> Any:
    """Import pypdfium2 lazily: only the preview needs it, and it is not typed.

    Raises:
        CasetrailError: it is not installed (the export itself still works without it).
    """
    try:
        import pypdfium2  # type: ignore[import-untyped]
    except ImportError as exc:
        raise CasetrailError("the page preview needs the pypdfium2 package, which is not installed; "
                             "Save still writes the briefing") from exc
    return pypdfium2


def to_qimage(image: PILImage.Image) -> QImage:
    """Convert a Pillow image to a ``QImage`` that owns its pixels (safe to pass between threads)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    wrapped = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return wrapped.copy()  # detach from ``data``, which Python may free


def render_pages(pdf: bytes, pages: Sequence[int], scale: float) -> Task[list[QImage]]:
    """Rasterise some pages of a PDF, yielding between pages so the task can be cancelled."""
    pdfium = _pdfium()
    out: list[QImage] = []
    for n, page_no in enumerate(pages):
        yield Progress("Rendering pages", n, len(pages))
        with PDFIUM_LOCK:
            doc = pdfium.PdfDocument(pdf)
            try:
                page = doc[page_no]
                bitmap = page.render(scale=scale)
                out.append(to_qimage(bitmap.to_pil()))
                bitmap.close()
                page.close()
            finally:
                doc.close()
    return out


@dataclass(frozen=True)
class BriefingPreview:
    """A rendered briefing as the dialog shows it.

    Attributes:
        data: the PDF bytes (not written anywhere).
        pages: the page count.
        thumbnails: one image per page, for the first :data:`THUMB_LIMIT` pages.
        options: the options it was rendered with.
        indicator_values: the case's indicator values, offered when choosing what to redact.
    """

    data: bytes
    pages: int
    thumbnails: list[QImage]
    options: BriefingOptions
    indicator_values: list[str] = field(default_factory=list)


def render_preview(case: Case, options: BriefingOptions) -> Task[BriefingPreview]:
    """Render the briefing through a read-only view of the case, then its thumbnails (read pool)."""
    yield Progress("Laying out the briefing")
    with read_only_view(case) as view, _LAYOUT:
        data, pages = render_briefing(view, options)
        values = indicator_list.values(view.db.conn)
    thumbs = yield from render_pages(data, range(min(pages, THUMB_LIMIT)), THUMB_SCALE)
    return BriefingPreview(data, pages, thumbs, options, values)


class BriefingDialog(QDialog):
    """Options on the left, the pages on the right, Save at the bottom.

    Args:
        case: the open case (used only inside pool tasks).
        tasks: the window's task manager: previews on its read pool, the export on its write pool.
        parent: the window.

    Signals:
        preview_ready: a preview is on screen; carries its page count.
        page_shown: the page in view was rendered at the current zoom; carries its index.
        saved: the briefing was written and recorded; carries the :class:`BriefingResult`.
    """

    preview_ready = Signal(int)
    page_shown = Signal(int)
    saved = Signal(object)

    def __init__(self, case: Case, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export briefing \u2014 {case_text.shown(case.title)}")
        self.setObjectName("briefingDialog")
        self.case = case
        self.tasks = tasks
        self.preview: BriefingPreview | None = None
        self.export_result: BriefingResult | None = None
        self.current_page = 0
        self._preview_handle: TaskHandle[BriefingPreview] | None = None
        self._page_handle: TaskHandle[list[QImage]] | None = None
        self._page_cache: OrderedDict[tuple[int, float], QImage] = OrderedDict()
        self._wanted: tuple[int, float] | None = None
        self._save_handle: TaskHandle[BriefingResult] | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(500)  # options change in bursts (ticking boxes): render once
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._build()
        self.resize(1320, 860)

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        self.tlp = QComboBox(self)
        for level in TLP_LEVELS:
            self.tlp.addItem(f"TLP:{level.upper()}", level)
        # The lowest marking that prints nothing tagged above it (issue 11's TLP rule): saving a lower
        # one is refused unless those values are redacted.
        self.tlp.setCurrentIndex(max(0, self.tlp.findData(minimum_tlp(self.case))))
        self.tlp.currentIndexChanged.connect(self._on_option_changed)

        sections_box = QGroupBox("Sections", self)
        sections_layout = QVBoxLayout(sections_box)
        self.section_boxes: dict[str, QCheckBox] = {}
        for name in SECTIONS:
            box = QCheckBox(SECTION_TITLES[name], sections_box)
            box.setChecked(True)
            box.toggled.connect(self._on_option_changed)
            self.section_boxes[name] = box
            sections_layout.addWidget(box)
        fp = keys.fingerprint_of(self.case.examiner)
        always = QLabel("The cover and the signed checkpoint are always included. The PDF is signed "
                        f"with the key of {self.case.examiner}"
                        + (f", fingerprint {fp[:16]}\u2026{fp[-8:]}." if fp else "."), sections_box)
        always.setTextFormat(Qt.TextFormat.PlainText)  # the examiner's name is case text
        always.setWordWrap(True)
        always.setObjectName("hint")
        sections_layout.addWidget(always)

        redact_box = QGroupBox("Redact", self)
        redact_layout = QVBoxLayout(redact_box)
        hint = QLabel("Blacked out everywhere: text, defanged forms, and OCR boxes on images.", redact_box)
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        self.redact_entry = QLineEdit(redact_box)
        self.redact_entry.setPlaceholderText("A value to redact, e.g. a victim's address")
        self.redact_entry.returnPressed.connect(self._on_redact_add_clicked)
        self.redact_add = QPushButton("Add", redact_box)
        self.redact_add.clicked.connect(self._on_redact_add_clicked)
        self.redact_list = QListWidget(redact_box)
        self.redact_list.setObjectName("redactList")
        self.redact_remove = QPushButton("Remove", redact_box)
        self.redact_remove.clicked.connect(self._on_redact_remove_clicked)
        entry_row = QHBoxLayout()
        entry_row.addWidget(self.redact_entry, 1)
        entry_row.addWidget(self.redact_add)
        self.role_boxes: dict[str, QCheckBox] = {}
        roles_row = QHBoxLayout()
        for role, label, tip in (("recipients", "Recipients", "Every address a message of the case went to"),
                                 ("victims", "Victims", "Recipients, and what is tagged victim")):
            box = QCheckBox(label, redact_box)
            box.setToolTip(tip)
            box.toggled.connect(self._on_option_changed)
            self.role_boxes[role] = box
            roles_row.addWidget(box)
        roles_row.addStretch(1)
        redact_layout.addWidget(hint)
        redact_layout.addLayout(roles_row)
        redact_layout.addLayout(entry_row)
        redact_layout.addWidget(self.redact_list, 1)
        redact_layout.addWidget(self.redact_remove, 0, Qt.AlignmentFlag.AlignRight)

        self.correlate = QCheckBox("Look indicators up in this workstation's library", self)
        self.correlate.setChecked(True)
        self.correlate.setToolTip("Other cases, feeds and ASN data on this machine; nothing goes online.")
        self.correlate.toggled.connect(self._on_option_changed)
        self.other_cases = QCheckBox("Name other cases (only those within this marking)", self)
        self.other_cases.setChecked(True)
        self.other_cases.setToolTip("A match with another case of this workstation is named only when that "
                                    "case's marking is no stricter than the briefing's.")
        self.other_cases.toggled.connect(self._on_option_changed)
        self.max_exhibits = QSpinBox(self)
        self.max_exhibits.setRange(0, 2000)
        self.max_exhibits.setValue(200)
        self.max_exhibits.setToolTip("Image exhibits beyond this many are listed but not drawn.")
        self.max_exhibits.valueChanged.connect(self._on_option_changed)

        options = QWidget(self)
        options.setObjectName("briefingOptions")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Marking", self.tlp)
        form.addRow("Drawn exhibits", self.max_exhibits)
        opt_layout = QVBoxLayout(options)
        opt_layout.setContentsMargins(0, 0, 8, 0)
        opt_layout.addLayout(form)
        opt_layout.addWidget(sections_box)
        opt_layout.addWidget(redact_box, 1)
        opt_layout.addWidget(self.correlate)
        opt_layout.addWidget(self.other_cases)
        options.setMinimumWidth(300)
        options.setMaximumWidth(380)

        # Preview: a strip of thumbnails and the page at the chosen zoom.
        self.strip = QListWidget(self)
        self.strip.setObjectName("pageStrip")
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.TopToBottom)
        self.strip.setWrapping(False)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setIconSize(QSize(119, 168))
        self.strip.setSpacing(6)
        self.strip.setUniformItemSizes(True)
        self.strip.setFixedWidth(172)
        # A filled selection would hide the very page it marks: frame it instead.
        self.strip.setStyleSheet(
            "QListWidget#pageStrip { background: #eceef1; }"
            "QListWidget#pageStrip::item { color: #333333; padding: 2px; border: 2px solid transparent; }"
            "QListWidget#pageStrip::item:selected { background: transparent; color: #1F4E79;"
            " border: 2px solid #1F4E79; }")
        self.strip.currentRowChanged.connect(self._on_strip_current_row_changed)
        self.page_label = QLabel(self)
        self.page_label.setObjectName("pageImage")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.page_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.page_scroll = QScrollArea(self)
        self.page_scroll.setObjectName("pageScroll")
        self.page_scroll.setWidget(self.page_label)
        self.page_scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.page_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.page_scroll.viewport().setStyleSheet("background: #5f6670;")

        self.zoom = QComboBox(self)
        for value, label in ZOOMS:
            self.zoom.addItem(label, value)
        self.zoom.currentIndexChanged.connect(self._on_zoom_current_index_changed)
        self.prev_button = QPushButton("\u25b2 Previous", self)
        self.next_button = QPushButton("Next \u25bc", self)
        self.prev_button.clicked.connect(self._on_prev_button_clicked)
        self.next_button.clicked.connect(self._on_next_button_clicked)
        self.refresh_button = QPushButton("Update preview", self)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.status = QLabel("Rendering the preview\u2026", self)
        self.status.setObjectName("previewStatus")
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, self._on_next_button_clicked)
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, self._on_prev_button_clicked)

        view_bar = QHBoxLayout()
        view_bar.addWidget(self.status, 1)
        view_bar.addWidget(self.prev_button)
        view_bar.addWidget(self.next_button)
        view_bar.addSpacing(8)
        view_bar.addWidget(QLabel("Zoom", self))
        view_bar.addWidget(self.zoom)
        view_bar.addWidget(self.refresh_button)
        pages = QHBoxLayout()
        pages.setSpacing(0)
        pages.addWidget(self.strip)
        pages.addWidget(self.page_scroll, 1)
        preview = QWidget(self)
        preview_layout = QVBoxLayout(preview)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        preview_layout.addLayout(view_bar)
        preview_layout.addLayout(pages, 1)

        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.setChildrenCollapsible(False)
        body.addWidget(options)
        body.addWidget(preview)
        body.setStretchFactor(1, 1)

        self.result_label = QLabel(self)
        self.result_label.setObjectName("exportResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton(QIcon.fromTheme("document-save"), "&Save briefing\u2026", self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        if self.case.read_only:
            self.save_button.setEnabled(False)
            self.save_button.setToolTip("An export is recorded in custody; this case is read-only.")
        bottom = QHBoxLayout()
        bottom.addWidget(self.result_label, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(body, 1)
        layout.addLayout(bottom)
        self._update_nav()

    # -- options -----------------------------------------------------------------------------

    def options(self) -> BriefingOptions:
        """The options as chosen now."""
        redact = [str(self.redact_list.item(i).data(Qt.ItemDataRole.UserRole))
                  for i in range(self.redact_list.count())]
        return BriefingOptions(
            tlp=str(self.tlp.currentData()),
            sections=frozenset(n for n, b in self.section_boxes.items() if b.isChecked()),
            redact=redact, redact_roles=frozenset(r for r, b in self.role_boxes.items() if b.isChecked()),
            max_exhibits=self.max_exhibits.value(), correlate=self.correlate.isChecked(),
            other_cases=self.other_cases.isChecked())

    def add_redaction(self, value: str) -> None:
        """Add a value to black out (ignored if blank or already listed)."""
        value = value.strip()
        existing = {self.redact_list.item(i).data(Qt.ItemDataRole.UserRole)
                    for i in range(self.redact_list.count())}
        if value and value not in existing:
            entry = QListWidgetItem(case_text.shown(value))  # shown as text; the value is the data
            entry.setData(Qt.ItemDataRole.UserRole, value)
            self.redact_list.addItem(entry)
            self._on_option_changed()

    def _on_redact_add_clicked(self) -> None:
        self.add_redaction(self.redact_entry.text())
        self.redact_entry.clear()

    def _on_redact_remove_clicked(self) -> None:
        for item in self.redact_list.selectedItems():
            self.redact_list.takeItem(self.redact_list.row(item))
        self._on_option_changed()

    def _on_option_changed(self, *_args: object) -> None:
        self.status.setText("Options changed: the preview will update\u2026")
        self._refresh_timer.start()

    def _on_refresh_timer_timeout(self) -> None:
        self.refresh_preview()

    def _on_refresh_button_clicked(self) -> None:
        self.refresh_preview()

    # -- preview -----------------------------------------------------------------------------

    def refresh_preview(self) -> TaskHandle[BriefingPreview] | None:
        """Render the briefing with the current options (read pool); the old preview stays meanwhile."""
        self._refresh_timer.stop()
        if self._preview_handle is not None and self._preview_handle.running:
            self._preview_handle.cancel()
        case, options = self.case, self.options()
        self.status.setText("Rendering the preview\u2026")

        def progressed(tick: Progress) -> None:
            if tick.total:
                self.status.setText(f"Rendering page thumbnails: {tick.done} of {tick.total}\u2026")

        handle = self.tasks.run_read("Briefing preview", lambda: render_preview(case, options),
                                     on_success=self._on_preview_rendered, on_progress=progressed,
                                     owner=self)
        self._preview_handle = handle
        return handle

    def _on_preview_rendered(self, preview: BriefingPreview) -> None:
        if self._preview_handle is not None and self._preview_handle.result is not preview:
            return  # superseded by a newer render
        self.preview = preview
        self._page_cache.clear()
        self.strip.clear()
        for n, image in enumerate(preview.thumbnails):
            item = QListWidgetItem(QIcon(QPixmap.fromImage(image)), str(n + 1))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.strip.addItem(item)
        extra = preview.pages - len(preview.thumbnails)
        size_kb = len(preview.data) / 1000
        self.status.setText(f"{preview.pages} page{'s' if preview.pages != 1 else ''} \u00b7 "
                            f"{size_kb:,.0f} KB \u00b7 TLP:{(preview.options.tlp or '').upper()}"
                            + (f" \u00b7 thumbnails of the first {len(preview.thumbnails)}" if extra else ""))
        self.show_page(min(self.current_page, preview.pages - 1))
        if preview.indicator_values:
            completer = QCompleter(preview.indicator_values, self.redact_entry)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.redact_entry.setCompleter(completer)
        self.preview_ready.emit(preview.pages)

    def _scale(self) -> float:
        zoom = float(self.zoom.currentData() or 0.0)
        ratio = self.devicePixelRatioF()
        if zoom <= 0:  # fit width: the page's 595 points across the viewport, less a margin
            width = max(200, self.page_scroll.viewport().width() - 24)
            return width / 595.0 * ratio
        return zoom * _POINTS_TO_SCREEN * ratio

    def show_page(self, page: int) -> None:
        """Show one page at the current zoom, rendering it off the GUI thread if not cached."""
        if self.preview is None or not 0 <= page < self.preview.pages:
            return
        self.current_page = page
        if self.strip.currentRow() != page and page < self.strip.count():
            self.strip.blockSignals(True)
            self.strip.setCurrentRow(page)
            self.strip.blockSignals(False)
        self._update_nav()
        scale = round(self._scale(), 3)
        key = (page, scale)
        if key in self._page_cache:
            self._page_cache.move_to_end(key)
            self._display(self._page_cache[key], page)
            return
        self._wanted = key
        if self._page_handle is not None and self._page_handle.running:
            return  # when it ends, the wanted page is rendered next
        data = self.preview.data

        def rendered(images: list[QImage]) -> None:
            self._page_cache[key] = images[0]
            while len(self._page_cache) > PAGE_CACHE:
                self._page_cache.popitem(last=False)

        def done(_outcome: str) -> None:
            self._page_handle = None
            wanted = self._wanted
            if wanted is None or self.preview is None or self.preview.data is not data:
                if self.preview is not None and self.preview.data is not data:
                    self.show_page(self.current_page)
                return
            if wanted in self._page_cache:
                self._wanted = None
                self._display(self._page_cache[wanted], wanted[0])
            else:
                self.show_page(wanted[0])

        self._page_handle = self.tasks.run_read(
            "Briefing page", lambda: render_pages(data, [page], scale), on_success=rendered, on_done=done,
            owner=self)

    def page_image(self) -> QImage | None:
        """The image of the page in view, if it has been rendered."""
        for (page, _scale), image in reversed(self._page_cache.items()):
            if page == self.current_page:
                return image
        return None

    def _display(self, image: QImage, page: int) -> None:
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.page_label.setPixmap(pixmap)
        self.page_label.resize(pixmap.deviceIndependentSize().toSize())
        self.page_scroll.verticalScrollBar().setValue(0)
        self.page_shown.emit(page)

    def _update_nav(self) -> None:
        pages = self.preview.pages if self.preview else 0
        self.prev_button.setEnabled(self.current_page > 0)
        self.next_button.setEnabled(self.current_page + 1 < pages)

    def _on_strip_current_row_changed(self, row: int) -> None:
        if row >= 0:
            self.show_page(row)

    def _on_prev_button_clicked(self) -> None:
        self.show_page(self.current_page - 1)

    def _on_next_button_clicked(self) -> None:
        self.show_page(self.current_page + 1)

    def _on_zoom_current_index_changed(self, _index: int) -> None:
        self.show_page(self.current_page)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-fit the page when the dialog is resized in fit-width mode."""
        super().resizeEvent(event)
        if self.preview is not None and not self.zoom.currentData():
            self.show_page(self.current_page)

    # -- saving ------------------------------------------------------------------------------

    def default_path(self) -> Path:
        """Where a briefing is offered to be saved: the case's ``exports`` folder."""
        safe = "".join(c if c.isalnum() or c in " -_." else "-" for c in self.case.title).strip() or "case"
        return self.case.path / "exports" / f"{safe} - briefing.pdf"

    def _on_save_button_clicked(self) -> None:
        chosen, _filter = QFileDialog.getSaveFileName(self, "Save briefing", str(self.default_path()),
                                                      "PDF documents (*.pdf)")
        if chosen:
            path = Path(chosen)
            self.save_to(path if path.suffix.lower() == ".pdf" else path.with_suffix(".pdf"))

    def save_to(self, path: Path) -> TaskHandle[BriefingResult] | None:
        """Write the briefing to ``path`` and record it in custody (write pool)."""
        if self.case.read_only or (self._save_handle is not None and self._save_handle.running):
            return None
        case, options = self.case, self.options()
        self.save_button.setEnabled(False)
        self.result_label.setText(case_text.rich("Writing {} and recording it in the custody log\u2026",
                                                 path.name))

        def succeeded(result: BriefingResult) -> None:
            self.export_result = result
            self.result_label.setText(case_text.rich(
                "<b>Saved</b> {} \u2014 {} pages<br>SHA-256 <span style='font-family:monospace'>{}</span> "
                "\u00b7 recorded as custody entry {}", result.path, result.pages, result.sha256,
                result.custody_seq))
            self.saved.emit(result)

        def done(outcome: str) -> None:
            self._save_handle = None
            self.save_button.setEnabled(True)
            if outcome != "succeeded":
                self.result_label.setText("The briefing was not saved.")

        def write() -> BriefingResult:
            with _LAYOUT:
                return write_briefing(case, path, options)

        self._save_handle = self.tasks.run_write("Export briefing", lambda: as_task(write, "briefing"),
                                                 on_success=succeeded, on_done=done, owner=self)
        return self._save_handle

    def done(self, result: int) -> None:
        """Stop rendering when the dialog closes (a save in progress runs to its end)."""
        self._refresh_timer.stop()
        for handle in (self._preview_handle, self._page_handle):
            if handle is not None and handle.running:
                handle.cancel()
        super().done(result)
