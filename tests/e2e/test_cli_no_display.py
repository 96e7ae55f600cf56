# SPDX-License-Identifier: GPL-3.0-or-later
"""``casetrail gui`` without a display says so in one sentence (issue 10).

Before, Qt's xcb plug-in aborted the process (SIGABRT, exit 134) after a hint about libxcb
that sent the analyst looking for missing libraries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.ui.display_check import display_problem


def _casetrail() -> str:
    found = shutil.which("casetrail", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("no casetrail console script next to this Python; run pip install -e . first")
    return found


def _without_display(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return dict(env, CASETRAIL_HOME=str(tmp_path / "home"), XDG_RUNTIME_DIR=str(tmp_path), **extra)


@pytest.mark.parametrize("extra", [{}, {"DISPLAY": ":4711"}, {"WAYLAND_DISPLAY": "wayland-4711"},
                                   {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":4711"}],
                         ids=["unset", "no-x-server", "no-compositor", "xcb-asked"])
def test_gui_without_a_display_says_so_in_one_sentence(tmp_path: Path, extra: dict[str, str]) -> None:
    done = subprocess.run([_casetrail(), "gui"], capture_output=True, text=True, timeout=120,
                          env=_without_display(tmp_path, **extra), check=False)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("casetrail: no display is available to show the window (")
    assert "xcb" not in lines[0].lower()  # no plug-in hint: the analyst has no library to install


def test_what_needs_no_display_server_is_left_to_qt(tmp_path: Path) -> None:
    env = _without_display(tmp_path)
    assert display_problem(env) is not None
    assert display_problem(dict(env, QT_QPA_PLATFORM="offscreen")) is None
    assert display_problem(dict(env, QT_QPA_PLATFORM="vnc:size=800x600")) is None
    assert display_problem(dict(env, DISPLAY="workstation.example:0")) is None  # never probed
