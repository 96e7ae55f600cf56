# SPDX-License-Identifier: GPL-3.0-or-later
"""The hostile corpus (:mod:`reliability.hostile`) through the real command line, as an analyst would.

One case takes every file of the corpus: each is acquired with the SHA-256 of its bytes, every
analysis that cannot be done is one sentence naming the item, nothing is written outside the
case, no command ends in an internal error, the case verifies, and the briefing is written with
every oversized value cut and said so (issue 16).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reliability.hostile import counts, generate

CT = [sys.executable, "-m", "desktop.cli"]
ESCAPES = [Path("/tmp/casetrail-escaped"), Path("/tmp/casetrail-escaped-attachment"),
           Path("/etc/casetrail-escaped")]


def _ct(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CASETRAIL_CRASH_AT"}
    p = subprocess.run([*CT, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False,
                       errors="replace")
    for stream in (p.stdout, p.stderr):
        assert "internal error" not in stream, stream[-2000:]
        assert "Traceback" not in stream, stream[-2000:]
    return p


def _tree(root: Path) -> set[str]:
    return {os.fsdecode(p.relative_to(root)) for p in root.rglob("*")}


def test_every_hostile_file_is_acquired_and_nothing_breaks(tmp_path: Path) -> None:
    corpus_dir = tmp_path / "corpus"
    corpus = generate(corpus_dir)
    assert set(counts(corpus)) >= {"length", "size", "structure", "archive", "names", "image", "video"}
    case = tmp_path / "c.casetrail"
    assert _ct("new", str(case), "--title", "hostile", "--examiner", "e").returncode == 0
    before = _tree(tmp_path)

    started = time.monotonic()
    imported = _ct("import", str(case), str(corpus_dir))
    took = time.monotonic() - started
    assert imported.returncode == 0, imported.stderr[-2000:]
    # Each analysis that could not be done is one line that names its item.
    for line in imported.stderr.splitlines():
        assert line.startswith("casetrail: item "), line

    items = json.loads(_ct("items", str(case), "--json").stdout)
    top = {it["sha256"] for it in items if it["parent_id"] is None}
    assert top == {hashlib.sha256(h.path.read_bytes()).hexdigest() for h in corpus}
    # Every item analysed or failed with its reason; nothing left pending.
    assert not [(it["name"], it["status"]) for it in items
                if it["status"] != "analysed" and not it["status"].startswith("analysis failed: ")]

    # Nothing outside the case: the folder around it changed only inside the case.
    new = {p for p in _tree(tmp_path) - before if not p.startswith("c.casetrail")}
    assert not new, new
    assert not [p for p in ESCAPES if p.exists()]

    checked = _ct("verify", str(case))
    assert checked.returncode == 0, checked.stdout[-3000:]
    pdf = tmp_path / "b.pdf"
    briefed = _ct("brief", str(case), "-o", str(pdf))
    assert briefed.returncode == 0, briefed.stderr[-2000:]
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "more characters]" in " ".join(text.split())
    # Bounded in time, whatever the files claim (a generous bound for a loaded 2-core machine).
    assert took < 300, f"the hostile corpus took {took:.0f} s to import"


@pytest.mark.parametrize("value", ["x" * 30_000, "word " * 200_000])
def test_a_value_of_any_length_is_cut_where_it_is_printed(value: str) -> None:
    from reports import bounds
    from reports.safe_text import Run

    for style in ("cell", "mono", "h1", "body"):
        cut = bounds.bounded(value, style)
        assert isinstance(cut, str)
        limit = bounds.limit_for(style)
        assert cut == value[:limit] + f" … [{len(value) - limit:,} more characters]"
    runs = bounds.bounded([Run("Label: ", bold=True), Run(value, mono=True), "tail"], "cell")
    assert isinstance(runs, list)
    assert isinstance(runs[0], Run)
    assert runs[0].bold
    assert sum(len(str(r.text if isinstance(r, Run) else r)) for r in runs[:-1]) == bounds.CELL_CHARS
    left_out = len("Label: ") + len(value) + len("tail") - bounds.CELL_CHARS
    last = runs[-1]
    assert str(last.text if isinstance(last, Run) else last) == f" … [{left_out:,} more characters]"
    assert bounds.bounded("short", "cell") == "short"
