# SPDX-License-Identifier: GPL-3.0-or-later
"""OcrEngine: bundled models only, no network, line boxes in full-frame pixels, per-call switches."""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from desktop.ingest.ocr import OcrEngine, OcrLine, bundled_model_dir

from .screencast import terminal_font

LINES = ("$ ping 185.141.63.120", r"PS> cd C:\Users\operator\Desktop\emails",
         "$ curl http://proudboys-official.com/send.php")


def _screen(lines: tuple[str, ...] = LINES, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    image = Image.new("RGB", size, (24, 26, 30))
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((40, 100 + row * 60), text, font=terminal_font(20), fill=(220, 220, 220))
    return np.asarray(image)


def test_models_ship_inside_the_wheel() -> None:
    names = {p.name for p in bundled_model_dir().glob("*.onnx")}
    assert {"PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"} <= names


def test_engine_loads_and_reads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("OCR tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    engine = OcrEngine()
    assert any("185.141.63.120" in line.text for line in engine.read(_screen()))


def test_read_finds_every_line_with_boxes(engine: OcrEngine) -> None:
    lines = engine.read(_screen())
    texts = " ".join(line.text for line in lines)
    assert "185.141.63.120" in texts
    assert r"C:\Users\operator\Desktop\emails" in texts
    assert "http://proudboys-official.com/send.php" in texts
    for line in lines:
        x, y, w, h = line.box
        assert 0 <= x < 1280
        assert 0 <= y < 720
        assert w > 0
        assert h > 0
        assert 0.5 <= line.confidence <= 1.0
    ip = next(line for line in lines if "185.141.63.120" in line.text)
    assert 90 <= ip.box[1] <= 110  # drawn at y=100 (top of the text cell)
    centres = [line.box[1] + line.box[3] // 2 for line in lines]
    assert centres == sorted(centres)  # reading order


def test_read_offsets_boxes_of_a_crop(engine: OcrEngine) -> None:
    screen = _screen()
    crop = screen[150:240, :]
    lines = engine.read(crop, offset=(0, 150))
    assert any(r"C:\Users" in line.text for line in lines)
    assert all(line.box[1] >= 150 for line in lines)


def test_read_line_recognises_a_band_without_detection(engine: OcrEngine) -> None:
    screen = _screen()
    band = screen[96:126, 30:400]
    line = engine.read_line(band, offset=(30, 96))
    assert isinstance(line, OcrLine)
    assert "185.141.63.120" in line.text
    assert line.box == (30, 96, 370, 30)


def test_detection_stays_on_after_a_recognition_only_call(engine: OcrEngine) -> None:
    # rapidocr stores use_det as engine state; a read_line must not turn detection off for read()
    screen = _screen()
    engine.read_line(screen[96:126, 30:400])
    assert len(engine.read(screen)) >= 3


def test_blank_tiny_and_grey_inputs(engine: OcrEngine) -> None:
    assert engine.read(np.full((300, 400, 3), 30, dtype=np.uint8)) == []
    assert engine.read(np.zeros((2, 2, 3), dtype=np.uint8)) == []
    assert engine.read_line(np.zeros((3, 50, 3), dtype=np.uint8)) is None
    grey = _screen()[:, :, 0]
    assert any("185.141.63.120" in line.text for line in engine.read(grey))
    with pytest.raises(ValueError, match="RGB"):
        engine.read(np.zeros((10, 10, 2), dtype=np.uint8))


def test_line_to_dict_is_json_ready() -> None:
    line = OcrLine("x", 0.912345, (1, 2, 3, 4))
    assert line.to_dict() == {"text": "x", "confidence": 0.9123, "box": [1, 2, 3, 4]}


def test_worker_threads_sleep_instead_of_spinning(engine: OcrEngine) -> None:
    # a spinning onnxruntime pool burns a core while it waits: 40-60 % more CPU on a loaded machine
    engine.read_line(_screen()[90:130, 30:600])
    engine.read(_screen())
    rapid = engine._engine
    for model in (rapid.text_det, rapid.text_rec):
        options = model.session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 2


def test_decode_gives_each_character_the_probability_of_its_look_alikes() -> None:
    # a CTC output over the vocabulary blank, "n", "u", "l", "1", "I": "nul" then a glyph read as
    # `1` at 0.6 over two time steps with `l` at 0.3 (and 0.35 in the second step)
    chars = ["blank", "n", "u", "l", "1", "I"]
    rows = [
        [0.0, 0.99, 0.0, 0.0, 0.0, 0.01],
        [0.0, 0.0, 0.98, 0.01, 0.0, 0.01],
        [0.0, 0.0, 0.0, 0.97, 0.02, 0.01],
        [0.9, 0.0, 0.0, 0.05, 0.05, 0.0],
        [0.0, 0.0, 0.0, 0.3, 0.6, 0.1],
        [0.0, 0.0, 0.0, 0.35, 0.55, 0.1],
    ]
    engine = OcrEngine.__new__(OcrEngine)
    engine._min_confidence = 0.5
    engine._mates_cache = None
    got = engine._decode(np.asarray(rows, dtype=np.float32), chars, 10.0, 0, (0, 0), (60, 20))
    assert got is not None
    assert got.text == "nul1"
    assert got.char_alt[0] == 0.0  # `n` has no look-alike in the classes
    assert got.char_alt[2] == pytest.approx(0.02)  # `l` against `1` (and `I`)
    assert got.char_alt[3] == pytest.approx(0.35)  # the best look-alike over the glyph's steps
    assert got.char_conf[3] == pytest.approx(0.6)
