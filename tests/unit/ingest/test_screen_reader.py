# SPDX-License-Identifier: GPL-3.0-or-later
"""What the screen reader decides to read, on small synthetic frames (no OCR runs)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from desktop.ingest.screen_reader import THUMB_STEP, Reader, Region, changed_rows


def _reader(width: int = 320, height: int = 120) -> Reader:
    return Reader(cast(Any, None), width, height)  # planning and edge tests never call the engine


def _line(luma: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> None:
    """Glyph-like ink: vertical strokes two pixels wide every six pixels."""
    for x in range(x0, x1, 6):
        luma[y0:y1, x:x + 2] = 220


def test_one_column_stroke_is_a_change_and_lone_pixels_are_not() -> None:
    mask = np.zeros((30, 20), dtype=bool)
    mask[10:20, 7] = True  # a narrow glyph seen by one thumbnail column
    mask[3, 2] = mask[4, 2] = True  # two pixels of noise
    rows = changed_rows(mask)
    assert rows[10:20].all()
    assert not rows[:8].any()
    assert not rows[21:].any()


def test_a_narrow_glyph_typed_at_the_end_of_a_line_gets_the_line_read_again() -> None:
    # the ``p`` of ``/srv/data/drop`` changed one thumbnail column: the line must be read again
    reader = _reader()
    before = np.full((120, 320), 20, dtype=np.uint8)
    _line(before, 40, 52, 10, 120)
    after = before.copy()
    after[40:52, 124:126] = 220
    reader.ref = np.ascontiguousarray(before[:, ::THUMB_STEP])
    regions = reader.plan(np.ascontiguousarray(after[:, ::THUMB_STEP]))
    assert any(r.y0 <= 41 and r.y1 >= 51 and r.x1 >= 124 for r in regions)


def test_a_line_cut_by_the_right_edge_is_told_from_one_that_fits() -> None:
    reader = _reader()
    luma = np.full((120, 320), 20, dtype=np.uint8)
    _line(luma, 20, 32, 10, 320)  # ink into the last pixel column: clipped by the edge
    _line(luma, 60, 72, 10, 310)  # ends a few pixels short of it
    assert reader._at_edge(luma, Region(20, 32, 8, 320, True))
    assert not reader._at_edge(luma, Region(60, 72, 8, 320, True))
    assert not reader._at_edge(luma, Region(60, 72, 8, 200, True))  # far from the edge
