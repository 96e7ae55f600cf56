# SPDX-License-Identifier: GPL-3.0-or-later
"""Video playback in the media pane: frame-by-frame keys, play/pause, the slider, OCR lines.

The frames are decoded by the player child on a worker thread; these tests check that the GUI
thread is never held while they are (a 10 ms timer probe, as ``tests/bench/ui_latency.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot
from test_media_view import show_media
from waits import TASK_MS

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.progress import run_to_end
from desktop.ui.main_window import MainWindow
from desktop.ui.media_view import MediaView

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ingest"))
from screencast import Shown, render_screencast

FPS = 25
FRAMES = 125
STALL_BOUND_MS = 1000  # a decode on the GUI thread takes this long on a loaded machine; a step does not


class Probe:
    """The longest gap between the ticks of a 10 ms timer on the GUI thread (ms)."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, (now - self.last) * 1000)
        self.last = now

    def stop(self) -> float:
        self._tick()
        self.timer.stop()
        return self.worst


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_screencast(tmp_path_factory.mktemp("playback") / "rec.mp4",
                             [Shown(0.4, "ssh root@203.0.113.77"), Shown(3.0, "cat /etc/hosts")],
                             duration_s=FRAMES / FPS, fps=FPS, size=(320, 180), font_size=14)


@pytest.fixture
def video_view(qtbot: QtBot, case_window: MainWindow, recording: Path) -> MediaView:
    case = case_window.case
    assert case is not None
    video = recording
    item_id = run_to_end(import_paths(case, [video])).acquired[0].item.id
    with case.transaction() as conn:
        findings.record_media(conn, item_id, "video", {"duration_s": FRAMES / FPS, "fps": float(FPS),
                                                        "width": 320, "height": 180, "container": "mp4"})
        findings.record_ocr_lines(conn, item_id, [
            {"text": "ssh root@203.0.113.77", "confidence": 0.9, "box": [12, 12, 200, 16], "time_s": 0.4,
             "frame_index": 10},
            {"text": "cat /etc/hosts", "confidence": 0.9, "box": [12, 32, 120, 16], "time_s": 3.0,
             "frame_index": 75}])
        findings.mark_analysed(conn, examiner=case.examiner, item_id=item_id,
                               sha256=case.item(item_id).sha256, kind="video")  # type: ignore[union-attr]
    view = show_media(qtbot, case_window, item_id)
    qtbot.waitUntil(lambda: view.video_info is not None and view.frame_index is not None, timeout=TASK_MS)
    return view


def test_stepping_a_hundred_frames_shows_each_and_never_holds_the_gui_thread(
        qtbot: QtBot, video_view: MediaView) -> None:
    view = video_view
    assert view.frame_index == 10  # opened on the first OCR read (0.4 s at 25 fps)
    assert view.video_info is not None
    assert view.video_info.frames == FRAMES
    view.canvas.setFocus()
    probe = Probe()
    longest_call = 0.0
    for expected in range(11, 111):
        started = time.perf_counter()
        with qtbot.waitSignal(view.frame_shown, timeout=TASK_MS) as shown:
            qtbot.keyClick(view.canvas, Qt.Key.Key_Period)  # the "next frame" key
            longest_call = max(longest_call, (time.perf_counter() - started) * 1000)
        assert shown.args == [expected]
        assert view.frame_index == expected
        assert view.time_s == pytest.approx(expected / FPS)
    worst = probe.stop()
    assert longest_call < STALL_BOUND_MS
    assert worst < STALL_BOUND_MS, f"the GUI thread was held {worst:.0f} ms"
    assert "frame 110 / 124" in view.time_label.text()
    for expected in (109, 108, 107):  # and back
        with qtbot.waitSignal(view.frame_shown, timeout=TASK_MS) as shown:
            qtbot.keyClick(view.canvas, Qt.Key.Key_Comma)
        assert shown.args == [expected]
    assert view.scrubber.value() == round(107 / FPS * 1000)


def test_play_runs_at_the_frame_rate_and_pause_stops_it(qtbot: QtBot, video_view: MediaView) -> None:
    view = video_view
    seen: list[int] = []
    view.frame_shown.connect(seen.append)
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Space)
    assert view.playing
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] >= 30, timeout=TASK_MS)
    view.pause()
    assert not view.playing
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)
    qtbot.waitUntil(lambda: not view.decoding, timeout=TASK_MS)  # the frame asked for before pausing
    stopped = view.frame_index
    qtbot.wait(200)  # nothing else arrives after pause
    assert view.frame_index == stopped
    view.play()
    qtbot.waitUntil(lambda: not view.playing, timeout=TASK_MS)  # plays to the end and stops there
    assert view.frame_index == FRAMES - 1
    view.play()  # from the start again
    assert view.playing
    window = view.window()
    assert isinstance(window, MainWindow)
    window.panels.item_tabs.setCurrentIndex(0)  # another pane: the video is not playing unseen
    assert not view.playing


def test_clicking_an_ocr_line_and_the_slider_seek_to_the_frame(qtbot: QtBot, video_view: MediaView) -> None:
    view = video_view
    with qtbot.waitSignal(view.frame_shown, timeout=TASK_MS) as shown:
        view.hits.selectRow(1)  # read at 3.0 s
    assert shown.args == [75]
    assert {box.rect for box, _i in view.canvas.box_items} == {(12, 32, 120, 16)}
    with qtbot.waitSignal(view.frame_shown, timeout=TASK_MS) as shown:
        view.scrubber.setValue(2000)
    assert shown.args == [50]
    window = video_view.window()
    assert isinstance(window, MainWindow)
    window.show_shortcuts()
    text = window.shortcuts_box.text()
    for name, key in (("Next video frame", "."), ("Previous video frame", ","),
                      ("Play or pause the video", QKeySequence("Space").toString(
                          QKeySequence.SequenceFormat.NativeText))):
        assert name in text
        assert key in text
    window.shortcuts_box.close()


def test_a_video_that_cannot_be_played_says_why_in_the_pane(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    case = case_window.case
    assert case is not None
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(2000))
    item_id = run_to_end(import_paths(case, [bad])).acquired[0].item.id
    with case.transaction() as conn:
        findings.record_media(conn, item_id, "video", {"duration_s": 2.0, "fps": 5.0, "width": 320,
                                                        "height": 180, "container": "mp4"})
        findings.mark_analysed(conn, examiner=case.examiner, item_id=item_id,
                               sha256=case.item(item_id).sha256, kind="video")  # type: ignore[union-attr]
    view = show_media(qtbot, case_window, item_id)
    assert "Cannot show this picture" in view.status.text()
    assert "\n" not in view.error
    assert view.error
    view.step(1)  # nothing to step through: no crash, no dialog
    view.play()
    assert not view.playing
    assert case_window.last_message is None
