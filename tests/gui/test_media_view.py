# SPDX-License-Identifier: GPL-3.0-or-later
"""The media pane: OCR boxes over an image rendered in a child, zoom, regions recorded as indicators."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QRectF
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ingest import frames
from desktop.ui.analysis_panels import MEDIA_TAB
from desktop.ui.main_window import MainWindow
from desktop.ui.media_view import ANALYST_WHERE, MediaView, decode_png
from desktop.ui.ocr_hits import OcrHitsModel
from desktop.ui.tasks import TaskManager

LINES = [
    {"text": "root@relay:~# ip -4 addr show eth0", "confidence": 0.99, "box": [10, 10, 300, 18]},
    {"text": "inet 185.141.63.120/24 scope global eth0", "confidence": 0.98, "box": [10, 40, 340, 18]},
    {"text": "curl -s hxxp://example[.]com/rsvp", "confidence": 0.97, "box": [10, 70, 300, 18]},
]


def screenshot(path: Path) -> Path:
    image = Image.new("RGB", (400, 120), (24, 26, 30))
    draw = ImageDraw.Draw(image)
    for line in LINES:
        x, y, _w, _h = line["box"]
        draw.text((x, y), str(line["text"]), fill=(230, 230, 230))
    image.save(path)
    return path


def add_image_with_ocr(case: Case, tmp_path: Path) -> int:
    """Acquire a screenshot and store what the analyser would have found on it (no OCR run)."""
    report = run_to_end(import_paths(case, [screenshot(tmp_path / "terminal.png")]))
    item_id = report.acquired[0].item.id
    with case.transaction() as conn:
        findings.record_media(conn, item_id, "image", {"format": "PNG", "mode": "RGB", "width": 400,
                                                        "height": 120, "orientation": None, "exif": {}})
        findings.record_ocr_lines(conn, item_id, LINES)
        findings.record_occurrences(conn, item_id, [
            {"type": "ipv4", "value": "185.141.63.120", "source": "ocr", "where": "image",
             "bbox": LINES[1]["box"], "confidence": 0.98, "status": "certain"}])
        findings.mark_analysed(conn, examiner=case.examiner, item_id=item_id,
                               sha256=case.item(item_id).sha256, kind="image")  # type: ignore[union-attr]
    return item_id


def show_media(qtbot: QtBot, window: MainWindow, item_id: int) -> MediaView:
    window._refresh_views()
    view = window.panels.media_view
    row = window.model.row_of(item_id)
    assert row is not None
    window.table.selectRow(row)
    assert window.panels.item_tabs.isTabEnabled(MEDIA_TAB)
    with qtbot.waitSignal(view.picture_shown, timeout=TASK_MS):
        window.panels.item_tabs.setCurrentIndex(MEDIA_TAB)  # rendering starts when the pane is shown
    return view


def test_an_image_shows_its_ocr_boxes_and_hits(qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    assert case_window.case is not None
    item_id = add_image_with_ocr(case_window.case, tmp_path)
    view = show_media(qtbot, case_window, item_id)
    assert view.mode == "image"
    assert view.error == ""
    assert view.canvas.picture_size == (400, 120)
    assert not view.canvas.pixmap_item.pixmap().isNull()
    kinds = sorted(box.kind for box, _item in view.canvas.box_items)
    assert kinds == ["indicator", "line", "line"]
    drawn = {box.rect for box, _item in view.canvas.box_items}
    assert tuple(LINES[1]["box"]) in drawn
    assert view.hits_model.rowCount() == 3
    view.only_hits.setChecked(True)
    assert view.hits_model.rowCount() == 1
    assert view.hits_model.line_at(0).indicators == ("185.141.63.120",)  # type: ignore[union-attr]
    view.hits.selectRow(0)
    assert view.canvas.highlighted == view.hits_model.line_at(0).id  # type: ignore[union-attr]
    fitted = view.canvas.zoom
    view.zoom_in_button.click()
    assert view.canvas.zoom == pytest.approx(fitted * 1.25)
    view.actual_button.click()
    assert view.canvas.zoom == pytest.approx(1.0)
    assert view.zoom_label.text() == "100%"


def test_a_selected_region_is_recorded_as_an_analyst_indicator_with_custody(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    case = case_window.case
    assert case is not None
    item_id = add_image_with_ocr(case, tmp_path)
    view = show_media(qtbot, case_window, item_id)
    view.select_button.setChecked(True)
    assert view.canvas.dragMode() == view.canvas.DragMode.RubberBandDrag
    view.canvas.select_region(QRectF(5, 35, 360, 30))  # what a drag over the second line ends in
    dialog = view.region_dialog
    assert dialog is not None
    assert dialog.value.currentText() == "185.141.63.120"  # the indicator read in the region first
    assert dialog.type.currentText() == "ipv4"
    dialog.value.setCurrentText("hxxp://example[.]com/rsvp")
    assert dialog.type.currentText() == "url"
    assert dialog.result_value() == ("url", "http://example.com/rsvp")
    dialog.note.setText("the phishing landing page on the terminal")
    with qtbot.waitSignal(view.indicator_recorded, timeout=TASK_MS):
        dialog.accept()
    assert not view.select_button.isChecked()
    with Case.open(case.path, read_only=True) as check:
        occ = check.db.execute(
            "SELECT i.type, i.value, o.source, o.where_, o.bbox FROM occurrences o "
            "JOIN indicators i ON i.id = o.indicator_id WHERE o.source = 'analyst'").fetchall()
        assert occ == [("url", "http://example.com/rsvp", "analyst", ANALYST_WHERE, "[5, 35, 360, 30]")]
        notes = [e for e in check.custody(item_id) if e["action"] == "note"]
        assert len(notes) == 1
        raw = notes[0]["detail"]
        detail = raw if isinstance(raw, dict) else json.loads(raw)
        assert detail["value"] == "http://example.com/rsvp"
        assert detail["bbox"] == [5, 35, 360, 30]
        assert detail["note"] == "the phishing landing page on the terminal"
    assert any(box.kind == "analyst" for box, _item in view.canvas.box_items)
    assert case_window.custody_view.model.rowCount() >= 3  # refreshed after the write


def test_a_broken_image_says_why_in_the_pane(qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    case = case_window.case
    assert case is not None
    broken = tmp_path / "broken.png"
    broken.write_bytes(screenshot(tmp_path / "ok.png").read_bytes()[:200])  # truncated PNG
    report = run_to_end(import_paths(case, [broken]))
    item_id = report.acquired[0].item.id
    view = show_media(qtbot, case_window, item_id)
    assert view.error
    assert "Cannot show this picture" in view.status.text()
    assert case_window.last_message is None  # no error dialog for a hostile picture


def test_a_video_frame_is_decoded_in_a_child_at_the_scrubbed_time(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ingest"))
    from screencast import Shown, render_screencast

    case = case_window.case
    assert case is not None
    video = render_screencast(tmp_path / "rec.mp4", [Shown(0.2, "ssh root@203.0.113.77"),
                                                     Shown(1.2, "cat /etc/hosts")],
                              duration_s=2.0, fps=5, size=(320, 180), font_size=14)
    item_id = run_to_end(import_paths(case, [video])).acquired[0].item.id
    with case.transaction() as conn:
        findings.record_media(conn, item_id, "video", {"duration_s": 2.0, "fps": 5.0, "width": 320,
                                                        "height": 180, "container": "mp4"})
        findings.record_ocr_lines(conn, item_id, [
            {"text": "ssh root@203.0.113.77", "confidence": 0.9, "box": [12, 12, 200, 16], "time_s": 0.4,
             "frame_index": 2},
            {"text": "cat /etc/hosts", "confidence": 0.9, "box": [12, 32, 120, 16], "time_s": 1.2,
             "frame_index": 6}])
        findings.mark_analysed(conn, examiner=case.examiner, item_id=item_id,
                               sha256=case.item(item_id).sha256, kind="video")  # type: ignore[union-attr]
    view = show_media(qtbot, case_window, item_id)
    assert view.mode == "video"
    assert view.video_bar.isVisibleTo(view)
    assert view.time_s == pytest.approx(0.4)  # opens on the first OCR read
    assert view.canvas.picture_size == (320, 180)
    assert [box.rect for box, _i in view.canvas.box_items] == [(12, 12, 200, 16)]
    with qtbot.waitSignal(view.picture_shown, timeout=TASK_MS) as blocker:
        view.hits.selectRow(1)  # clicking a hit jumps to its frame
    assert blocker.args == [pytest.approx(1.2)]
    assert view.scrubber.value() == 1200
    assert {box.rect for box, _i in view.canvas.box_items} == {(12, 32, 120, 16)}


def test_the_child_renderer_refuses_what_is_not_a_picture(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(frames.RenderError):
        frames.image_png(junk)
    with pytest.raises(frames.RenderError):
        frames.frame_png(junk, 0.0)
    png = frames.image_png(screenshot(tmp_path / "s.png"))
    image = decode_png(png)
    assert (image.width(), image.height()) == (400, 120)
    with pytest.raises(frames.RenderError):
        decode_png(b"GIF89a" + b"\x00" * 50)  # only PNG is ever decoded in the window


def test_the_ocr_hits_model_passes_the_model_tester(qtmodeltester: ModelTester, tmp_path: Path) -> None:
    model = OcrHitsModel()
    qtmodeltester.check(model)
    with Case.create(tmp_path / "O.casetrail", title="O", examiner="E") as case:
        item_id = add_image_with_ocr(case, tmp_path)
        reader = case.reader()
        try:
            model.load(reader, item_id)
            qtmodeltester.check(model)
            model.set_only_indicators(True)
            qtmodeltester.check(model)
            assert model.rowCount() == 1
        finally:
            model.clear()
            reader.conn.close()


def test_media_view_without_a_case_shows_a_hint(qtbot: QtBot) -> None:
    tasks = TaskManager(lambda _n, _e: None)
    view = MediaView(tasks)
    qtbot.addWidget(view)
    assert not view.show_item(None, None, None)
    assert view.empty.isVisibleTo(view)


def test_pictures_passed_by_are_not_rendered(qtbot: QtBot, case_window: MainWindow, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Down through many pictures: only what is still shown is decoded, not a queue of stale renders."""
    assert case_window.case is not None
    item_id = add_image_with_ocr(case_window.case, tmp_path)
    view = show_media(qtbot, case_window, item_id)
    item = view.item
    assert item is not None
    rendered: list[Path] = []
    real = frames.image_png
    decoding = threading.Event()  # every decode waits until all 30 shows are done: slower than any loop

    def counting(path: Path, *args: object, **kwargs: object) -> bytes:
        rendered.append(path)
        decoding.wait(TASK_MS / 1000)
        return real(path)

    monkeypatch.setattr(frames, "image_png", counting)
    for _ in range(30):  # each show replaces the last
        view.show_item(item, case_window.reader, case_window.case)
    decoding.set()
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)
    # Renders a pool thread had begun finish; of the rest queued behind them only the last shown runs.
    assert 1 <= len(rendered) <= case_window.tasks.read_threads + 1
    assert view.error == ""
    qtbot.waitUntil(lambda: not view.canvas.pixmap_item.pixmap().isNull(), timeout=TASK_MS)


def test_uncertain_readings_and_enhanced_images_are_shown_as_such(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    case = case_window.case
    assert case is not None
    item_id = add_image_with_ocr(case, tmp_path)
    item = case.item(item_id)
    assert item is not None
    from desktop.core.acquire import acquire_derived
    from desktop.ingest.screen_reader import enhance_variants, png_gray

    band = __import__("numpy").full((18, 300), 40, dtype="uint8")
    recipe, pixels, _ = enhance_variants(band)[0]
    enhanced = acquire_derived(case, item, "enhanced-line-1.png", png_gray(pixels), "enhanced image",
                               {"recipe": recipe, "box": LINES[2]["box"], "time_s": None, "frame_index": 0,
                                "read_as": "curl -s hxxp://example[.]com", "enhanced": True})
    with case.transaction() as conn:
        findings.record_occurrences(conn, item_id, [
            {"type": "domain", "value": "example.com", "source": "ocr", "where": "image (uncertain reading)",
             "bbox": LINES[2]["box"], "confidence": 0.61, "status": "uncertain", "frames_agree": 1,
             "reads": 1,
             "alternatives": ["exarnple.com"]},
            {"type": "url", "value": "http://example.com/rsvp", "source": "ocr", "bbox": LINES[2]["box"],
             "where": f"enhanced image of a line ({recipe})", "confidence": 0.93, "status": "enhanced",
             "frames_agree": 1, "reads": 2, "recipe": recipe, "enhanced_item_id": enhanced.item.id}])
    view = show_media(qtbot, case_window, item_id)
    model = view.hits_model
    lines = [model.line_at(r) for r in range(model.rowCount())]
    row = next(r for r, line in enumerate(lines) if line is not None and "hxxp" in line.text)
    tip = model.data(model.index(row, 1), 3)  # ToolTipRole
    assert "UNCERTAIN reading" in tip
    assert "exarnple.com" in tip
    assert "ENHANCED image" in tip
    assert [r.item_id for r in view.enhanced.rows] == [enhanced.item.id]
    assert not view.enhanced.originals[enhanced.item.id].pixmap().isNull()  # the original, cropped
    assert "ENHANCED IMAGE, not the original pixels" in view.enhanced.title.text() + "".join(
        w.text() for w in view.enhanced.findChildren(type(view.enhanced.title)))
    rows = findings.list_indicators(case.db.conn)
    by_value = {r["value"]: r for r in rows}
    assert by_value["example.com"]["uncertain"] is True
    assert by_value["http://example.com/rsvp"]["occurrences"][0]["status"] == "enhanced"
    assert "uncertain" not in by_value["185.141.63.120"]
