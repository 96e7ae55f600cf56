# SPDX-License-Identifier: GPL-3.0-or-later
"""Case text never reaches the terminal raw; ``--json`` stays exact (issue 10).

The attack of the issue: a file name carrying ``ESC [1A ESC [2K`` (cursor up, erase line) and a
fake "intact" line makes ``casetrail verify`` overwrite its own ``MODIFIED`` line. Every command
that prints case text is run over such a case; what reaches stdout and stderr may hold no
control character but the program's own newlines and tabs, and the JSON of the same commands
still carries the exact bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from desktop.core.printable import visible

FAKE = "\x1b[1A\x1b[2K\rintact: 3 of 3 items ok, custody chain of 9 entries ok\x07"
NAME = f"invoice{FAKE}\u202egpj.txt"
SUBJECT = "Hello \x1b]0;owned\x07 \u202etxt.exe \x9b31m"


def _casetrail() -> str:
    found = shutil.which("casetrail", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("no casetrail console script next to this Python; run pip install -e . first")
    return found


CT = _casetrail()


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CASETRAIL_HOME=str(home), CASETRAIL_EXAMINER="Examiner \x1b[31mRed")
    return subprocess.run([CT, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def acting(text: str) -> list[str]:
    """Characters a terminal would act on instead of showing (the program's \\n and \\t excepted)."""
    return sorted({repr(ch) for ch in text if ch not in "\n\t" and (
        unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"))})


@pytest.fixture(scope="module")
def hostile_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("terminal")
    home = root / "home"
    evidence = root / "evidence"
    evidence.mkdir()
    (evidence / NAME).write_text("seen 185.141.63.120 in the log\n")
    (evidence / "mail.eml").write_bytes(
        b"Received: from a.example ([185.141.63.120]) by b.example; Tue, 1 Aug 2023 10:00:00 +0000\r\n"
        b"From: a@a.example\r\nSubject: " + SUBJECT.encode() + b"\r\n\r\nvoters 185.141.63.120\r\n")
    case = root / f"Case{FAKE[:9]}.casetrail"
    p = run(home, "new", str(case), "--title", f"Op {FAKE}", "--examiner", "A \x1b[2J Analyst")
    assert p.returncode == 0, p.stderr
    p = run(home, "import", str(case), str(evidence), "--reason", f"warrant {FAKE}")
    assert p.returncode == 0, p.stderr
    assert acting(p.stdout + p.stderr) == []
    return home, case


def test_import_and_new_print_names_escaped(tmp_path: Path) -> None:
    home, evidence = tmp_path / "home", tmp_path / "ev"
    evidence.mkdir()
    (evidence / NAME).write_text("x")
    case = tmp_path / "c.casetrail"
    new = run(home, "new", str(case), "--title", f"Op {FAKE}", "--examiner", "A")
    imported = run(home, "import", str(case), str(evidence), "--no-analyse")
    for p in (new, imported):
        assert p.returncode == 0, p.stderr
        assert acting(p.stdout + p.stderr) == []
    assert visible(NAME) in imported.stdout
    assert visible(f"Op {FAKE}") in new.stdout


def test_verify_cannot_be_overwritten_by_a_file_name(hostile_case: tuple[Path, Path]) -> None:
    home, case = hostile_case
    items = json.loads(run(home, "items", str(case), "--json").stdout)
    target = next(i for i in items if i["name"] == NAME)  # --json: the exact name, escapes and all
    blob = case / "vault" / target["sha256"][:2] / target["sha256"][2:4] / target["sha256"]
    blob.chmod(0o644)
    blob.write_text("tampered\n")
    p = run(home, "verify", str(case), "--no-record")
    assert p.returncode == 1
    assert acting(p.stdout + p.stderr) == []
    modified = [line for line in p.stdout.splitlines() if line.startswith("MODIFIED")]
    assert modified == [f"MODIFIED\titem {target['id']}\t{visible(NAME)}"]
    report = json.loads(run(home, "verify", str(case), "--no-record", "--json").stdout)
    assert {"id": target["id"], "status": "modified"} in report["items"]


@pytest.mark.parametrize("command", [["items"], ["custody"], ["indicators"], ["search", "voters"],
                                     ["campaigns"]])
def test_every_listing_escapes_case_text(hostile_case: tuple[Path, Path], command: list[str]) -> None:
    home, case = hostile_case
    p = run(home, command[0], str(case), *command[1:])
    assert p.returncode == 0, p.stderr
    assert acting(p.stdout + p.stderr) == []


def test_json_stays_exact(hostile_case: tuple[Path, Path]) -> None:
    home, case = hostile_case
    items = json.loads(run(home, "items", str(case), "--json").stdout)
    assert NAME in [i["name"] for i in items]
    custody = json.loads(run(home, "custody", str(case), "--json").stdout)
    assert any(e["reason"] == f"warrant {FAKE}" for e in custody)
    hits = json.loads(run(home, "search", str(case), "voters", "--json").stdout)
    assert hits


def test_an_error_sentence_quoting_a_path_is_escaped(tmp_path: Path) -> None:
    """The guard under every command: even a sentence no command formats itself is escaped."""
    p = run(tmp_path / "home", "items", str(tmp_path / f"missing{FAKE}.casetrail"))
    assert p.returncode == 2
    assert acting(p.stdout + p.stderr) == []
    assert "\\x1b[1A" in p.stderr


def test_a_folder_with_a_name_that_is_not_utf8_imports_whole(tmp_path: Path) -> None:
    """Names are bytes: the folder imports (exit 0), the name is shown escaped and kept exactly."""
    home, evidence = tmp_path / "home", tmp_path / "ev"
    evidence.mkdir()
    bad = os.fsencode(evidence) + b"/report-\xff\x1b[2K.pdf"
    with open(bad, "wb") as fh:
        fh.write(b"%PDF-1.4\n")
    for n in range(5):
        (evidence / f"ok-{n}.txt").write_text(str(n))
    case = tmp_path / "c.casetrail"
    assert run(home, "new", str(case), "--title", "t", "--examiner", "e").returncode == 0
    p = run(home, "import", str(case), str(evidence), "--no-analyse")
    assert p.returncode == 0, p.stderr
    assert acting(p.stdout + p.stderr) == []
    assert "report-\\xff\\x1b[2K.pdf" in p.stdout
    items = json.loads(run(home, "items", str(case), "--json").stdout)
    assert len(items) == 6
    item = next(i for i in items if i["name"].startswith("report-"))
    assert item["name"] == "report-\\xff\x1b[2K.pdf"  # JSON: the displayable form, exact otherwise
    assert bytes.fromhex(item["name_bytes"]) == b"report-\xff\x1b[2K.pdf"
    verify = run(home, "verify", str(case))
    assert verify.returncode == 0, verify.stdout + verify.stderr
