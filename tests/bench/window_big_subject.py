# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the window does not freeze on a message with a 10 MB Subject (issue 16).

Two cases are made through the CLI, one holding a small message and one a message whose Subject
is 10 MB; the window opens each and shows its message while a 20 ms timer measures the longest
stall of the event loop. The ratio of the two is the number to read (the machine is shared).

Usage: ``QT_QPA_PLATFORM=xcb DISPLAY=:N .venv/bin/python tests/bench/window_big_subject.py``
(offscreen works too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _case(work: Path, name: str, message: bytes) -> Path:
    src = work / f"{name}.eml"
    src.write_bytes(message)
    case = work / f"{name}.casetrail"
    ct = [sys.executable, "-m", "desktop.cli"]
    subprocess.run([*ct, "new", str(case), "--title", name, "--examiner", "bench"], check=True,
                   capture_output=True)
    subprocess.run([*ct, "import", str(case), str(src)], check=True, capture_output=True)
    return case


def _longest_stall(case: Path) -> float:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    gaps: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(20)
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    pump(1.0)
    gaps.clear()
    last[0] = time.monotonic()
    QTimer.singleShot(0, lambda: win.open_case(case))
    pump(3.0)
    for row in range(win.model.rowCount()):
        win.table.selectRow(row)
        pump(1.5)
    win.close_case()
    win.close()
    timer.stop()
    return max(gaps)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("CASETRAIL_PASSPHRASE", "bench-passphrase")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"machine: {uptime}")
    work = Path(tempfile.mkdtemp(prefix="casetrail-window-"))
    os.environ["CASETRAIL_HOME"] = str(work / "home")
    try:
        head = b"From: a@sender.example\nTo: b@example.org\nDate: Mon, 19 Oct 2020 10:00:00 +0000\n"
        small = _case(work, "small", head + b"Subject: hello\n\nhello 198.51.100.23\n")
        words = b"x" * 76 + (b" " + b"x" * 76) * (10 * 2**20 // 77)
        big = _case(work, "big", head + b"Subject: " + words + b"\n\nhello 198.51.100.23\n")
        base = _longest_stall(small)
        stall = _longest_stall(big)
        print(f"longest stall of the event loop: small message {base * 1000:.0f} ms, 10 MB Subject "
              f"{stall * 1000:.0f} ms ({stall / base:.1f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
