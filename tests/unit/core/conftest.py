# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the core unit tests: a fresh writable case and small evidence files."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.case import Case


def png_bytes(w: int = 4, h: int = 3) -> bytes:
    """A valid, tiny PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def case(tmp_path: Path) -> Iterator[Case]:
    """A new, writable, empty case; closed after the test."""
    c = Case.create(tmp_path / "t.casetrail", title="Unit test case", examiner="A. Examiner")
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def png() -> bytes:
    """The bytes of a tiny, valid PNG."""
    return png_bytes()


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A folder of evidence outside the case."""
    d = tmp_path / "evidence"
    d.mkdir()
    return d
