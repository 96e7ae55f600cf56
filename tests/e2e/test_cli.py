# SPDX-License-Identifier: GPL-3.0-or-later
"""The installed ``casetrail`` command, driven as a script would drive it (DESIGN §7)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from desktop import __version__

ITEM_KEYS = {"id", "parent_id", "kind", "name", "size", "mime", "sha256", "sha1", "md5", "status"}


def _casetrail() -> str:
    found = shutil.which("casetrail", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("no casetrail console script next to this Python; run pip install -e . first")
    return found


CT = _casetrail()


def _fast_import_flags() -> list[str]:
    """``--no-analyse`` when the CLI offers it: these tests are about acquisition, not parsing."""
    p = subprocess.run([CT, "import", "--help"], capture_output=True, text=True, timeout=60, check=False)
    return ["--no-analyse"] if "--no-analyse" in p.stdout else []


FAST = _fast_import_flags()


def _status_ok(status: str) -> bool:
    return status in ("acquired", "analysed") or status.startswith("analysis failed: ")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x10\x20\x30" * 3 for _ in range(3))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 3, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CASETRAIL_HOME=str(tmp_path / "home"))
    env.pop("CASETRAIL_CRASH_AT", None)
    return subprocess.run([CT, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def assert_clean_error(p: subprocess.CompletedProcess[str], code: int) -> str:
    assert p.returncode == code, f"exit {p.returncode}, wanted {code}; stderr: {p.stderr}"
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, f"an error is one line, got {lines}"
    assert lines[0].startswith("casetrail: ")
    return lines[0]


@pytest.fixture
def evidence(tmp_path: Path) -> dict[str, bytes]:
    files = {
        "note.txt": b"Analyst note: 192.0.2.44\n",
        "photo.jpg": _png(),  # a PNG named .jpg
        "sub/deeper/data.bin": bytes(range(256)) * 10,
        "sub/copy-of-note.txt": b"Analyst note: 192.0.2.44\n",
    }
    for rel, data in files.items():
        p = tmp_path / "ev" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


@pytest.fixture
def case(tmp_path: Path) -> Path:
    path = tmp_path / "c.casetrail"
    p = run(tmp_path, "new", str(path), "--title", "E2E", "--examiner", "A. Examiner", "--tlp", "green")
    assert p.returncode == 0, p.stderr
    assert "E2E" in p.stdout
    return path


def test_version(tmp_path: Path) -> None:
    p = run(tmp_path, "--version")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0] == f"casetrail {__version__}"
    for label in ("Built from:", "Python:", "Qt:", "SQLite:", "libmagic:", "FFmpeg:", "OCR engine:",
                  "OCR models:"):
        assert any(line.strip().startswith(label) for line in lines), label


def test_new_then_new_again_fails(tmp_path: Path, case: Path) -> None:
    assert (case / "case.sqlite").is_file()
    line = assert_clean_error(run(tmp_path, "new", str(case), "--title", "x", "--examiner", "y"), 2)
    assert "exists already" in line


def test_import_json_is_one_document(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    p = run(tmp_path, "import", str(case), str(tmp_path / "ev"), "--reason", "e2e", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)  # one document, nothing else on stdout
    assert {"imported", "failed", "skipped"} <= set(doc)
    assert doc["failed"] == []
    assert doc["skipped"] == []
    imported = {Path(r["source_path"]).relative_to(tmp_path / "ev").as_posix(): r
                for r in doc["imported"] if r["parent_id"] is None}
    assert set(imported) == set(evidence)
    for rel, data in evidence.items():
        assert imported[rel]["sha256"] == hashlib.sha256(data).hexdigest()
        assert set(imported[rel]) >= ITEM_KEYS
    assert imported["sub/copy-of-note.txt"]["blob_existed"] is True


def test_import_plain_prints_one_line_per_item(
    tmp_path: Path, case: Path, evidence: dict[str, bytes]
) -> None:
    p = run(tmp_path, "import", str(case), str(tmp_path / "ev"), *FAST)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == len(evidence)
    assert all(hashlib.sha256(d).hexdigest() in p.stdout for d in evidence.values())
    again = run(tmp_path, "import", str(case), str(tmp_path / "ev" / "note.txt"), *FAST)
    assert again.returncode == 0
    assert "re-acquisition recorded" in again.stdout


def test_items_json_shape(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    assert run(tmp_path, "import", str(case), str(tmp_path / "ev"), *FAST).returncode == 0
    p = run(tmp_path, "items", str(case), "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert isinstance(rows, list)
    assert len(rows) == len(evidence)
    if FAST:
        assert {r["status"] for r in rows} == {"acquired"}, "not analysed yet"
    for r in rows:
        assert set(r) >= ITEM_KEYS, f"missing {ITEM_KEYS - set(r)}"
        assert _status_ok(r["status"]), r["status"]
        assert r["parent_id"] is None
        assert isinstance(r["id"], int)
        assert isinstance(r["size"], int)
    by_name = {r["name"]: r for r in rows}
    for rel, data in evidence.items():
        r = by_name[Path(rel).name]
        assert (r["sha256"], r["sha1"], r["md5"], r["size"]) == (
            hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(),  # noqa: S324
            hashlib.md5(data).hexdigest(), len(data))  # noqa: S324
    assert by_name["photo.jpg"]["mime"] == "image/png"
    assert by_name["photo.jpg"]["kind"] == "image"
    plain = run(tmp_path, "items", str(case))
    assert "EXTENSION MISMATCH" in plain.stdout


def _blob(case: Path, data: bytes) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    return case / "vault" / sha[:2] / sha[2:4] / sha


def test_verify_exit_codes(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    assert run(tmp_path, "import", str(case), str(tmp_path / "ev"), *FAST).returncode == 0
    p = run(tmp_path, "verify", str(case), "--json")
    assert p.returncode == 0, p.stderr
    v = json.loads(p.stdout)
    assert v["ok"] is True
    assert v["custody"] == {**v["custody"], "ok": True, "first_bad_seq": None}
    assert {i["status"] for i in v["items"]} == {"ok"}

    blob = _blob(case, evidence["sub/deeper/data.bin"])
    os.chmod(blob, 0o644)
    with blob.open("r+b") as f:
        f.seek(100)
        f.write(b"\x00")
    p = run(tmp_path, "verify", str(case), "--json")
    assert p.returncode == 1
    v = json.loads(p.stdout)
    assert v["ok"] is False
    assert {i["status"] for i in v["items"] if i["status"] != "ok"} == {"modified"}
    assert len([i for i in v["items"] if i["status"] != "ok"]) == 1

    _blob(case, evidence["photo.jpg"]).unlink()
    p = run(tmp_path, "verify", str(case))
    assert p.returncode == 1
    assert "MISSING" in p.stdout
    assert "MODIFIED" in p.stdout
    assert "DISCREPANCIES FOUND" in p.stdout

    p = run(tmp_path, "verify", str(tmp_path / "ev"))
    assert_clean_error(p, 2)


def test_verify_detects_custody_tampering(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    import sqlite3

    assert run(tmp_path, "import", str(case), str(tmp_path / "ev" / "note.txt"), *FAST).returncode == 0
    conn = sqlite3.connect(case / "case.sqlite", isolation_level=None)
    try:
        conn.execute("DROP TRIGGER custody_no_update")
        conn.execute("UPDATE custody SET reason = 'edited' WHERE seq = 2")
    finally:
        conn.close()
    p = run(tmp_path, "verify", str(case), "--json")
    assert p.returncode == 1
    v = json.loads(p.stdout)
    assert v["custody"]["ok"] is False
    assert v["custody"]["first_bad_seq"] == 2


def test_custody_json(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    p = run(tmp_path, "import", str(case), str(tmp_path / "ev"), "--reason", "warrant 9", *FAST)
    assert p.returncode == 0, p.stderr
    assert run(tmp_path, "verify", str(case)).returncode == 0
    p = run(tmp_path, "custody", str(case), "--json")
    assert p.returncode == 0, p.stderr
    entries = json.loads(p.stdout)
    actions = [e["action"] for e in entries]
    assert actions[0] == "created"
    assert actions[-1] == "verified"
    assert actions.count("acquired") == len(evidence)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    for e in (e for e in entries if e["action"] == "acquired"):
        assert e["reason"] == "warrant 9"
        assert e["examiner"] == "A. Examiner"
        assert len(e["entry_hash"]) == 64
        assert len(e["prev_hash"]) == 64
    assert entries[-1]["result"] == "intact"


def test_examiner_from_environment(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    env = dict(os.environ, CASETRAIL_HOME=str(tmp_path / "home"), CASETRAIL_EXAMINER="B. Second")
    p = subprocess.run([CT, "import", str(case), str(tmp_path / "ev" / "note.txt"), "--json", *FAST],
                       capture_output=True, text=True, env=env, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    entries = json.loads(run(tmp_path, "custody", str(case), "--json").stdout)
    acquired = [e for e in entries if e["action"] == "acquired"]
    assert [e["examiner"] for e in acquired] == ["B. Second"]


@pytest.mark.parametrize("command", ["items", "custody", "verify", "import"])
def test_non_case_folder(tmp_path: Path, command: str) -> None:
    (tmp_path / "plain").mkdir()
    args = [command, str(tmp_path / "plain")] + ([str(tmp_path)] if command == "import" else [])
    line = assert_clean_error(run(tmp_path, *args), 2)
    assert "not a Casetrail case" in line


def test_import_missing_path(tmp_path: Path, case: Path) -> None:
    line = assert_clean_error(run(tmp_path, "import", str(case), str(tmp_path / "nope")), 2)
    assert "does not exist" in line
    entries = json.loads(run(tmp_path, "custody", str(case), "--json").stdout)
    assert [e["action"] for e in entries] == ["created"]


@pytest.mark.parametrize("args", [
    ["items"],
    ["import", "only-a-case"],
    ["new", "x.casetrail"],
    ["new", "x.casetrail", "--title", "t", "--examiner", "e", "--tlp", "purple"],
    ["frobnicate"],
    ["verify", "a", "b"],
])
def test_usage_errors(tmp_path: Path, args: list[str]) -> None:
    assert_clean_error(run(tmp_path, *args), 2)
    assert not (tmp_path / "x.casetrail").exists()


def test_writer_lock_refuses_second_import(tmp_path: Path, case: Path, evidence: dict[str, bytes]) -> None:
    from desktop.core.case import Case

    with Case.open(case) as holder:
        assert not holder.read_only
        line = assert_clean_error(run(tmp_path, "import", str(case), str(tmp_path / "ev"), *FAST), 2)
        assert "another Casetrail window or process" in line
        p = run(tmp_path, "items", str(case), "--json")  # reading still works
        assert p.returncode == 0
        assert json.loads(p.stdout) == []


def test_read_only_command_upgrades_a_case_from_an_older_casetrail(tmp_path: Path) -> None:
    from desktop.core import store

    case = tmp_path / "old.casetrail"
    assert subprocess.run([CT, "new", str(case), "--title", "t", "--examiner", "e"],
                          capture_output=True, timeout=60, check=False).returncode == 0
    conn = sqlite3.connect(case / "case.sqlite")
    # A case as Casetrail wrote it at schema 4: migrations 5 to 15 undone.
    conn.execute("DROP TABLE occurrence_counting")
    for trigger in ("occurrences_counted", "occurrences_uncounted", "occurrences_recounted"):
        conn.execute(f"DROP TRIGGER {trigger}")
    for index in ("indicators_sort", "indicators_by_value", "indicators_by_occurrences",
                  "indicators_by_items", "indicators_by_first_seen", "items_tree_name", "items_tree_kind",
                  "items_tree_size", "items_tree_mime", "items_tree_acquired", "items_tree_status",
                  "items_tree_sha256", "items_tree_examiner", "custody_action", "occurrences_indicator_item",
                  "items_by_name", "items_by_kind", "items_by_size", "items_by_mime", "items_by_acquired",
                  "items_by_status", "items_by_examiner", "indicators_by_skeleton"):
        conn.execute(f"DROP INDEX {index}")
    conn.execute("CREATE INDEX occurrences_indicator ON occurrences(indicator_id)")
    for column in ("sort_key", "n_occurrences", "n_items", "n_header", "n_body", "n_attachment",
                   "n_metadata", "n_ocr", "n_analyst", "skeleton"):
        conn.execute(f"ALTER TABLE indicators DROP COLUMN {column}")
    for column in ("name_bytes", "source_bytes"):
        conn.execute(f"ALTER TABLE items DROP COLUMN {column}")
    conn.execute("ALTER TABLE indicators DROP COLUMN warnings")
    conn.execute("DROP TABLE blob_chunks")
    conn.executescript("DROP INDEX items_same_as; ALTER TABLE items DROP COLUMN same_as; "
                       "DROP TABLE campaigns; DROP TABLE campaign_tags;")
    for column in ("export", "content_sha256", "message_format"):
        conn.execute(f"ALTER TABLE checkpoints DROP COLUMN {column}")
    conn.execute("DROP TABLE intel_matches")
    conn.execute("DROP TABLE intel_asn")
    for column in ("status", "frames_agree", "reads", "ocr_detail", "enhanced_item_id"):
        conn.execute(f"ALTER TABLE occurrences DROP COLUMN {column}")
    for table in ("key_findings", "statements", "distribution", "briefing_settings", "source_grades"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    p = subprocess.run([CT, "items", str(case), "--json"], capture_output=True, text=True, timeout=60,
                       check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == []
    conn = sqlite3.connect(case / "case.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    conn.close()
