# SPDX-License-Identifier: GPL-3.0-or-later
"""The case package: a consistent copy, a hashdeep manifest, and an import that trusts nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from reports.package import AUDIT_COMMAND, PackageError, export_package, import_package, parse_manifest


@pytest.fixture
def package(rich_case: Case, tmp_path: Path) -> Path:
    out = tmp_path / "pkg.zip"
    export_package(rich_case, out)
    return out


def _rewrite(src: Path, dest: Path, change: dict[str, bytes | None],
             add: dict[str, bytes] | None = None) -> Path:
    """Copy a zip, replacing (bytes) or dropping (None) members, and adding some."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    zout.writestr(info.filename, change[info.filename] or b"")
            else:
                zout.writestr(info, zin.read(info))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dest


def test_package_holds_database_vault_manifest_and_checkpoint(rich_case: Case, tmp_path: Path) -> None:
    out = tmp_path / "p.zip"
    result = export_package(rich_case, out)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = parse_manifest(zf.read("manifest.txt").decode())
        cp = json.loads(zf.read("checkpoint.json"))
    assert {"case.sqlite", "manifest.txt", "checkpoint.json", "README.txt", "examiner-key.json"} <= names
    for item in rich_case.items():
        name = f"vault/{item.sha256[:2]}/{item.sha256[2:4]}/{item.sha256}"
        assert manifest[name] == (item.size, item.md5, item.sha256)
    assert set(manifest) == names - {"manifest.txt", "checkpoint.json"}
    entries = rich_case.custody()
    assert cp["custody_seq"] == entries[-3]["seq"]
    assert cp["head"] == entries[-3]["entry_hash"]
    assert entries[-1]["action"] == "exported"
    assert entries[-1]["sha256"] == result.sha256
    assert "hashdeep" in result.summary()


@pytest.mark.skipif(shutil.which("hashdeep") is None,
                    reason="hashdeep is not installed (apt-get install hashdeep)")
def test_hashdeep_audit_passes_and_catches_a_change(package: Path, tmp_path: Path) -> None:
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(folder)
    ok = subprocess.run(AUDIT_COMMAND.split(), cwd=folder, capture_output=True, text=True)
    assert ok.returncode == 0
    assert "Audit passed" in ok.stdout
    blob = next(p for p in (folder / "vault").rglob("*") if p.is_file())
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b"x")
    bad = subprocess.run(AUDIT_COMMAND.split(), cwd=folder, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "Audit failed" in bad.stdout


def test_import_verifies_and_records_the_transfer(package: Path, tmp_path: Path, rich_case: Case) -> None:
    dest = tmp_path / "received.casetrail"
    with import_package(package, dest, examiner="Second Analyst") as case:
        assert [i.sha256 for i in case.items()] == [i.sha256 for i in rich_case.items()]
        last = case.custody()[-1]
        assert last["action"] == "acquired"
        assert last["examiner"] == "Second Analyst"
        assert last["detail"]["what"] == "case package imported"
        report = run_to_end(verify_case(case))
        assert report.ok


@pytest.mark.parametrize("evil", ["../evil.txt", "/etc/evil", "vault/../../evil", "vault/aa/bb/short",
                                  "notes.txt"])
def test_unsafe_or_unexpected_names_are_refused(package: Path, tmp_path: Path, evil: str) -> None:
    bad = _rewrite(package, tmp_path / "bad.zip", {}, {evil: b"x"})
    dest = tmp_path / "dest.casetrail"
    with pytest.raises(PackageError, match="unsafe entry"):
        import_package(bad, dest)
    assert not dest.exists()
    assert not list(tmp_path.glob(".dest*"))
    assert not (tmp_path / "evil.txt").exists()


def test_a_changed_blob_is_refused(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package) as zf:
        blob = next(n for n in zf.namelist() if n.startswith("vault/"))
        data = zf.read(blob)
    bad = _rewrite(package, tmp_path / "bad.zip", {blob: data[:-1] + bytes([data[-1] ^ 1])})
    with pytest.raises(PackageError, match="does not match its hash"):
        import_package(bad, tmp_path / "dest.casetrail")
    assert not (tmp_path / "dest.casetrail").exists()


def test_a_missing_file_is_refused(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package) as zf:
        blob = next(n for n in zf.namelist() if n.startswith("vault/"))
    bad = _rewrite(package, tmp_path / "bad.zip", {blob: None})
    with pytest.raises(PackageError, match="missing"):
        import_package(bad, tmp_path / "dest.casetrail")


def test_a_checkpoint_that_does_not_hold_is_refused(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package) as zf:
        cp = json.loads(zf.read("checkpoint.json"))
    cp["head"] = "f" * 64
    bad = _rewrite(package, tmp_path / "bad.zip", {"checkpoint.json": json.dumps(cp).encode()})
    with pytest.raises(PackageError, match="signature does not match"):
        import_package(bad, tmp_path / "dest.casetrail")
    assert not (tmp_path / "dest.casetrail").exists()


def test_existing_destination_and_non_zip_are_refused(package: Path, tmp_path: Path) -> None:
    (tmp_path / "there.casetrail").mkdir()
    with pytest.raises(PackageError, match="exists already"):
        import_package(package, tmp_path / "there.casetrail")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(PackageError, match="not a readable zip"):
        import_package(junk, tmp_path / "new.casetrail")


def test_cli_import_package(package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.cli import main

    assert main(["import-package", str(package), str(tmp_path / "cli.casetrail")]) == 0
    assert "the signed manifest, every hash, the custody chain and the case state verified" in \
        capsys.readouterr().out


# -- issue 11: packages fail closed ------------------------------------------------------------


def _members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _regenerated_manifest(members: dict[str, bytes]) -> bytes:
    """What a forger does: hash the edited files again and write a fresh hashdeep manifest."""
    import hashlib

    from reports.package import manifest_text

    rows = [(len(d), hashlib.md5(d, usedforsecurity=False).hexdigest(), hashlib.sha256(d).hexdigest(), n)
            for n, d in sorted(members.items()) if n not in ("manifest.txt", "checkpoint.json")]
    return manifest_text(rows).encode()


def _edited_db(data: bytes, tmp_path: Path, *sql: str) -> bytes:
    import sqlite3

    db = tmp_path / "edit.sqlite"
    db.write_bytes(data)
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in sql:
        conn.execute(statement)
    conn.close()
    return db.read_bytes()


def test_a_package_without_checkpoint_is_refused(package: Path, tmp_path: Path) -> None:
    bad = _rewrite(package, tmp_path / "bad.zip", {"checkpoint.json": None})
    with pytest.raises(PackageError, match=r"has no checkpoint\.json"):
        import_package(bad, tmp_path / "dest.casetrail")
    assert not (tmp_path / "dest.casetrail").exists()


def test_an_edited_database_with_a_regenerated_manifest_is_refused(package: Path, tmp_path: Path) -> None:
    members = _members(package)
    members["case.sqlite"] = _edited_db(members["case.sqlite"], tmp_path,
                                        "UPDATE judgments SET likelihood = 'almost certain'")
    bad = _rewrite(package, tmp_path / "bad.zip", {"case.sqlite": members["case.sqlite"],
                                                   "manifest.txt": _regenerated_manifest(members)})
    with pytest.raises(PackageError, match=r"manifest\.txt is not the manifest that checkpoint\.json signs"):
        import_package(bad, tmp_path / "dest.casetrail")


def test_a_blob_removed_from_zip_and_manifest_is_refused(package: Path, tmp_path: Path) -> None:
    members = _members(package)
    blob = next(n for n in members if n.startswith("vault/"))
    del members[blob]
    bad = _rewrite(package, tmp_path / "bad.zip",
                   {blob: None, "manifest.txt": _regenerated_manifest(members)})
    with pytest.raises(PackageError, match=r"not the manifest that checkpoint\.json signs"):
        import_package(bad, tmp_path / "dest.casetrail")


def test_an_extra_trigger_in_the_database_is_refused_even_if_resigned(package: Path, tmp_path: Path,
                                                                     rich_case: Case) -> None:
    """A forger holding the key (the worst case) still cannot smuggle a trigger in."""
    import hashlib

    from desktop.core.checkpoint import checkpoint_from_json, make_checkpoint

    members = _members(package)
    members["case.sqlite"] = _edited_db(
        members["case.sqlite"], tmp_path,
        "CREATE TRIGGER rewrite AFTER INSERT ON notes BEGIN UPDATE notes SET text = 'x'; END")
    manifest = _regenerated_manifest(members)
    old = checkpoint_from_json(json.loads(members["checkpoint.json"]))
    forged = make_checkpoint(rich_case, old.custody_seq, old.head, export="case package",
                             content_sha256=hashlib.sha256(manifest).hexdigest())
    bad = _rewrite(package, tmp_path / "bad.zip", {
        "case.sqlite": members["case.sqlite"], "manifest.txt": manifest,
        "checkpoint.json": json.dumps(forged.to_json()).encode()})
    with pytest.raises(PackageError, match="extra trigger rewrite"):
        import_package(bad, tmp_path / "dest.casetrail")


def test_an_untrusted_key_is_refused_until_trusted(package: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.core import keys

    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "receiver"))
    with pytest.raises(PackageError, match="this workstation does not trust"):
        import_package(package, tmp_path / "dest.casetrail")
    key = tmp_path / "sender.json"
    key.write_bytes(_members(package)["examiner-key.json"])
    keys.trust_key(key)
    case = import_package(package, tmp_path / "dest.casetrail")
    with case:
        assert case.custody()[-1]["detail"]["signed_by"] == json.loads(key.read_text())["fingerprint"]
        assert run_to_end(verify_case(case)).ok


def test_duplicate_names_and_links_are_refused(package: Path, tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate we make
        dup = _rewrite(package, tmp_path / "dup.zip", {}, {"README.txt": b"again"})
    with pytest.raises(PackageError, match=r"names 'README\.txt' twice"):
        import_package(dup, tmp_path / "d1.casetrail")
    link = tmp_path / "link.zip"
    shutil.copy(package, link)
    with zipfile.ZipFile(link, "a") as zf:
        info = zipfile.ZipInfo("vault/aa/bb/" + "a" * 64)
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(PackageError, match="unsafe entry"):
        import_package(link, tmp_path / "d2.casetrail")
