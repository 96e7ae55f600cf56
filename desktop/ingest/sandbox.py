# SPDX-License-Identifier: GPL-3.0-or-later
"""A long-lived child process that analyses one item at a time, under a time and memory limit.

Parsers of hostile files crash (PyAV can segfault), hang or eat memory. None of that may touch the
process that holds the case. The parent sends one job per line on the child's stdin and waits
for one JSON line back with a deadline: a timeout kills the child, a crash (signal, exit) or an
exception becomes ``AnalysisFailed`` with a readable reason, and the next job gets a fresh child.
A child is reused across jobs because starting Python and importing the parsers costs more than
parsing a typical email (measured: ~60 ms per start versus ~1 ms per message).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

from desktop.core import limits
from desktop.ingest.lifeline import parent_environment

DEFAULT_MEMORY_MB = 4096


class _AnswerTooLarge(Exception):  # noqa: N818 - internal signal, never leaves this module
    """An answer line grew past the limit."""


class AnalysisFailed(Exception):  # noqa: N818 - it names the outcome the item is marked with
    """Analysis of one item failed; ``str(exc)`` is the reason shown on the item."""


def _describe_exit(code: int | None, memory_mb: int) -> str:
    if code is None:
        return "the analyser stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"the analyser was killed ({name}; memory limit {memory_mb} MB may have been reached)"
        return f"the analyser crashed ({name})"
    return f"the analyser exited unexpectedly (status {code})"


class Sandbox:
    """One analysis child process, restarted whenever a job kills it.

    Args:
        memory_mb: address-space limit applied by the child to itself (POSIX only).
        command: how to start the child (tests start a fake analyser); the memory limit is
            appended as the last argument.
    """

    def __init__(self, memory_mb: int = DEFAULT_MEMORY_MB, command: list[str] | None = None) -> None:
        self.memory_mb = memory_mb
        self.command = command or [sys.executable, "-m", "desktop.ingest.worker"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""

    def _start(self) -> subprocess.Popen[bytes]:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        # PYTHONSAFEPATH: `-m` must not put the current folder (perhaps one of evidence, with a
        # "desktop" package in it) first on the child's sys.path.
        env = dict(os.environ, PYTHONUNBUFFERED="1", CASETRAIL_SANDBOX="1", PYTHONSAFEPATH="1",
                   **parent_environment())
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*self.command, str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            close_fds=True)
        self._buffer = b""
        return self._proc

    def run(self, job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one job and return the child's result.

        Raises:
            AnalysisFailed: the job timed out, crashed the child, or raised in it.
        """
        proc = self._proc if self._proc and self._proc.poll() is None else self._start()
        if proc.stdin is None or proc.stdout is None:
            raise AnalysisFailed("the analyser has no pipes")
        try:
            proc.stdin.write(json.dumps(job).encode() + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            reason = self._reap()
            raise AnalysisFailed(reason) from exc
        try:
            line = self._read_line(proc, time.monotonic() + timeout_s)
        except _AnswerTooLarge:
            self.close()
            raise AnalysisFailed(f"the analyser answered with more than {limits.ANSWER_BYTES >> 20} MiB "
                                 "in one piece; its answer was refused") from None
        if line is None:
            self.close()
            raise AnalysisFailed(f"timed out after {timeout_s:.0f} s")
        if not line:
            raise AnalysisFailed(self._reap())
        try:
            answer = json.loads(line)
        except ValueError as exc:
            self.close()
            raise AnalysisFailed("the analyser answered with something that is not JSON") from exc
        if "error" in answer:
            raise AnalysisFailed(str(answer["error"]))
        return dict(answer["result"])

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """Return one line, ``b""`` at end of file, or None when the deadline passes.

        Raises:
            _AnswerTooLarge: the line is longer than :data:`limits.ANSWER_BYTES` (large results
                come through spool files; a child that sends more is broken or hostile, and the
                main process must not hold it).
        """
        if proc.stdout is None:
            return b""
        fd = proc.stdout.fileno()
        pending = bytearray(self._buffer)  # appending to bytes would copy the whole line each time
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                searched = 0
                while (end := pending.find(b"\n", searched)) < 0:
                    searched = len(pending)
                    if len(pending) > limits.ANSWER_BYTES:
                        raise _AnswerTooLarge
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        return None
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        return b""
                    pending += chunk
        finally:
            self._buffer = bytes(pending)
        line, self._buffer = bytes(pending[:end]), bytes(pending[end + 1:])
        return line

    def _reap(self) -> str:
        proc = self._proc
        if proc is None:
            return "the analyser did not start"
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        reason = _describe_exit(code, self.memory_mb)
        tail = self._stderr_tail()
        self.close()
        return f"{reason}: {tail}" if tail else reason

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
            if lines:
                return lines[-1].strip()[:200]
        return ""

    def terminate(self) -> None:
        """Kill the child now, from any thread: a job waiting on it fails at once (cancel).

        Only the process is killed; its pipes stay open until :meth:`close`, so the thread
        waiting in :meth:`run` wakes on end of file instead of blocking on a closed descriptor.
        """
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def close(self) -> None:
        """Stop the child (if any) and forget it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    if stream:
                        stream.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
