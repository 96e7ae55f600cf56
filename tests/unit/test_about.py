# SPDX-License-Identifier: GPL-3.0-or-later
"""The version block: what this Casetrail is, built from which revision, running on what."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import __version__, about


def test_the_block_names_every_library_that_shapes_a_finding() -> None:
    info = about.build_info()
    rows = dict(info.rows())
    assert list(rows) == ["Casetrail", "Built from", "Python", "Qt", "SQLite", "libmagic", "FFmpeg",
                          "OCR engine", "OCR models", "Platform"]
    assert rows["Casetrail"] == __version__
    assert re.fullmatch(r"\d+\.\d\d", info.libmagic)
    assert re.match(r"\d+\.\d+", info.ffmpeg)
    assert re.match(r"\d+\.\d+\.\d+ \(PySide6\)", info.qt)
    assert info.sqlite.count(".") == 2
    assert "RapidOCR" in info.ocr_engine
    assert "ONNX Runtime" in info.ocr_engine
    assert len(info.ocr_models) >= 2
    assert all(re.search(r"\.onnx \(SHA-256 [0-9a-f]{16}", m) for m in info.ocr_models)
    text = info.text()
    assert text.splitlines()[0] == f"casetrail {__version__}"
    assert "libmagic:" in text
    assert "FFmpeg:" in text
    assert "unknown" not in text


def test_a_checkout_reports_its_commit() -> None:
    root = Path(about.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert about.revision().startswith(head)


def test_a_build_without_git_reads_the_recorded_revision(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(about, "_git_revision", lambda _root: None)
    monkeypatch.setattr(about, "REVISION_FILE", tmp_path / "build_revision.txt")
    assert about.revision() == "unknown"
    (tmp_path / "build_revision.txt").write_text("0123456789abcdef0123456789abcdef01234567\n")
    assert about.revision() == "0123456789abcdef0123456789abcdef01234567"


def test_python_m_casetrail_is_the_command() -> None:
    p = subprocess.run([sys.executable, "-m", "casetrail", "--version"], capture_output=True, text=True,
                       timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == f"casetrail {__version__}"
    assert "OCR models:" in p.stdout
