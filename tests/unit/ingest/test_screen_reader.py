# SPDX-License-Identifier: GPL-3.0-or-later
"""What the screen reader decides to read, on small synthetic frames (no OCR runs)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from desktop.ingest.screen_reader import THUMB_STEP, Reader, Region, _stretched_2x, _unstretched, changed_rows


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


def test_a_band_much_taller_than_the_lines_read_well_is_detected_into_lines() -> None:
    # two rows whose ink touches (a frame of a smooth scroll) form one band: read as one line
    # they give nonsense, so the band goes to detection
    reader = _reader()
    reader.max_line_px = 40  # what the first read of a screen with few lines allows
    reader.line_heights = [14] * 8
    before = np.full((120, 320), 20, dtype=np.uint8)
    after = before.copy()
    _line(after, 40, 54, 10, 200)
    _line(after, 54, 70, 10, 200)
    reader.ref = np.ascontiguousarray(before[:, ::THUMB_STEP])
    regions = reader.plan(np.ascontiguousarray(after[:, ::THUMB_STEP]))
    tall = [r for r in regions if r.y1 - r.y0 > 20]
    assert tall
    assert not any(r.single_line for r in tall)


def test_a_line_read_weakly_while_moving_is_read_again_once_still() -> None:
    reader = _reader()
    luma = np.full((120, 320), 20, dtype=np.uint8)
    _line(luma, 40, 52, 10, 200)
    cols = np.ascontiguousarray(luma[:, ::THUMB_STEP])
    for i, t in enumerate((0.0, 0.1, 0.2, 0.3)):
        reader.step(None, i, t, cols)
    reader.mark_read(reader.state)  # type: ignore[arg-type]
    assert reader.changed_at is not None
    reader.changed_at[40:52, :] = 1.0  # the line's pixels changed just before the read at 1.0
    reader.moving_read = True
    region = Region(40, 52, 8, 204, True)
    reader._mark_stale(region, 0.5, 1.0)  # a weak reading of a moving frame
    state = None
    for i, t in enumerate((1.1, 1.2, 1.3, 1.4, 1.5), start=10):
        state = state or reader.step(None, i, t, cols)  # nothing changes any more
    assert state is not None  # the still screen is read again for that line
    assert any(r.y0 <= 40 and r.y1 >= 52 for r in reader.plan(cols))
    assert not reader.moving_read
    reader._mark_stale(region, 0.5, 1.5)  # weak again, but read still: not read a third time
    assert reader.stale is not None
    assert not reader.stale.any()


def test_a_stretched_second_reading_maps_its_characters_back_onto_the_frame() -> None:
    """A glyph's span on the 2x band is twice as wide: halved and shifted, it lies where the glyph is."""
    band = np.zeros((12, 40, 3), dtype=np.uint8)
    band[:, 10:14] = 255  # one glyph at columns 10-13 of a line that starts at x=100 on the frame
    wide = _stretched_2x(band)
    assert wide.shape == (12, 80, 3)
    assert wide.dtype == np.uint8
    inked = np.flatnonzero(wide[6, :, 0] > 128)
    span = (int(inked[0]), int(inked[-1]) + 1)
    assert _unstretched((span,), 100) == ((110, 114),)
