# SPDX-License-Identifier: GPL-3.0-or-later
"""``make fuzz``: every target under atheris (coverage-guided), then the properties at length.

Each target runs in a process of its own (atheris ends its process) for ``--runs`` inputs,
seeded from ``../shared/corpora`` and ``tests/data``; an input that makes the parser raise an
undocumented error is written to ``--findings`` and counted. Without atheris, the targets run
on the same mutations as the suite's short run, many more of them. Then the hypothesis
properties (``test_properties.py``) run with ``CASETRAIL_FUZZ_EXAMPLES`` examples each. The
table printed is the one in ``docs/reliability.md``.

Usage: ``python tests/fuzz/run.py [--runs N] [--examples N] [--findings DIR] [--only NAME]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fuzz.targets import Target, call, mutations, targets  # noqa: E402 - after the path is set


def _atheris_child(name: str, runs: int, corpus: Path, findings: Path) -> None:
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    def one(data: bytes) -> None:
        fault = call(target, data)
        if fault:
            findings.mkdir(parents=True, exist_ok=True)
            out = findings / f"{name}-{abs(hash(data)):x}.bin"
            out.write_bytes(data)
            with (findings / "faults.txt").open("a") as f:
                f.write(f"{name}\t{out.name}\t{fault}\n")

    # Coverage of Casetrail's own parsers: they are imported (lazily, by a first call) instrumented.
    with atheris.instrument_imports(include=["desktop", "reports"]):
        target = next(t for t in targets() if t.name == name)  # imports the parser's errors
        for seed in sorted(corpus.iterdir())[:1]:
            call(target, seed.read_bytes())
    atheris.Setup([sys.argv[0], f"-runs={runs}", "-max_len=200000", "-rss_limit_mb=3072",
                   "-timeout=30", "-print_final_stats=1", str(corpus)], one)
    atheris.Fuzz()


def _run_atheris(target: Target, runs: int, findings: Path) -> dict[str, object]:
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target.name}-"))
    seeds = target.seed_files(limit=200)
    for k, seed in enumerate(seeds):
        shutil.copyfile(seed, corpus / f"seed{k:04d}")
    started = time.monotonic()
    p = subprocess.run([sys.executable, __file__, "--child", target.name, "--runs", str(runs),
                        "--corpus", str(corpus), "--findings", str(findings)],
                       capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    done = re.findall(r"stat::number_of_executed_units:\s*(\d+)", p.stderr)
    cov = re.findall(r"cov: (\d+)", p.stderr)
    shutil.rmtree(corpus, ignore_errors=True)
    faults = _faults(findings, target.name)
    crashed = p.returncode != 0 and not done
    return {"target": target.name, "engine": "atheris", "seeds": len(seeds),
            "inputs": int(done[-1]) if done else 0, "coverage": int(cov[-1]) if cov else 0,
            "faults": faults + (1 if crashed else 0), "seconds": round(took, 1),
            "note": p.stderr.strip().splitlines()[-1][:200] if crashed and p.stderr.strip() else ""}


def _run_mutations(target: Target, runs: int, findings: Path) -> dict[str, object]:
    seeds = target.seed_files(limit=200)
    rng = random.Random(f"make-fuzz-{target.name}")
    started = time.monotonic()
    done = faults = 0
    per_seed = max(1, runs // max(1, len(seeds)))
    for seed in seeds:
        for data in mutations(seed.read_bytes()[:1_000_000], rng, per_seed):
            done += 1
            fault = call(target, data)
            if fault:
                faults += 1
                findings.mkdir(parents=True, exist_ok=True)
                (findings / f"{target.name}-{done}.bin").write_bytes(data)
                with (findings / "faults.txt").open("a") as f:
                    f.write(f"{target.name}\t{done}\t{fault}\n")
    return {"target": target.name, "engine": "mutations", "seeds": len(seeds), "inputs": done, "coverage": 0,
            "faults": faults, "seconds": round(time.monotonic() - started, 1), "note": ""}


def _faults(findings: Path, name: str) -> int:
    log = findings / "faults.txt"
    if not log.is_file():
        return 0
    return sum(1 for line in log.read_text().splitlines() if line.startswith(name + "\t"))


def _properties(examples: int) -> tuple[int, int, str]:
    env = dict(os.environ, CASETRAIL_FUZZ_EXAMPLES=str(examples), QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(HERE / "test_properties.py")], capture_output=True, text=True, env=env,
                       check=False, cwd=HERE.parents[1])
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", p.stdout))
    failed = sum(int(n) for n in re.findall(r"(\d+) failed", p.stdout))
    return passed, failed, p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description="fuzz the parsers (issue 16)")
    ap.add_argument("--runs", type=int, default=20_000, help="inputs per target")
    ap.add_argument("--examples", type=int, default=2_000, help="hypothesis examples per property")
    ap.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    ap.add_argument("--only", default="", help="one target by name")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.argv = sys.argv[:1]
        _atheris_child(args.child, args.runs, args.corpus, args.findings)
        return 0
    (args.findings / "faults.txt").unlink(missing_ok=True)  # the counts are this run's
    try:
        import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
        engine = _run_atheris
    except ImportError:
        print("atheris is not installed: the targets run on plain mutations (pip install atheris)")
        engine = _run_mutations
    print("machine: " + _uptime())
    rows = []
    for target in targets():
        if args.only and target.name != args.only:
            continue
        row = engine(target, args.runs, args.findings)
        rows.append(row)
        print(f"  {row['target']}: {row['inputs']} inputs, {row['faults']} faults, {row['seconds']} s",
              flush=True)
    print("\n| target | engine | seeds | inputs | coverage | faults | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['target']} | {r['engine']} | {r['seeds']} | {r['inputs']} | {r['coverage']} | "
              f"{r['faults']} | {r['seconds']} |")
    total_inputs = sum(int(str(r["inputs"])) for r in rows)
    total_faults = sum(int(str(r["faults"])) for r in rows)
    passed = failed = 0
    if not args.only:
        passed, failed, last = _properties(args.examples)
        print(f"\nhypothesis properties: {passed} passed, {failed} failed, {args.examples} examples each "
              f"({last})")
    print(f"\n{total_inputs} fuzz inputs over {len(rows)} targets, {total_faults} faults; findings in "
          f"{args.findings}")
    print(json.dumps({"targets": rows, "properties_passed": passed, "properties_failed": failed}))
    print("machine: " + _uptime())
    return 1 if total_faults or failed else 0


if __name__ == "__main__":
    sys.exit(main())
