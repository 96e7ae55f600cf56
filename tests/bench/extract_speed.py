# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: indicator extraction speed on a megabyte of text, against a plain regex scan of it.

``desktop.core.indicators.extract`` runs over every mail body, header block, attachment text and OCR
line, so its cost per megabyte bounds how fast a mailbox imports. Three texts are measured:

- *dense*: the labelled snippets of ``tests/data/indicators/cases.json`` repeated to 1 MB (about
  19,000 indicators, far denser than real mail);
- *mail*: 1 MB of the real phishing e-mails in ``../shared/corpora/phishing-dev`` as they are on
  disk (headers, bodies, encoded parts), when the corpus is there.

The baseline, measured in the same run on the same text, is one pass of a single compiled regular
expression that finds the word-like tokens an extractor has to look at (``[\\w.@:/\\\\%-]+``): the
least any extractor must do. Printed: seconds, MB/s, and the ratio to the baseline (the median of
``--repeat`` rounds that time the two back to back, so both see the same load); the target is a
ratio of at most 20 on each text (measured 6-15 at a load of 6-7 on 2 cores). Exit status 1 when it
is missed. (``tests/unit/core/test_indicators.py`` keeps the
correctness of a megabyte: every value found as often as it occurs.)

Run: ``.venv/bin/python tests/bench/extract_speed.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.core.indicators import extract  # noqa: E402

CASES = ROOT / "tests" / "data" / "indicators" / "cases.json"
CORPUS = ROOT.parent / "shared" / "corpora" / "phishing-dev"
SIZE = 1_000_000
TOKENS = re.compile(r"[\w.@:/\\%-]+")
MAX_RATIO = 20.0


def dense_text() -> str:
    blob = "\n".join(c["text"] for c in json.loads(CASES.read_text(encoding="utf-8")))
    return "\n".join([blob] * (SIZE // len(blob) + 1))[:SIZE]


def mail_text() -> str | None:
    if not CORPUS.is_dir():
        return None
    parts: list[str] = []
    size = 0
    for path in sorted(CORPUS.glob("*.eml"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0)):
        text = path.read_bytes().decode("utf-8", "replace")
        parts.append(text)
        size += len(text)
        if size >= SIZE:
            break
    return "".join(parts)[:SIZE]


def per_call(fn: Callable[[], object], at_least_s: float) -> float:
    """Seconds one call of ``fn`` takes, averaged over as many calls as fill ``at_least_s``."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        took = time.perf_counter() - t0
        if took >= at_least_s:
            return took / calls


def paired(
    repeat: int, extract_fn: Callable[[], object], base_fn: Callable[[], object]
) -> tuple[float, float, float]:
    """``(extract s, baseline s, ratio)``: the median over rounds that time both back to back.

    A round times the baseline (repeated until it has run as long as one extraction) right before
    the extraction, so both see the same load; the median ratio of the rounds is printed.
    """
    rounds = []
    for _ in range(repeat):
        took = per_call(extract_fn, 0.0)
        base = per_call(base_fn, took)
        rounds.append((took / base if base else float("inf"), took, base))
    ratio, took, base = sorted(rounds)[len(rounds) // 2]
    return took, base, ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    ok = True
    print(f"{'text':<12} {'MB':>5} {'found':>7} {'extract s':>10} {'MB/s':>6} {'regex s':>8} {'ratio':>6}")
    texts = {"dense": dense_text(), "mail": mail_text()}
    for name, text in texts.items():
        if text is None:
            print(f"{name:<12} skipped: {CORPUS} is not there")
            continue
        found = len(extract(text))
        took, base, ratio = paired(
            args.repeat,
            lambda t=text: extract(t),  # type: ignore[misc]
            lambda t=text: sum(1 for _ in TOKENS.finditer(t)),  # type: ignore[misc]
        )
        mb = len(text) / 1e6
        print(
            f"{name:<12} {mb:5.2f} {found:7d} {took:10.3f} {mb / took:6.2f} {base:8.3f} {ratio:6.1f}"
            f"{'' if ratio <= MAX_RATIO else f'  MISSED (target <= {MAX_RATIO:.0f})'}"
        )
        ok = ok and ratio <= MAX_RATIO
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
