# SPDX-License-Identifier: GPL-3.0-or-later
"""A child process that dies with its parent: the kernel's parent-death signal, and a watchdog.

A sandbox child parsing a hostile file may run for minutes; if the process holding the case is
killed meanwhile (``kill -9``, a crash, the window closed by force), nothing would stop the child
(measured before this module: sandbox children outlived a killed main process with no time limit).
So a child calls :func:`tie_to_parent` first thing:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill it the moment its parent
  goes. (The kernel sends it when the *thread* that started the child ends: the sandbox starts
  its children from the pool threads of the analysis, which live as long as the analysis does.)
- everywhere, a watchdog thread checks every half second that the parent is still the one that
  started it (``CASETRAIL_PARENT_PID``; an orphan is re-parented) and ends the process at once
  if not — also covering the moment between ``fork`` and ``prctl``.

Only the child calls this; it never touches the case.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

PARENT_ENV = "CASETRAIL_PARENT_PID"
_PR_SET_PDEATHSIG = 1
_WATCH_S = 0.5


def parent_environment() -> dict[str, str]:
    """What a parent puts in a child's environment so that the child can watch it."""
    return {PARENT_ENV: str(os.getpid())}


def tie_to_parent() -> None:
    """Die with the parent: ask the kernel for SIGKILL on its death, and watch it from a thread."""
    try:
        expected = int(os.environ.get(PARENT_ENV, ""))
    except ValueError:
        expected = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog still stands
    if os.getppid() != expected:
        os._exit(70)  # the parent went before the signal was asked for

    def watch() -> None:
        while True:
            threading.Event().wait(_WATCH_S)
            if os.getppid() != expected:
                os._exit(70)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
