# SPDX-License-Identifier: GPL-3.0-or-later
"""No dependency writes telemetry: a case with OCR and a briefing leaves an empty home folder empty.

onnxruntime (loaded for OCR) writes a device id and an event queue under ``~/.cache/`` unless
``ORT_DISABLE_TELEMETRY=1`` is set before it initialises (:mod:`desktop.offline`). The control
test shows the check can fail: onnxruntime loaded without Casetrail does write there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from desktop.core.case import Case
from reports.briefing import write_briefing

CT = [sys.executable, "-m", "desktop.cli"]


def _clean_env(home: Path, casetrail_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "ORT_")) and k not in ("DO_NOT_TRACK", "HOME")}
    env.update(HOME=str(home), CASETRAIL_HOME=str(casetrail_home))
    return env


def _written(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())


def _model() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models" / "PP-OCRv6_det_small.onnx"


def test_onnxruntime_alone_writes_a_device_id_under_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    code = ("import onnxruntime, sys; onnxruntime.InferenceSession(sys.argv[1], "
            "providers=['CPUExecutionProvider'])")
    subprocess.run([sys.executable, "-c", code, str(_model())], env=_clean_env(home, tmp_path / "ct"),
                   check=True, timeout=300, capture_output=True)
    if not _written(home):
        pytest.skip("this onnxruntime build writes no telemetry at all (nothing to switch off)")
    assert any("onnxruntime" in p for p in _written(home))


def test_an_import_with_ocr_and_a_briefing_writes_nothing_under_home(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home, tmp_path / "ct")
    picture = tmp_path / "screen.png"
    image = Image.new("RGB", (640, 120), "white")
    ImageDraw.Draw(image).text((20, 50), "ssh root@185.141.63.120", fill="black")
    image.save(picture)
    case = tmp_path / "c.casetrail"
    Case.create(case, title="t", examiner="e").close()
    # The import in a process of its own, started as a user starts it (its sandbox child runs OCR).
    p = subprocess.run([*CT, "import", str(case), str(picture)], env=env, capture_output=True, text=True,
                       timeout=600, check=False)
    assert p.returncode == 0, p.stderr
    assert "analysed" in p.stdout
    # The briefing here, under the same empty home.
    monkeypatch.setenv("HOME", str(home))
    with Case.open(case) as c:
        write_briefing(c, tmp_path / "b.pdf")
    assert _written(home) == []
