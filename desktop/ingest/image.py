# SPDX-License-Identifier: GPL-3.0-or-later
"""Screenshots and photos: format, dimensions, EXIF (camera, software, time, GPS) and on-screen text.

Responsible for reading one image file with Pillow into metadata, OCR lines with boxes and a small
PNG thumbnail for the window. It decodes untrusted bytes, so it runs inside the sandboxed analysis
child, opens only an allowlist of formats (no FITS, PSD, EPS...), and refuses decompression bombs by
its own pixel check as well as by turning Pillow's bomb warning into an error. Every problem it can
detect becomes ``ValueError`` with one readable sentence. It never imports Qt and never writes files.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from desktop.ingest.ocr import OcrLine

if TYPE_CHECKING:
    from desktop.ingest.ocr import OcrEngine

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# Pillow's own default limit (~89.5 MP, a 1 GB RGBA buffer / 3); checked here too so that a process
# that raised or disabled Image.MAX_IMAGE_PIXELS still refuses bombs.
MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3
THUMB_SIDE = 512

_GPS = ExifTags.IFD.GPSInfo
_EXIF = ExifTags.IFD.Exif


@dataclass
class ImageAnalysis:
    """What one image holds.

    Attributes:
        format: Pillow's format name (``PNG``, ``JPEG``...).
        mode: pixel mode as stored (``RGB``, ``RGBA``, ``P``, ``L``...).
        width: stored width in pixels.
        height: stored height in pixels.
        frames: number of frames (animated GIF/WebP, multi-page TIFF); only the first is read.
        orientation: EXIF orientation tag (1-8) if present; OCR boxes and the thumbnail refer to the
            image turned upright accordingly.
        exif: decoded EXIF: ``make``, ``model``, ``software``, ``datetime``, ``datetime_original``,
            ``offset_time_original``, ``gps_latitude``, ``gps_longitude`` (decimal degrees, south and
            west negative), ``gps_altitude_m``, ``gps_datestamp``, and ``tags`` (every readable tag
            by name, values as text).
        lines: OCR lines of the whole (upright) image; empty if no engine was given.
        warnings: readable sentences about anything that limited the analysis.
        occurrences: the indicators read (``screen_text.Occurrence``, with status); not in ``to_dict``.
        thumbnail_png: a PNG at most 512 px on its longest side; not part of ``to_dict``.
    """

    format: str
    mode: str
    width: int
    height: int
    frames: int = 1
    orientation: int | None = None
    exif: dict[str, Any] = field(default_factory=dict)
    lines: list[OcrLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    occurrences: list[Any] = field(default_factory=list, repr=False)
    enhanced: list[dict[str, Any]] = field(default_factory=list, repr=False)
    thumbnail_png: bytes = field(default=b"", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable form (thumbnail excluded)."""
        return {"format": self.format, "mode": self.mode, "width": self.width, "height": self.height,
                "frames": self.frames, "orientation": self.orientation, "exif": self.exif,
                "lines": [line.to_dict() for line in self.lines], "warnings": list(self.warnings)}


def analyse_image(path: str | Path, engine: OcrEngine | None) -> ImageAnalysis:
    """Reads an image's metadata, EXIF, a thumbnail and (with an engine) every line of text.

    Args:
        path: the image file (a vault copy; it is only read).
        engine: a loaded OCR engine, or None to skip OCR.

    Returns:
        The analysis.

    Raises:
        ValueError: the file is empty, not an image in an allowed format, truncated or damaged, or
            declares more than ``MAX_PIXELS`` pixels.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise _RefusalError("The file is empty (0 bytes), so there is no image to read.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=FORMATS) as image:
                return _analyse(image, engine)
        except _RefusalError:
            raise
        except Image.DecompressionBombWarning as exc:
            raise ValueError(f"The image declares too many pixels to decode safely ({exc}).") from exc
        except Image.DecompressionBombError as exc:
            raise ValueError(f"The image declares too many pixels to decode safely ({exc}).") from exc
        except UnidentifiedImageError as exc:
            raise ValueError("This is not an image in a supported format (PNG, JPEG, GIF, BMP, TIFF, "
                             "WebP).") from exc
        except (OSError, SyntaxError, EOFError, MemoryError, IndexError, KeyError, TypeError, ValueError,
                struct.error) as exc:
            # Pillow plugins raise all of these on damaged input (python-pillow/Pillow#9814)
            raise ValueError(f"The image is truncated or damaged and cannot be decoded ({exc}).") from exc


class _RefusalError(ValueError):
    """A ValueError this module raised on purpose, with its own sentence: passed through as is."""


def _analyse(image: Image.Image, engine: OcrEngine | None) -> ImageAnalysis:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _RefusalError(f"The image declares impossible dimensions {width}x{height}.")
    if width * height > MAX_PIXELS:
        raise _RefusalError(f"The image declares {width}x{height} pixels, more than the {MAX_PIXELS:,} this "
                         "tool will decode.")
    result = ImageAnalysis(format=str(image.format), mode=image.mode, width=width, height=height,
                           frames=int(getattr(image, "n_frames", 1) or 1))
    if result.frames > 1:
        result.warnings.append(f"The image has {result.frames} frames; only the first was read.")
    try:
        exif = image.getexif()
    except (OSError, ValueError, SyntaxError, TypeError) as exc:
        result.warnings.append(f"The EXIF block could not be read ({exc}).")
        exif = Image.Exif()
    result.exif = _decode_exif(exif)
    orientation = exif.get(ExifTags.Base.Orientation)
    result.orientation = int(orientation) if isinstance(orientation, int) else None

    image.load()  # decode now, so truncation surfaces here as OSError
    upright = ImageOps.exif_transpose(image) if result.orientation not in (None, 1) else image
    rgb = _to_rgb(upright)
    thumb = rgb.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buffer = io.BytesIO()
    thumb.save(buffer, format="PNG")
    result.thumbnail_png = buffer.getvalue()
    if engine is not None:
        pixels = np.asarray(rgb, dtype=np.uint8)
        result.occurrences, result.lines, result.enhanced = read_screenshot(pixels, engine)
    return result


def read_screenshot(pixels: Any, engine: OcrEngine) -> tuple[list[Any], list[OcrLine], list[dict[str, Any]]]:
    """Reads every line of a screenshot with per-character scores; weak or faint lines also enhanced.

    A screenshot is one frame: there is no second frame to vote with, so a reading is certain only
    when its characters scored high (the rules of ``screen_text``), and a weak or low-contrast line
    is read again from enhanced variants (whose readings are labelled ``enhanced``).

    Returns:
        The settled occurrences (``screen_text.Occurrence``), the lines read in reading order, and
        the enhanced images (``box``, ``recipe``, ``read_as``, ``confidence``, ``png``) that
        occurrences rest on.
    """
    from desktop.ingest.screen_reader import ENHANCE_BELOW_CONF, LOW_CONTRAST, enhance_variants, png_gray
    from desktop.ingest.screen_text import Reading, ScreenText

    boxes = engine.detect(pixels)
    bands, offsets, margins = [], [], []
    for x, y, w, h in boxes:
        crop = pixels[y:y + h, x:x + w]
        v, hz = max(3, h // 3), max(4, h // 2)
        bands.append(np.pad(crop, ((v, v), (hz, hz), (0, 0)), mode="edge"))
        offsets.append((x, y))
        margins.append((hz, v))
    readings = engine.read_lines(bands, offsets, margins) if bands else []
    screen = ScreenText()
    lines: list[OcrLine] = []
    images: dict[tuple[tuple[int, int, int, int], str], dict[str, Any]] = {}
    luma = np.asarray(0.299 * pixels[:, :, 0] + 0.587 * pixels[:, :, 1] + 0.114 * pixels[:, :, 2],
                      dtype=np.uint8)
    for (x, y, w, h), reading in zip(boxes, readings, strict=True):
        band = luma[y:y + h, x:x + w]
        contrast = float(np.percentile(band, 98) - np.percentile(band, 2)) if band.size else 0.0
        if reading is not None:
            lines.append(reading.line())
            screen.add(Reading(0.0, 0, reading.box, reading.text, reading.confidence, reading.char_conf))
        weak = reading is None or reading.confidence < ENHANCE_BELOW_CONF or contrast < LOW_CONTRAST
        if band.size and weak:
            variants = enhance_variants(band)
            padded = [np.pad(np.repeat(img[:, :, None], 3, axis=2), ((4, 4), (8, 8), (0, 0)), mode="edge")
                      for _, img, _ in variants]
            got_all = engine.read_lines(padded, [(x, y)] * len(padded), [(8, 4)] * len(padded))
            for (recipe, img, _scale), got in zip(variants, got_all, strict=True):
                if got is not None:
                    screen.add(Reading(0.0, 0, (x, y, w, h), got.text, got.confidence, got.char_conf,
                                       enhanced=recipe))
                    images[((x, y, w, h), recipe)] = {
                        "box": [x, y, w, h], "recipe": recipe, "read_as": got.text,
                        "confidence": round(got.confidence, 4), "png": png_gray(img)}
    lines.sort(key=lambda ln: (ln.box[1] + ln.box[3] // 2, ln.box[0]))
    occurrences = screen.occurrences()
    used = {(o.box, o.enhanced) for o in occurrences if o.status == "enhanced"}
    return occurrences, lines, [img for key, img in images.items() if key in used]


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for OCR; transparency composited onto white, as a viewer would show a screenshot."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit/float greyscale: scale to 8 bits instead of clipping everything to white
        array = np.asarray(image, dtype=np.float64)
        span = float(array.max() - array.min()) or 1.0
        return Image.fromarray(((array - array.min()) * (255.0 / span)).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _decode_exif(exif: Image.Exif) -> dict[str, Any]:
    """Named, JSON-serialisable EXIF, with GPS converted to decimal degrees."""
    base = {ExifTags.TAGS.get(k, f"0x{k:04x}"): _text(v) for k, v in exif.items()}
    try:
        sub = exif.get_ifd(_EXIF)
    except (KeyError, ValueError, TypeError, OSError):
        sub = {}
    try:
        gps = exif.get_ifd(_GPS)
    except (KeyError, ValueError, TypeError, OSError):
        gps = {}
    details = {ExifTags.TAGS.get(k, f"0x{k:04x}"): _text(v) for k, v in sub.items()}
    gps_named = {ExifTags.GPSTAGS.get(k, f"0x{k:04x}"): _text(v) for k, v in gps.items()}
    base.pop("ExifOffset", None)
    base.pop("GPSInfo", None)
    out: dict[str, Any] = {
        "make": base.get("Make"),
        "model": base.get("Model"),
        "software": base.get("Software"),
        "datetime": base.get("DateTime"),
        "datetime_original": details.get("DateTimeOriginal"),
        "offset_time_original": details.get("OffsetTimeOriginal"),
        "gps_latitude": _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef)),
        "gps_longitude": _degrees(gps.get(ExifTags.GPS.GPSLongitude),
                                  gps.get(ExifTags.GPS.GPSLongitudeRef)),
        "gps_altitude_m": _altitude(gps.get(ExifTags.GPS.GPSAltitude),
                                    gps.get(ExifTags.GPS.GPSAltitudeRef)),
        "gps_datestamp": gps_named.get("GPSDateStamp"),
        "tags": {**base, **details, **{f"GPS.{k}": v for k, v in gps_named.items()}},
    }
    return {k: v for k, v in out.items() if v not in (None, {})}


def _text(value: Any) -> str:
    """EXIF values as readable text (bytes decoded, NULs dropped, capped: tags can be huge)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\x00", "").strip()
    return text[:1000]


def _number(value: Any) -> float | None:
    try:
        number = float(Fraction(value) if not isinstance(value, float) else value)
    except (TypeError, ValueError, ZeroDivisionError):
        try:
            number = float(value)
        except (TypeError, ValueError, ZeroDivisionError):
            return None
    return number if np.isfinite(number) else None


def _degrees(dms: Any, ref: Any) -> float | None:
    """``((deg, min, sec), "N"/"S"/"E"/"W")`` to signed decimal degrees, or None if malformed."""
    if dms is None:
        return None
    try:
        parts = [_number(x) for x in tuple(dms)[:3]]
    except TypeError:
        parts = [_number(dms)]
    if not parts or any(p is None for p in parts):
        return None
    values = [p for p in parts if p is not None] + [0.0, 0.0]
    degrees = values[0] + values[1] / 60 + values[2] / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", errors="replace")
    if str(ref).strip().upper()[:1] in ("S", "W"):
        degrees = -degrees
    if not -180.0 <= degrees <= 180.0:
        return None
    return round(degrees, 7)


def _altitude(value: Any, ref: Any) -> float | None:
    altitude = _number(value) if value is not None else None
    if altitude is None:
        return None
    below = ref in (1, b"\x01") or str(ref) == "1"
    return round(-altitude if below else altitude, 2)
