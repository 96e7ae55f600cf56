# SPDX-License-Identifier: GPL-3.0-or-later
"""CPU a row of writing occurrences: counted by the per-row trigger, or once a batch (schema 15).

The mail helper's measurement of issue 13, kept: 30,000 indicators, 70 % of the rows on the HOT
most-seen ones, 50 rows an item, 5,000 rows a transaction; both ways interleaved in one process,
``time.thread_time`` of the writing thread. Run: ``nice -n 19 .venv/bin/python
tests/bench/occurrence_counts.py [HOT]``.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end

ROUNDS = 6


def main(hot: int) -> None:
    """Print the CPU a row of each way, per batch and as medians."""
    work = Path(tempfile.mkdtemp())
    try:
        case = Case.create(work / "c.casetrail", title="t", examiner="e")
        folder = work / "ev"
        folder.mkdir()
        paths = []
        for i in range(2 * ROUNDS * 100):
            paths.append(folder / f"n{i}.txt")
            paths[-1].write_text(f"n {i}\n")
        items = [a.item.id for a in run_to_end(import_paths(case, paths)).acquired]
        rng = random.Random(1)
        with case.transaction() as conn:
            ids = list(findings.indicator_ids(conn, [("domain", f"d{i}.example.com")
                                                     for i in range(30_000)]).values())

        def rows(batch: list[int]) -> list[tuple[Any, ...]]:
            return [(rng.choice(ids[:hot]) if rng.random() < 0.7 else rng.choice(ids), item, "header",
                     "Received", None, None, None, None, 0.9, None, None, None, None, None, None)
                    for item in batch for _ in range(50)]

        took: dict[str, list[float]] = {"per-row trigger": [], "batch count": []}
        for r in range(ROUNDS):
            for n, label in enumerate(took):
                batch = rows(items[(2 * r + n) * 100:(2 * r + n + 1) * 100])
                with case.transaction() as conn:
                    start = time.thread_time()
                    if label == "batch count":
                        findings._insert_counted(conn, batch)
                    else:
                        conn.executemany(findings._INSERT_OCCURRENCE, batch)
                    took[label].append(1e6 * (time.thread_time() - start) / len(batch))
                print(f"{label}: {took[label][-1]:.1f} us/row", flush=True)
        for label, values in took.items():
            values.sort()
            print(f"{label}: median {values[len(values) // 2]:.1f} us/row "
                  f"(min {values[0]:.1f}, max {values[-1]:.1f})")
        case.close()
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
