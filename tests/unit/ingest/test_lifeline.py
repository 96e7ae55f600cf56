# SPDX-License-Identifier: GPL-3.0-or-later
"""An analysis child dies with the process that started it, even in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

FAKE = str(Path(__file__).with_name("fake_worker.py"))

# A parent that starts a sandbox child on a hanging job, says the child's pid, and waits.
_PARENT = f"""
import sys, threading, time
from desktop.ingest.sandbox import Sandbox
box = Sandbox(memory_mb=512, command=[sys.executable, {FAKE!r}])
threading.Thread(target=lambda: box.run({{"id": 1, "name": "hang"}}, 3600), daemon=True).start()
while box._proc is None:
    time.sleep(0.01)
print(box._proc.pid, flush=True)
time.sleep(3600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead: only its exit status is left for its new parent to collect
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def test_a_child_busy_with_a_job_dies_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the sandbox child outlived its killed parent"
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_a_child_whose_parent_is_already_gone_ends_at_once() -> None:
    env = dict(os.environ, CASETRAIL_PARENT_PID="1")  # not our parent: as if re-parented to init
    started = time.monotonic()
    p = subprocess.run([sys.executable, FAKE, "512"], input="", env=env, capture_output=True, timeout=60,
                       check=False)
    assert p.returncode == 70
    assert time.monotonic() - started < 30
