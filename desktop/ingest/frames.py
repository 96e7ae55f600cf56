# SPDX-License-Identifier: GPL-3.0-or-later
"""Pictures of evidence for the window: one video frame, or an image made safe, as PNG bytes.

The window must never decode evidence in its own process: a hostile video or image that crashes
a decoder (or asks it for gigabytes) would take the whole case window down with it. So the
decoding here runs in a short-lived child (``python -m desktop.ingest.frames``) with an
address-space limit and a timeout, and hands back a lossless PNG that Pillow itself wrote. The
window then only ever parses a PNG produced by our own code, never the evidence's own bytes.

Nothing here writes to the case or to the vault: the child is given a vault path and reads it.
This module must stay Qt-free (the import-linter contract of ``desktop.ingest``).

Command line (the child)::

    python -m desktop.ingest.frames BLOB_PATH TIME_S         # one video frame at TIME_S
    python -m desktop.ingest.frames BLOB_PATH --image [MAX]  # an image, upright, at most MAX px

The PNG goes to standard output; a readable reason goes to standard error with exit status 2.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CHILD_MEMORY_MB = 1536  # a 4K frame decodes in well under 200 MB; this stops a bomb, not work
CHILD_TIMEOUT_S = 30.0
MAX_IMAGE_SIDE = 4096  # longest side of an image shown in the window; boxes are scaled to match
MAX_IMAGE_PIXELS = 64_000_000  # refuse decompression bombs before a single pixel is decoded


class RenderError(Exception):
    """The picture could not be produced; the message says why, in words for the analyst."""


# ---------------------------------------------------------------------------------- in the child


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # speed over size: it only crosses a pipe
    return buffer.getvalue()


def render_frame(blob_path: str | Path, time_s: float) -> bytes:
    """Decode the video frame shown at ``time_s`` and return it as PNG bytes, turned upright.

    The frame is the last one whose presentation time is at or before ``time_s`` (what a player
    paused there would show), so a box recorded at an OCR read time lands on the same picture.

    Args:
        blob_path: the vault copy of the video.
        time_s: seconds from the start of the video stream.

    Raises:
        RenderError: the file is not a readable video, or has no frame at that time.
    """
    import av
    from PIL import Image

    try:
        container = av.open(str(blob_path), mode="r", metadata_errors="replace")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise RenderError(f"not a readable video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise RenderError("the file has no video stream")
        stream = container.streams.video[0]
        base = stream.time_base
        start = float(stream.start_time * base) if stream.start_time is not None and base else 0.0
        target = max(0.0, float(time_s))
        if base:
            # Seek lands on the keyframe at or before the target; decode forward from there.
            container.seek(int((start + target) / base), stream=stream, backward=True, any_frame=False)
        chosen: Any = None
        try:
            for frame in container.decode(stream):
                t = float(frame.pts * base) - start if frame.pts is not None and base else 0.0
                if chosen is not None and t > target + 1e-6:
                    break
                chosen = frame
                if t >= target - 1e-6:
                    break
        except (av.FFmpegError, OSError, ValueError) as exc:
            if chosen is None:
                raise RenderError(f"the frame could not be decoded ({exc})") from exc
        if chosen is None:
            raise RenderError(f"no frame at {target:.3f} s")
        return _png(Image.fromarray(upright_rgb(chosen), mode="RGB"))


def upright_rgb(frame: Any) -> Any:
    """A decoded PyAV video frame as an RGB24 array, turned upright by its display matrix."""
    import numpy as np

    rgb = frame.to_ndarray(format="rgb24")
    try:
        rotation = int(frame.rotation or 0)
    except (AttributeError, ValueError):
        rotation = 0
    turns = round(rotation / 90) % 4  # FFmpeg's display matrix: counter-clockwise degrees
    if turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
    return rgb


def render_image(blob_path: str | Path, max_side: int = MAX_IMAGE_SIDE) -> bytes:
    """Decode an image with Pillow, turn it upright (EXIF) and return a PNG of at most ``max_side``.

    Only the first frame of an animated or multi-page image is rendered, as the analyser reads it.

    Raises:
        RenderError: not an image Pillow can read, or larger than the pixel limit.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(blob_path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise RenderError(f"the image is {image.width}x{image.height} pixels, beyond the "
                                  f"{MAX_IMAGE_PIXELS:,} pixel limit")
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
            rgb.thumbnail((max_side, max_side))
            return _png(rgb)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise RenderError(f"not a readable image ({exc})") from exc


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource  # POSIX only; on Windows the timeout is the only limit
    except ImportError:
        return
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    """Entry point of the child: render what ``argv`` asks for, PNG bytes to standard output."""
    from desktop.ingest.lifeline import tie_to_parent

    tie_to_parent()  # the window may be killed while a hostile video is decoded
    _limit_memory(int(os.environ.get("CASETRAIL_FRAMES_MEMORY_MB", CHILD_MEMORY_MB)))
    try:
        if len(argv) >= 2 and argv[1] == "--image":
            png = render_image(argv[0], int(argv[2]) if len(argv) > 2 else MAX_IMAGE_SIDE)
        elif len(argv) == 2:
            png = render_frame(argv[0], float(argv[1]))
        else:
            sys.stderr.write("usage: python -m desktop.ingest.frames PATH (TIME_S | --image [MAX])\n")
            return 2
    except (RenderError, ValueError, MemoryError) as exc:
        sys.stderr.write(f"{'ran out of memory' if isinstance(exc, MemoryError) else exc}\n")
        return 2
    sys.stdout.buffer.write(png)
    sys.stdout.buffer.flush()
    return 0


# ------------------------------------------------------------------------------ in the parent


def _run_child(args: list[str], timeout_s: float) -> bytes:
    from desktop.ingest.lifeline import parent_environment

    env = dict(os.environ, CASETRAIL_SANDBOX="1", PYTHONSAFEPATH="1",  # see sandbox.py
               **parent_environment())
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "desktop.ingest.frames", *args],
            capture_output=True, timeout=timeout_s, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"the renderer took longer than {timeout_s:.0f} s and was stopped") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(reason[-1] if reason else f"the renderer exited with status {done.returncode}")
    if not done.stdout.startswith(b"\x89PNG\r\n\x1a\n"):
        raise RenderError("the renderer did not answer with a PNG")
    return done.stdout


def frame_png(blob_path: str | Path, time_s: float, timeout_s: float = CHILD_TIMEOUT_S) -> bytes:
    """Render one video frame in a child process; see :func:`render_frame`.

    Raises:
        RenderError: the child failed, timed out or answered with something that is not a PNG.
    """
    return _run_child([str(blob_path), f"{float(time_s):.6f}"], timeout_s)


def image_png(blob_path: str | Path, max_side: int = MAX_IMAGE_SIDE,
              timeout_s: float = CHILD_TIMEOUT_S) -> bytes:
    """Render an image in a child process; see :func:`render_image`.

    Raises:
        RenderError: the child failed, timed out or answered with something that is not a PNG.
    """
    return _run_child([str(blob_path), "--image", str(int(max_side))], timeout_s)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
