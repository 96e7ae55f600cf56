# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: importing a few thousand real emails, against parsing them with mail-parser alone.

Both are measured in the same run on the same messages. Casetrail's side does everything an
import does: acquisition (copy, three hashes, fsync, re-read, custody), analysis in the sandbox
children (headers, hops, bodies, attachments, indicators) and indexing; mail-parser only parses.
Prints messages per second for both and the ratio (target: >= 1.0).

Usage: .venv/bin/python tests/bench/email_speed.py [COPIES]   (default 5 x the 400-message corpus)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "phishing-dev"


def build_messages(dest: Path, copies: int) -> list[Path]:
    """Write distinct messages: each copy gets its own header so no two share a hash."""
    sources = sorted(CORPUS.glob("*.eml"))
    out = []
    for k in range(copies):
        for src in sources:
            p = dest / f"copy{k}-{src.name}"
            p.write_bytes(f"X-Bench-Copy: {k}\r\n".encode() + src.read_bytes())
            out.append(p)
    return out


def time_mailparser(paths: list[Path]) -> float:
    import mailparser

    blobs = [p.read_bytes() for p in paths]
    started = time.perf_counter()
    for b in blobs:
        mailparser.parse_from_bytes(b)
    return time.perf_counter() - started


def time_casetrail(paths: list[Path], folder: Path, workdir: Path, *, attachments: bool = True,
                   name: str = "bench") -> tuple[float, int, int]:
    from desktop.core.case import Case
    from desktop.core.progress import run_to_end
    from desktop.ingest import pipeline
    from desktop.ingest.pipeline import import_and_analyse

    depth = pipeline.MAX_DEPTH
    pipeline.MAX_DEPTH = depth if attachments else 0  # 0: attachments acquired, not analysed
    case = Case.create(workdir / f"{name}.casetrail", title=name, examiner="bench")
    try:
        started = time.perf_counter()
        report = run_to_end(import_and_analyse(case, [folder]))  # what `casetrail import` runs
        elapsed = time.perf_counter() - started
    finally:
        pipeline.MAX_DEPTH = depth
    n_ind = case.db.execute("SELECT count(*) FROM occurrences").fetchone()[0]
    case.close()
    return elapsed, len(report.analysed) + len(report.analysis_failed), int(n_ind)


def main() -> int:
    if not CORPUS.is_dir():
        print(f"email_speed: corpus {CORPUS} is absent; nothing to measure")
        return 0
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="email-bench-") as tmp:
        folder = Path(tmp) / "mail"
        folder.mkdir()
        paths = build_messages(folder, copies)
        n = len(paths)
        mp = time_mailparser(paths)
        ct, analysed, occurrences = time_casetrail(paths, folder, Path(tmp))
        cm, analysed_m, occurrences_m = time_casetrail(paths, folder, Path(tmp), attachments=False,
                                                       name="messages")
    print(f"messages                          {n}")
    print(f"mail-parser parse only            {mp:7.2f} s  {n / mp:7.1f} msg/s")
    print(f"casetrail, messages (attachments acquired, not analysed)\n"
          f"                                  {cm:7.2f} s  {n / cm:7.1f} msg/s  "
          f"({analysed_m} analysed, {occurrences_m} indicator occurrences)  ratio {mp / cm:5.2f}x")
    print(f"casetrail, everything (attachments analysed too: OCR of images, ...)\n"
          f"                                  {ct:7.2f} s  {n / ct:7.1f} msg/s  "
          f"({analysed} analysed, {occurrences} indicator occurrences)  ratio {mp / ct:5.2f}x")
    print("ratio = casetrail speed / mail-parser speed; target >= 1.0 (both measured in this run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
