# SPDX-License-Identifier: GPL-3.0-or-later
"""The window survives a working day: the soak of ``tests/gui/soak.py`` in a child process.

The child drives the real main window over the demo case through at least 5,000 actions (Down
through every item again and again with each item view, every tab, the graph, ACH ratings typed
from the keyboard, verify, the briefing preview). Run as a child, an abort (``none_dealloc``, a
segfault in a view) fails this test with the signal and the child's last words, instead of
killing the test run.

What is checked besides survival:

- ``None``'s reference count never falls: the 6.12.0 leak took one reference per void Qt call,
  thousands per round. It may rise: the case grows (each rating is a custody entry) and
  shiboken6 6.11.3 keeps one reference to ``None`` per graphics item added to a scene, which is
  harmless (a count that only rises cannot reach zero).
- Qt printed no warnings.
- Every kind of gesture was really performed.

``make soak`` runs the same script for 100,000 actions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).with_name("soak.py")
ACTIONS = 5000
# A leak of one reference per void call moves the count by thousands per round; the interpreter's
# own caches and the rows of a read-only model by a few dozen.
TOLERANCE = 300
GESTURES = ("down", "up", "tab", "item tab", "message tab", "custody row", "indicator row", "filter",
            "graph node", "ach key", "timeline row", "search", "media item", "zoom", "ocr line",
            "verify", "briefing preview")


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run the soak once for the module's checks."""
    home = tmp_path_factory.mktemp("soak-home")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CASETRAIL_HOME": str(home),
           "CASETRAIL_EXAMINER": "Soak Examiner"}
    # Generous: on a loaded shared machine the same work takes several times as long.
    done = subprocess.run([sys.executable, str(SOAK), "--actions", str(ACTIONS)], capture_output=True,
                          text=True, env=env, timeout=900, check=False)
    tail = "\n".join(line for line in done.stderr.splitlines()
                     if "propagateSizeHints" not in line)[-3000:]
    if done.returncode < 0:
        pytest.fail(f"the window died of {signal.Signals(-done.returncode).name} during the soak:\n{tail}")
    assert done.returncode == 0, f"the soak failed (exit {done.returncode}):\n{tail}"
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_window_survives_thousands_of_actions(soak: dict[str, object]) -> None:
    assert isinstance(soak["actions"], int)
    assert soak["actions"] >= ACTIONS


def test_every_gesture_was_performed(soak: dict[str, object]) -> None:
    kinds = soak["kinds"]
    assert isinstance(kinds, dict)
    assert [g for g in GESTURES if not kinds.get(g)] == []
    assert kinds["down"] >= 300


def test_none_keeps_its_references(soak: dict[str, object]) -> None:
    refs = soak["none_refs"]
    assert isinstance(refs, list)
    assert len(refs) >= 3
    first = refs[0]
    lowest = min(refs[1:])
    assert lowest >= first - TOLERANCE, (
        f"sys.getrefcount(None) fell from {first} to {lowest} during the soak (rounds: {refs}): "
        "something drops references to None; on CPython 3.11 the window aborts when it reaches 0")


def test_qt_did_not_complain(soak: dict[str, object]) -> None:
    assert soak["qt_warnings"] == []
