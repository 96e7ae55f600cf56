# SPDX-License-Identifier: GPL-3.0-or-later
"""Exhibit images: OCR boxes drawn on a frame or screenshot, each numbered, no label hidden.

The briefing shows where on the screen each indicator was read: a box around the OCR line and a
number that the exhibit's table explains. One OCR line often holds several indicators (a shell
line with three file names): they share the engine's one box, drawn once, with one label that
names all their numbers — the box is what the OCR engine reported, never a guess at where a
word sits inside it. The engine's boxes are taller than the text (they overlap the lines above
and below on a terminal screen), so a drawn box is fitted to its own line: where a neighbouring
OCR line overlaps it, that edge goes into the gap between the two lines, and no outline crosses
the text of another line. Labels are placed where they are inside the picture, clear of the other
labels and of the text in the other boxes (above the box, else below, else beside it, else
inside), in a size that prints legibly whatever the picture's resolution.

Pixels come from Pillow images the caller decoded from the vault; the font is the bundled DejaVu
Sans Bold. Nothing here reads a case or a file other than that font.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from desktop.resources import resource_path

BOX_RGB = (220, 20, 60)
LABEL_TEXT_RGB = (255, 255, 255)
LABEL_PT = 7.0  # printed size of a label's digits
LINE_PT = 1.1  # printed width of a box's outline
_INK = 48  # grey levels from the background that count as text when looking for the gap between lines
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


def fitted(
    rect: tuple[float, float, float, float],
    lines: Sequence[tuple[float, float, float, float]],
    pad: float,
    grey: np.ndarray | None = None,
) -> tuple[float, float, float, float]:
    """The outline of an OCR box (``x0, y0, x1, y1``), fitted to its own line of text.

    ``pad`` is added around the box, except where another OCR line (``lines``, also
    ``x0, y0, x1, y1``) above or below overlaps it: that edge goes into the gap between the two
    lines — the row between their centres with the least ink (on ``grey``, the picture in
    grey levels; midway between the centres without it) — so the outline runs between the
    lines instead of across one. A line whose centre is close to the box's own (the box's own
    line, a word of it) is no neighbour.
    """
    x0, y0, x1, y1 = rect
    centre = (y0 + y1) / 2
    top, bottom = y0 - pad, y1 + pad
    for lx0, ly0, lx1, ly1 in lines:
        span = (max(x0, lx0), min(x1, lx1))
        if span[1] - span[0] <= 0:
            continue  # beside the box, not above or below it
        other = (ly0 + ly1) / 2
        if abs(other - centre) < 0.25 * max(y1 - y0, 1.0):
            continue
        if other < centre and ly1 > top:
            top = max(top, _gap(grey, span, other, centre))
        elif other > centre and ly0 < bottom:
            bottom = min(bottom, _gap(grey, span, centre, other))
    return x0 - pad, top, x1 + pad, bottom


def _gap(grey: np.ndarray | None, span: tuple[float, float], upper: float, lower: float) -> float:
    """The row between two line centres where the lines part: least ink, nearest the middle."""
    middle = (upper + lower) / 2
    if grey is None:
        return middle
    r0, r1 = max(0, round(upper)), min(grey.shape[0], round(lower) + 1)
    c0, c1 = max(0, int(span[0])), min(grey.shape[1], int(span[1]) + 1)
    if r1 - r0 < 2 or c1 - c0 < 2:
        return middle
    region = grey[r0:r1, c0:c1]
    ink = (np.abs(region - np.median(region)) > _INK).sum(axis=1)
    least = ink.min()
    rows = [r0 + k for k, v in enumerate(ink) if v <= least]
    return float(min(rows, key=lambda r: (abs(r - middle), r)))


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
        obstacles: the text on the picture (every OCR line, ``x, y, w, h``): the boxes are
            fitted between these lines (:func:`fitted`) and the labels kept off them.
    """
    draw = ImageDraw.Draw(im)
    px_per_pt = im.width / max(print_width_pt, 1.0)
    line = max(2, round(LINE_PT * px_per_pt))
    size = max(9, round(LABEL_PT * px_per_pt))
    font = _font(size)
    pad = line * 2
    groups = group_hits(hits)
    lines = [(x, y, x + w, y + h) for x, y, w, h in obstacles] + [r for r, _, _ in groups]
    grey = np.asarray(im.convert("L"), dtype=np.int16)  # before anything is drawn on it
    rects = []
    for r, _, _ in groups:
        # The stroke is drawn inside the rectangle: centre it on the gap between the lines.
        x0, y0, x1, y1 = fitted(r, lines, pad, grey)
        y0, y1 = y0 - (line - 1) / 2, y1 + (line - 1) / 2
        rects.append((max(0.0, x0), max(0.0, y0), min(im.width, x1), min(im.height, y1)))
    for (r, _numbers, hidden), rect in zip(groups, rects, strict=True):
        if hidden:
            draw.rectangle(r, fill=(0, 0, 0))
        draw.rectangle(rect, outline=BOX_RGB, width=line)
    placed_labels: list[tuple[float, float, float, float]] = []
    # The text of a line is where its fitted box is, not the engine's taller box.
    texts = [fitted(t, lines, 0, grey) for t in ((x, y, x + w, y + h) for x, y, w, h in obstacles)]
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
