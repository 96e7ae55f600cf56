# SPDX-License-Identifier: GPL-3.0-or-later
"""Signed checkpoints: the examiner's key, signatures, and tampering they catch."""

from __future__ import annotations

import base64
import hashlib
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from desktop.core import checkpoint as ck
from desktop.core.case import Case
from desktop.core.checkpoint import SigningKeyError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(h))
    return h


def _raw_conn(case: Case) -> sqlite3.Connection:
    """A second connection with the append-only triggers removed: what an insider would do."""
    conn = sqlite3.connect(case.path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_update")
    conn.execute("DROP TRIGGER custody_no_delete")
    return conn


def test_key_is_made_once_private_and_named_by_its_hash(case: Case, home: Path) -> None:
    cp = ck.sign_checkpoint(case)
    files = list((home / "keys").glob("*.ed25519.pem"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    raw = base64.b64decode(cp.public_key)
    assert len(raw) == 32
    assert cp.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert cp.public_key_hex == raw.hex()
    again = ck.sign_checkpoint(case)
    assert again.key_id == cp.key_id
    assert len(list((home / "keys").glob("*.ed25519.pem"))) == 1
    assert cp.key_id in ck.known_key_ids()


def test_signature_is_deterministic_and_recorded(case: Case) -> None:
    a = ck.make_checkpoint(case, legacy=True)
    b = ck.make_checkpoint(case, legacy=True)
    assert a.signature == b.signature
    assert a.message() == b.message()
    assert a.message() == f"casetrail-checkpoint-v1\n{case.meta['case_id']}\n1\n{a.head}".encode()
    v2 = ck.make_checkpoint(case, export="briefing", content_sha256="ab" * 32)
    assert v2.message() == (f"casetrail-checkpoint-v2\n{case.meta['case_id']}\n1\n{a.head}\n{v2.at}\n"
                            f"briefing\n{'ab' * 32}").encode()
    assert ck.verify_one(v2) is None
    stored = ck.sign_checkpoint(case)
    last = case.custody()[-1]
    assert last["action"] == "note"
    assert last["detail"]["what"] == "signed checkpoint"
    assert last["detail"]["custody_seq"] == stored.custody_seq == last["seq"] - 1
    report = ck.verify_checkpoints(case)
    assert report.ok
    assert report.checked == 1
    assert report.problems == []
    assert report.unknown_keys == []
    assert ck.latest_checkpoint(case) == stored


def test_forged_signature_is_caught(case: Case) -> None:
    cp = ck.sign_checkpoint(case)
    bad = bytearray(base64.b64decode(cp.signature))
    bad[0] ^= 1
    case.db.conn.execute("UPDATE checkpoints SET signature = ? WHERE id = ?",
                         (base64.b64encode(bad).decode(), cp.id))
    report = ck.verify_checkpoints(case)
    assert not report.ok
    assert "signature does not match" in report.problems[0]


def test_altered_checkpoint_head_is_caught(case: Case) -> None:
    cp = ck.sign_checkpoint(case)
    case.db.conn.execute("UPDATE checkpoints SET head = ? WHERE id = ?", ("f" * 64, cp.id))
    problems = ck.verify_checkpoints(case).problems
    assert any("signature" in p for p in problems)
    assert any("another hash" in p for p in problems)


def test_truncated_tail_is_caught(case: Case) -> None:
    case.record("note", detail={"what": "one"})
    case.record("note", detail={"what": "two"})
    cp = ck.sign_checkpoint(case)
    conn = _raw_conn(case)
    conn.execute("DELETE FROM custody WHERE seq >= ?", (cp.custody_seq,))
    conn.close()
    report = ck.verify_checkpoints(case)
    assert not report.ok
    assert "cut short" in report.problems[0]


def test_rewritten_history_is_caught(case: Case) -> None:
    case.record("note", detail={"what": "one"})
    cp = ck.sign_checkpoint(case)
    conn = _raw_conn(case)
    conn.execute("UPDATE custody SET entry_hash = ? WHERE seq = ?", ("0" * 64, cp.custody_seq))
    conn.close()
    assert "rewritten" in ck.verify_checkpoints(case).problems[0]


def test_wrong_key_id_and_other_case_are_caught(case: Case, tmp_path: Path) -> None:
    cp = ck.sign_checkpoint(case)
    case.db.conn.execute("UPDATE checkpoints SET key_id = '0000000000000000' WHERE id = ?", (cp.id,))
    assert "key id" in ck.verify_checkpoints(case).problems[0]
    with Case.create(tmp_path / "other.casetrail", title="o", examiner="A. Examiner") as other:
        problems = ck.verify_external(other, cp)
    assert any("not this case" in p for p in problems)


def test_unknown_key_is_reported(case: Case, home: Path) -> None:
    ck.sign_checkpoint(case)
    shutil.rmtree(home / "keys")
    report = ck.verify_checkpoints(case)
    assert not report.ok, "a key this workstation does not trust is a discrepancy (issue 11)"
    assert "does not trust" in report.problems[0]
    assert len(report.unknown_keys) == 1


def test_damaged_key_file_is_a_clear_error(case: Case, home: Path) -> None:
    ck.sign_checkpoint(case)
    key = next((home / "keys").glob("*.ed25519.pem"))
    key.chmod(0o600)
    key.write_bytes(b"not a key")
    with pytest.raises(SigningKeyError, match="not a valid key file"):
        ck.sign_checkpoint(case)


def test_key_created_by_many_threads_at_once_is_one_key(tmp_path, monkeypatch) -> None:
    import threading

    from desktop.core.checkpoint import examiner_key, key_id

    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "home"))
    keys: list[str] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            raw = examiner_key("Racing Examiner").public_key().public_bytes_raw()
            keys.append(key_id(raw))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(keys)) == 1
    assert not list((tmp_path / "home" / "keys").glob("*.tmp"))
