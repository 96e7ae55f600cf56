# SPDX-License-Identifier: GPL-3.0-or-later
"""The case folder: layout, settings, single writer, corrupted databases, crash recovery."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from desktop.core import store
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.errors import CaseOpenError, ReadOnlyCaseError
from desktop.core.progress import run_to_end
from desktop.core.vault import Vault


def _recovered(case: Case) -> list[dict[str, object]]:
    return [e for e in case.custody() if e["action"] == "recovered"]


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- creating ------------------------------------------------------------------------------


def test_create_lays_out_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "op.casetrail"
    with Case.create(path, title="Operation X", examiner="A. Examiner", tlp="red") as c:
        assert not c.read_only
        assert c.read_only_reason == ""
        assert c.title == "Operation X"
        assert c.meta["tlp"] == "red"
        assert c.meta["examiner"] == "A. Examiner"
        assert len(c.meta["case_id"]) == 36
        entries = c.custody()
        assert [e["action"] for e in entries] == ["created"]
        assert entries[0]["detail"]["title"] == "Operation X"
    assert (path / "case.sqlite").is_file()
    assert (path / "vault" / "tmp").is_dir()
    assert (path / "exports").is_dir()
    assert (path / "lock").exists()


def test_database_settings_and_schema_version(tmp_path: Path) -> None:
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as c:
        conn = c.db.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION >= 1
    raw = sqlite3.connect(tmp_path / "c.casetrail" / "case.sqlite")
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    finally:
        raw.close()


def test_create_over_existing_folder_fails(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="first", examiner="e").close()
    before = _file_sha(path / "case.sqlite")
    with pytest.raises(CaseOpenError, match="exists already"):
        Case.create(path, title="second", examiner="e")
    assert _file_sha(path / "case.sqlite") == before
    with Case.open(path) as c:
        assert c.title == "first"


def test_create_over_unrelated_folder_fails(tmp_path: Path) -> None:
    (tmp_path / "x.casetrail").mkdir()
    (tmp_path / "x.casetrail" / "keep.txt").write_text("mine")
    with pytest.raises(CaseOpenError):
        Case.create(tmp_path / "x.casetrail", title="t", examiner="e")
    assert sorted(p.name for p in (tmp_path / "x.casetrail").iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("kwargs", [
    {"title": "t", "examiner": "e", "tlp": "purple"},
    {"title": "  ", "examiner": "e"},
    {"title": "t", "examiner": ""},
])
def test_create_refuses_bad_arguments(tmp_path: Path, kwargs: dict[str, str]) -> None:
    with pytest.raises(CaseOpenError):
        Case.create(tmp_path / "c.casetrail", **kwargs)
    assert not (tmp_path / "c.casetrail").exists()


# -- opening -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["missing", "empty-dir", "file"])
def test_open_non_case_fails(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x.casetrail"
    if make == "empty-dir":
        path.mkdir()
    elif make == "file":
        path.write_text("hello")
    with pytest.raises(CaseOpenError, match="not a Casetrail case"):
        Case.open(path)


def test_garbage_database_fails_to_open(tmp_path: Path) -> None:
    path = tmp_path / "x.casetrail"
    path.mkdir()
    (path / "case.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CaseOpenError, match="cannot open the case database"):
        Case.open(path)
    lock = FileLock(str(path / "lock"), timeout=0)
    lock.acquire()  # a failed open gave the writer lock back (Timeout here otherwise)
    lock.release()


def test_second_opener_gets_read_only_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    with Case.create(path, title="t", examiner="e") as first:
        with Case.open(path) as second:
            assert second.read_only
            assert "another Casetrail window or process" in second.read_only_reason
            with pytest.raises(ReadOnlyCaseError, match="read-only"):
                second.record("note", result="should not be written")
            assert second.custody() == first.custody()
        first.record("note", result="the writer still writes")
    with Case.open(path) as third:
        assert not third.read_only, "the lock is free once the writer closed"
        assert [e["result"] for e in third.custody()][-1] == "the writer still writes"


def test_read_only_on_request(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    with Case.open(path, read_only=True) as ro:
        assert ro.read_only
        assert "on request" in ro.read_only_reason
        with Case.open(path) as rw:
            assert not rw.read_only, "a read-only opener does not hold the lock"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    raw = sqlite3.connect(path / "case.sqlite")
    raw.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(CaseOpenError, match="newer Casetrail"):
        Case.open(path)
    with pytest.raises(CaseOpenError):
        Case.open(path, read_only=True)


def test_transaction_rolls_back_on_error(case: Case) -> None:
    before = case.custody()
    def write_then_fail() -> None:
        with case.transaction() as conn:
            conn.execute("INSERT INTO case_meta (key, value) VALUES ('k', 'v')")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert case.custody() == before
    assert case.db.execute("SELECT count(*) FROM case_meta WHERE key = 'k'").fetchone()[0] == 0


# -- a corrupted database ------------------------------------------------------------------


def _busy_case(path: Path, evidence: Path) -> None:
    evidence.mkdir()
    for n in range(60):
        (evidence / f"f{n:03}.txt").write_bytes(f"file {n}\n".encode() * (n + 1))
    with Case.create(path, title="busy", examiner="e") as c:
        run_to_end(import_paths(c, [evidence], reason="r" * 200))
        for n in range(150):
            c.record("note", result=f"note {n} " + "x" * 300)


def _pages(db: Path) -> tuple[int, int]:
    raw = sqlite3.connect(db)
    try:
        size = raw.execute("PRAGMA page_size").fetchone()[0]
        count = raw.execute("PRAGMA page_count").fetchone()[0]
        assert raw.execute("PRAGMA freelist_count").fetchone()[0] == 0
    finally:
        raw.close()
    return size, count


@pytest.fixture(scope="module")
def busy_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("busy")
    path = base / "busy.casetrail"
    _busy_case(path, base / "ev")
    assert not (path / "case.sqlite-wal").exists() or (path / "case.sqlite-wal").stat().st_size == 0
    return path


@pytest.mark.parametrize("where", [0.2, 0.4, 0.5, 0.6, 0.8, 1.0])
def test_corrupted_database_never_opens_writable(tmp_path: Path, busy_case: Path, where: float) -> None:
    path = tmp_path / "copy.casetrail"
    path.mkdir()
    (path / "vault").symlink_to(busy_case / "vault")
    db = path / "case.sqlite"
    db.write_bytes((busy_case / "case.sqlite").read_bytes())
    size, count = _pages(db)
    assert count >= 20, "the case must span enough pages for the test to mean something"
    page = max(2, min(count, round(count * where)))  # 1-based page number; page 1 holds the schema
    data = bytearray(db.read_bytes())
    start = (page - 1) * size
    data[start : start + 24] = b"\xa5" * 24  # b-tree page header / overflow pointer: structure
    data[start + size // 2 : start + size // 2 + 64] = b"\x00\xff" * 32
    db.write_bytes(bytes(data))
    corrupted = _file_sha(db)
    refused: CaseOpenError | None = None
    try:
        c = Case.open(path)
    except CaseOpenError as exc:
        refused = exc
    if refused is not None:
        assert "case.sqlite" in str(refused)
        print(f"page {page}/{count}: refused: {refused}")
    else:
        with c:
            assert c.read_only, f"a corrupted database (page {page}) was opened writable"
            assert "integrity check" in c.read_only_reason
            print(f"page {page}/{count}: read-only: {c.read_only_reason}")
            with pytest.raises(ReadOnlyCaseError):
                c.record("note", result="must not be written")
    assert _file_sha(db) == corrupted, "opening a corrupted database wrote to it"


# -- recovery of what a crash left behind --------------------------------------------------


def test_temp_file_is_quarantined_and_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    leftover = path / "vault" / "tmp" / "3f2a.part"
    leftover.write_bytes(b"half a copy")
    with Case.open(path) as c:
        assert len(c.recovery) == 1
        assert "temp file" in c.recovery[0]
        entries = _recovered(c)
    assert not leftover.exists()
    quarantined = list((path / "quarantine").iterdir())
    assert len(quarantined) == 1
    assert quarantined[0].read_bytes() == b"half a copy", "a leftover is kept, never deleted"
    assert len(entries) == 1
    assert entries[0]["source"] == "vault/tmp/3f2a.part"
    assert entries[0]["detail"]["kind"] == "temp file"
    for _ in range(3):
        with Case.open(path) as again:
            assert again.recovery == []
            assert _recovered(again) == entries


def _plant_blob(case_path: Path, content: bytes, name: str | None = None, *, journal: bool = True) -> Path:
    """What a crash between linking a blob and recording it leaves: the blob and its journal entry."""
    name = name or hashlib.sha256(content).hexdigest()
    blob = case_path / "vault" / name[:2] / name[2:4] / name
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(content)
    os.chmod(blob, 0o444)
    if journal:
        (case_path / "vault" / "journal" / f"crash-{name[:8]}.json").write_text(json.dumps({"blobs": [name]}))
    return blob


def test_recovery_looks_only_at_the_journal_and_the_temp_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.casetrail"
    src = tmp_path / "a.txt"
    src.write_bytes(b"recorded")
    with Case.create(path, title="t", examiner="e") as c:
        run_to_end(import_paths(c, [src]))
    assert list((path / "vault" / "journal").iterdir()) == [], "a recorded batch settles its entry"
    orphan = _plant_blob(path, b"linked, then the power went")

    def scanned(self: Vault) -> Iterator[Path]:
        raise AssertionError("recovery must not walk every blob of a journalled vault")

    monkeypatch.setattr(Vault, "blobs", scanned)
    with Case.open(path) as c:
        assert [e["sha256"] for e in _recovered(c)] == [orphan.name]
    assert list((path / "vault" / "journal").iterdir()) == []


def test_an_unreadable_journal_entry_means_every_blob_is_looked_at(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    blob = _plant_blob(path, b"named by an entry the crash cut short", journal=False)
    (path / "vault" / "journal" / "cut.json").write_text('{"blobs": ["')
    with Case.open(path) as c:
        assert [e["sha256"] for e in _recovered(c)] == [blob.name], "fail closed: a full scan"
    assert list((path / "vault" / "journal").iterdir()) == []


def test_a_case_from_before_the_journal_is_scanned_once(tmp_path: Path) -> None:
    path = tmp_path / "old.casetrail"
    Case.create(path, title="t", examiner="e").close()
    (path / "vault" / "journal").rmdir()  # as an older Casetrail made it
    blob = _plant_blob(path, b"orphan of an older version", journal=False)
    with Case.open(path) as c:
        assert [e["sha256"] for e in _recovered(c)] == [blob.name]
    assert (path / "vault" / "journal").is_dir()


def test_orphan_blob_with_right_content_is_kept_and_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    blob = _plant_blob(path, b"verified but never recorded")
    for _ in range(3):
        with Case.open(path) as c:
            entries = _recovered(c)
    assert blob.read_bytes() == b"verified but never recorded"
    assert not (path / "quarantine").exists()
    assert len(entries) == 1
    assert entries[0]["sha256"] == blob.name
    assert "kept" in entries[0]["result"]


def test_kept_orphan_is_attached_by_a_reimport(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    blob = _plant_blob(path, b"evidence")
    src = tmp_path / "evidence.txt"
    src.write_bytes(b"evidence")
    with Case.open(path) as c:
        report = run_to_end(import_paths(c, [src]))
    assert report.acquired[0].blob_existed
    assert report.acquired[0].item.sha256 == blob.name
    assert list((path / "vault").rglob(blob.name)) == [blob]


def test_orphan_blob_with_wrong_content_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    name = hashlib.sha256(b"what it claims to be").hexdigest()
    blob = _plant_blob(path, b"something else", name)
    with Case.open(path) as c:
        entries = _recovered(c)
    with Case.open(path) as c:
        assert _recovered(c) == entries
    assert not blob.exists()
    quarantined = list((path / "quarantine").iterdir())
    assert len(quarantined) == 1
    assert quarantined[0].read_bytes() == b"something else"
    assert len(entries) == 1
    assert entries[0]["sha256"] == hashlib.sha256(b"something else").hexdigest()
    assert "does not match" in entries[0]["result"]


def test_recorded_blob_is_not_an_orphan(case: Case, evidence: Path) -> None:
    (evidence / "a.txt").write_bytes(b"a")
    run_to_end(import_paths(case, [evidence]))
    path = case.path
    case.close()
    with Case.open(path) as c:
        assert c.recovery == []
        assert _recovered(c) == []


def test_read_only_opener_does_not_recover(tmp_path: Path) -> None:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    leftover = path / "vault" / "tmp" / "x.part"
    leftover.write_bytes(b"x")
    with Case.open(path, read_only=True) as c:
        assert c.recovery == []
        assert _recovered(c) == []
    assert leftover.exists()


def test_file_left_in_quarantine_by_an_interrupted_recovery_is_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "q.casetrail"
    Case.create(path, title="t", examiner="e").close()
    (path / "quarantine").mkdir()
    stray = path / "quarantine" / "20261125T000000Z-abc.part"
    stray.write_bytes(b"moved, then the process died before recording")
    with Case.open(path) as case:
        assert any("quarantined file" in r for r in case.recovery)
        entries = _recovered(case)
        assert len(entries) == 1
        assert entries[0]["sha256"] == hashlib.sha256(stray.read_bytes()).hexdigest()
    with Case.open(path) as case:
        assert case.recovery == []
        assert len(_recovered(case)) == 1
    assert stray.exists()  # never deleted


def test_temp_link_to_a_blob_is_removed_and_the_blob_kept(tmp_path: Path) -> None:
    path = tmp_path / "l.casetrail"
    src = tmp_path / "e.txt"
    src.write_bytes(b"evidence")
    with Case.create(path, title="t", examiner="e") as case:
        run_to_end(import_paths(case, [src]))
        blob = case.vault.blob_path(hashlib.sha256(b"evidence").hexdigest())
    link = path / "vault" / "tmp" / "deadbeef.part"
    os.link(blob, link)  # what a crash between link and unlink leaves
    with Case.open(path) as case:
        assert any("temp link" in r for r in case.recovery)
        assert blob.read_bytes() == b"evidence"
        assert blob.stat().st_nlink == 1
        assert not link.exists()
        assert not (path / "quarantine").exists()


def test_every_way_of_acquiring_settles_its_journal_entry(tmp_path: Path) -> None:
    from desktop.core.acquire import acquire_derived, acquire_reference

    path = tmp_path / "c.casetrail"
    src = tmp_path / "a.txt"
    src.write_bytes(b"evidence")
    with Case.create(path, title="t", examiner="e") as c:
        run_to_end(import_paths(c, [src]))
        parent = c.items()[0]
        acquire_derived(c, parent, "part.bin", b"a part", "attachment")
        acquire_reference(c, b"feed bytes", name="feed.json", source="feed")
        assert len(c.items()) == 3
    assert list((path / "vault" / "journal").iterdir()) == [], "nothing is left for recovery to look at"
