# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the report tests: a workstation home of their own and a realistic case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from briefing_case import build_case

from desktop.core.case import Case

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys and the intel library go to a temporary workstation folder."""
    h = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(h))
    return h


@pytest.fixture
def rich_case(tmp_path: Path) -> Iterator[Case]:
    """A case with a message, a video with kept frames, a screenshot, hostile text and an ACH."""
    case = build_case(tmp_path / "work")
    try:
        yield case
    finally:
        case.close()


@pytest.fixture
def artifacts() -> Path:
    """Where rendered pages are kept for a human to look at (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
