# SPDX-License-Identifier: GPL-3.0-or-later
"""The integrity commands as an opposing expert drives them (issue 11): fail closed, no-record, JCS."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
import rfc8785
from test_cli import CT, assert_clean_error


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CASETRAIL_HOME=str(tmp_path / "home"))
    return subprocess.run([CT, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


@pytest.fixture
def case(tmp_path: Path) -> Path:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "note.txt").write_text("Seen 192.0.2.44 — café\n")
    path = tmp_path / "c.casetrail"
    made = run(tmp_path, "new", str(path), "--title", "Integrity", "--examiner", "A. Examiner")
    assert made.returncode == 0, made.stderr
    p = run(tmp_path, "import", str(path), str(ev), "--reason", "warrant 7")
    assert p.returncode == 0, p.stderr
    return path


def test_custody_json_is_exactly_what_is_hashed(tmp_path: Path, case: Path) -> None:
    entries = json.loads(run(tmp_path, "custody", str(case), "--json").stdout)
    prev = "0" * 64
    for e in entries:
        body = {k: v for k, v in e.items() if k != "entry_hash"}
        assert len(body) == 16
        assert e["prev_hash"] == prev
        assert hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(body)).hexdigest() == e["entry_hash"]
        prev = e["entry_hash"]
    assert isinstance(entries[1]["detail"], str)  # JSON text, hashed as a string


def test_verify_no_record_appends_nothing(tmp_path: Path, case: Path) -> None:
    db = case / "case.sqlite"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    os.chmod(case, 0o555)  # noqa: S103 - a read-only copy, as an expert receives it
    try:
        p = run(tmp_path, "verify", str(case), "--no-record", "--json")
    finally:
        os.chmod(case, 0o755)  # noqa: S103
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["recorded"] is False
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_brief_of_a_tampered_case_is_refused_in_one_sentence(tmp_path: Path, case: Path) -> None:
    conn = sqlite3.connect(case / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_delete")
    conn.execute("DELETE FROM custody WHERE seq = (SELECT MAX(seq) FROM custody)")
    conn.execute("UPDATE case_meta SET value = 'clear' WHERE key = 'tlp'")
    conn.close()
    out = tmp_path / "b.pdf"
    line = assert_clean_error(run(tmp_path, "brief", str(case), "-o", str(out)), 1)
    assert "failed verification" in line
    assert not out.exists()
    assert run(tmp_path, "verify", str(case)).returncode == 1
    p = run(tmp_path, "brief", str(case), "-o", str(out), "--despite-discrepancies")
    assert p.returncode == 0, p.stderr
    assert out.is_file()
