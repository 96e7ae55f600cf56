# SPDX-License-Identifier: GPL-3.0-or-later
"""The analysis child process: reads jobs on stdin, answers one JSON line each on stdout.

It limits itself first (address space), then keeps the protocol channel private: file
descriptor 1 is pointed at stderr so a library that prints cannot corrupt the answers.
Every exception becomes an ``{"error": ...}`` answer; only a crash or the kill on timeout ends
the process, and the parent turns that into the item's failure reason.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from desktop.ingest.lifeline import tie_to_parent

Analyser = Callable[[dict[str, Any]], Mapping[str, Any]]


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource  # POSIX only
    except ImportError:  # Windows: no rlimits; the timeout still applies
        return
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _address_space() -> int:
    """Bytes of address space this process holds now (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_job(memory_mb: int | None) -> None:
    """Set the soft address-space limit to what this job's analyser may use (never above the hard one).

    The analyser may use ``memory_mb`` beyond what the child holds already. A child is reused
    across jobs, and one that ran the OCR engine for an attached image keeps its models mapped
    (~0.8 GiB, more after large images): a flat limit of 1 or 2 GiB left the next message or
    ``.msg`` no room at all, and it failed at random ("SystemError: error return without
    exception set", SIGSEGV) depending on which child it happened to get.
    """
    if not memory_mb:
        return
    try:
        import resource
    except ImportError:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + (memory_mb << 20)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "ran out of memory within the analyser's limit"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def serve(argv: list[str], load: Callable[[], Analyser]) -> int:
    """Apply the limits, then answer jobs with the analyser ``load()`` returns until stdin closes."""
    tie_to_parent()  # a child must never outlive the process that holds the case
    memory_mb = int(argv[1]) if len(argv) > 1 else 4096
    _limit_memory(memory_mb)
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    analyse = load()  # imported after the limits are in place
    for line in sys.stdin:
        if not line.strip():
            continue
        job: dict[str, Any] = json.loads(line)
        try:
            _limit_job(job.get("memory_mb"))
            answer: dict[str, Any] = {"id": job.get("id"), "result": analyse(job)}
        except BaseException as exc:  # everything becomes the item's failure reason
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            answer = {"id": job.get("id"), "error": _describe(exc)}
        answers.write(json.dumps(answer, ensure_ascii=False, default=str) + "\n")
    return 0


def _load() -> Analyser:
    from desktop.ingest.analyse import analyse

    return analyse


if __name__ == "__main__":
    sys.exit(serve(sys.argv, _load))
