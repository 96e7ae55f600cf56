# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: a briefing of a case with 500 items and 5,000 indicators, in bounded time and memory.

Run: ``.venv/bin/python tests/bench/briefing_speed.py`` (``make bench`` runs every benchmark).
Prints the case size, the seconds to render and write, pages per second and the peak resident
memory of the process; exits 1 when a bound is exceeded.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "reports"))

ITEMS, INDICATORS = 500, 5000
MAX_SECONDS, MAX_RSS_MB = 240.0, 1500


def main() -> int:
    """Build the case, brief it, report, check the bounds."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["CASETRAIL_HOME"] = str(root / "home")
        from briefing_case import build_case

        from desktop.core import findings
        from desktop.core.acquire import import_paths
        from desktop.core.progress import run_to_end
        from reports.briefing import BriefingOptions, write_briefing

        case = build_case(root / "seed", hostile=True, title="Benchmark case")
        bulk = root / "bulk"
        bulk.mkdir()
        for n in range(ITEMS - len(case.items())):
            (bulk / f"file-{n:04d}.txt").write_text(f"evidence file {n}\n" * (1 + n % 7))
        t0 = time.perf_counter()
        run_to_end(import_paths(case, [bulk], "benchmark"))
        items = case.items()
        with case.transaction() as conn:
            for n in range(INDICATORS):
                item = items[n % len(items)]
                kind, value = (("ipv4", f"10.{n // 65536}.{(n // 256) % 256}.{n % 256}") if n % 3 == 0 else
                               ("domain", f"host{n}.bench-{n % 17}.example.com") if n % 3 == 1 else
                               ("url", f"https://cdn{n}.example.net/path/{n}/payload.bin"))
                findings.record_occurrences(conn, item.id, [
                    {"type": kind, "value": value, "source": "body", "where": "text body", "offset": n}])
        built = time.perf_counter() - t0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t1 = time.perf_counter()
        result = write_briefing(case, root / "bench.pdf", BriefingOptions())
        seconds = time.perf_counter() - t1
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        case.close()
    print(f"case: {len(items)} items, {INDICATORS + 6} indicators (built in {built:.1f} s)")
    print(f"briefing: {result.pages} pages, {result.size / 1e6:.1f} MB in {seconds:.1f} s "
          f"= {result.pages / seconds:.1f} pages/s")
    print(f"peak RSS: {rss:.0f} MB (before the briefing: {rss_before:.0f} MB)")
    ok = seconds <= MAX_SECONDS and rss <= MAX_RSS_MB
    print("within bounds" if ok else f"OUT OF BOUNDS (limits {MAX_SECONDS:.0f} s, {MAX_RSS_MB} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
