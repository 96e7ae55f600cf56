# SPDX-License-Identifier: GPL-3.0-or-later
"""The short fuzz run of the suite: every parser on its seeds and fixed mutations of them.

Each input must parse or be refused with the parser's documented error, within a few seconds.
``make fuzz`` drives the same targets with atheris for many more iterations (``run.py``).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from fuzz.targets import Target, call, mutations, targets

SEEDS = 6
MUTATIONS = 25
SLOWEST_S = 10.0


@pytest.mark.parametrize("target", targets(), ids=lambda t: t.name)
def test_a_parser_survives_mutations_of_its_seeds(target: Target) -> None:
    seeds = target.seed_files(limit=SEEDS)
    if not seeds:
        pytest.skip(f"no seeds for {target.name} (../shared/corpora is absent)")
    rng = random.Random(f"casetrail-{target.name}")
    faults: list[str] = []
    slowest = 0.0
    for seed in seeds:
        data = seed.read_bytes()[:1_000_000]
        for case in [data, *mutations(data, rng, MUTATIONS)]:
            started = time.monotonic()
            fault = call(target, case)
            slowest = max(slowest, time.monotonic() - started)
            if fault:
                faults.append(f"{seed.name}: {fault}")
    assert faults == []
    assert slowest < SLOWEST_S, f"one input took {slowest:.1f} s"


FINDINGS = sorted((Path(__file__).parent / "findings").glob("*"))


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda p: p.name)
def test_what_fuzzing_found_stays_fixed(finding: Path) -> None:
    """Each file of findings/ is an input that once broke its target (named by the file's prefix)."""
    target = next(t for t in targets() if finding.name.startswith(t.name + "-"))
    assert call(target, finding.read_bytes()) is None
