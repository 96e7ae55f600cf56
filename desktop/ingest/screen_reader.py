# SPDX-License-Identifier: GPL-3.0-or-later
"""Deciding what to read in which frame of a screen recording, and reading it line by line.

Measured on 2 cores (``../shared/notes/ocr.md``): decoding is cheap and full-frame OCR is not, so
every analysed frame goes through a change test on a 4x column-subsampled luma image and only the
lines that changed are read, a batch of single-line bands at a time (recognition only, with a score
and position per character). Responsibilities, each for a measured reason:

- **Settled states, not keystrokes.** A state is read once it has been still for ``STILL_S`` (a key
  press at 30 fps leaves the screen still for a frame or two; reading each cost 0.8x the duration),
  or at the latest ``SETTLE_MAX_S`` after it began changing.
- **When each pixel took its value.** ``changed_at`` holds, per thumbnail pixel, the last time it
  changed (shifted along when the screen scrolls), so a line read late still gives, per character,
  the first time its complete value was visible.
- **Faint text.** Changes and ink are found at a low level (``FAINT_LEVEL``) with a vertical
  neighbour required, which keeps compression noise (isolated pixels) out but lets grey-on-grey and
  blurred lines trigger a read.
- **Columns.** Vertical dividers (tmux panes, side-by-side windows) split lines into columns that
  scroll and are followed separately; wide gaps inside a line are read as separate segments (a
  single-line read drops wide gaps and glues ``index.php  shell.php``).
- **Enhancement.** A band that reads weakly or has low contrast is read again from enhanced variants
  (contrast stretch, sharpened 2x upscale, the average of the frames in which it was static); each
  variant's pixels are kept so that the derived image can be acquired with its recipe.

It never decides what is an indicator (``screen_text`` does), never writes files, never imports Qt.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from desktop.ingest.ocr import LineReading, OcrEngine

Luma = npt.NDArray[np.uint8]
RGB = npt.NDArray[np.uint8]

THUMB_STEP = 4
# A pixel changed when its luma moved by more than this *and* a vertical neighbour moved too:
# compression noise is isolated pixels, a stroke of a glyph (even a faint one) spans rows.
FAINT_LEVEL = 14
# Ink: a pixel this far from the background of its screen.
INK_LEVEL = 12
# Pixels (of the column-subsampled frame) that must change to trigger a read: ~0.01% of them.
CHANGE_FRACTION = 0.0001
STILL_S = 0.25
# A band taller than this many typical lines is detected into lines, not read as one.
TWO_ROWS = 1.7
LINE_HEIGHTS = 64  # how many recent good lines give the typical line height
# A line read below this score while it was moving is read again once it stands still.
STALE_BELOW_CONF = 0.8
# The variant name of a line's second reading, stretched 2x (a value made of numbers needs two).
SECOND_OPINION = "stretched 2x"
# Ink this close to the right edge of a column (pixels) is a glyph cut by the edge.
EDGE_PX = 3
# A change in one thumbnail column this many rows tall is a glyph's stroke, not noise.
STROKE_ROWS = 4
SETTLE_MAX_S = 1.5
MAX_INTERVAL_S = 2.0
FULL_SHARE = 0.5
NOMINAL_COST = {"full": 0.6, "crop": 0.2, "line": 0.03}
OCR_BUDGET = 0.3
BUDGET_GRACE_S = 1.0
BUSY_INTERVAL_S = 2.0
# A reading weaker than this, or a band with less contrast, is read again from enhanced variants.
ENHANCE_BELOW_CONF = 0.9
LOW_CONTRAST = 90


@dataclass
class Region:
    """A horizontal slab of the frame to read: rows ``y0:y1``, columns ``x0:x1``, in a screen column."""

    y0: int
    y1: int
    x0: int
    x1: int
    single_line: bool
    column: int = 0


@dataclass
class State:
    """The first frame of the current on-screen state (the frame a read uses and cites)."""

    frame: Any
    index: int
    t: float
    cols: Luma


@dataclass(frozen=True)
class Read:
    """One line read in one frame (or in an enhanced variant of its band).

    Attributes:
        reading: what the recogniser returned (text, scores, character positions).
        column: the screen column of the line.
        char_times: per character, since when its pixels had their current value.
        enhanced: the recipe if this is a reading of an enhanced variant, else "".
        band_png: the enhanced variant's pixels (PNG) for an enhanced reading, else b"".
        original_png: the original band's pixels (PNG), for an enhanced reading.
    """

    reading: LineReading
    column: int
    char_times: tuple[float, ...] | None
    enhanced: str = ""
    band_png: bytes = b""
    original_png: bytes = b""
    at: tuple[float, int] | None = None  # (time, frame index) of the frame it describes, if not now
    edge: bool | None = None  # the line's ink runs into the right edge of its column (None: not known)
    variant: str = ""  # a second reading of the same pixels, resampled (see ``_second_opinions``)


@dataclass
class _Watch:
    """A weakly read band whose frames are averaged while it stays static (temporal denoising)."""

    box: tuple[int, int, int, int]
    column: int
    since: float
    total: npt.NDArray[np.float32]
    frame_index: int = 0
    frames: int = 1
    done: bool = False


def ink(cols: Luma, block: int = 16) -> npt.NDArray[np.bool_]:
    """Pixels that differ from every local background around them (medians of 16x16 blocks).

    One global background fails on a desktop: a terminal window on a blue wallpaper made the whole
    window "ink" and one region of the screen. Text strokes are sparse in a block, so a block's
    median is the background behind them; a pixel is ink only if it differs from the medians of its
    block and of the eight around it, so the edge of a window (where a block straddles two
    backgrounds) is not.
    """
    h, w = cols.shape
    hb, wb = -(-h // block), -(-w // block)
    padded = np.pad(cols, ((0, hb * block - h), (0, wb * block - w)), mode="edge")
    blocks = padded.reshape(hb, block, wb, block).transpose(0, 2, 1, 3).reshape(hb, wb, -1)
    medians = np.pad(np.median(blocks, axis=2).astype(np.float32), 1, mode="edge")
    pixels = cols.astype(np.float32)
    distance = np.full(cols.shape, np.inf, dtype=np.float32)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            near = medians[dy:dy + hb, dx:dx + wb]
            background = np.repeat(np.repeat(near, block, axis=0), block, axis=1)[:h, :w]
            np.minimum(distance, np.abs(pixels - background), out=distance)
    return np.asarray(distance > INK_LEVEL)


def moved(a: Luma, b: Luma) -> npt.NDArray[np.bool_]:
    """Pixels that changed between two thumbnails, isolated (noise) pixels left out."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)) > FAINT_LEVEL
    out = np.zeros_like(diff)
    out[1:-1] = diff[1:-1] & (diff[:-2] | diff[2:])
    return out


def changed_rows(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Rows of a change mask that hold new text: two changed pixels, or one pixel of a stroke.

    The thumbnail keeps one screen column in four, so a narrow glyph typed at the end of a line
    (the ``p`` of ``/srv/data/drop`` in a small font) may change one thumbnail column only: one
    pixel a row, but in a vertical run as tall as the glyph, which noise is not.
    """
    rows = np.count_nonzero(mask, axis=1) >= 2
    run = mask[:-STROKE_ROWS + 1].copy()
    for k in range(1, STROKE_ROWS):
        run &= mask[k:mask.shape[0] - STROKE_ROWS + 1 + k]
    starts = run.any(axis=1)
    for k in range(STROKE_ROWS):
        rows[k:k + starts.shape[0]] |= starts
    return np.asarray(rows)


class Reader:
    """Decides what to read in which frame, and reads it; see the module docstring."""

    def __init__(self, engine: OcrEngine, width: int, height: int) -> None:
        self.engine = engine
        self.width, self.height = width, height
        self.ref: Luma | None = None
        self.prev: Luma | None = None
        self.state: State | None = None
        self.dirty_since: float | None = None
        self.pending_since: float | None = None
        self.last_read_t = -math.inf
        self.threshold = max(4, math.ceil(CHANGE_FRACTION * height * math.ceil(width / THUMB_STEP)))
        self.changed_at: npt.NDArray[np.float32] | None = None
        # thumbnail pixels of lines read weakly while they were moving (mid-scroll): read again
        # once they stand still (shifted with the content, like ``changed_at``)
        self.stale: npt.NDArray[np.bool_] | None = None
        self.moving_read = False  # the state being read had not stood still
        self.line_heights: list[int] = []  # heights of lines read well lately: what one line is
        self.ocr_s = 0.0
        self.cost = 0.0
        self.calls = {"full": 0, "crop": 0, "line": 0}
        self.max_line_px = max(24, int(0.045 * height))
        self.dividers: list[int] = []  # x of vertical dividers, frame pixels
        self.shifts: dict[int, int] = {}  # column -> dy of the last read (content moved up by dy)
        self.whole = False
        self.watches: list[_Watch] = []

    # -- columns ---------------------------------------------------------------------------------

    def column_of(self, x: int) -> int:
        """The screen column (between vertical dividers) that holds ``x``."""
        return sum(1 for d in self.dividers if d <= x)

    def column_bounds(self, column: int) -> tuple[int, int]:
        """``(x0, x1)`` of a screen column in frame pixels."""
        edges = [0, *self.dividers, self.width]
        return edges[column], edges[column + 1]

    def _find_dividers(self, cols: Luma) -> None:
        frac = ink(cols).mean(axis=0)
        found: list[int] = []
        n = frac.shape[0]
        for c in range(3, n - 3):
            if frac[c] >= 0.75 and frac[c] >= frac[c - 1] and frac[c] > frac[c + 1] - 1e-9:
                around = np.concatenate((frac[max(0, c - 4):c - 1], frac[c + 2:c + 5]))
                lone = around.size and float(around.max()) < 0.45
                if lone and (not found or c * THUMB_STEP - found[-1] > 40):
                    found.append(c * THUMB_STEP + THUMB_STEP // 2)
        self.dividers = found

    # -- stepping --------------------------------------------------------------------------------

    def step(self, frame: Any, index: int, t: float, cols: Luma) -> State | None:
        """Feeds one analysed frame; returns the state to read now, if any."""
        state = self._step(frame, index, t, cols)
        if state is not None:
            # a state that had not stood still (read at the latest SETTLE_MAX_S after it began
            # changing) may show lines mid-motion
            self.moving_read = state is not self.state
        return state

    def _step(self, frame: Any, index: int, t: float, cols: Luma) -> State | None:
        if self.changed_at is None or self.changed_at.shape != cols.shape:
            self.changed_at = np.full(cols.shape, t, dtype=np.float32)
            self.stale = np.zeros(cols.shape, dtype=bool)
        if self.prev is not None:
            mask = moved(cols, self.prev)
            for column in range(len(self.dividers) + 1):
                x0, x1 = self.column_bounds(column)
                c0, c1 = x0 // THUMB_STEP, max(x0 // THUMB_STEP + 1, x1 // THUMB_STEP)
                sub = mask[:, c0:c1]
                if np.count_nonzero(np.count_nonzero(sub, axis=1) >= 2) <= FULL_SHARE * sub.shape[0]:
                    continue
                # this column scrolled: the times move with the content (a scroll is no new text)
                dy = _shift(self.prev[:, c0:c1], cols[:, c0:c1])
                if dy:
                    self.changed_at[:, c0:c1] = _roll_rows(self.changed_at[:, c0:c1], dy, t)
                    if self.stale is not None:
                        self.stale[:, c0:c1] = _roll_rows(
                            self.stale[:, c0:c1].astype(np.float32), dy, 0.0) > 0.5
                    shifted = _roll_rows(self.prev[:, c0:c1].astype(np.float32), dy, -1000.0)
                    mask[:, c0:c1] = np.abs(cols[:, c0:c1].astype(np.float32) - shifted) > FAINT_LEVEL
            count = int(np.count_nonzero(mask))
            self.changed_at[mask] = t
            moving = count >= 2
        else:
            moving = True
        self.prev = cols
        if moving or self.state is None:
            self.state = State(frame, index, t, cols)
        if self.ref is None:
            # the first read; a screen that never stands still (a pointer moving) is read anyway
            if self.dirty_since is None:
                self.dirty_since = t
            if not moving:
                return self.state
            return State(frame, index, t, cols) if t - self.dirty_since >= SETTLE_MAX_S else None
        changed = int(np.count_nonzero(moved(cols, self.ref)))
        if changed == 0:
            self.dirty_since = self.pending_since = None
            if self.stale is not None and self.stale.any() and t - self.state.t >= STILL_S:
                return self.state  # lines read mid-motion now stand still: read them again
            return None
        if self.pending_since is None:
            self.pending_since = t
        over_budget = self.cost - NOMINAL_COST["full"] > OCR_BUDGET * t + BUDGET_GRACE_S
        still = t - self.state.t >= STILL_S
        if changed >= self.threshold:
            if self.dirty_since is None:
                self.dirty_since = self.state.t
            if not over_budget and (still or t - self.dirty_since >= SETTLE_MAX_S):
                return self.state if still else State(frame, index, t, cols)
        gap = BUSY_INTERVAL_S if over_budget else 0.0
        if t - self.pending_since >= MAX_INTERVAL_S and t - self.last_read_t >= gap:
            return self.state if still else State(frame, index, t, cols)
        return None

    def unread(self) -> State | None:
        """At the end of the stream: the last state if it was never read."""
        if self.state is None:
            return None
        if self.ref is None or np.count_nonzero(moved(self.state.cols, self.ref)) > 0:
            return self.state
        return None

    def mark_read(self, state: State) -> None:
        """The state was read: later frames are compared with it."""
        self.ref = state.cols
        self.dirty_since = self.pending_since = None
        self.last_read_t = state.t

    # -- planning --------------------------------------------------------------------------------

    def plan(self, cols: Luma) -> list[Region]:
        """The regions to read; ``self.whole`` says whether the whole screen is read afresh."""
        self.shifts = {}
        h = cols.shape[0]
        if self.ref is None:
            self._find_dividers(cols)
            return self._regions(cols, np.ones(cols.shape, dtype=bool), whole=True)
        mask = moved(cols, self.ref)
        changed = np.zeros(cols.shape, dtype=bool)
        for column in range(len(self.dividers) + 1):
            x0, x1 = self.column_bounds(column)
            c0, c1 = x0 // THUMB_STEP, max(x0 // THUMB_STEP + 1, x1 // THUMB_STEP)
            sub = mask[:, c0:c1]
            rows = changed_rows(sub)
            if np.count_nonzero(rows) > FULL_SHARE * h:
                found = self._scroll(cols[:, c0:c1], self.ref[:, c0:c1], int(np.count_nonzero(rows)))
                if found is not None:
                    dy, rows = found
                    self.shifts[column] = dy
            changed[:, c0:c1] = rows[:, None]
        rows_any = changed.any(axis=1)
        if np.count_nonzero(rows_any) > FULL_SHARE * h and not self.shifts:
            self._find_dividers(cols)
            return self._regions(cols, np.ones(cols.shape, dtype=bool), whole=True)
        if self.stale is not None and self.stale.shape == changed.shape:
            changed |= self.stale
            self.stale[:] = False
        return self._regions(cols, changed, whole=False)

    def _regions(self, cols: Luma, changed: npt.NDArray[np.bool_], *, whole: bool) -> list[Region]:
        self.whole = whole
        inked = ink(cols)
        out: list[Region] = []
        heights: list[int] = []
        for column in range(len(self.dividers) + 1):
            x0, x1 = self.column_bounds(column)
            c0 = x0 // THUMB_STEP + (1 if column else 0)
            c1 = x1 // THUMB_STEP - (1 if column < len(self.dividers) else 0)
            if c1 <= c0:
                continue
            ink_c = inked[:, c0:c1]
            ink_rows: npt.NDArray[np.bool_] = np.asarray(ink_c.any(axis=1))
            rows: npt.NDArray[np.bool_] = np.asarray(changed[:, c0:c1].any(axis=1))
            for y0, y1 in _runs(_dilate(rows, 2)):
                lo, hi = y0, y1
                limit = self.max_line_px * 2
                while lo > 0 and ink_rows[lo - 1] and y0 - lo < limit:
                    lo -= 1
                while hi < len(ink_rows) and ink_rows[hi] and hi - y1 < limit:
                    hi += 1
                for a, b in _lines(ink_rows, lo, hi):
                    heights.append(b - a)
                    col_ink = np.flatnonzero(ink_c[a:b].any(axis=0))
                    if col_ink.size:
                        rx0 = max(x0, (c0 + int(col_ink[0])) * THUMB_STEP - THUMB_STEP)
                        rx1 = min(x1, (c0 + int(col_ink[-1]) + 2) * THUMB_STEP)
                        out.append(Region(a, b, rx0, rx1, b - a <= self.max_line_px, column))
        if whole and len(heights) >= 3:
            typical = sorted(heights)[len(heights) // 2]
            self.max_line_px = max(12, int(typical * 1.6))
            for region in out:
                region.single_line = region.y1 - region.y0 <= self.max_line_px
        if len(self.line_heights) >= 3:
            # two rows whose ink touches (tight spacing, a frame of a smooth scroll) are one band:
            # read as one line they give nonsense, so a band much taller than the lines read well
            # so far is detected into lines first
            one = sorted(self.line_heights)[len(self.line_heights) // 2]
            for region in out:
                if region.y1 - region.y0 > TWO_ROWS * one:
                    region.single_line = False
        return _merge(out)

    def _scroll(self, cols: Luma, ref: Luma, changed_rows: int) -> tuple[int, npt.NDArray[np.bool_]] | None:
        """If ``cols`` is ``ref`` shifted vertically: the shift and the rows that are new after it."""
        dy = _shift(ref, cols)
        if not dy:
            return None
        h = cols.shape[0]
        rows = np.ones(h, dtype=bool)
        now16, ref16 = cols.astype(np.int16), ref.astype(np.int16)
        ink = np.count_nonzero(np.abs(now16 - int(np.median(cols[::THUMB_STEP]))) > INK_LEVEL, axis=1)
        if dy > 0:
            diff = np.count_nonzero(np.abs(now16[: h - dy] - ref16[dy:]) > 40, axis=1)
            rows[: h - dy] = (diff >= 3) & (diff >= 0.2 * ink[: h - dy])
        else:
            diff = np.count_nonzero(np.abs(now16[-dy:] - ref16[: h + dy]) > 40, axis=1)
            rows[-dy:] = (diff >= 3) & (diff >= 0.2 * ink[-dy:])
        unexplained = int(np.count_nonzero(rows))
        if unexplained > 0.5 * changed_rows or unexplained > FULL_SHARE * h:
            return None
        return dy, rows

    # -- reading ---------------------------------------------------------------------------------

    def read(self, rgb: RGB, luma: Luma, regions: list[Region], t: float,
             frame_index: int = 0) -> tuple[list[Read], str]:
        """Reads the regions; returns the lines read (enhanced variants included) and the method."""
        started = time.perf_counter()
        bands: list[RGB] = []
        offsets: list[tuple[int, int]] = []
        margins: list[tuple[int, int]] = []
        owners: list[int] = []  # index of the line each band is a segment of
        line_regions: list[Region] = []
        method = "full" if self.whole else "line"
        try:
            for region in regions:
                if region.single_line:
                    boxes = [(region.x0, region.y0, region.x1 - region.x0, region.y1 - region.y0)]
                else:
                    method = "crop" if not self.whole else method
                    self.calls["crop"] += 1
                    pad = 6
                    y0, y1 = max(0, region.y0 - pad), min(self.height, region.y1 + pad)
                    boxes = self.engine.detect(rgb[y0:y1, region.x0:region.x1], offset=(region.x0, y0))
                    one_line = boxes and len({b[1] // 4 for b in boxes}) == 1
                    if one_line and y1 - y0 < 0.2 * self.height:
                        # it was one (large) line after all: lines this tall are single from now on
                        self.max_line_px = max(self.max_line_px, int((region.y1 - region.y0) * 1.2))
                for bx, by, bw, bh in boxes:
                    line_index = len(line_regions)
                    line_regions.append(Region(by, by + bh, bx, bx + bw, True, region.column))
                    for sx0, sx1 in _segments(luma[by:by + bh, bx:bx + bw]):
                        crop = rgb[by:by + bh, bx + sx0:bx + sx1]
                        padded, margin = _margin(crop)
                        bands.append(padded)
                        offsets.append((bx + sx0, by))
                        margins.append(margin)
                        owners.append(line_index)
            self.calls["full" if self.whole else "line"] += 1 if bands else 0
            readings = self.engine.read_lines(bands, offsets, margins) if bands else []
            joins: dict[int, LineReading] = {}
            stretched: set[int] = set()
            for line_index, region in enumerate(line_regions):
                parts = [r for r, o in zip(readings, owners, strict=True)
                         if o == line_index and r is not None]
                if not parts:
                    continue
                joined = _join(parts, (region.x0, region.y0, region.x1 - region.x0, region.y1 - region.y0))
                if _collapsed(joined):
                    again = self._stretched(rgb, region, joined)
                    if again is not joined:
                        stretched.add(line_index)
                    joined = again
                joins[line_index] = joined
            numeric = [i for i, j in joins.items() if i not in stretched and _holds_numeric(j.text)]
            seconds = self._second_opinions(bands, offsets, margins, owners, numeric, line_regions)
            out: list[Read] = []
            for line_index, region in enumerate(line_regions):
                if line_index not in joins:
                    continue
                joined = joins[line_index]
                out.append(Read(joined, region.column, self._char_times(joined),
                                edge=self._at_edge(luma, region)))
                second = seconds.get(line_index)
                if second is not None:
                    out.append(Read(second, region.column, self._char_times(second),
                                    variant=SECOND_OPINION))
                self._mark_stale(region, joined.confidence, t)
                if joined.confidence >= ENHANCE_BELOW_CONF:
                    self.line_heights = [*self.line_heights[-(LINE_HEIGHTS - 1):], region.y1 - region.y0]
                enhanced = self._enhance(rgb, luma, region, joined, t, frame_index)
                out += enhanced
            return out, method
        finally:
            self.ocr_s += time.perf_counter() - started
            self.cost = sum(NOMINAL_COST[kind] * n for kind, n in self.calls.items())

    def _second_opinions(self, bands: list[RGB], offsets: list[tuple[int, int]],
                         margins: list[tuple[int, int]], owners: list[int], lines: list[int],
                         regions: list[Region]) -> dict[int, LineReading]:
        """The given lines read again from their bands stretched 2x horizontally, segment by segment.

        A value made of numbers read once is not confirmed (a digit lost or doubled gives another
        valid IP: CTC merges a repeated digit that no blank separates, ``109.13.241.174`` for
        ``109.113.241.174``). Read again with twice the time steps per character, the two readings
        must agree for the value to be certain; where they differ the value is uncertain with the
        other reading as its alternative. Resampling is a recognition step like the recogniser's
        own resize, not an enhancement of the evidence.
        """
        if not lines:
            return {}
        from desktop.ingest.ocr import LineReading

        wanted = set(lines)
        picked = [k for k, o in enumerate(owners) if o in wanted]
        wide = [_stretched_2x(bands[k]) for k in picked]
        self.calls["line"] += 1
        results = self.engine.read_lines(wide, [(0, 0)] * len(picked), [(margins[k][0] * 2, margins[k][1])
                                                                        for k in picked])
        parts: dict[int, list[LineReading | None]] = defaultdict(list)
        for k, result in zip(picked, results, strict=True):
            if result is None:
                parts[owners[k]].append(None)
                continue
            ox, oy = offsets[k]
            char_x = _unstretched(result.char_x, ox)
            parts[owners[k]].append(LineReading(result.text, result.confidence, (ox, oy, 0, 0),
                                                result.char_conf, char_x, result.char_alt))
        out: dict[int, LineReading] = {}
        for line_index, got in parts.items():
            ready = [g for g in got if g is not None]
            if not ready or len(ready) != len(got):
                continue  # a segment the stretched read lost: no comparable second reading
            r = regions[line_index]
            out[line_index] = _join(ready, (r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0))
        return out

    def _mark_stale(self, region: Region, confidence: float, t: float) -> None:
        """Marks a line read weakly while its pixels were still changing, to be read again.

        A frame caught mid-scroll (two rows blended) reads as nonsense; without a second read once
        it stands still, a scrolled line keeps that reading and its first clean sighting is
        seconds late, or never comes.
        """
        if confidence >= STALE_BELOW_CONF or not self.moving_read or self.changed_at is None \
                or self.stale is None:
            return
        c0, c1 = region.x0 // THUMB_STEP, max(region.x0 // THUMB_STEP + 1, region.x1 // THUMB_STEP)
        if float(self.changed_at[region.y0:region.y1, c0:c1].max(initial=-math.inf)) > t - STILL_S:
            self.stale[region.y0:region.y1, c0:c1] = True

    def _at_edge(self, luma: Luma, region: Region) -> bool:
        """Whether the line's ink reaches the right edge of its screen column: a glyph cut there.

        A value that ends there may go on past the edge (a line wider than the window, clipped);
        one that ends a character short of it (a line that just fits) does not.
        """
        right = self.column_bounds(region.column)[1]
        if region.column < len(self.dividers):
            right -= THUMB_STEP  # the pane's text stops short of the divider's own ink
        if right - region.x1 > EDGE_PX:
            return False
        band = luma[region.y0:region.y1, max(0, region.x0):right].astype(np.int16)
        if band.size == 0:
            return False
        background = int(np.median(band))
        tail = band[:, -EDGE_PX:]
        return bool(np.count_nonzero(np.abs(tail - background) > INK_LEVEL * 3) >= 2)

    def _stretched(self, rgb: RGB, region: Region, reading: LineReading) -> LineReading:
        """The line read again stretched 2x horizontally (more CTC steps per character).

        The recogniser emits one label per time step and merges repeats that no blank separates, so
        wide touching letters can collapse (``www`` read as ``ww``, ``/var/w/html``). Resampling is
        a recognition step like the recogniser's own resize, not an enhancement of the evidence.
        """
        from desktop.ingest.ocr import LineReading

        crop = rgb[region.y0:region.y1, region.x0:region.x1]
        if crop.size == 0:
            return reading
        padded, margin = _margin(_stretched_2x(crop))
        self.calls["line"] += 1
        again = self.engine.read_lines([padded], [(0, 0)], [margin])[0]
        if again is None or len(again.text) <= len(reading.text) or len(again.text) > len(reading.text) + 4:
            return reading
        char_x = _unstretched(again.char_x, region.x0)
        return LineReading(again.text, again.confidence, reading.box, again.char_conf, char_x, again.char_alt)

    def _char_times(self, reading: LineReading) -> tuple[float, ...] | None:
        if self.changed_at is None:
            return None
        _, y, _, h = reading.box
        band = self.changed_at[y:y + h]
        if band.size == 0:
            return None
        times = []
        for x0, x1 in reading.char_x:
            width = max(1, x1 - x0)
            c0 = math.ceil((x0 + 0.25 * width) / THUMB_STEP)
            c1 = max(c0 + 1, int((x1 - 0.25 * width) / THUMB_STEP))
            cell = band[:, c0:c1]
            times.append(float(cell.max()) if cell.size else float(band.max()))
        return tuple(times)

    # -- enhancement -----------------------------------------------------------------------------

    def _enhance(self, rgb: RGB, luma: Luma, region: Region, reading: LineReading, t: float,
                 frame_index: int) -> list[Read]:
        """Reads enhanced variants of a weak or faint band; see the module docstring."""
        band = luma[region.y0:region.y1, region.x0:region.x1]
        if band.size == 0:
            return []
        lo, hi = np.percentile(band, (2, 98))
        if reading.confidence >= ENHANCE_BELOW_CONF and hi - lo >= LOW_CONTRAST:
            return []
        variants = enhance_variants(band)
        box = (region.x0, region.y0, region.x1 - region.x0, region.y1 - region.y0)
        self.watches.append(_Watch(box, region.column, t, band.astype(np.float32), frame_index))
        original = rgb[region.y0:region.y1, region.x0:region.x1]
        return self._read_variants(variants, box, region.column, original)

    def _read_variants(self, variants: list[tuple[str, Luma, float]], box: tuple[int, int, int, int],
                       column: int, original: RGB, at: tuple[float, int] | None = None) -> list[Read]:
        bands, offsets, margins = [], [], []
        for _recipe, image, _scale in variants:
            padded, margin = _margin(np.repeat(image[:, :, None], 3, axis=2))
            bands.append(padded)
            offsets.append((0, 0))
            margins.append(margin)
        self.calls["line"] += 1
        results = self.engine.read_lines(bands, offsets, margins)
        out = []
        for (recipe, image, scale), result in zip(variants, results, strict=True):
            if result is None:
                continue
            # character positions back to frame pixels (the variant may be upscaled)
            char_x = tuple((box[0] + round(a / scale), box[0] + round(b / scale)) for a, b in result.char_x)
            from desktop.ingest.ocr import LineReading

            mapped = LineReading(result.text, result.confidence, box, result.char_conf, char_x,
                                 result.char_alt)
            out.append(Read(mapped, column, self._char_times(mapped) if at is None else None, recipe,
                            png_gray(image), _png_rgb(original), at))
        return out

    def averaged(self, luma: Luma, t: float) -> list[Read]:
        """Adds this frame to every watched band still static; reads the averages that are complete.

        A band is averaged over the frames it stays static in (at most eight) and read once, when
        eight frames are in or when it changes: compression noise differs from frame to frame while
        the text does not, so the mean is cleaner than any single frame.
        """
        out: list[Read] = []
        for watch in self.watches:
            x, y, w, h = watch.box
            region = self.changed_at[y:y + h, x // THUMB_STEP:(x + w) // THUMB_STEP + 1] \
                if self.changed_at is not None else None
            changed = region is not None and region.size > 0 and float(region.max()) > watch.since + 1e-6
            if t > watch.since and changed:
                watch.done = True  # the band changed: the average would mix two texts
            elif t > watch.since:
                watch.total += luma[y:y + h, x:x + w].astype(np.float32)
                watch.frames += 1
            if watch.done or watch.frames >= 8:
                watch.done = True
                if watch.frames >= 3:
                    mean = np.clip(watch.total / watch.frames, 0, 255).astype(np.uint8)
                    recipe = (f"average of {watch.frames} static frames from {watch.since:.2f} s, "
                              "contrast stretch (1st-99th percentile to 0-255, dark text)")
                    out += self._read_variants([(recipe, _stretch(mean), 1.0)], watch.box, watch.column,
                                               np.repeat(mean[:, :, None], 3, axis=2),
                                               (watch.since, watch.frame_index))
        self.watches = [w for w in self.watches if not w.done]
        return out


# ---------------------------------------------------------------------------------- enhancement

def _holds_numeric(text: str) -> bool:
    """Whether a line's text holds an indicator made of numbers (an IP, a range, an ASN).

    A line that begins or ends with a piece of a dotted number may hold half of one wrapped
    across two rows (``... brd 194.8`` / ``7.181.255 scope``): it counts too.
    """
    from desktop.core.indicators import extract
    from desktop.ingest.screen_text import NUMERIC_TYPES

    if _WRAPPED_NUMBER.search(text.strip()):
        return True
    return any(found.type in NUMERIC_TYPES for found in extract(text, ocr=True))


_WRAPPED_NUMBER = re.compile(r"^\.?\d+\.\d|\d\.\d*$|\d\.$")


def _collapsed(reading: LineReading) -> bool:
    """Some character is far wider than the others: two letters probably merged into one."""
    # the first and last characters' extents are guesses (no neighbour on one side): left out
    pairs = list(zip(reading.char_x, reading.text, strict=False))[1:-1]
    widths = sorted(b - a for (a, b), ch in pairs if not ch.isspace() and not ch.isspace())
    if len(widths) < 6:
        return False
    median = widths[len(widths) // 2]
    spread = widths[3 * len(widths) // 4] - widths[len(widths) // 4]
    # only where characters are otherwise evenly spaced (a terminal): proportional text varies anyway
    return median >= 4 and spread <= 0.35 * median and widths[-1] > 1.7 * median


def _stretch(band: Luma) -> Luma:
    """Contrast normalisation: the 1st..99th percentile stretched to the full range, text dark."""
    lo, hi = np.percentile(band, (1, 99))
    span = max(1.0, float(hi - lo))
    out = np.clip((band.astype(np.float32) - lo) * (255.0 / span), 0, 255)
    if float(np.median(out)) < 128:  # light text on dark: the recogniser reads dark on light best
        out = 255 - out
    return np.asarray(out, dtype=np.uint8)


def enhance_variants(band: Luma) -> list[tuple[str, Luma, float]]:
    """Enhanced versions of a line band: ``(recipe, pixels, scale)``; documented in each recipe."""
    import cv2

    stretched = _stretch(band)
    up = cv2.resize(stretched, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(up, (0, 0), 2.0)
    sharp = np.asarray(cv2.addWeighted(up, 1.8, blurred, -0.8, 0), dtype=np.uint8)
    return [("contrast stretch (1st-99th percentile to 0-255, dark text)", stretched, 1.0),
            ("contrast stretch, 2x bicubic upscale, unsharp mask (sigma 2, amount 0.8)", sharp, 2.0)]


def png_gray(image: Luma) -> bytes:
    """A greyscale image as PNG bytes (enhanced variants are kept as derived items in this form)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _png_rgb(image: RGB) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), mode="RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# -------------------------------------------------------------------------------------- helpers

def _shift(ref: Luma, now: Luma) -> int:
    """The vertical shift (content moved up by dy > 0) that best explains ``now``, or 0.

    Candidates come from the cross-correlation of per-row signatures (16 column-group means per
    row, mean removed) computed with one FFT: a scrolling terminal asks this on most frames, and
    trying every shift in Python cost ~30 ms a frame. Each of the best three is then checked pixel by
    pixel and accepted if it leaves fewer than half the pixels changed that no shift leaves changed.
    """
    h = now.shape[0]
    groups = 16
    usable = now.shape[1] - now.shape[1] % groups
    if usable < groups or h < 8:
        return 0
    sig_now = now[:, :usable].reshape(h, groups, -1).mean(axis=2)
    sig_ref = ref[:, :usable].reshape(h, groups, -1).mean(axis=2)
    sig_now = sig_now - sig_now.mean(axis=0)
    sig_ref = sig_ref - sig_ref.mean(axis=0)
    size = 1 << (2 * h - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(sig_ref, size, axis=0) * np.conj(np.fft.rfft(sig_now, size, axis=0)),
                        size, axis=0).sum(axis=1)
    # corr[k]: ref row i + k against now row i, i.e. content moved up by k (k < 0 wraps around)
    shifts = np.concatenate((np.arange(0, h // 2 + 1), np.arange(-(h // 2), 0)))
    values = np.concatenate((corr[: h // 2 + 1], corr[size - h // 2:]))
    overlap = h - np.abs(shifts)
    order = np.argsort(-(values / np.maximum(overlap, 1)))
    candidates = [int(shifts[i]) for i in order[:4] if shifts[i] != 0][:3]
    before = int(np.count_nonzero(np.abs(now.astype(np.int16) - ref.astype(np.int16)) > 40))
    best, best_dy = before, 0
    for dy in candidates:
        shifted = _roll_rows(ref.astype(np.float32), dy, -1000.0)
        valid = shifted >= 0
        after = int(np.count_nonzero((np.abs(now.astype(np.float32) - shifted) > 40) & valid))
        if after < best:
            best, best_dy = after, dy
    return best_dy if best_dy and best < 0.5 * before else 0


def _roll_rows(array: npt.NDArray[np.float32], dy: int, fill: float) -> npt.NDArray[np.float32]:
    out = np.full_like(array, fill)
    h = array.shape[0]
    if dy > 0:
        out[: h - dy] = array[dy:]
    elif dy < 0:
        out[-dy:] = array[: h + dy]
    else:
        out[:] = array
    return out


def _segments(band: Luma) -> list[tuple[int, int]]:
    """Column ranges of a line band split at gaps wider than about two characters."""
    if band.size == 0:
        return []
    bg = int(np.median(band))
    # relative to the band's own contrast: a faint line's thin letters ("l") must not read as gaps
    lo, hi = np.percentile(band, (1, 99))
    level = max(6.0, 0.35 * float(hi - lo))
    ink: npt.NDArray[np.bool_] = np.asarray((np.abs(band.astype(np.int16) - bg) > level).any(axis=0))
    runs = _runs(ink)
    if not runs:
        return [(0, band.shape[1])]
    gap_min = max(10, int(band.shape[0] * 1.1))
    merged = [list(runs[0])]
    for a, b in runs[1:]:
        if a - merged[-1][1] < gap_min:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    w = band.shape[1]
    pad = max(2, band.shape[0] // 4)
    return [(max(0, a - pad), min(w, b + pad)) for a, b in merged]


def _stretched_2x(pixels: RGB) -> RGB:
    """A band twice as wide (cubic), for the recogniser's second reading with more CTC steps a glyph."""
    import cv2

    return np.asarray(cv2.resize(pixels, (pixels.shape[1] * 2, pixels.shape[0]),
                                 interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def _unstretched(char_x: tuple[tuple[int, int], ...], x0: int) -> tuple[tuple[int, int], ...]:
    """Character spans read on a :func:`_stretched_2x` band, back on the frame from column ``x0``."""
    return tuple((x0 + a // 2, x0 + b // 2) for a, b in char_x)


def _join(parts: list[LineReading], box: tuple[int, int, int, int]) -> LineReading:
    """Segments of one line as one reading, separated by two spaces (a wide gap)."""
    from desktop.ingest.ocr import LineReading

    if len(parts) == 1:
        p = parts[0]
        return LineReading(p.text, p.confidence, box, p.char_conf, p.char_x, p.char_alt)
    text = ""
    confs: list[float] = []
    xs: list[tuple[int, int]] = []
    alts: list[float] = []
    for i, p in enumerate(parts):
        if i:
            gap = (xs[-1][1], p.char_x[0][0]) if xs and p.char_x else (box[0], box[0])
            text += "  "
            confs += [1.0, 1.0]
            xs += [gap, gap]
            alts += [0.0, 0.0]
        text += p.text
        confs += list(p.char_conf)
        xs += list(p.char_x)
        alts += list(p.char_alt) if len(p.char_alt) == len(p.text) else [0.0] * len(p.text)
    return LineReading(text, float(np.mean(confs)), box, tuple(confs), tuple(xs), tuple(alts))


def _margin(crop: RGB) -> tuple[RGB, tuple[int, int]]:
    """Pads a tight line crop with its own edge pixels (background); returns it and (left, top)."""
    h = crop.shape[0]
    v, hz = max(3, h // 3), max(4, h // 2)
    return np.pad(crop, ((v, v), (hz, hz), (0, 0)), mode="edge"), (hz, v)


def _lines(ink_rows: npt.NDArray[np.bool_], lo: int, hi: int) -> list[tuple[int, int]]:
    """Text lines between rows ``lo`` and ``hi``: runs of ink rows, specks joined to their line."""
    runs = [(lo + a, lo + b) for a, b in _runs(ink_rows[lo:hi])]
    joined = [(a, b) for a, b in runs if b - a >= 6]
    if not joined:
        return []
    for a, b in runs:
        if b - a >= 6:
            continue
        best = min(range(len(joined)), key=lambda i: min(abs(joined[i][0] - b), abs(a - joined[i][1])))
        ja, jb = joined[best]
        if min(abs(ja - b), abs(a - jb)) <= 4:
            joined[best] = (min(ja, a), max(jb, b))
    return sorted(joined)


def _dilate(mask: npt.NDArray[np.bool_], by: int) -> npt.NDArray[np.bool_]:
    out = mask.copy()
    for shift in range(1, by + 1):
        out[shift:] |= mask[:-shift]
        out[:-shift] |= mask[shift:]
    return out


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the True runs in a 1-D mask."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(edges[i]), int(edges[i + 1])) for i in range(0, len(edges), 2)]


def _merge(regions: list[Region]) -> list[Region]:
    """Drops duplicate regions (two changed bands growing into the same line of a column)."""
    seen: dict[tuple[int, int, int], Region] = {}
    for region in regions:
        key = (region.y0, region.y1, region.column)
        if key in seen:
            other = seen[key]
            other.x0, other.x1 = min(other.x0, region.x0), max(other.x1, region.x1)
        else:
            seen[key] = region
    return sorted(seen.values(), key=lambda r: (r.y0, r.x0))


@dataclass
class Costs:
    """OCR calls and seconds, for the analysis summary."""

    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
