# SPDX-License-Identifier: GPL-3.0-or-later
"""Frame-exact video playback for the window: a long-lived decoder child, one frame per request.

:mod:`desktop.ingest.frames` starts one child per picture, which is right for a still but far too
slow to play a video or to step through it frame by frame (a Python start and a container open
per frame). Here one child per video shown stays up: it opens the vault's blob read-only, builds
an index of the video stream's frames from the packets alone (no decoding), and then answers
requests for frame *n* or for the frame shown at time *t* with that frame's pixels. The isolation
is the same as for a still: the child has an address-space limit, dies with the window, and the
window only ever receives raw RGB rows of a size it checks, never the evidence's own bytes.

Why PyAV in a child and not Qt Multimedia: PySide6-Essentials ships Qt Multimedia's type stubs
only (the module and its FFmpeg backend are in PySide6-Addons, a second large dependency with
network-capable plugins); ``QMediaPlayer`` decodes in the window's own process, so a hostile
stream could take the case window down with it; and it seeks to times, not to frames, so "one
frame back" would be a guess. The index here makes stepping exact: frame *n* is the *n*-th
presentation time of the stream, as the OCR analyser counted them.

Bounds: the index holds at most :data:`MAX_FRAMES` frames (the rest of a longer video is said
to be beyond it); a frame larger than :data:`MAX_FRAME_PIXELS` is refused before it is decoded
(a header may claim any size); a frame is scaled to at most :data:`MAX_SIDE` pixels on its long
side (the window scales it back to full-resolution coordinates); the child keeps the last frames
it decoded in a cache of at most :data:`CACHE_BYTES`, so stepping back after a seek does not
decode the whole group of pictures again. Only the first video stream is read: a file with a
thousand streams costs one demuxing pass over its packets.

Protocol (lines of JSON on standard input and output; a frame's pixels follow its line)::

    -> {"open": true, "frames": N, "fps": F, "duration_s": D, "width": W, "height": H, "note": ""}
    <- {"index": n}            or   {"time": t}
    -> {"index": n, "time_s": t, "width": w, "height": h, "size": w*h*3}  + size bytes of RGB24
    -> {"error": "why"}        (for a frame: the child stays up; on open: it exits)

This module must stay Qt-free (the import-linter contract of ``desktop.ingest``).
"""

from __future__ import annotations

import bisect
import json
import os
import select
import subprocess
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from desktop.ingest.frames import CHILD_MEMORY_MB, RenderError, upright_rgb

MAX_FRAMES = 2_000_000  # about 18 hours at 30 fps; the index costs 8 bytes a frame
MAX_FRAME_PIXELS = 64_000_000  # as frames.MAX_IMAGE_PIXELS: a claimed size beyond it is refused
MAX_SIDE = 1920  # longest side of a frame sent to the window
CACHE_BYTES = 96 << 20  # decoded frames kept in the child (about 16 at 1080p)
_DECODE_ON = 48  # frames ahead decoded through rather than seeking (playback that skips frames)
OPEN_TIMEOUT_S = 60.0  # indexing a long recording reads all its packets once
FRAME_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """What the child found when it opened the video.

    Attributes:
        frames: frames in the index (presentation order).
        fps: the stream's average frame rate (0 when it does not say).
        duration_s: the last frame's time.
        width, height: the stream's coded size (before rotation).
        note: why the index stops early, or empty.
    """

    frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    note: str = ""


@dataclass(frozen=True)
class Frame:
    """One decoded frame, upright, as RGB24 rows (``width * 3`` bytes each)."""

    index: int
    time_s: float
    width: int
    height: int
    rgb: bytes


# ---------------------------------------------------------------------------------- in the child


class _Decoder:
    """The child's side: the frame index, a decoder positioned somewhere, and a small cache."""

    def __init__(self, path: str) -> None:
        import av

        try:
            self.container = av.open(path, mode="r", metadata_errors="replace")
        except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
            raise RenderError(f"not a readable video ({exc})") from exc
        if not self.container.streams.video:
            raise RenderError("the file has no video stream")
        self.stream = self.container.streams.video[0]
        ctx = self.stream.codec_context
        self.width, self.height = int(ctx.width or 0), int(ctx.height or 0)
        if self.width * self.height > MAX_FRAME_PIXELS:
            raise RenderError(f"the video claims {self.width} x {self.height} pixel frames, beyond the "
                              f"{MAX_FRAME_PIXELS:,} pixel limit")
        base = self.stream.time_base
        if not base:
            raise RenderError("the video stream has no time base")
        self.base: Fraction = base
        self.start = int(self.stream.start_time or 0)
        self.note = ""
        self.pts = self._index()
        if not self.pts:
            raise RenderError("the video stream holds no frames")
        rate = self.stream.average_rate
        self.fps = float(rate) if rate else 0.0
        self.cache: OrderedDict[int, tuple[bytes, int, int]] = OrderedDict()
        self.cached_bytes = 0
        self.frames: Any = None  # the decoder's iterator, positioned after ``self.at``
        self.at = -2

    def _index(self) -> list[int]:
        """Every frame's presentation time (stream ticks), sorted: frame n is ``pts[n]``."""
        import av

        found: list[int] = []
        try:
            for packet in self.container.demux(self.stream):
                if packet.pts is None or packet.size == 0:
                    continue
                found.append(int(packet.pts))
                if len(found) >= MAX_FRAMES:
                    self.note = f"only the first {MAX_FRAMES:,} frames can be played"
                    break
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.note = f"the file is damaged after frame {len(found):,} ({exc})"
        return sorted(set(found))

    def info(self) -> dict[str, Any]:
        return {"open": True, "frames": len(self.pts), "fps": self.fps,
                "duration_s": self.time_of(len(self.pts) - 1), "width": self.width,
                "height": self.height, "note": self.note}

    def time_of(self, index: int) -> float:
        return max(0.0, float((self.pts[index] - self.start) * self.base))

    def index_at(self, time_s: float) -> int:
        """The frame a player paused at ``time_s`` shows: the last one at or before it."""
        ticks = self.start + round(max(0.0, time_s) / self.base)
        return max(0, bisect.bisect_right(self.pts, ticks) - 1)

    def frame(self, index: int) -> tuple[int, bytes, int, int]:
        index = min(max(0, index), len(self.pts) - 1)
        hit = self.cache.get(index)
        if hit is not None:
            self.cache.move_to_end(index)
            return (index, *hit)
        if self.frames is None or not self.at < index <= self.at + _DECODE_ON:
            self.container.seek(self.pts[index], stream=self.stream, backward=True, any_frame=False)
            self.frames = self.container.decode(self.stream)
            self.at = -2
        target = self.pts[index]
        while True:
            try:
                frame = next(self.frames)
            except StopIteration:
                self.frames = None
                raise RenderError(f"frame {index + 1} could not be decoded (the stream ends)") from None
            if frame.pts is None:
                continue
            position = bisect.bisect_left(self.pts, int(frame.pts))
            if position >= len(self.pts) or self.pts[position] != int(frame.pts):
                continue  # a frame the index does not know (after a damaged part)
            shown = self._keep(position, frame)
            self.at = position
            if int(frame.pts) >= target:
                return (position, *shown)

    def _keep(self, index: int, frame: Any) -> tuple[bytes, int, int]:
        if frame.width * frame.height > MAX_FRAME_PIXELS:
            raise RenderError(f"frame {index + 1} is {frame.width} x {frame.height} pixels, beyond the limit")
        longest = max(frame.width, frame.height)
        if longest > MAX_SIDE:
            scale = MAX_SIDE / longest
            frame = frame.reformat(width=max(2, round(frame.width * scale)),
                                   height=max(2, round(frame.height * scale)))
        rgb = upright_rgb(frame)
        shown = (rgb.tobytes(), int(rgb.shape[1]), int(rgb.shape[0]))
        old = self.cache.pop(index, None)
        if old is not None:
            self.cached_bytes -= len(old[0])
        self.cache[index] = shown
        self.cached_bytes += len(shown[0])
        while self.cached_bytes > CACHE_BYTES and len(self.cache) > 1:
            _, dropped = self.cache.popitem(last=False)
            self.cached_bytes -= len(dropped[0])
        return shown


def _reason(exc: BaseException) -> str:
    """One sentence for the pane: what could not be done, and the decoder's own words."""
    if isinstance(exc, MemoryError):
        return "the frame needs more memory than the player may use"
    if isinstance(exc, RenderError):
        return str(exc)
    return f"the frame could not be decoded ({exc})"


def _say(out: IO[bytes], head: dict[str, Any], body: bytes = b"") -> None:
    out.write(json.dumps(head).encode() + b"\n" + body)
    out.flush()


def main(argv: list[str]) -> int:
    """Entry point of the child: open the video named in ``argv``, then answer frame requests."""
    import av

    from desktop.ingest.frames import _limit_memory
    from desktop.ingest.lifeline import tie_to_parent

    tie_to_parent()
    _limit_memory(int(os.environ.get("CASETRAIL_FRAMES_MEMORY_MB", CHILD_MEMORY_MB)))
    out = sys.stdout.buffer
    if len(argv) != 1:
        _say(out, {"error": "usage: python -m desktop.ingest.player PATH"})
        return 2
    try:
        decoder = _Decoder(argv[0])
    except (RenderError, MemoryError) as exc:
        _say(out, {"error": _reason(exc)})
        return 2
    _say(out, decoder.info())
    for line in sys.stdin.buffer:
        try:
            ask = json.loads(line)
            index = decoder.index_at(float(ask["time"])) if "time" in ask else int(ask["index"])
            at, rgb, width, height = decoder.frame(index)
        except (RenderError, MemoryError, av.FFmpegError, ValueError, KeyError, TypeError) as exc:
            decoder.frames = None  # decode again from a keyframe next time
            _say(out, {"error": _reason(exc)})
            continue
        _say(out, {"index": at, "time_s": decoder.time_of(at), "width": width, "height": height,
                   "size": len(rgb)}, rgb)
    return 0


# ------------------------------------------------------------------------------ in the parent


class Player:
    """The window's side of one decoder child (blocking calls: use it from one worker thread).

    Raises (from the constructor and :meth:`frame`):
        RenderError: the video cannot be played, the child died, or it did not answer in time.
    """

    def __init__(self, blob_path: str | Path, open_timeout_s: float = OPEN_TIMEOUT_S) -> None:
        from desktop.ingest.lifeline import parent_environment

        env = dict(os.environ, CASETRAIL_SANDBOX="1", PYTHONSAFEPATH="1", **parent_environment())
        self._child = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "desktop.ingest.player", str(blob_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._buffer = b""
        head = self._head(open_timeout_s)
        if "error" in head or not head.get("open"):
            self.close()
            raise RenderError(str(head.get("error") or "the player did not open the video"))
        self.info = VideoInfo(int(head["frames"]), float(head["fps"]), float(head["duration_s"]),
                              int(head["width"]), int(head["height"]), str(head.get("note") or ""))

    def frame(self, index: int | None = None, *, time_s: float | None = None,
              timeout_s: float = FRAME_TIMEOUT_S) -> Frame:
        """Frame ``index`` (clamped to the video), or the frame shown at ``time_s``."""
        if self._child.poll() is not None or self._child.stdin is None:
            raise RenderError("the player stopped")
        ask = {"time": float(time_s)} if time_s is not None else {"index": int(index or 0)}
        try:
            self._child.stdin.write(json.dumps(ask).encode() + b"\n")
            self._child.stdin.flush()
        except OSError as exc:
            self.close()
            raise RenderError("the player stopped") from exc
        deadline = time.monotonic() + timeout_s
        head = self._head(timeout_s, deadline)
        if "error" in head:
            raise RenderError(str(head["error"]))
        width, height, size = int(head["width"]), int(head["height"]), int(head["size"])
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE and size == width * height * 3):
            self.close()
            raise RenderError("the player answered with a frame of an impossible size")
        rgb = self._read(size, deadline)
        return Frame(int(head["index"]), float(head["time_s"]), width, height, rgb)

    @property
    def alive(self) -> bool:
        """Whether the child still answers (it is stopped after a timeout or a broken answer)."""
        return self._child.poll() is None

    def close(self) -> None:
        """Stop the child (it also dies with the window)."""
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        for pipe in (self._child.stdin, self._child.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _head(self, timeout_s: float, deadline: float | None = None) -> dict[str, Any]:
        end = deadline if deadline is not None else time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            if len(self._buffer) > 1 << 16:
                self.close()
                raise RenderError("the player answered with something that is not a frame")
            self._fill(end, timeout_s)
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            head = json.loads(line)
        except ValueError as exc:
            self.close()
            raise RenderError("the player answered with something that is not a frame") from exc
        if not isinstance(head, dict):
            self.close()
            raise RenderError("the player answered with something that is not a frame")
        return head

    def _read(self, size: int, deadline: float) -> bytes:
        chunks = [self._buffer[:size]]
        have = len(chunks[0])
        self._buffer = self._buffer[size:]
        while have < size:
            chunk = self._fill(deadline, FRAME_TIMEOUT_S, size - have, keep=False)
            chunks.append(chunk)
            have += len(chunk)
        return b"".join(chunks)

    def _fill(self, deadline: float, timeout_s: float, want: int = 1 << 16, *, keep: bool = True) -> bytes:
        out = self._child.stdout
        assert out is not None  # noqa: S101 - Popen with stdout=PIPE
        left = deadline - time.monotonic()
        ready = select.select([out], [], [], max(0.0, left))[0] if left > 0 else []
        if not ready:
            self.close()
            raise RenderError(f"the player took longer than {timeout_s:.0f} s and was stopped")
        chunk = os.read(out.fileno(), min(want, 1 << 22))
        if not chunk:
            code = self._child.poll()
            self.close()
            raise RenderError("the player stopped" + (f" (status {code})" if code else ""))
        if keep:
            self._buffer += chunk
        return chunk


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
