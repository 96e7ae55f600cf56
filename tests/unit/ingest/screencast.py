# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic screen recordings for the video tests and the OCR benchmark.

Renders a terminal (light monospace text on a dark background) in which lines appear at given
times, optionally scrolling once the screen is full and with a blinking cursor, and encodes it with
PyAV. The ground truth (which text appears when) is what the caller passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/System/Library/Fonts/Menlo.ttc",
    "C:/Windows/Fonts/consola.ttf",
)


def terminal_font(size: int = 20) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Shown:
    """A line of text that appears on screen at ``time_s`` (and stays, unless scrolled away).

    With ``grows`` it replaces the line shown last instead (typing: each key press shows a longer text).
    """

    time_s: float
    text: str
    grows: bool = False


def render_screencast(path: Path, shown: Sequence[Shown], *, duration_s: float, fps: int = 10,
                      size: tuple[int, int] = (1280, 720), font_size: int = 20, scroll: bool = False,
                      cursor: bool = False, codec: str | None = None) -> Path:
    """Encodes a terminal recording to ``path`` (mp4) and returns it."""
    width, height = size
    font = terminal_font(font_size)
    line_h = font_size + 6
    margin = 12
    rows = (height - 2 * margin) // line_h
    if codec is None:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "23", "preset": "veryfast"}
        else:
            stream.bit_rate = 4_000_000
        n_frames = round(duration_s * fps)
        for index in range(n_frames):
            t = index / fps
            visible: list[str] = []
            for s in shown:
                if s.time_s > t + 1e-9:
                    continue
                if s.grows and visible:
                    visible[-1] = s.text
                else:
                    visible.append(s.text)
            visible = visible[:rows] if not scroll else visible[-rows:]
            image = Image.new("RGB", size, (24, 26, 30))
            draw = ImageDraw.Draw(image)
            y = margin
            for text in visible:
                draw.text((margin, y), text, font=font, fill=(220, 220, 220))
                y += line_h
            if cursor and int(t * 2) % 2 == 0:
                draw.rectangle((margin, y + 2, margin + font_size // 2, y + line_h - 4), fill=(220, 220, 220))
            frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
