# SPDX-License-Identifier: GPL-3.0-or-later
"""Video metadata and on-screen text: what a screen recording showed, and when it first showed it.

Responsible for reading one video file (PyAV) into container/stream metadata and OCR lines with their
frame time and box, keeping a lossless PNG of each frame that introduced an indicator. It decodes
untrusted bytes, so it runs only inside the sandboxed analysis child; everything it can detect
(empty, truncated, not a video, absurd dimensions) becomes ``ValueError`` with one readable sentence.
It never imports Qt, never writes files and never touches the network.

What is read and when (``screen_reader``) and what the reads mean (``screen_text``: settled
values, consensus across frames, certain or uncertain) live in modules of their own; this one opens
the file, decodes it (at most ``ANALYSED_FPS`` frames a second are analysed), and hands each
analysed frame to them.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from desktop.ingest.fingerprint import Fingerprint
from desktop.ingest.ocr import OcrLine
from desktop.ingest.screen_reader import THUMB_STEP, Read, Reader
from desktop.ingest.screen_reader import State as _State

if TYPE_CHECKING:
    from desktop.ingest.ocr import OcrEngine
    from desktop.ingest.screen_text import Occurrence

Luma = npt.NDArray[np.uint8]

# What to read and when is decided in desktop.ingest.screen_reader (its docstring has the measured
# reasons); which values settled and how certain they are, in desktop.ingest.screen_text.
ANALYSED_FPS = 10
MAX_PIXELS = 7680 * 4320  # 8K; a stream claiming more is malformed or hostile
_PNG_LEVEL = 1  # zlib level for kept frames: 6 is 2.5x slower and no smaller on screen captures
_DEFER_BYTES = 600 << 20  # candidate exhibit frames held unencoded, at most
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
        occurrences: the indicators of the settled screen text, with status and first-seen time.
        fingerprint: perceptual hashes of the frames (``desktop.ingest.fingerprint``).
        enhanced: the enhanced images whose reading an occurrence rests on.
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
    occurrences: list[Occurrence] = field(default_factory=list)
    enhanced: list[EnhancedImage] = field(default_factory=list)
    fingerprint: dict[str, Any] = field(default_factory=dict)
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
            "enhanced": [e.detail() for e in self.enhanced],
            "fingerprint": self.fingerprint,
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


def _png(rgb: npt.NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG", compress_level=_PNG_LEVEL)
    return buffer.getvalue()


def _normalise(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class EnhancedImage:
    """An enhanced variant of a line band that was read: kept as a derived item with its recipe.

    Attributes:
        time_s: time of the frame the band comes from (the first of the frames, for an average).
        frame_index: that frame's index.
        box: the band in the frame, ``(x, y, w, h)``.
        recipe: what was done to the pixels, in words an opposing expert can repeat.
        text: what was read in the variant.
        confidence: the recogniser's score of that reading.
        png: the variant's pixels (greyscale PNG).
    """

    time_s: float
    frame_index: int
    box: tuple[int, int, int, int]
    recipe: str
    text: str
    confidence: float
    png: bytes = field(repr=False)

    def detail(self) -> dict[str, Any]:
        """What the custody entry of the derived item records: the recipe and where it comes from."""
        return {"time_s": round(self.time_s, 3), "frame_index": self.frame_index, "box": list(self.box),
                "recipe": self.recipe, "read_as": self.text, "confidence": round(self.confidence, 4),
                "enhanced": True}


class _Collector:
    """Turns reads into the analysis: lines for search and the window, tracks for the indicators."""

    def __init__(self, analysis: VideoAnalysis) -> None:
        from desktop.core.indicators import extract
        from desktop.ingest.screen_text import ScreenText

        self.extract = extract
        self.analysis = analysis
        self.screen = ScreenText()
        self.seen: dict[str, int] = {}  # normalised text -> index in analysis.first_seen
        self.shown: set[tuple[int, int, str]] = set()  # (track, value number, indicator) in a candidate
        self.frames: dict[int, npt.NDArray[np.uint8]] = {}  # candidate exhibits, encoded at the end
        self.enhanced: dict[tuple[int, tuple[int, int, int, int], str], EnhancedImage] = {}

    def add(self, state: _State, rgb: npt.NDArray[np.uint8], reads: list[Read], method: str,
            reader: Reader) -> None:
        from desktop.ingest.screen_text import Reading

        analysis = self.analysis
        self.screen.bounds = {c: reader.column_bounds(c) for c in range(len(reader.dividers) + 1)}
        if reader.whole:
            self.screen.begin_whole()
        for column, dy in reader.shifts.items():
            self.screen.scroll(dy, state.t, [column])
        keep = False
        lines: list[OcrLine] = []
        for read in reads:
            t, index = read.at or (state.t, state.index)
            r = read.reading
            track = self.screen.add(Reading(t, index, r.box, r.text, r.confidence, r.char_conf,
                                            read.char_times, read.column, read.enhanced, read.edge,
                                            r.char_alt, read.variant))
            if read.variant:
                continue  # a second recognition of a line just read: evidence for the screen text only
            if read.enhanced:
                if self.extract(r.text, ocr=True):
                    self.enhanced[(index, r.box, read.enhanced)] = EnhancedImage(
                        t, index, r.box, read.enhanced, r.text, r.confidence, read.band_png)
                continue
            lines.append(r.line())
            key = _normalise(r.text)
            if key in self.seen:
                old = analysis.first_seen[self.seen[key]]
                analysis.first_seen[self.seen[key]] = FirstSeen(
                    old.text, old.time_s, old.frame_index, old.box,
                    max(old.confidence, r.confidence), old.reads + 1, old.has_indicators)
            else:
                self.seen[key] = len(analysis.first_seen)
                found = self.extract(r.text, ocr=True)
                analysis.first_seen.append(FirstSeen(key, state.t, state.index, r.box, r.confidence, 1,
                                                     bool(found)))
            # a frame is a candidate exhibit when it shows a value of a line that no candidate shows
            fresh = {(track.id, len(track.values), f.value.casefold())
                     for f in self.extract(r.text, ocr=True)} - self.shown
            self.shown |= fresh
            keep = keep or bool(fresh)
        if reader.whole:
            self.screen.end_whole(state.t)
        if keep:
            # Only cited frames are encoded, at the end (a PNG costs tens of ms); beyond a memory
            # bound the oldest candidates are encoded now instead of held.
            self.frames[state.index] = rgb
            while len(self.frames) * rgb.nbytes > _DEFER_BYTES:
                oldest = min(self.frames)
                analysis.frame_png[oldest] = _png(self.frames.pop(oldest))
        if lines:
            analysis.frames.append(FrameRead(state.t, state.index, tuple(lines), method, False))

    def add_enhanced(self, reads: list[Read]) -> None:
        """Adds readings of enhanced (averaged) bands, which cite the frame they were taken from."""
        from desktop.ingest.screen_text import Reading

        for read in reads:
            t, index = read.at or (0.0, 0)
            r = read.reading
            self.screen.add(Reading(t, index, r.box, r.text, r.confidence, r.char_conf, read.char_times,
                                    read.column, read.enhanced, None, r.char_alt))
            if self.extract(r.text, ocr=True):
                self.enhanced[(index, r.box, read.enhanced)] = EnhancedImage(
                    t, index, r.box, read.enhanced, r.text, r.confidence, read.band_png)

    def finish(self) -> None:
        """Settles the tracks into occurrences and keeps exactly the frames they cite."""
        analysis = self.analysis
        self.screen.end_t = analysis.analysed_s
        analysis.occurrences = self.screen.occurrences()
        cited = {o.frame_index for o in analysis.occurrences}
        for index, rgb in self.frames.items():
            if index in cited:
                analysis.frame_png[index] = _png(rgb)
        self.frames.clear()
        analysis.frame_png = {i: png for i, png in analysis.frame_png.items() if i in cited}
        kept = set(analysis.frame_png)
        # an occurrence whose frame could not be kept (its line was read in a frame that showed
        # nothing new) cites the nearest kept frame before it where its line was read
        analysis.frames = [FrameRead(f.time_s, f.frame_index, f.lines, f.method, f.frame_index in kept)
                           for f in analysis.frames]
        used = {(o.frame_index, o.box, o.enhanced) for o in analysis.occurrences if o.enhanced}
        analysis.enhanced = [img for key, img in self.enhanced.items() if key in used]


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
        reader: Reader | None = None
        next_tick = 0.0
        # Analysing more than ~10 frames a second adds nothing (first-seen times are good to 0.1 s)
        # and costs: at 30 fps the change tests alone were 0.1-0.24x the duration.
        every = max(1, round(fps / ANALYSED_FPS))
        if every > 1:
            with contextlib.suppress(AttributeError, ValueError):
                stream.codec_context.skip_frame = "NONREF"  # B-frames nothing refers to: not decoded

        def read(state: _State) -> None:
            assert reader is not None  # noqa: S101 - set before the first read
            regions = reader.plan(state.cols)
            rgb = _orient(np.asarray(state.frame.to_ndarray(format="rgb24"), dtype=np.uint8), rotation)
            luma_full = _orient(_luma(state.frame), rotation)
            reads, method = reader.read(rgb, luma_full, regions, state.t, state.index)
            reader.mark_read(state)
            collector.add(state, rgb, reads, method, reader)

        last_t = -math.inf
        fingerprint = Fingerprint()
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = frame.time - start if frame.time is not None else index / fps
                if max_seconds is not None and t > max_seconds:
                    analysis.complete = False
                    analysis.warnings.append(f"Stopped after {max_seconds:g} s of video as asked.")
                    break
                analysis.frames_decoded += 1
                analysis.analysed_s = max(analysis.analysed_s, t)
                if every > 1 and t - last_t < (every - 0.5) / fps:
                    continue
                last_t = t
                if analysis.frames_decoded == 1:
                    rotation = _rotation(frame, rotation)
                    metadata["rotation"] = rotation
                luma = _orient(_luma(frame), rotation)
                if luma.shape[0] * luma.shape[1] > MAX_PIXELS:
                    raise ValueError(f"A frame is {frame.width}x{frame.height} pixels, more than this "
                                     "tool will decode.")
                if reader is None or (reader.height, reader.width) != luma.shape:
                    if reader is not None and (pending := reader.unread()) is not None:
                        read(pending)
                    reader = Reader(engine, luma.shape[1], luma.shape[0])  # size change: start afresh
                if progress is not None and t >= next_tick:
                    progress(min(1.0, t / duration) if duration else 0.0)
                    next_tick = t + 0.5
                fingerprint.offer(t, luma)
                state = reader.step(frame, index, t, np.ascontiguousarray(luma[:, ::THUMB_STEP]))
                if state is not None:
                    read(state)
                if reader.watches:
                    collector.add_enhanced(reader.averaged(luma, t))
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
        collector.finish()
        analysis.fingerprint = fingerprint.to_dict()
        if duration and analysis.complete and analysis.analysed_s < duration - max(1.0, 3 / fps):
            analysis.warnings.append(
                f"Frames ended at {analysis.analysed_s:.2f} s although the container says "
                f"{duration:.2f} s; the file may be truncated.")
        if progress is not None:
            progress(1.0)
    analysis.elapsed_s = time.perf_counter() - started
    return analysis


__all__ = ["FirstSeen", "FrameRead", "VideoAnalysis", "analyse_video", "probe"]
