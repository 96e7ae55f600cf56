# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m casetrail`` and the bundle's executable: the ``casetrail`` command.

In the PyInstaller bundle there is no Python interpreter to start children with: the analysis
sandbox and the frame renderer run ``sys.executable -m desktop.ingest.worker`` (and
``desktop.ingest.frames``), and ``sys.executable`` is this program. So a frozen ``casetrail -m
MODULE ARGS...`` runs that module of Casetrail as ``python -m`` would, and nothing else.
"""

import runpy
import sys

from desktop.cli import main

_CHILD_MODULES = ("desktop.ingest.worker", "desktop.ingest.frames", "desktop.ingest.player")

if __name__ == "__main__":
    if getattr(sys, "frozen", False) and sys.argv[1:2] == ["-m"] and sys.argv[2:3]:
        module = sys.argv[2]
        if module not in _CHILD_MODULES:
            sys.exit(f"casetrail: -m runs only Casetrail's own child processes, not {module}")
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        sys.exit(0)
    sys.exit(main())
