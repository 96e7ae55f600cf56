# SPDX-License-Identifier: GPL-3.0-or-later
"""CPU time per message of a full mail import, split between the main thread, the main process
and the analysis children (issue 13).

Imports the bench's 1,000 real e-mails (``bulk_mail.real_mails``: the ``phishing-dev`` corpus,
each copy with a header of its own) into a fresh case in this process, as ``casetrail import``
does, and prints CPU seconds (``time.thread_time`` of the main thread, ``getrusage`` of the
process and of the reaped children) per message. CPU time is what load distorts least on a shared
machine; run two revisions one after the other at the same priority and compare the columns.

Usage: ``.venv/bin/python tests/bench/mail_cpu.py [--mails N] [--depth 0] [--profile OUT.prof]``
(``PYTHONPATH`` pointing at another checkout measures that revision).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=1000)
    ap.add_argument("--depth", type=int, default=None,
                    help="pipeline.MAX_DEPTH (0: attachments not analysed)")
    ap.add_argument("--profile", type=Path, help="write a cProfile (CPU time) of the main thread here")
    args = ap.parse_args()

    from bulk_mail import CORPUS, real_mails

    from desktop.core.case import Case
    from desktop.core.progress import run_to_end
    from desktop.ingest import pipeline

    if not CORPUS.is_dir():
        print(f"corpus {CORPUS} absent; nothing to measure")
        return 0
    if args.depth is not None:
        pipeline.MAX_DEPTH = args.depth
    work = Path(tempfile.mkdtemp(prefix="casetrail-mailcpu-"))
    os.environ["CASETRAIL_HOME"] = str(work / "home")
    try:
        folder = work / "mails"
        real_mails(folder, args.mails)
        case = Case.create(work / "case.casetrail", title="cpu", examiner="bench")
        if os.environ.get("BENCH_CACHE_KIB"):  # an experiment: the writer's page cache
            case.db.conn.execute(f"PRAGMA cache_size = -{int(os.environ['BENCH_CACHE_KIB'])}")
        prof = cProfile.Profile(time.thread_time) if args.profile else None  # main thread's CPU
        t0, r0, w0 = time.thread_time(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        if prof:
            prof.enable()
        report = run_to_end(pipeline.import_and_analyse(case, [folder], ""))
        if prof:
            prof.disable()
        t1, r1, w1 = time.thread_time(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the sandboxes are reaped by close()
        case.close()
        if prof and args.profile:
            prof.dump_stats(str(args.profile))
        n = args.mails
        out = {
            "messages": n, "items_analysed": len(report.analysed), "failed": len(report.failed),
            "wall_s": round(w1 - w0, 2),
            "main_thread_ms": round(1000 * (t1 - t0) / n, 2),
            "main_process_ms": round(1000 * (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / n, 2),
            "children_ms": round(1000 * (c1.ru_utime + c1.ru_stime) / n, 2),
            "load": os.getloadavg()[0],
        }
        out["total_ms"] = round(out["main_process_ms"] + out["children_ms"], 2)
        print(json.dumps(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
