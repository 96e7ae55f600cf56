# SPDX-License-Identifier: GPL-3.0-or-later
"""packaging/verify_case.py (stdlib + cryptography) agrees with `casetrail verify` (issue 11).

Every tampering of issue 11 is done behind the application's back on a copy of one honest case;
both verifiers must call the honest case intact and every tampered copy broken.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop.core import analysis
from desktop.core.case import Case
from desktop.core.checkpoint import checkpoint_from_json, make_checkpoint, sign_checkpoint
from desktop.core.errors import CaseOpenError
from desktop.core.progress import run_to_end
from desktop.core.tags import apply_tags
from desktop.core.verify import verify_case
from desktop.ingest.pipeline import import_and_analyse
from reports.csv_export import export_csv
from reports.package import export_package, manifest_text

REPO = Path(__file__).resolve().parents[2]
STANDALONE = REPO / "packaging" / "verify_case.py"
TRIGGER = ("CREATE TRIGGER custody_no_{0} BEFORE {1} ON custody\n"
           "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: {1} refused'); END")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One honest case, exported once (a receipt in the ledger) and packaged."""
    root = tmp_path_factory.mktemp("standalone")
    home = root / "home"
    old = os.environ.get("CASETRAIL_HOME")
    os.environ["CASETRAIL_HOME"] = str(home)
    os.environ.setdefault("CASETRAIL_PASSPHRASE", "test-suite-passphrase")
    try:
        ev = root / "ev"
        ev.mkdir()
        (ev / "a.txt").write_text("Seen 192.0.2.44 and hxxp://bad-example[.]com/x — café\n")
        (ev / "b.txt").write_text("Other text with 198.51.100.7\n")
        # the same content as a.txt: it shares that analysis
        (ev / "z-dup.txt").write_text("Seen 192.0.2.44 and hxxp://bad-example[.]com/x — café\n")
        path = root / "honest.casetrail"
        with Case.create(path, title="Honest", examiner="A. Examiner") as case:
            run_to_end(import_and_analyse(case, [ev], "test"))
            j = analysis.add_judgment(case, "A state actor", confidence="moderate", likelihood="likely")
            analysis.update_judgment(case, j.id, confidence="high")
            analysis.add_note(case, "Check it", item_id=1)
            apply_tags(case, indicator="192.0.2.44", tags=["tlp:amber"])
            export_csv(case, root / "first.csv", root / "first-receipt.json")
            shutil.copytree(path, root / "older.casetrail")  # a copy from before later work
            case.record("note", detail={"what": "later honest work"})
            export_package(case, root / "honest.zip")
    finally:
        if old is None:
            os.environ.pop("CASETRAIL_HOME")
        else:
            os.environ["CASETRAIL_HOME"] = old
    return {"root": root, "home": home, "case": path, "older": root / "older.casetrail",
            "package": root / "honest.zip", "receipt": root / "first-receipt.json"}


def standalone(target: Path, home: Path, *extra: str) -> int:
    p = subprocess.run([sys.executable, str(STANDALONE), str(target),
                        "--trusted-keys", str(home / "keys" / "trusted"),
                        "--ledger", str(home / "ledger.jsonl"), *extra], capture_output=True, text=True,
                       timeout=120, check=False)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode


def casetrail_ok(path: Path) -> bool | None:
    try:
        with Case.open(path, read_only=True) as case:
            return run_to_end(verify_case(case, record=False)).ok
    except CaseOpenError:
        return None


def insider(path: Path, *sql: str) -> None:
    conn = sqlite3.connect(path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_update")
    conn.execute("DROP TRIGGER custody_no_delete")
    for statement in sql:
        conn.execute(statement)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'custody_no_update'").fetchone():
        conn.execute(TRIGGER.format("update", "UPDATE"))
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'custody_no_delete'").fetchone():
        conn.execute(TRIGGER.format("delete", "DELETE"))
    conn.close()


def _blob(path: Path, item_id: int) -> Path:
    conn = sqlite3.connect(path / "case.sqlite")
    sha = conn.execute("SELECT sha256 FROM items WHERE id = ?", (item_id,)).fetchone()[0]
    conn.close()
    return path / "vault" / sha[:2] / sha[2:4] / sha


def _replace_blob(path: Path, w: dict[str, Path]) -> None:
    blob = _blob(path, 1)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"192.0.2.44", b"192.0.2.45"))


def _delete_item_and_blob(path: Path, w: dict[str, Path]) -> None:
    blob = _blob(path, 2)
    insider(path, "DELETE FROM occurrences WHERE item_id = 2", "DELETE FROM items WHERE id = 2")
    blob.unlink()


def _cut_tail(path: Path, w: dict[str, Path]) -> None:
    conn = sqlite3.connect(path / "case.sqlite")
    seq = conn.execute("SELECT MIN(custody_seq) FROM checkpoints").fetchone()[0]
    conn.close()
    insider(path, "DELETE FROM checkpoints", f"DELETE FROM custody WHERE seq >= {int(seq)}")  # noqa: S608


def _rollback(path: Path, w: dict[str, Path]) -> None:
    shutil.rmtree(path)
    shutil.copytree(w["older"], path)


def _resign_with_foreign_key(path: Path, w: dict[str, Path]) -> None:
    insider(path, "UPDATE custody SET reason = 'rewritten' WHERE seq = 2")
    # rebuild the chain from entry 2 on, as a forger would, and sign it with a key of their own
    conn = sqlite3.connect(path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_update")
    from desktop.core import custody

    prev = conn.execute("SELECT entry_hash FROM custody WHERE seq = 1").fetchone()[0]
    select = f"SELECT {', '.join(custody.FIELDS)} FROM custody WHERE seq >= 2 ORDER BY seq"  # noqa: S608
    for row in conn.execute(select).fetchall():
        entry = dict(zip(custody.FIELDS, row, strict=True))
        entry["prev_hash"] = prev
        prev = custody.entry_hash(entry)
        conn.execute("UPDATE custody SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
                     (entry["prev_hash"], prev, entry["seq"]))
    conn.execute("DELETE FROM checkpoints")
    conn.execute(TRIGGER.format("update", "UPDATE"))
    conn.close()
    os.environ["CASETRAIL_HOME"] = str(w["root"] / "forger")
    try:
        with Case.open(path) as case:
            sign_checkpoint(case)
    finally:
        os.environ["CASETRAIL_HOME"] = str(w["home"])


def sql(*statements: str) -> Callable[[Path, dict[str, Path]], None]:
    return lambda path, _world: insider(path, *statements)


COPY_OF_2 = ", ".join(f"{c} = (SELECT {c} FROM items WHERE id = 2)"  # noqa: S608 - fixed names
                      for c in ("sha256", "sha1", "md5", "size"))
TAMPERINGS: dict[str, Callable[[Path, dict[str, Path]], None]] = {
    "judgment edited": sql("UPDATE judgments SET likelihood = 'almost certain'"),
    "note deleted": sql("DELETE FROM notes"),
    "TLP of the case lowered": sql("UPDATE case_meta SET value = 'clear' WHERE key = 'tlp'"),
    "OCR/occurrence time edited": sql("UPDATE occurrences SET time_s = 3.25 WHERE id = 1"),
    "item status changed": sql("UPDATE items SET status = 'acquired' WHERE id = 1"),
    "exact bytes of a name replaced": sql("UPDATE items SET name_bytes = X'ff' WHERE id = 1"),
    "item pointed at another item's blob": sql(f"UPDATE items SET {COPY_OF_2} WHERE id = 1"),  # noqa: S608
    "item row deleted with its blob": _delete_item_and_blob,
    "no-op trigger of the same name": sql("DROP TRIGGER IF EXISTS custody_no_update",
                                          "CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody "
                                          "BEGIN SELECT 1; END"),
    "extra trigger": sql("CREATE TRIGGER x AFTER INSERT ON notes BEGIN SELECT 1; END"),
    "custody entry edited": sql("UPDATE custody SET reason = 'edited' WHERE seq = 3"),
    "vault blob replaced": _replace_blob,
    "tail and checkpoints cut": _cut_tail,
    "folder restored to an older copy": _rollback,
    "log rewritten and re-signed with another key": _resign_with_foreign_key,
    "shared analysis unbound": sql("UPDATE items SET same_as = NULL WHERE id = 3"),
    "intelligence snapshot edited": sql("INSERT INTO intel_matches (indicator_id, source, name, detail, "
                                        "kind) VALUES (1, 'case', 'x', 'y', 'other-case')"),
}


def test_both_call_the_honest_case_intact(world: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASETRAIL_HOME", str(world["home"]))
    assert casetrail_ok(world["case"]) is True
    assert standalone(world["case"], world["home"]) == 0
    assert standalone(world["case"], world["home"], "--against", str(world["receipt"])) == 0


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_both_name_every_tampering(world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   name: str) -> None:
    monkeypatch.setenv("CASETRAIL_HOME", str(world["home"]))
    copy = tmp_path / "c.casetrail"
    shutil.copytree(world["case"], copy)
    TAMPERINGS[name](copy, world)
    assert casetrail_ok(copy) is False, f"casetrail verify missed: {name}"
    assert standalone(copy, world["home"]) == 1, f"verify_case.py missed: {name}"


def test_both_refuse_an_empty_database(world: dict[str, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASETRAIL_HOME", str(world["home"]))
    copy = tmp_path / "c.casetrail"
    shutil.copytree(world["case"], copy)
    (copy / "case.sqlite").write_bytes(b"")
    assert casetrail_ok(copy) is None
    assert standalone(copy, world["home"]) == 2


def _package_variant(src: Path, dest: Path, tmp_path: Path, how: str, home: Path) -> Path:
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if how == "no checkpoint":
        del members["checkpoint.json"]
    else:
        if how == "blob removed":
            del members[next(n for n in members if n.startswith("vault/"))]
        else:
            db = tmp_path / "x.sqlite"
            db.write_bytes(members["case.sqlite"])
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("UPDATE judgments SET likelihood = 'almost certain'" if how == "edited database"
                         else "CREATE TRIGGER x AFTER INSERT ON notes BEGIN SELECT 1; END")
            conn.close()
            members["case.sqlite"] = db.read_bytes()
        rows = [(len(d), hashlib.md5(d, usedforsecurity=False).hexdigest(), hashlib.sha256(d).hexdigest(), n)
                for n, d in sorted(members.items()) if n not in ("manifest.txt", "checkpoint.json")]
        members["manifest.txt"] = manifest_text(rows).encode()
        if how == "extra trigger, re-signed":  # the worst case: the forger holds the key
            old = checkpoint_from_json(json.loads(members["checkpoint.json"]))
            os.environ["CASETRAIL_HOME"] = str(home)
            with Case.open(tmp_path / "sign.casetrail") as case:
                forged = make_checkpoint(case, old.custody_seq, old.head, export="case package",
                                         content_sha256=hashlib.sha256(members["manifest.txt"]).hexdigest())
            members["checkpoint.json"] = json.dumps({**forged.to_json(), "case_id": old.case_id}).encode()
    with zipfile.ZipFile(dest, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    return dest


PACKAGE_TAMPERINGS = ["no checkpoint", "edited database", "blob removed", "extra trigger, re-signed"]


@pytest.mark.parametrize("how", PACKAGE_TAMPERINGS)
def test_packages(world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    from reports.package import PackageError, import_package

    monkeypatch.setenv("CASETRAIL_HOME", str(world["home"]))
    assert standalone(world["package"], world["home"]) == 0
    shutil.copytree(world["case"], tmp_path / "sign.casetrail")
    bad = _package_variant(world["package"], tmp_path / "bad.zip", tmp_path, how, world["home"])
    assert standalone(bad, world["home"]) == 1, how
    with pytest.raises(PackageError):
        import_package(bad, tmp_path / "imported.casetrail")


def test_a_verifier_written_from_the_documentation_alone(world: dict[str, Path], tmp_path: Path) -> None:
    """tests/integration/verify_from_docs.py was written from docs/verification.md only."""
    script = Path(__file__).with_name("verify_from_docs.py")
    ledger = world["home"] / "ledger.jsonl"
    ok = subprocess.run([sys.executable, str(script), str(world["case"]), str(ledger)],
                        capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    copy = tmp_path / "c.casetrail"
    shutil.copytree(world["case"], copy)
    _cut_tail(copy, world)
    cut = subprocess.run([sys.executable, str(script), str(copy), str(ledger)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert cut.returncode == 1
    assert "no longer has that head" in cut.stdout
