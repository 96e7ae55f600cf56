# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures for the ingest tests: one loaded OCR engine per test module (loading costs ~1 s)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def engine() -> Any:
    from desktop.ingest.ocr import OcrEngine

    return OcrEngine()
