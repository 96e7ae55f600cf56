# SPDX-License-Identifier: GPL-3.0-or-later
"""The OCR engine shared by the image and video analysers: one per child, loaded on first use."""

from __future__ import annotations

from typing import Any

_ENGINE: Any = None


def engine() -> Any:
    """Return the child's OCR engine, loading it the first time (the models take ~1 s)."""
    global _ENGINE  # one engine per child process
    if _ENGINE is None:
        from desktop.ingest.ocr import OcrEngine

        _ENGINE = OcrEngine()
    return _ENGINE
