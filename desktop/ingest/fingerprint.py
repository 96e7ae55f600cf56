# SPDX-License-Identifier: GPL-3.0-or-later
"""Perceptual hashes of a video's frames: recognising the same recording re-encoded and re-posted.

The attacker's screen recording travels: re-encoded by a platform at another resolution and
bitrate, cropped, letterboxed. Byte hashes then differ while the pictures do not. Every half second
of video one analysed frame is hashed (imagehash: vertical and horizontal 256-bit difference hashes)
after trimming black or white bars, which is what makes a letterboxed or bordered copy hash like the
original; matching (``desktop.core.recordings``) then compares the sequences in time. Runs in the
analysis child with the video analyser; never touches the network or Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

STEP_S = 0.5
_BORDER_LEVEL = 6  # a border row or column varies by less than this


@dataclass
class Fingerprint:
    """The hashes of a video's frames, one every ``STEP_S`` seconds.

    Attributes:
        samples: ``(time_s, vertical dhash hex, horizontal dhash hex)`` in time order.
    """

    samples: list[tuple[float, str, str]] = field(default_factory=list)
    _next_t: float = 0.0

    def offer(self, t: float, luma: npt.NDArray[np.uint8]) -> None:
        """Hashes this frame if half a second has passed since the last hashed one."""
        if t + 1e-6 < self._next_t:
            return
        self._next_t = t + STEP_S
        vertical, horizontal = frame_hashes(luma)
        self.samples.append((round(t, 3), vertical, horizontal))

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with the video's metadata."""
        return {"step_s": STEP_S,
                "algorithm": "imagehash 4.3 dhash_vertical + dhash, 16x16, luma without black/white bars",
                "samples": [list(s) for s in self.samples]}


def _trim(luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The picture without letterbox or pillarbox bars: uniform black (or white) edge rows and columns.

    Only near-black and near-white bars are trimmed, which is what platforms add; a screen's own
    uniform background is kept, so that a copy and its original are trimmed alike.
    """
    rows_std, cols_std = luma.std(axis=1), luma.std(axis=0)
    rows_mean, cols_mean = luma.mean(axis=1), luma.mean(axis=0)
    bar_rows = (rows_std < _BORDER_LEVEL) & ((rows_mean < 20) | (rows_mean > 235))
    bar_cols = (cols_std < _BORDER_LEVEL) & ((cols_mean < 20) | (cols_mean > 235))
    top = int(np.argmin(bar_rows)) if not bar_rows.all() else 0
    bottom = len(bar_rows) - int(np.argmin(bar_rows[::-1])) if not bar_rows.all() else len(bar_rows)
    left = int(np.argmin(bar_cols)) if not bar_cols.all() else 0
    right = len(bar_cols) - int(np.argmin(bar_cols[::-1])) if not bar_cols.all() else len(bar_cols)
    if bottom - top < 8 or right - left < 8:
        return luma
    return luma[top:bottom, left:right]


def frame_hashes(luma: npt.NDArray[np.uint8]) -> tuple[str, str]:
    """``(vertical dhash, horizontal dhash)`` of one frame's luma, 256 bits each, as hex strings.

    Difference hashes, not DCT hashes: a screen is mostly flat background whose DCT hash bits are
    unstable; the gradients between cells follow the layout of the text, which a re-encode keeps.
    """
    import imagehash
    from PIL import Image

    step = max(1, min(luma.shape) // 90)  # the hashes look at 32x32 and 17x16 pixels
    image = Image.fromarray(np.ascontiguousarray(_trim(luma[::step, ::step])), mode="L")
    return str(imagehash.dhash_vertical(image, hash_size=16)), str(imagehash.dhash(image, hash_size=16))
