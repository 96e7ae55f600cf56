# SPDX-License-Identifier: GPL-3.0-or-later
"""Exhibit images: OCR boxes drawn on a frame or screenshot, each numbered, no label hidden.

The briefing shows where on the screen each indicator was read: a box around the OCR line and a
number that the exhibit's table explains. One OCR line often holds several indicators (a shell
line with three file names): they share the engine's one box, drawn once, with one label that
names all their numbers — the box is what the OCR engine reported, never a guess at where a
word sits inside it. Labels are placed where they are inside the picture, clear of the other
labels and of the text in the other boxes (above the box, else below, else beside it, else
inside), in a size that prints legibly whatever the picture's resolution.

Pixels come from Pillow images the caller decoded from the vault; the font is the bundled DejaVu
Sans Bold. Nothing here reads a case or a file other than that font.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from desktop.resources import resource_path

BOX_RGB = (220, 20, 60)
LABEL_TEXT_RGB = (255, 255, 255)
LABEL_PT = 7.0  # printed size of a label's digits
LINE_PT = 1.1  # printed width of a box's outline
_SAME_BOX = 0.85  # boxes overlapping this much (intersection over the smaller) are one OCR line


@dataclass(frozen=True)
class Hit:
    """One OCR hit to draw: its box in image pixels, its number in the exhibit, blacked out or not."""

    x: float
    y: float
    w: float
    h: float
    number: int
    hidden: bool = False


@dataclass(frozen=True)
class Placed:
    """A drawn box and where its label went (image pixels), for tests and for the caption."""

    box: tuple[float, float, float, float]
    numbers: tuple[int, ...]
    label: tuple[float, float, float, float]
    hidden: bool


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(resource_path("fonts", "DejaVuSans-Bold.ttf")), size)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _area(r: tuple[float, float, float, float]) -> float:
    return max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])


def label_text(numbers: Sequence[int]) -> str:
    """``[2, 3, 4, 6]`` → ``2-4, 6``: a label short enough to sit on a box."""
    nums = sorted(set(numbers))
    parts: list[str] = []
    start = prev = nums[0]
    for n in [*nums[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(
            str(start)
            if start == prev
            else f"{start}\u2013{prev}"
            if prev > start + 1
            else f"{start}, {prev}"
        )
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def group_hits(hits: Sequence[Hit]) -> list[tuple[tuple[float, float, float, float], tuple[int, ...], bool]]:
    """Merge hits of one OCR line into one box: ``(x0, y0, x1, y1), numbers, any hidden``."""
    rects: list[tuple[float, float, float, float]] = []
    numbers: list[list[int]] = []
    hidden: list[bool] = []
    for h in hits:
        rect = (h.x, h.y, h.x + h.w, h.y + h.h)
        for g, other in enumerate(rects):
            smaller = min(_area(other), _area(rect)) or 1.0
            if _overlap(other, rect) / smaller >= _SAME_BOX:
                rects[g] = (
                    min(other[0], rect[0]),
                    min(other[1], rect[1]),
                    max(other[2], rect[2]),
                    max(other[3], rect[3]),
                )
                numbers[g].append(h.number)
                hidden[g] = hidden[g] or h.hidden
                break
        else:
            rects.append(rect)
            numbers.append([h.number])
            hidden.append(h.hidden)
    return [(r, tuple(n), x) for r, n, x in zip(rects, numbers, hidden, strict=True)]


def draw_hits(
    im: Image.Image,
    hits: Sequence[Hit],
    print_width_pt: float,
    *,
    obstacles: Sequence[tuple[float, float, float, float]] = (),
) -> list[Placed]:
    """Draw the boxes and labels on ``im`` (in place); return where everything went.

    Args:
        im: an RGB image.
        hits: the OCR hits, numbered as in the exhibit's table.
        print_width_pt: how wide the image will be printed, in points: sets the label size.
        obstacles: other text on the picture (every OCR line, ``x, y, w, h``) that a label
            should rather not cover.
    """
    draw = ImageDraw.Draw(im)
    px_per_pt = im.width / max(print_width_pt, 1.0)
    line = max(2, round(LINE_PT * px_per_pt))
    size = max(9, round(LABEL_PT * px_per_pt))
    font = _font(size)
    pad = line * 2
    groups = group_hits(hits)
    rects = [
        (max(0.0, r[0] - pad), max(0.0, r[1] - pad), min(im.width, r[2] + pad), min(im.height, r[3] + pad))
        for r, _, _ in groups
    ]
    for (r, _numbers, hidden), rect in zip(groups, rects, strict=True):
        if hidden:
            draw.rectangle(r, fill=(0, 0, 0))
        draw.rectangle(rect, outline=BOX_RGB, width=line)
    placed_labels: list[tuple[float, float, float, float]] = []
    texts = [(x, y, x + w, y + h) for x, y, w, h in obstacles]
    out: list[Placed] = []
    for g, ((_r, numbers, hidden), rect) in enumerate(zip(groups, rects, strict=True)):
        text = label_text(numbers)
        left, top, right, bottom = font.getbbox(text)
        lw, lh = (right - left) + 2 * line + 2, (bottom - top) + 2 * line + 2
        x0, y0, x1, y1 = rect
        mid = (y0 + y1 - lh) / 2
        candidates = [
            (x0 - lw - line, mid),
            (x1 + line, mid),
            (x0, y0 - lh),
            (x0, y1),
            (x1 - lw, y0 - lh),
            (x1 - lw, y1),
            (x0, y0),
        ]
        best: tuple[float, int, tuple[float, float, float, float]] | None = None
        for order, (cx, cy) in enumerate(candidates):
            lab = (cx, cy, cx + lw, cy + lh)
            cost = 0.0
            if lab[0] < 0 or lab[1] < 0 or lab[2] > im.width or lab[3] > im.height:
                cost += 1e9  # clipped: only if nothing else is possible
                lab = (
                    min(max(lab[0], 0), im.width - lw),
                    min(max(lab[1], 0), im.height - lh),
                    min(max(lab[0], 0), im.width - lw) + lw,
                    min(max(lab[1], 0), im.height - lh) + lh,
                )
            cost += 1000 * sum(_overlap(lab, p) for p in placed_labels)
            cost += 10 * sum(_overlap(lab, o) for k, o in enumerate(rects) if k != g)
            cost += 3 * sum(_overlap(lab, t) for t in texts)
            if best is None or (cost, order) < (best[0], best[1]):
                best = (cost, order, lab)
        assert best is not None  # noqa: S101 - candidates is never empty
        lab = best[2]
        placed_labels.append(lab)
        draw.rectangle(lab, fill=BOX_RGB)
        draw.text((lab[0] + line + 1 - left, lab[1] + line + 1 - top), text, fill=LABEL_TEXT_RGB, font=font)
        out.append(Placed(rect, numbers, lab, hidden))
    return out
