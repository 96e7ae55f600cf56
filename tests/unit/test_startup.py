# SPDX-License-Identifier: GPL-3.0-or-later
"""What a command loads before it does anything: no NumPy for commands that never need it."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_starts_without_numpy() -> None:
    """``sqlite_utils`` would import NumPy (a tenth of a second or more) only to know its types."""
    code = ("import sys; from desktop.cli import main; from desktop.core import store; "
            "assert 'numpy' not in sys.modules, 'the CLI imported NumPy at start'; "
            "assert store.Database is store.sqlite_utils.Database; "
            "import numpy; print(numpy.__name__)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "numpy"  # and NumPy still imports afterwards
