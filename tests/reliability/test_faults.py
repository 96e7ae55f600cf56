# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults of the machine end in one sentence naming the file, are in custody, and leave nothing partial.

A full disk (a real tmpfs filled up), an I/O error on write and on sync (injected below Python
and SQLite by ``eio_shim.c``), a read-only medium (a tmpfs remounted read-only) and a permission
fault. After each: the message is one line that names the file and says why, without "internal
error" or a traceback; what could be recorded about the failure is in custody; no item lacks
its blob, no temp file is left, the database passes ``integrity_check`` and the case verifies.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.core import store
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from reliability.harness import remount_read_only

CT = [sys.executable, "-m", "desktop.cli"]
FAULTS_COUNTED: list[str] = []  # the fault classes this module exercised (docs/reliability.md)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_sentences(stderr: str, *must: str) -> None:
    """Every line a sentence of ours; none a traceback or an internal error; each ``must`` said."""
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    for line in _lines(stderr):
        assert line.startswith("casetrail: "), f"not one of our sentences: {line!r}"
    for text in must:
        assert text in stderr, f"{text!r} not said in: {stderr}"


def assert_nothing_partial(case_path: Path, absent: list[bytes] = ()) -> None:  # type: ignore[assignment]
    """The case opens, verifies, passes integrity_check, and holds no partial trace of ``absent``."""
    with Case.open(case_path) as case:
        assert case.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert case.vault.temp_files() == []
        for item in case.items():
            assert case.vault.blob_path(item.sha256).is_file(), f"item {item.id} has no blob"
        import hashlib

        for data in absent:
            digest = hashlib.sha256(data).hexdigest()
            assert not case.vault.blob_path(digest).exists(), "a failed file left a blob"
            assert case.db.execute("SELECT 1 FROM items WHERE sha256 = ?", (digest,)).fetchone() is None
        report = run_to_end(verify_case(case))
        assert report.ok, report.to_json()


def _run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _evidence(tmp_path: Path) -> tuple[Path, Path, bytes]:
    big = tmp_path / "ev" / "big.bin"
    big.parent.mkdir(exist_ok=True)
    data = os.urandom(5 << 20)
    big.write_bytes(data)
    small = tmp_path / "ev" / "small.txt"
    small.write_bytes(b"a small note naming http://fault.example/x\n")
    return big, small, data


def _fill(folder: Path) -> None:
    """Fill the file system holding ``folder`` to its last block."""
    with (folder / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * (64 << 10))
                fh.flush()
        except OSError:
            pass
    assert store.disk_full(folder / "x")


# -- a full disk ---------------------------------------------------------------------------

def test_a_file_larger_than_the_free_space_fails_alone_and_is_in_custody(
        tmpfs: Callable[[int], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = tmpfs(3072)
    case = fs / "c.casetrail"
    Case.create(case, title="t", examiner="e").close()
    big, small, data = _evidence(tmp_path)
    code, out, err = _run_cli(capsys, "import", str(case), str(big), str(small), "--no-analyse")
    assert code == 1
    assert_sentences(err, "not acquired: cannot write big.bin into the vault", "the disk is full",
                     "recorded in custody entry")
    assert "small.txt" in out
    with Case.open(case) as c:
        note = [e for e in c.custody() if e["detail"].get("what") == "not acquired"][-1]
        assert note["detail"]["files"][0]["path"] == str(big)
        assert "the disk is full" in note["detail"]["files"][0]["reason"]
    assert_nothing_partial(case, [data])
    FAULTS_COUNTED.append("disk full during acquisition")


def test_on_a_full_disk_verify_prints_its_result_and_import_says_why(
        tmpfs: Callable[[int], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = tmpfs(2048)
    case = fs / "c.casetrail"
    Case.create(case, title="t", examiner="e").close()
    _big, small, _data = _evidence(tmp_path)
    assert _run_cli(capsys, "import", str(case), str(small), "--no-analyse")[0] == 0
    _fill(fs)
    code, out, err = _run_cli(capsys, "verify", str(case))
    assert code == 0
    assert "intact: 1/1 items ok" in out
    assert_sentences(err, "the disk holding it is full", "will not be recorded in custody")
    code, out, err = _run_cli(capsys, "import", str(case), str(small))
    assert code == 2
    assert_sentences(err, f"cannot write to {case}", "the disk holding it is full")
    code, out, err = _run_cli(capsys, "items", str(case), "--json")
    assert code == 0
    assert '"small.txt"' in out
    (fs / "filler").unlink()
    assert_nothing_partial(case)
    FAULTS_COUNTED.append("disk full: verify, import, read commands")


# -- I/O errors, injected below Python and SQLite ----------------------------------------------

EIO_CASES = {
    "write of a large file": ({"CASETRAIL_EIO_WRITE": "vault/tmp"}, "big", "input/output error"),
    "write of a small file": ({"CASETRAIL_EIO_WRITE": "vault/tmp"}, "small", "input/output error"),
    "fsync of a large file": ({"CASETRAIL_EIO_SYNC": "vault/tmp"}, "big", "input/output error"),
    "syncfs of a batch": ({"CASETRAIL_EIO_SYNC": "vault"}, "small", "input/output error"),
    # Opening a case writes its database about 15 times (recovery, bindings): the 21st write is
    # the import's own.
    "write of the database": ({"CASETRAIL_EIO_WRITE": "case.sqlite", "CASETRAIL_EIO_AFTER": "20"}, "small",
                              "cannot write the case database"),
}


@pytest.mark.parametrize("fault", list(EIO_CASES))
def test_an_io_error_ends_in_one_sentence_and_nothing_partial(eio_shim: Path, tmp_path: Path,
                                                              fault: str) -> None:
    env_fault, which, said = EIO_CASES[fault]
    case = tmp_path / "c.casetrail"
    Case.create(case, title="t", examiner="e").close()
    big, small, _data = _evidence(tmp_path)
    target = big if which == "big" else small
    env = dict(os.environ, LD_PRELOAD=str(eio_shim), **env_fault)
    p = subprocess.run([*CT, "import", str(case), str(target), "--no-analyse"], capture_output=True,
                       text=True, env=env, timeout=300, check=False)
    assert p.returncode in (1, 2), (p.returncode, p.stderr)
    assert_sentences(p.stderr, said, target.name if "database" not in said else str(case))
    if "database" not in said:
        assert "recorded in custody entry" in p.stderr, p.stderr
    assert_nothing_partial(case, [target.read_bytes()] if "database" not in said else [])
    FAULTS_COUNTED.append(f"EIO on {fault}")


# -- a read-only medium ----------------------------------------------------------------------

def test_a_cleanly_closed_case_on_read_only_media_opens_for_every_read_command(
        tmpfs: Callable[[int], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = tmpfs(8192)
    case = fs / "c.casetrail"
    Case.create(case, title="t", examiner="e").close()
    _big, small, _data = _evidence(tmp_path)
    assert _run_cli(capsys, "import", str(case), str(small))[0] == 0
    remount_read_only(fs)
    for command in ("items", "custody", "indicators", "campaigns"):
        code, out, err = _run_cli(capsys, command, str(case), "--json")
        assert code == 0, (command, err)
        assert_sentences(err)
    code, out, err = _run_cli(capsys, "verify", str(case))
    assert code == 0
    assert "intact: 1/1 items ok" in out
    assert_sentences(err, "not writable", "will not be recorded")
    code, _out, err = _run_cli(capsys, "import", str(case), str(small))
    assert code == 2
    assert_sentences(err, f"cannot write to {case}", "Read-only file system")
    FAULTS_COUNTED.append("read-only medium")


def test_a_case_not_closed_cleanly_on_read_only_media_is_refused_in_one_sentence(
        tmpfs: Callable[[int], Path], capsys: pytest.CaptureFixture[str]) -> None:
    fs = tmpfs(8192)
    case = fs / "c.casetrail"
    c = Case.create(case, title="t", examiner="e")
    c.record("note", result="a change still in the write-ahead log")
    # Copy the folder while the writer holds changes in its log (a disk pulled out mid-work).
    copy = fs / "copy.casetrail"
    subprocess.run(["cp", "-a", str(case), str(copy)], check=True)
    c.close()
    assert (copy / "case.sqlite-wal").stat().st_size > 0
    (copy / "case.sqlite-shm").unlink(missing_ok=True)
    remount_read_only(fs)
    code, _out, err = _run_cli(capsys, "items", str(copy))
    assert code == 2
    assert_sentences(err, "read-only media and was not closed cleanly", "copy the case folder")
    FAULTS_COUNTED.append("read-only medium, not closed cleanly")


# -- permissions -----------------------------------------------------------------------------

def _without_root_powers() -> list[str]:
    """A command prefix under which file permissions apply to this process (root ignores them)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def test_an_unreadable_source_and_an_unwritable_case_are_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "c.casetrail"
    Case.create(case, title="t", examiner="e").close()
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not for you\n")
    secret.chmod(0o000)
    readable = tmp_path / "open.txt"
    readable.write_bytes(b"for anyone\n")
    prefix = _without_root_powers()
    p = subprocess.run([*prefix, *CT, "import", str(case), str(secret), str(readable), "--no-analyse"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 1, p.stderr
    assert_sentences(p.stderr, f"cannot read {secret}", "Permission denied", "recorded in custody entry")
    with Case.open(case, read_only=True) as c:
        assert [i.name for i in c.items()] == ["open.txt"]
    subprocess.run(["chmod", "-R", "a-w", str(case)], check=True)
    try:
        p = subprocess.run([*prefix, *CT, "import", str(case), str(readable)], capture_output=True, text=True,
                           timeout=300, check=False)
        assert p.returncode == 2
        assert_sentences(p.stderr, f"cannot write to {case}", "not writable")
        p = subprocess.run([*prefix, *CT, "verify", str(case)], capture_output=True, text=True, timeout=300,
                           check=False)
        assert p.returncode == 0, p.stderr
        assert "intact: 1/1 items ok" in p.stdout
        assert_sentences(p.stderr, "will not be recorded")
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(case)], check=True)
        secret.chmod(0o600)
    assert_nothing_partial(case, [b"not for you\n"])
    FAULTS_COUNTED.append("permission denied: a source, the case folder")


def test_a_damaged_database_page_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "c.casetrail"
    c = Case.create(case, title="t", examiner="e")
    for i in range(200):
        c.record("note", result=f"entry {i} " + "x" * 200)
    c.close()
    db = case / "case.sqlite"
    with sqlite3.connect(db) as probe:  # the custody table's leaf pages (SQLite's dbstat table)
        page = int(probe.execute("PRAGMA page_size").fetchone()[0])
        leaves = [int(r[0]) for r in probe.execute(
            "SELECT pageno FROM dbstat WHERE name = 'custody' AND pagetype = 'leaf'")]
    assert len(leaves) > 5
    data = bytearray(db.read_bytes())
    for number in leaves:  # scribble over them, as a failing sector would
        offset = (number - 1) * page
        data[offset + 100: offset + 400] = os.urandom(300)
    db.write_bytes(bytes(data))
    for command in ("items", "custody", "verify"):
        code, _out, err = _run_cli(capsys, command, str(case))
        assert_sentences(err, "failed its integrity check")
        if command != "items":  # the items may still read; the custody chain and verify cannot pass
            assert code in (1, 2), (command, err)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(db).execute("SELECT * FROM custody").fetchall()
    FAULTS_COUNTED.append("damaged database page")
