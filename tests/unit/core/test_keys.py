# SPDX-License-Identifier: GPL-3.0-or-later
"""Keys, trust, receipts and the ledger: rollback, truncation and re-signing are named (issue 11)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from desktop.core import keys, ledger
from desktop.core.case import Case
from desktop.core.checkpoint import sign_checkpoint
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from reports.csv_export import export_csv

LEGACY = Path(__file__).resolve().parents[2] / "data" / "legacy" / "legacy-case.tar.gz"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(h))
    return h


def findings(path: Path, **kw: object) -> list[str]:
    with Case.open(path) as case:
        report = run_to_end(verify_case(case, record=False, **kw))  # type: ignore[arg-type]
        return [] if report.ok else report.findings()


def test_the_key_is_encrypted_and_the_passphrase_is_needed(case: Case, home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sign_checkpoint(case)
    pem = keys.key_file(case.examiner).read_bytes()
    assert b"ENCRYPTED" in pem
    with pytest.raises(TypeError):  # taking the key file gives nobody the power to sign
        serialization.load_pem_private_key(pem, password=None)
    monkeypatch.setenv("CASETRAIL_PASSPHRASE", "wrong")
    with pytest.raises(keys.SigningKeyError, match="passphrase does not unlock"):
        keys.examiner_key(case.examiner)
    monkeypatch.delenv("CASETRAIL_PASSPHRASE")
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(keys.PassphraseNeeded, match="set CASETRAIL_PASSPHRASE"):
        keys.examiner_key(case.examiner)
    keys.set_passphrase("test-suite-passphrase")  # what the window's dialog does, once
    try:
        assert keys.examiner_key(case.examiner)
    finally:
        keys.set_passphrase("")


def test_list_export_trust(case: Case, home: Path, tmp_path: Path) -> None:
    sign_checkpoint(case)
    mine = keys.list_keys()
    assert [k.to_json() for k in mine] == [{"fingerprint": mine[0].fingerprint, "examiner": "A. Examiner",
                                           "trusted": True, "private": True}]
    out = tmp_path / "a.json"
    keys.export_key(mine[0].fingerprint[:16], out)
    other = tmp_path / "other-home"
    shutil.copy(out, tmp_path / "colleague.json")
    import os

    os.environ["CASETRAIL_HOME"] = str(other)
    try:
        assert keys.list_keys() == []
        info, added = keys.trust_key(tmp_path / "colleague.json")
        assert added
        assert info.fingerprint == mine[0].fingerprint
        listed = keys.list_keys()
        assert [(k.trusted, k.private) for k in listed] == [(True, False)]
        assert any(r["type"] == "key trusted" for r in ledger.read().records)
    finally:
        os.environ["CASETRAIL_HOME"] = str(home)
    with pytest.raises(keys.SigningKeyError, match="not an examiner's public key"):
        keys.trust_key(keys.key_file(case.examiner))


def test_resigning_with_another_key_under_the_examiners_name(case: Case, home: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    case.record("note", detail={"what": "honest work"})
    sign_checkpoint(case)
    conn = sqlite3.connect(case.path / "case.sqlite", isolation_level=None)
    conn.execute("DELETE FROM checkpoints")  # the insider removes the honest signature ...
    conn.close()
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "forger"))
    sign_checkpoint(case)  # ... and signs with a key made under the same name elsewhere
    monkeypatch.setenv("CASETRAIL_HOME", str(home))
    found = findings(case.path)
    assert any("which this workstation does not trust" in f for f in found), found


def test_folder_rollback_after_later_work_is_named(case: Case, home: Path, tmp_path: Path) -> None:
    export_csv(case, tmp_path / "first.csv")
    case.close()
    older = tmp_path / "older.casetrail"
    shutil.copytree(case.path, older)
    with Case.open(case.path) as again:
        again.record("note", detail={"what": "later honest work"})
        export_csv(again, tmp_path / "second.csv")
    shutil.rmtree(case.path)
    shutil.copytree(older, case.path)  # the folder restored to the earlier copy
    found = findings(case.path)
    assert any("restored to an earlier copy" in f for f in found), found


def test_cutting_the_tail_with_its_checkpoints_is_named(case: Case, home: Path, tmp_path: Path) -> None:
    export_csv(case, tmp_path / "x.csv")
    case.close()
    conn = sqlite3.connect(case.path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_delete")
    seq = conn.execute("SELECT MIN(custody_seq) FROM checkpoints").fetchone()[0]
    conn.execute("DELETE FROM checkpoints")
    conn.execute("DELETE FROM custody WHERE seq >= ?", (seq,))
    conn.executescript("CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody "
                       "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: DELETE refused'); END;")
    conn.close()
    found = findings(case.path)
    assert any("its tail was cut" in f for f in found), found


def test_verify_against_a_receipt_file(case: Case, home: Path, tmp_path: Path) -> None:
    receipt = tmp_path / "r.json"
    export_csv(case, tmp_path / "x.csv", receipt)
    doc = json.loads(receipt.read_text())
    assert doc["export"] == "csv"
    assert findings(case.path, against=receipt, ledger=False) == []
    case.close()
    (home / "ledger.jsonl").unlink()  # even with the ledger gone, the receipt carried away holds
    conn = sqlite3.connect(case.path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_delete")
    conn.execute("DELETE FROM checkpoints")
    conn.execute("DELETE FROM custody WHERE seq >= ?", (doc["custody_seq"],))
    conn.close()
    found = findings(case.path, against=receipt)
    assert any("r.json" in f and "no longer contains" in f for f in found), found


def test_an_edited_ledger_line_is_named(case: Case, home: Path, tmp_path: Path) -> None:
    export_csv(case, tmp_path / "x.csv")
    path = home / "ledger.jsonl"
    lines = path.read_text().splitlines()
    lines.pop(0)
    path.write_text("\n".join(lines) + "\n")
    assert any("workstation ledger" in f for f in findings(case.path))


def test_a_key_of_the_previous_release_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with tarfile.open(LEGACY) as tar:
        tar.extractall(tmp_path, filter="data")
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))
    pem = next((home / "keys").glob("*.ed25519.pem"))
    before = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    with Case.open(tmp_path / "legacy.casetrail") as case:
        assert run_to_end(verify_case(case)).ok
        cp = sign_checkpoint(case)
    assert b"ENCRYPTED" in pem.read_bytes()
    after = keys.examiner_key("A. Examiner")
    assert keys.raw_public(after.public_key()) == keys.raw_public(before.public_key())  # type: ignore[arg-type]
    assert cp.fingerprint in keys.trusted_fingerprints()
    doc = keys.document_key("A. Examiner")  # its first PDF signature gives it a document key, recorded
    raw = keys.raw_public(after.public_key())
    assert keys.binding_problem(raw, doc.certificate_sha256, doc.binding) is None
    records = ledger.read().records
    assert any(r["type"] == "document key" and r["fingerprint"] == cp.fingerprint for r in records)


def test_cli_keys(case: Case, home: Path, tmp_path: Path) -> None:
    sign_checkpoint(case)
    ct = Path(sys.executable).parent / "casetrail"
    p = subprocess.run([str(ct), "keys", "list", "--json"], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert [set(r) for r in rows] == [{"fingerprint", "examiner", "trusted", "private"}]
    out = tmp_path / "pub.json"
    p = subprocess.run([str(ct), "keys", "export", rows[0]["fingerprint"], "-o", str(out)],
                       capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([str(ct), "keys", "trust", str(out)], capture_output=True, text=True, check=False)
    assert p.returncode == 0
    assert "already trusted" in p.stdout


def test_the_document_key_is_made_at_the_first_pdf_signing_encrypted_and_recorded(
        case: Case, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_checkpoint(case)  # an examiner whose key exists and has no document key yet
    path = keys.document_key_file(case.examiner)
    assert not path.exists()
    doc = keys.document_key(case.examiner)
    pem = path.read_bytes()
    assert b"ENCRYPTED" in pem
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, password=None)
    assert doc.key.key_size == 3072
    assert keys.document_cert_file(case.examiner).read_bytes() == doc.certificate.public_bytes(
        serialization.Encoding.PEM)
    raw = keys.raw_public(keys.examiner_key(case.examiner).public_key())
    assert keys.binding_problem(raw, doc.certificate_sha256, doc.binding) is None
    assert keys.binding_problem(raw, "0" * 64, doc.binding) is not None
    recorded = [r for r in ledger.read().records if r["type"] == "document key"]
    assert [(r["how"], r["document_certificate_sha256"]) for r in recorded] == [
        ("document key (created)", doc.certificate_sha256)]
    trusted = json.loads((home / "keys" / "trusted" / f"{keys.fingerprint(raw)}.json").read_text())
    assert trusted["document_certificate_sha256"] == doc.certificate_sha256
    assert keys.document_key(case.examiner).certificate_sha256 == doc.certificate_sha256
    assert len([r for r in ledger.read().records if r["type"] == "document key"]) == 1
    assert keys.list_keys()[0].document_certificate_sha256 == doc.certificate_sha256
    monkeypatch.setenv("CASETRAIL_PASSPHRASE", "wrong")
    keys._unlocked_documents.clear()
    keys._unlocked.clear()
    with pytest.raises(keys.SigningKeyError, match="passphrase does not unlock"):
        keys.document_key(case.examiner)


def test_export_and_trust_carry_the_document_certificate(case: Case, home: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sign_checkpoint(case)
    fp = keys.list_keys()[0].fingerprint
    before = tmp_path / "before.json"
    keys.export_key(fp, before)  # exported before the document key existed
    assert "document_certificate" not in json.loads(before.read_text())
    doc = keys.document_key(case.examiner)
    after = tmp_path / "after.json"
    keys.export_key(fp, after)
    exported = json.loads(after.read_text())
    assert exported["document_certificate_sha256"] == doc.certificate_sha256
    assert exported["document_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "colleague"))
    assert keys.trust_key(before)[1]
    info, added = keys.trust_key(after)  # already trusted: it learns the certificate its key vouches for
    assert not added
    assert info.document_certificate_sha256 == doc.certificate_sha256
    assert keys.list_keys()[0].document_certificate_sha256 == doc.certificate_sha256
    learnt = [r["how"] for r in ledger.read().records if r["type"] == "document key"]
    assert learnt == ["trusted from after.json"]
    forged = tmp_path / "forged.json"
    other = json.loads(before.read_text())
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "forger"))
    mallory = keys.document_key(case.examiner)  # a certificate the examiner's key never vouched for
    forged.write_text(json.dumps({**other, **mallory.public_members()}))
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "colleague"))
    with pytest.raises(keys.SigningKeyError, match=r"refused.*does not vouch"):
        keys.trust_key(forged)
