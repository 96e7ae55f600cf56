# SPDX-License-Identifier: GPL-3.0-or-later
"""A sandbox child whose analyser misbehaves on request, to test the sandbox's limits."""

import os
import signal
import sys
import time
from typing import Any

from desktop.ingest.worker import serve

_HELD: list[bytearray] = []


def analyse(job: dict[str, Any]) -> dict[str, Any]:
    what = job["name"]
    if what == "hang":
        time.sleep(3600)
    if what == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if what == "raise":
        raise ValueError("the file is not what it claims")
    if what == "memory":
        hog = [bytearray(64 << 20) for _ in range(1000)]
        return {"size": len(hog)}
    if what == "hold":  # map memory and keep it, as a loaded OCR engine does
        _HELD.append(bytearray(int(job["hold_mb"]) << 20))
        return {"held_mb": sum(len(b) for b in _HELD) >> 20}
    if what == "grow":  # use memory_mb minus a margin on top of what is held
        extra = bytearray((int(job["memory_mb"]) - 64) << 20)
        return {"grew_mb": len(extra) >> 20}
    if what == "huge":
        return {"blob": "x" * (40 << 20)}  # one answer line past the sandbox's limit
    if what == "print":
        print("noise on stdout that must not corrupt the protocol")
    return {"echo": what, "pid": os.getpid()}


if __name__ == "__main__":
    sys.exit(serve(sys.argv, lambda: analyse))
