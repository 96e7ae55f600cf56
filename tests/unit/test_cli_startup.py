# SPDX-License-Identifier: GPL-3.0-or-later
"""Every run of ``casetrail`` builds the whole parser: that must not load the analysers.

A script (or an acceptance check) calls ``casetrail items`` or ``verify`` hundreds of times; the
analysers, the OCR engine, correlation and campaign grouping are imported by the commands that
use them, so a run pays only for what it does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("desktop.ingest.pipeline", "desktop.ingest.registry", "desktop.core.acquire",
         "desktop.core.verify", "desktop.core.findings", "desktop.core.correlate",
         "desktop.core.campaigns", "desktop.core.recordings", "reportlab", "PySide6", "av", "cv2",
         "onnxruntime", "rapidocr")


def test_building_the_parser_loads_none_of_the_analysers() -> None:
    code = ("import json, sys; from desktop.cli import build_parser; build_parser(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    assert json.loads(done.stdout) == []


def test_the_commands_still_find_what_they_import_late(tmp_path: Path) -> None:
    case = tmp_path / "c.casetrail"
    code = ("import sys; from desktop.cli import main; "
            f"assert main(['new', {str(case)!r}, '--title', 't', '--examiner', 'e']) == 0; "
            f"sys.exit(max(main([c, {str(case)!r}, '--json']) "
            "for c in ('items', 'indicators', 'campaigns', 'recordings', 'verify')))")
    env = {**os.environ, "CASETRAIL_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          check=False, env=env)
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
