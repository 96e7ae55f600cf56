# SPDX-License-Identifier: GPL-3.0-or-later
"""A process forked after files were typed (the crash campaign forks its commands) must not wait
for the parent's threads: the typing pool and the warninglists lock are made afresh in the child."""

from __future__ import annotations

import os
import signal
import time

from desktop.core import detect, warninglists


def _in_child(work: object) -> int:
    """Run ``work`` in a forked child bounded by an alarm; its exit status (0 ok, 1 failed, 2 hung)."""
    pid = os.fork()
    if pid == 0:  # the child
        signal.signal(signal.SIGALRM, lambda *_: os._exit(2))
        signal.alarm(20)
        try:
            ok = bool(work())  # type: ignore[operator]
        except BaseException:
            os._exit(1)
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return 2


def test_typing_in_a_child_forked_after_the_pool_ran() -> None:
    # The import's typing: the bytes staged, typed on the pool's threads.
    sample = [b"hello 185.141.63.120\n"]
    assert detect.mimes_of_contents_later(sample)() == ["text/plain"]  # the parent's pool has threads
    assert _in_child(lambda: detect.mimes_of_contents_later(sample)() == ["text/plain"]) == 0


def test_warninglists_in_a_child_forked_while_the_lock_was_held() -> None:
    with warninglists._shipped_lock:  # as the preload thread holds it while it loads
        status = _in_child(lambda: warninglists._shipped_lock.acquire(timeout=5))
    assert status == 0
