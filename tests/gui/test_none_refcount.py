# SPDX-License-Identifier: GPL-3.0-or-later
"""The regression test behind the PySide6 pin in ``pyproject.toml`` (issue 10).

shiboken6 6.12.0 on CPython 3.11 drops one reference to ``None`` on every void-returning Qt call
(``QLabel.setText`` x 1000 -> ``sys.getrefcount(None)`` - 1000). ``None`` is not immortal before
CPython 3.12, so after a few minutes of ordinary use its count reaches zero and the interpreter
aborts with ``Fatal Python error: none_dealloc``. An upgrade that brings the leak back fails here,
in seconds, instead of in an analyst's hands after an hour.

The measurement runs in a child interpreter: a fresh process holds only about 5,000 references to
``None``, so 10,000 leaking calls would abort the test run itself instead of failing one test. The
child also holds a million extra references while it counts, so that on a leaking build it lives
long enough to report the number; if it dies anyway, the test names the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

CALLS = 10_000
# Interned constants, frames and caches may take or give back a handful of references; the leak
# is one per call, i.e. thousands.
TOLERANCE = 50

# Several shapes of void call, since the leak sat in the conversion of a void return (a call that
# returns a value, e.g. setProperty -> bool, does not leak): setters with a string, a bool or an
# int argument, a call without arguments, a call on a fresh object each time.
_PROBE = r"""
import json, os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget

app = QApplication([])
ballast = [None] * 1_000_000  # keeps None alive on a leaking build until the numbers are out
widget = QWidget()
label = QLabel(widget)
edit = QLineEdit(widget)
actions = {
    "QLabel.setText": lambda i: label.setText(str(i)),
    "QWidget.setEnabled": lambda i: widget.setEnabled(bool(i % 2)),
    "QLineEdit.clear": lambda i: edit.clear(),
    "QWidget.setToolTip": lambda i: widget.setToolTip(str(i)),
    "QTimer().setInterval": lambda i: QTimer().setInterval(1),
    "QLineEdit.setCursorPosition": lambda i: edit.setCursorPosition(i % 2),
    "control: list.append(None)": lambda i: kept.append(None),
}
kept = []
calls = int(sys.argv[1])
moved = {}
for name, action in actions.items():
    action(0)  # first-call caches (method lookup, type conversion) are not a leak
    before = sys.getrefcount(None)
    for i in range(calls):
        action(i)
    moved[name] = sys.getrefcount(None) - before
kept.clear()
print(json.dumps(moved))
sys.stdout.flush()
os._exit(0)  # no interpreter teardown: on a leaking build, freeing the ballast would abort it
"""


@pytest.fixture(scope="module")
def moved() -> dict[str, int]:
    """How far each action moved ``None``'s reference count over :data:`CALLS` calls."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", _PROBE, str(CALLS)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    if done.returncode < 0:
        pytest.fail(f"the probe interpreter died of {signal.Signals(-done.returncode).name}: "
                    f"{done.stderr.strip()[-600:]}")
    assert done.returncode == 0, done.stderr
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("action", ["QLabel.setText", "QWidget.setEnabled", "QLineEdit.clear",
                                    "QWidget.setToolTip", "QTimer().setInterval",
                                    "QLineEdit.setCursorPosition"])
def test_void_qt_calls_keep_none_alive(moved: dict[str, int], action: str) -> None:
    assert abs(moved[action]) <= TOLERANCE, (
        f"{CALLS:,} calls of {action} moved sys.getrefcount(None) by {moved[action]:+,}: this "
        "PySide6/shiboken6 leaks a reference to None per void call; the window would abort with "
        "'none_dealloc' (issue 10). Keep the pin in pyproject.toml.")


def test_the_probe_sees_a_change_of_one_per_call(moved: dict[str, int]) -> None:
    """The measurement itself: holding one reference per call is visible as +1 per call."""
    assert moved["control: list.append(None)"] >= CALLS - TOLERANCE
