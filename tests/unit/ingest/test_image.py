# SPDX-License-Identifier: GPL-3.0-or-later
"""Image analysis: metadata, EXIF with GPS, OCR boxes, thumbnail, and refusal of hostile files."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw

from desktop.ingest.image import MAX_PIXELS, analyse_image
from desktop.ingest.ocr import OcrEngine

from .screencast import terminal_font


def _screenshot(path: Path, fmt: str = "PNG", mode: str = "RGB", **save: object) -> Path:
    image = Image.new("RGB", (1024, 600), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    font = terminal_font(22)
    draw.text((30, 40), "Connected to 45.142.212.61 port 22", font=font, fill=(10, 10, 10))
    draw.text((30, 90), r"Saved C:\Users\operator\Desktop\voters_FL.xlsx", font=font, fill=(10, 10, 10))
    image.convert(mode).save(path, format=fmt, **save)
    return path


def _exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 13"
    exif[ExifTags.Base.Software] = "17.4.1"
    exif[ExifTags.Base.DateTime] = "2024:10:02 11:05:00"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:10:02 11:04:59"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (33.0, 52.0, 4.44)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (151.0, 12.0, 36.0)
    gps[ExifTags.GPS.GPSAltitudeRef] = 0
    gps[ExifTags.GPS.GPSAltitude] = 58.5
    return exif


def test_screenshot_text_with_boxes_and_thumbnail(tmp_path: Path, engine: OcrEngine) -> None:
    result = analyse_image(_screenshot(tmp_path / "shot.png"), engine)
    assert (result.format, result.mode, result.width, result.height) == ("PNG", "RGB", 1024, 600)
    texts = " ".join(line.text for line in result.lines)
    assert "45.142.212.61" in texts
    assert r"C:\Users\operator\Desktop\voters_FL.xlsx" in texts
    for line in result.lines:
        x, y, w, h = line.box
        assert x >= 0
        assert y >= 0
        assert x + w <= 1024 + 2
        assert y + h <= 600 + 2
    with Image.open(io.BytesIO(result.thumbnail_png)) as thumb:
        assert thumb.format == "PNG"
        assert max(thumb.size) == 512
    data = result.to_dict()
    json.dumps(data)
    assert data["lines"][0].keys() == {"text", "confidence", "box"}
    assert "thumbnail_png" not in data


def test_exif_camera_time_and_gps_in_decimal_degrees(tmp_path: Path) -> None:
    path = _screenshot(tmp_path / "photo.jpg", fmt="JPEG", exif=_exif_with_gps(), quality=90)
    result = analyse_image(path, None)
    exif = result.exif
    assert (exif["make"], exif["model"], exif["software"]) == ("Apple", "iPhone 13", "17.4.1")
    assert exif["datetime_original"] == "2024:10:02 11:04:59"
    assert exif["gps_latitude"] == pytest.approx(-(33 + 52 / 60 + 4.44 / 3600), abs=1e-6)
    assert exif["gps_longitude"] == pytest.approx(151.21, abs=1e-6)
    assert exif["gps_altitude_m"] == pytest.approx(58.5)
    assert result.lines == []
    assert result.format == "JPEG"
    json.dumps(result.to_dict())


def test_malformed_gps_is_ignored_not_fatal(tmp_path: Path) -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (400.0, 0.0, 0.0)
    path = _screenshot(tmp_path / "odd.jpg", fmt="JPEG", exif=exif)
    assert "gps_latitude" not in analyse_image(path, None).exif


def test_exif_orientation_turns_the_image_upright(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored rotated; viewers turn it 90 degrees clockwise
    path = tmp_path / "rot.jpg"
    Image.new("RGB", (300, 100), (0, 0, 0)).save(path, format="JPEG", exif=exif)
    result = analyse_image(path, None)
    assert result.orientation == 6
    assert (result.width, result.height) == (300, 100)
    with Image.open(io.BytesIO(result.thumbnail_png)) as thumb:
        assert thumb.size[0] < thumb.size[1]


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "I;16"])
def test_other_pixel_modes_are_read(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"mode-{mode.replace(';', '')}.png"
    if mode == "I;16":
        Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).save(path)
    else:
        Image.new("RGB", (64, 64), (120, 30, 200)).convert(mode).save(path)
    result = analyse_image(path, None)
    assert result.width == 64
    assert result.thumbnail_png.startswith(b"\x89PNG")


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [100_000, 10_000])
def test_decompression_bomb_is_refused(tmp_path: Path, side: int) -> None:
    # 100000^2 is past Pillow's own error limit; 10000^2 (100 MP) only past its warning limit
    assert side * side > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(side, side))
    with pytest.raises(ValueError, match="pixels"):
        analyse_image(path, None)


def test_bomb_refused_even_if_pillow_limit_was_disabled(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(20_000, 20_000))
    with pytest.raises(ValueError, match="pixels"):
        analyse_image(path, None)


@pytest.mark.parametrize("kind", ["empty", "random", "truncated", "ico", "text"])
def test_bad_input_is_one_clean_value_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "evidence.png"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(3).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        data = _screenshot(tmp_path / "whole.png").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "ico":  # a real image, but not an allowed format
        Image.new("RGB", (32, 32)).save(path, format="ICO")
    else:
        path.write_text("not an image")
    with pytest.raises(ValueError, match=r"^[A-Z][^\n]*\.$") as info:
        analyse_image(path, None)
    message = str(info.value)
    assert message[0].isupper()
    assert message.endswith(".")
    assert "\n" not in message
