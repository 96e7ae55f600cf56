# SPDX-License-Identifier: GPL-3.0-or-later
"""Video metadata and on-screen text: what a screen recording showed, and when it first showed it.

Responsible for reading one video file (PyAV) into container/stream metadata and OCR lines with their
frame time and box, keeping a lossless PNG of each frame that introduced an indicator. It decodes
untrusted bytes, so it runs only inside the sandboxed analysis child; everything it can detect
(empty, truncated, not a video, absurd dimensions) becomes ``ValueError`` with one readable sentence.
It never imports Qt, never writes files and never touches the network.

Smart sampling, measured on 2 cores (``../shared/notes/ocr.md``): decoding every frame is cheap
(~0.6 ms a 720p frame) and full-frame OCR is not (~0.9 s), so every frame is decoded, a change test on a
4x-subsampled luma thumbnail against the last frame that was read decides whether to read at all, and
only the changed text lines are read: recognition alone for a single line (~0.04 s), detection on a
crop for taller regions, a full frame only for whole-screen changes. A terminal that scrolls is
recognised as a vertical shift so that only the new line is read.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from desktop.ingest.ocr import OcrLine

if TYPE_CHECKING:
    from desktop.ingest.ocr import OcrEngine

Luma = npt.NDArray[np.uint8]

# A pixel "changed" when its luma moved by more than this: compression noise on a static screen stays
# well below it, a glyph appearing on a dark or light background goes well above it.
CHANGE_LEVEL = 40
# Fraction of thumbnail pixels that must change to trigger a read. Measured: 0.2% read short lines
# ("root") 1.5 s late; 0.01% read every line at its first frame with no false triggers.
CHANGE_FRACTION = 0.0001
# Sub-threshold changes (a single dot, a slow fade) are read at the latest this long after they began.
MAX_INTERVAL_S = 2.0
# If OCR has cost more than this share of the video time so far, postpone reads (up to MAX_INTERVAL_S)
# so that a video whose every frame changes (a filmed screen, a busy GUI) still finishes in about half
# its running time instead of one full-frame read per frame. Cost is counted in the *nominal* seconds
# measured on 2 idle cores (NOMINAL_COST), not wall time, so that the same file always gives the same
# reads whatever else the machine is doing: forensic results must be reproducible.
OCR_BUDGET = 0.3
BUDGET_GRACE_S = 1.0
NOMINAL_COST = {"full": 0.9, "crop": 0.2, "line": 0.05}
# Over budget, reads are spaced so that even a full-frame read each time stays within OCR_BUDGET.
BUSY_INTERVAL_S = NOMINAL_COST["full"] / OCR_BUDGET
# A screen that keeps changing (typing, animation) is read at least this often.
SETTLE_MAX_S = 1.0
# Changes covering more than this share of the frame height are read as a whole frame (detection).
FULL_FRAME_SHARE = 0.5
THUMB_STEP = 4
MAX_PIXELS = 7680 * 4320  # 8K; a stream claiming more is malformed or hostile
_PNG_LEVEL = 1  # zlib level for kept frames: 6 is 2.5x slower and no smaller on screen captures
_IMAGE_DEMUXERS = ("image2", "_pipe", "gif", "apng", "webp", "bmp", "tiff")
_LUMA_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
                           "yuv410p", "yuv411p", "yuv440p", "yuvj440p", "nv12", "nv21", "gray"})


@dataclass(frozen=True)
class FrameRead:
    """The OCR lines read in one frame.

    Only the regions that changed since the previous read are read, so ``lines`` holds what was new
    or different on screen at that moment, not everything visible.

    Attributes:
        time_s: presentation time in seconds from the start of the video stream.
        frame_index: 0-based index of the decoded frame.
        lines: lines read, boxes in full-frame pixels (after applying any rotation metadata).
        method: ``full`` (whole frame), ``crop`` (detection on a region) or ``line`` (recognition
            only, one or more single-line bands).
        kept: whether this frame's image was kept (it introduced a line containing an indicator).
    """

    time_s: float
    frame_index: int
    lines: tuple[OcrLine, ...]
    method: str
    kept: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable form."""
        return {"time_s": round(self.time_s, 3), "frame_index": self.frame_index,
                "lines": [line.to_dict() for line in self.lines], "method": self.method,
                "kept": self.kept}


@dataclass(frozen=True)
class FirstSeen:
    """A distinct line of text and the first frame it was read in.

    Attributes:
        text: the line, whitespace collapsed.
        time_s: time of the first frame it was read in.
        frame_index: that frame's index.
        box: its box in that frame.
        confidence: the best recognition score over all its reads.
        reads: how many times it was read.
        has_indicators: whether ``desktop.core.indicators.extract(text, ocr=True)`` found anything.
    """

    text: str
    time_s: float
    frame_index: int
    box: tuple[int, int, int, int]
    confidence: float
    reads: int
    has_indicators: bool

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable form."""
        return {"text": self.text, "time_s": round(self.time_s, 3), "frame_index": self.frame_index,
                "box": list(self.box), "confidence": round(self.confidence, 4), "reads": self.reads,
                "has_indicators": self.has_indicators}


@dataclass
class VideoAnalysis:
    """Everything read from one video.

    Attributes:
        metadata: what ``probe`` returns.
        frames: every frame that was read, in order.
        first_seen: each distinct line with the first time it was read, in order of appearance.
        frames_decoded: how many frames were decoded.
        analysed_s: how far into the video the analysis got, in seconds.
        complete: False when ``max_seconds`` stopped it early or the stream broke off (see warnings).
        ocr_calls: how many OCR calls of each kind (``full``, ``crop``, ``line``) were made.
        ocr_s: seconds spent inside OCR calls.
        elapsed_s: wall-clock seconds for the whole analysis (the engine was already loaded).
        warnings: readable sentences about anything that limited the analysis.
        frame_png: lossless PNG of each kept frame, by frame index; not part of ``to_dict``.
    """

    metadata: dict[str, Any]
    frames: list[FrameRead] = field(default_factory=list)
    first_seen: list[FirstSeen] = field(default_factory=list)
    frames_decoded: int = 0
    analysed_s: float = 0.0
    complete: bool = True
    ocr_calls: dict[str, int] = field(default_factory=lambda: {"full": 0, "crop": 0, "line": 0})
    ocr_s: float = 0.0
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    frame_png: dict[int, bytes] = field(default_factory=dict, repr=False)

    def kept_frames(self) -> Iterator[tuple[int, float, bytes]]:
        """Yields ``(frame_index, time_s, png_bytes)`` for every kept frame, in time order."""
        for frame in self.frames:
            png = self.frame_png.get(frame.frame_index)
            if frame.kept and png is not None:
                yield frame.frame_index, frame.time_s, png

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable form: the ``probe`` keys at top level plus the analysis.

        PNG bytes are excluded: see ``kept_frames``.
        """
        return {
            **self.metadata,
            "frames": [f.to_dict() for f in self.frames],
            "first_seen": [s.to_dict() for s in self.first_seen],
            "frames_decoded": self.frames_decoded,
            "analysed_s": round(self.analysed_s, 3),
            "complete": self.complete,
            "ocr_calls": dict(self.ocr_calls),
            "ocr_s": round(self.ocr_s, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "warnings": list(self.warnings),
            "kept_frame_indexes": [f.frame_index for f in self.frames if f.kept],
        }


# ---------------------------------------------------------------------------------------- opening

def _open(path: Path) -> Any:
    """Opens a container, turning every detectable problem into one readable ValueError."""
    import av

    size = path.stat().st_size  # FileNotFoundError is the caller's bug, not a property of the evidence
    if size == 0:
        raise ValueError("The file is empty (0 bytes), so there is no video to read.")
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"This is not a readable video file: FFmpeg could not open it ({_reason(exc)}).") \
            from exc
    fmt = container.format.name or ""
    if any(name in fmt for name in _IMAGE_DEMUXERS) and fmt not in ("gif", "apng", "webp"):
        container.close()
        raise ValueError(f"This is a still image ({fmt}), not a video; analyse it as an image.")
    return container


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip().rstrip(".")
    return text or type(exc).__name__


def _fraction(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _seconds(value: Any, time_base: Any) -> float | None:
    if value is None or time_base is None:
        return None
    try:
        return float(value * time_base)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _tags(metadata: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in dict(metadata or {}).items()}
    except (TypeError, ValueError):
        return {}


def _rotate_tag(tags: dict[str, str]) -> int | None:
    try:
        return int(float(tags["rotate"])) if "rotate" in tags else None
    except ValueError:
        return None


def _describe(container: Any) -> dict[str, Any]:
    """Container and stream metadata, without decoding anything."""
    tags = _tags(container.metadata)
    duration = container.duration / 1_000_000 if container.duration else None
    streams: list[dict[str, Any]] = []
    for stream in container.streams:
        stags = _tags(stream.metadata)
        ctx = stream.codec_context
        entry: dict[str, Any] = {
            "index": stream.index,
            "type": stream.type,
            "codec": getattr(ctx, "name", None) if ctx is not None else None,
            "codec_long": getattr(getattr(ctx, "codec", None), "long_name", None),
            "profile": getattr(stream, "profile", None),
            "bit_rate": getattr(ctx, "bit_rate", None) or None,
            "duration_s": _seconds(stream.duration, stream.time_base),
            "start_s": _seconds(stream.start_time, stream.time_base),
            "frames": stream.frames or None,
            "language": stags.get("language"),
            "tags": stags,
        }
        if stream.type == "video":
            fmt = getattr(ctx, "format", None)
            entry.update({
                "width": getattr(ctx, "width", None),
                "height": getattr(ctx, "height", None),
                "fps": _fraction(stream.average_rate) or _fraction(stream.guessed_rate)
                       or _fraction(stream.base_rate),
                "pixel_format": getattr(fmt, "name", None),
                "rotation": _rotate_tag(stags),  # refined from the display matrix by probe()
            })
        elif stream.type == "audio":
            entry.update({"sample_rate": getattr(ctx, "sample_rate", None),
                          "channels": getattr(ctx, "channels", None),
                          "layout": getattr(getattr(ctx, "layout", None), "name", None)})
        streams.append(entry)
    video = next((s for s in streams if s["type"] == "video"), None)
    return {
        "container": container.format.name,
        "container_long": container.format.long_name,
        "duration_s": duration,
        "bit_rate": container.bit_rate or None,
        "creation_time": tags.get("creation_time") or next(
            (s["tags"]["creation_time"] for s in streams if "creation_time" in s["tags"]), None),
        "encoder": tags.get("encoder") or next(
            (s["tags"]["encoder"] for s in streams if "encoder" in s["tags"]), None),
        "tags": tags,
        "streams": streams,
        "has_video": video is not None,
        "width": video["width"] if video else None,
        "height": video["height"] if video else None,
        "fps": video["fps"] if video else None,
        "rotation": video["rotation"] if video else None,
    }


def probe(path: str | Path) -> dict[str, Any]:
    """Reads container and stream metadata, plus the rotation found on the first decoded frame.

    Args:
        path: the video file.

    Returns:
        ``container``, ``container_long``, ``duration_s``, ``bit_rate``, ``creation_time``, ``encoder``,
        ``tags`` (all container tags), ``streams`` (each: ``index``, ``type``, ``codec``, ``codec_long``,
        ``profile``, ``bit_rate``, ``duration_s``, ``start_s``, ``frames``, ``language``, ``tags``; video
        adds ``width``, ``height``, ``fps``, ``pixel_format``, ``rotation``; audio adds
        ``sample_rate``, ``channels``, ``layout``), and ``has_video``, ``width``, ``height``, ``fps``,
        ``rotation`` of the first video stream.

    Raises:
        ValueError: the file is empty, not a video container, or cannot be parsed.
        FileNotFoundError: there is no file at ``path`` (a caller's mistake, not a property of evidence).
    """
    import av

    with _open(Path(path)) as container:
        info = _describe(container)
        if info["has_video"]:
            stream = container.streams.video[0]
            try:
                for frame in container.decode(stream):
                    info["rotation"] = _rotation(frame, info["rotation"])
                    info["streams"][stream.index]["rotation"] = info["rotation"]
                    break
            except (av.FFmpegError, OSError, ValueError) as exc:
                info["decode_error"] = f"The first frame could not be decoded ({_reason(exc)})."
        return info


def _rotation(frame: Any, fallback: int | None) -> int | None:
    """Degrees from the frame's display matrix (FFmpeg exports the stream's matrix on every frame)."""
    try:
        value = frame.rotation
    except (AttributeError, ValueError):
        return fallback
    if value is None or (not value and fallback):
        return fallback
    return round(float(value)) % 360


# ----------------------------------------------------------------------------------------- frames

def _luma(frame: Any) -> Luma:
    """The luma plane as a (H, W) uint8 array, without a colour conversion when the frame has one."""
    fmt = frame.format.name
    if fmt in _LUMA_FORMATS:
        plane = frame.planes[0]
        raw = np.frombuffer(plane, dtype=np.uint8)
        stride = plane.line_size
        rows = raw.size // stride
        return raw.reshape(rows, stride)[: frame.height, : frame.width]
    return np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)


def _orient(array: npt.NDArray[np.uint8], rotation: int | None) -> npt.NDArray[np.uint8]:
    """Applies display-matrix rotation so text is upright (FFmpeg: counter-clockwise degrees)."""
    if not rotation:
        return array
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(array, k=turns)) if turns else array


@dataclass
class _Region:
    """A horizontal slab of the frame to read: rows ``y0:y1`` and columns ``x0:x1``."""

    y0: int
    y1: int
    x0: int
    x1: int
    single_line: bool


@dataclass
class _State:
    """The first frame of the current on-screen state (the frame a read will use and cite)."""

    frame: Any
    index: int
    t: float
    cols: Luma


def _count_changed(a: Luma, b: Luma) -> int:
    """Thumbnail pixels (every THUMB_STEP-th row of the column-subsampled luma) that moved."""
    return int(np.count_nonzero(
        np.abs(a[::THUMB_STEP].astype(np.int16) - b[::THUMB_STEP]) > CHANGE_LEVEL))


class _Reader:
    """Decides what to read in which frame, and reads it.

    A read uses the *first* frame of a settled state: when a frame differs from the last read, the
    reader waits until the screen stops changing (the next frame equals it) and then reads that first
    frame, so the time reported is the frame where the text appeared and a line being typed is read
    once it is complete instead of once per key press. A screen that never settles (typing faster
    than the frame rate, animation) is read at most SETTLE_MAX_S after it started changing.
    """

    def __init__(self, engine: OcrEngine, width: int, height: int) -> None:
        self.engine = engine
        self.width, self.height = width, height
        self.ref: Luma | None = None  # column-subsampled luma (H, W/4) of the last frame read
        self.threshold = max(1, math.ceil(CHANGE_FRACTION * math.ceil(height / THUMB_STEP)
                                          * math.ceil(width / THUMB_STEP)))
        self.prev: Luma | None = None
        self.state: _State | None = None  # where the current (unread) state began
        self.dirty_since: float | None = None  # first frame differing enough from the last read
        self.pending_since: float | None = None  # first frame differing at all from the last read
        self.last_read_t = -math.inf
        self.ocr_s = 0.0
        self.cost = 0.0  # nominal seconds, see NOMINAL_COST
        self.calls = {"full": 0, "crop": 0, "line": 0}
        # Tallest ink run still treated as one line. Learned from full-frame detection boxes; until
        # then ~4.5% of the height (32 px at 720p: two touching 16 px lines are taller).
        self.max_line_px = max(24, int(0.045 * height))

    def step(self, frame: Any, index: int, t: float, cols: Luma) -> _State | None:
        """Feeds one decoded frame; returns the state to read now, if any."""
        # "Still" is judged on every row, not the thumbnail: one narrow glyph typed ("." or "/")
        # can miss the thumbnail's samples, and reading mid-word wastes a read.
        moving = self.prev is None or int(np.count_nonzero(
            np.abs(cols.astype(np.int16) - self.prev) > CHANGE_LEVEL)) >= 2
        self.prev = cols
        if moving or self.state is None:
            self.state = _State(frame, index, t, cols)
        if self.ref is None:
            return self.state if not moving or index > 0 else None
        changed = _count_changed(cols, self.ref)
        if changed == 0:
            self.dirty_since = self.pending_since = None
            return None
        if self.pending_since is None:
            self.pending_since = t
        # the first (full-frame) read is a one-off cost, not a sign of a busy video
        over_budget = self.cost - NOMINAL_COST["full"] > OCR_BUDGET * t + BUDGET_GRACE_S
        settled = self.state if not moving else _State(frame, index, t, cols)
        if changed >= self.threshold:
            if self.dirty_since is None:
                self.dirty_since = self.state.t
            if not over_budget and (not moving or t - self.dirty_since >= SETTLE_MAX_S):
                return settled
        # sub-threshold changes, or changes postponed by the budget
        gap = BUSY_INTERVAL_S if over_budget else 0.0
        if t - self.pending_since >= MAX_INTERVAL_S and t - self.last_read_t >= gap:
            return settled
        return None

    def unread(self) -> _State | None:
        """At the end of the stream: the last state if it was never read."""
        if self.state is None:
            return None
        if self.ref is None or _count_changed(self.state.cols, self.ref) > 0:
            return self.state
        return None

    # Planning ---------------------------------------------------------------------------------
    def plan(self, cols: Luma) -> list[_Region] | None:
        """Regions to read, or None for a whole-frame read."""
        if self.ref is None:
            return None
        h = cols.shape[0]
        # a row counts as changed with 2+ moved pixels: lone pixels are re-quantisation (a new
        # keyframe), and a real glyph row moves several
        counts = np.count_nonzero(np.abs(cols.astype(np.int16) - self.ref) > CHANGE_LEVEL, axis=1)
        rows = counts >= 2
        if np.count_nonzero(rows) > FULL_FRAME_SHARE * h:
            shifted = self._scroll_rows(cols, int(np.count_nonzero(rows)))
            if shifted is None:
                return None
            rows = shifted
        bg = int(np.median(cols[:: THUMB_STEP]))
        ink: npt.NDArray[np.bool_] = np.abs(cols.astype(np.int16) - bg) > CHANGE_LEVEL // 2
        ink_rows: npt.NDArray[np.bool_] = np.asarray(ink.any(axis=1))
        regions: list[_Region] = []
        for y0, y1 in _runs(_dilate(rows, 2)):
            # grow to the full height of the text line(s) the change touched
            lo, hi = y0, y1
            limit = self.max_line_px * 2
            while lo > 0 and ink_rows[lo - 1] and y0 - lo < limit:
                lo -= 1
            while hi < h and ink_rows[hi] and hi - y1 < limit:
                hi += 1
            for a, b in _lines(ink_rows, lo, hi):
                col_ink = np.flatnonzero(ink[a:b].any(axis=0))
                if col_ink.size:
                    regions.append(self._region(a, b, int(col_ink[0]), int(col_ink[-1])))
        merged = _merge(regions)
        if sum(r.y1 - r.y0 for r in merged) > FULL_FRAME_SHARE * self.height:
            return None
        return merged

    def _region(self, a: int, b: int, c0: int, c1: int) -> _Region:
        line_h = b - a
        x0 = max(0, c0 * THUMB_STEP - THUMB_STEP)
        x1 = min(self.width, (c1 + 2) * THUMB_STEP)
        return _Region(a, b, x0, x1, single_line=line_h <= self.max_line_px)

    def _scroll_rows(self, cols: Luma, changed_rows: int) -> npt.NDArray[np.bool_] | None:
        """If the frame is the reference shifted vertically, the rows that are new after the shift.

        Candidate shifts come from comparing per-row signatures (16 column-group means per row, about
        10 ms for every shift of a 720-row frame); each of the best three is then checked pixel by
        pixel, and the shift is accepted if it leaves well under half the changed rows unexplained.
        """
        assert self.ref is not None  # noqa: S101 - plan() checked
        h = cols.shape[0]
        groups = 16
        usable = cols.shape[1] - cols.shape[1] % groups
        sig_now = cols[:, :usable].reshape(h, groups, -1).mean(axis=2)
        sig_ref = self.ref[:, :usable].reshape(h, groups, -1).mean(axis=2)
        scores: list[tuple[float, int]] = []
        for dy in range(1, h // 2 + 1):
            # positive: content moved up by dy, row y now shows what row y+dy showed
            scores.append((float(np.abs(sig_now[: h - dy] - sig_ref[dy:]).mean()), dy))
            scores.append((float(np.abs(sig_now[dy:] - sig_ref[: h - dy]).mean()), -dy))
        scores.sort()
        ref16 = self.ref.astype(np.int16)
        now16 = cols.astype(np.int16)
        ink = np.count_nonzero(np.abs(now16 - int(np.median(cols[::THUMB_STEP]))) > CHANGE_LEVEL // 2,
                               axis=1)
        best: npt.NDArray[np.bool_] | None = None
        for _, dy in scores[:3]:
            rows = np.ones(h, dtype=bool)  # rows scrolled in from outside are new
            # Shifted text is re-encoded in new macroblocks, so glyph edges differ here and there; a
            # row of genuinely new text differs in a good share of its ink pixels.
            if dy > 0:
                moved = np.count_nonzero(np.abs(now16[: h - dy] - ref16[dy:]) > CHANGE_LEVEL, axis=1)
                rows[: h - dy] = (moved >= 3) & (moved >= 0.2 * ink[: h - dy])
            else:
                moved = np.count_nonzero(np.abs(now16[-dy:] - ref16[: h + dy]) > CHANGE_LEVEL, axis=1)
                rows[-dy:] = (moved >= 3) & (moved >= 0.2 * ink[-dy:])
            if best is None or np.count_nonzero(rows) < np.count_nonzero(best):
                best = rows
        if best is None:
            return None
        unexplained = int(np.count_nonzero(best))
        if unexplained > 0.5 * changed_rows or unexplained > FULL_FRAME_SHARE * h:
            return None
        return best

    # Reading ----------------------------------------------------------------------------------
    def read(self, rgb: npt.NDArray[np.uint8], regions: list[_Region] | None) -> tuple[list[OcrLine], str]:
        """Reads the planned regions (or the whole frame) and returns lines and the method used."""
        started = time.perf_counter()
        try:
            if regions is None:
                self.calls["full"] += 1
                lines = self.engine.read(rgb)
                heights = sorted(line.box[3] for line in lines)
                if len(heights) >= 3:
                    # detection boxes are padded (unclip ratio 1.6), so the median box height is
                    # already above one line's ink; two touching lines are about twice the ink
                    self.max_line_px = max(self.max_line_px, int(heights[len(heights) // 2] * 1.3))
                return lines, "full"
            lines = []
            method = "line"
            for region in regions:
                crop = rgb[region.y0:region.y1, region.x0:region.x1]
                if region.single_line:
                    self.calls["line"] += 1
                    line = self.engine.read_line(_margin(crop), offset=(region.x0, region.y0))
                    if line is not None:
                        x, y, _, _ = line.box
                        lines.append(OcrLine(line.text, line.confidence,
                                             (x, y, region.x1 - region.x0, region.y1 - region.y0)))
                else:
                    self.calls["crop"] += 1
                    method = "crop"
                    pad = 8
                    y0, y1 = max(0, region.y0 - pad), min(self.height, region.y1 + pad)
                    found = self.engine.read(rgb[y0:y1, region.x0:region.x1], offset=(region.x0, y0))
                    if len(found) == 1 or len({ln.box[1] // 4 for ln in found}) == 1:
                        # it was one (large) line after all: treat lines this tall as single from now on
                        self.max_line_px = max(self.max_line_px, int((region.y1 - region.y0) * 1.2))
                    lines.extend(found)
            return lines, method
        finally:
            self.ocr_s += time.perf_counter() - started
            self.cost = sum(NOMINAL_COST[kind] * n for kind, n in self.calls.items())

    def mark_read(self, state: _State) -> None:
        self.ref = state.cols
        self.dirty_since = self.pending_since = None
        self.last_read_t = state.t


def _margin(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Pads a tight line crop with its own edge pixels (the background) on every side.

    The recogniser wants a margin like the one the detector's box would give, but real pixels above
    and below would bring in the neighbouring lines; replicated edge rows are background.
    """
    h = crop.shape[0]
    v, hz = max(3, h // 3), max(4, h // 2)
    return np.pad(crop, ((v, v), (hz, hz), (0, 0)), mode="edge")


def _lines(ink_rows: npt.NDArray[np.bool_], lo: int, hi: int) -> list[tuple[int, int]]:
    """Text lines between rows ``lo`` and ``hi``: runs of ink rows.

    Specks set off by a small gap (an underscore below the baseline, the dot of an i) are joined to
    the line they belong to: read alone, "voters_FL" lost its underscore.
    """
    runs = [(lo + a, lo + b) for a, b in _runs(ink_rows[lo:hi])]
    if not runs:
        return []
    joined = [(a, b) for a, b in runs if b - a >= 6]
    if not joined:
        return []
    for a, b in runs:
        if b - a >= 6:
            continue
        # nearest tall run within 4 px
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


def _merge(regions: list[_Region]) -> list[_Region]:
    """Drops duplicate regions (two changed bands growing into the same line)."""
    seen: dict[tuple[int, int], _Region] = {}
    for region in regions:
        key = (region.y0, region.y1)
        if key in seen:
            other = seen[key]
            other.x0, other.x1 = min(other.x0, region.x0), max(other.x1, region.x1)
        else:
            seen[key] = region
    return sorted(seen.values(), key=lambda r: r.y0)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _png(rgb: npt.NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG", compress_level=_PNG_LEVEL)
    return buffer.getvalue()


class _Collector:
    """Accumulates reads into the analysis: de-duplicates lines, decides which frames to keep."""

    def __init__(self, analysis: VideoAnalysis) -> None:
        from desktop.core.indicators import extract

        self.extract = extract
        self.analysis = analysis
        self.seen: dict[str, int] = {}  # normalised text -> index in analysis.first_seen
        self.values: set[str] = set()  # indicator values already shown in a kept frame

    def add(self, state: _State, rgb: npt.NDArray[np.uint8], lines: list[OcrLine], method: str) -> None:
        analysis = self.analysis
        if not lines:
            return
        keep = False
        for line in lines:
            key = _normalise(line.text)
            if key in self.seen:
                old = analysis.first_seen[self.seen[key]]
                analysis.first_seen[self.seen[key]] = FirstSeen(
                    old.text, old.time_s, old.frame_index, old.box,
                    max(old.confidence, line.confidence), old.reads + 1, old.has_indicators)
                continue
            found = self.extract(line.text, ocr=True)
            # Keep a frame when it shows an indicator value no kept frame showed yet: one exhibit
            # per indicator, not one per re-read or per key press of a line being typed.
            fresh = {str(f.value).casefold() for f in found} - self.values
            self.values |= fresh
            keep = keep or bool(fresh)
            self.seen[key] = len(analysis.first_seen)
            analysis.first_seen.append(
                FirstSeen(key, state.t, state.index, line.box, line.confidence, 1, bool(found)))
        if keep:
            analysis.frame_png[state.index] = _png(rgb)
        analysis.frames.append(FrameRead(state.t, state.index, tuple(lines), method, keep))


# --------------------------------------------------------------------------------------- analysis

def analyse_video(path: str | Path, engine: OcrEngine, *, progress: Callable[[float], None] | None = None,
                  max_seconds: float | None = None) -> VideoAnalysis:
    """Reads a video's metadata and every line of text that appears on screen, with when it appeared.

    Args:
        path: the video file (a vault copy; it is only read).
        engine: a loaded OCR engine.
        progress: called with the fraction of the video analysed so far, 0..1, about every half
            second of video.
        max_seconds: analyse only this many seconds of video from the start (``complete`` is then
            False and a warning says so).

    Returns:
        The analysis. A file without a video stream (audio only) returns metadata and no frames.
        If the stream breaks off after some frames were read (a truncated recording), what was read
        is returned with ``complete`` False and the reason in ``warnings``.

    Raises:
        ValueError: the file is empty, not a video, cannot be parsed, claims absurd dimensions, or
            no frame at all could be decoded.
        FileNotFoundError: there is no file at ``path``.
    """
    import av

    started = time.perf_counter()
    path = Path(path)
    container = _open(path)
    with container:
        metadata = _describe(container)
        analysis = VideoAnalysis(metadata=metadata)
        if not metadata["has_video"]:
            analysis.warnings.append("The file has no video stream; only its metadata was read.")
            analysis.elapsed_s = time.perf_counter() - started
            return analysis
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = metadata["width"] or 0, metadata["height"] or 0
        if width * height > MAX_PIXELS:
            raise ValueError(f"The video claims {width}x{height} pixels, more than this tool will decode.")
        duration = metadata["duration_s"] or 0.0
        fps = metadata["fps"] or 25.0
        start = _seconds(stream.start_time, stream.time_base) or 0.0
        rotation = metadata["rotation"]
        collector = _Collector(analysis)
        reader: _Reader | None = None
        next_tick = 0.0

        def read(state: _State) -> None:
            assert reader is not None  # noqa: S101 - set before the first read
            regions = reader.plan(state.cols)
            rgb = _orient(np.asarray(state.frame.to_ndarray(format="rgb24"), dtype=np.uint8), rotation)
            lines, method = reader.read(rgb, regions)
            reader.mark_read(state)
            collector.add(state, rgb, lines, method)

        try:
            for index, frame in enumerate(container.decode(stream)):
                t = frame.time - start if frame.time is not None else index / fps
                if max_seconds is not None and t > max_seconds:
                    analysis.complete = False
                    analysis.warnings.append(f"Stopped after {max_seconds:g} s of video as asked.")
                    break
                if index == 0:
                    rotation = _rotation(frame, rotation)
                    metadata["rotation"] = rotation
                luma = _orient(_luma(frame), rotation)
                if luma.shape[0] * luma.shape[1] > MAX_PIXELS:
                    raise ValueError(f"A frame is {frame.width}x{frame.height} pixels, more than this "
                                     "tool will decode.")
                if reader is None or (reader.height, reader.width) != luma.shape:
                    if reader is not None and (pending := reader.unread()) is not None:
                        read(pending)
                    reader = _Reader(engine, luma.shape[1], luma.shape[0])  # size change: start afresh
                analysis.frames_decoded = index + 1
                analysis.analysed_s = max(analysis.analysed_s, t)
                if progress is not None and t >= next_tick:
                    progress(min(1.0, t / duration) if duration else 0.0)
                    next_tick = t + 0.5
                state = reader.step(frame, index, t, np.ascontiguousarray(luma[:, ::THUMB_STEP]))
                if state is not None:
                    read(state)
        except (av.FFmpegError, OSError, EOFError) as exc:
            if analysis.frames_decoded == 0:
                raise ValueError(f"No frame of this video could be decoded ({_reason(exc)}).") from exc
            analysis.complete = False
            analysis.warnings.append(
                f"Decoding stopped at {analysis.analysed_s:.2f} s ({_reason(exc)}); the file is probably "
                "truncated or damaged, and only what came before was read.")
        if analysis.frames_decoded == 0:
            raise ValueError("The video stream holds no decodable frame; the file is probably truncated.")
        if reader is not None:
            if (pending := reader.unread()) is not None:
                read(pending)
            analysis.ocr_calls = dict(reader.calls)
            analysis.ocr_s = reader.ocr_s
        if duration and analysis.complete and analysis.analysed_s < duration - max(1.0, 3 / fps):
            analysis.warnings.append(
                f"Frames ended at {analysis.analysed_s:.2f} s although the container says "
                f"{duration:.2f} s; the file may be truncated.")
        if progress is not None:
            progress(1.0)
    analysis.elapsed_s = time.perf_counter() - started
    return analysis


__all__ = ["FirstSeen", "FrameRead", "VideoAnalysis", "analyse_video", "probe"]
