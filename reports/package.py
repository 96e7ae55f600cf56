# SPDX-License-Identifier: GPL-3.0-or-later
"""The case package: one zip a receiving analyst can audit with standard tools and import.

Layout of the zip::

    case.sqlite                 a consistent copy of the database (SQLite ``VACUUM INTO``)
    vault/ab/cd/<sha256>        every blob, named by its SHA-256
    manifest.txt                hashdeep format: size, md5, sha256, path for every file above
    checkpoint.json             the checkpoint signed at export (Ed25519) and its public key
    README.txt                  how to audit

Audit without Casetrail, after unzipping into a folder::

    cd PACKAGE && hashdeep -c md5,sha256 -a -k manifest.txt -r -l case.sqlite vault

(``-l`` keeps the relative paths the manifest uses.) ``casetrail verify`` on an imported
package re-hashes the vault and recomputes the custody chain.

Import never trusts the zip: member names are checked before anything is written (no absolute
paths, no ``..``, no links, no names outside the layout above), sizes are bounded by the
manifest, every file is hashed while it is extracted and compared with the manifest, the vault
blobs must also hash to their own names, and the database must hold a custody chain that
verifies and ends at or after the signed checkpoint. Only then is the case folder moved into
place and the transfer recorded in its custody.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from desktop.core import custody
from desktop.core.case import DB_NAME, SUFFIX, Case
from desktop.core.checkpoint import Checkpoint, make_checkpoint, store_checkpoint, verify_external
from desktop.core.errors import CasetrailError

MANIFEST = "manifest.txt"
CHECKPOINT = "checkpoint.json"
README = "README.txt"
_BLOB_RE = re.compile(r"vault/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\Z")
_CHUNK = 1 << 20
AUDIT_COMMAND = "hashdeep -c md5,sha256 -a -k manifest.txt -r -l case.sqlite vault"


class PackageError(CasetrailError):
    """A package cannot be written, or one being imported is not intact."""


@dataclass(frozen=True)
class PackageResult:
    """What :func:`export_package` wrote."""

    path: Path
    sha256: str
    files: int
    size: int
    checkpoint: Checkpoint
    custody_seq: int

    def summary(self) -> str:
        """One line for the CLI."""
        return (f"wrote case package {self.path} ({self.files} files, {self.size} bytes, SHA-256 "
                f"{self.sha256}); audit with: {AUDIT_COMMAND}; export recorded as custody entry "
                f"{self.custody_seq}")


def _hash_file(path: Path) -> tuple[int, str, str]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest(), sha.hexdigest()


def manifest_text(rows: list[tuple[int, str, str, str]]) -> str:
    """Return a hashdeep (v1.0) known-hashes file for (size, md5, sha256, path) rows."""
    lines = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename",
             "## Invoked from: casetrail export --package", "## "]
    lines += [f"{size},{md5},{sha},{name}" for size, md5, sha, name in rows]
    return "\n".join(lines) + "\n"


def parse_manifest(text: str) -> dict[str, tuple[int, str, str]]:
    """Read a manifest written by :func:`manifest_text`: path → (size, md5, sha256).

    Raises:
        PackageError: the manifest is not in that format.
    """
    out: dict[str, tuple[int, str, str]] = {}
    header = [line for line in text.splitlines() if line.startswith("%%%%")]
    if header[:2] != ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename"]:
        raise PackageError("the package manifest is not a hashdeep size,md5,sha256 file")
    for line in text.splitlines():
        if not line or line.startswith(("%%%%", "#")):
            continue
        parts = line.split(",", 3)
        if len(parts) != 4 or not parts[0].isdigit():
            raise PackageError(f"the package manifest has a line that cannot be read: {line[:80]!r}")
        out[parts[3]] = (int(parts[0]), parts[1].lower(), parts[2].lower())
    return out


def export_package(case: Case, path: Path) -> PackageResult:
    """Write the case package and record the export (and its checkpoint) in custody.

    Raises:
        PackageError: the package cannot be written.
    """
    cp = make_checkpoint(case)
    work = Path(tempfile.mkdtemp(prefix="casetrail-package-"))
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        db_copy = work / DB_NAME
        # VACUUM INTO: a transactionally consistent copy, even with a writer active (WAL).
        case.db.conn.execute("VACUUM INTO ?", (str(db_copy),))
        rows: list[tuple[int, str, str, str]] = []
        size, md5, sha = _hash_file(db_copy)
        rows.append((size, md5, sha, DB_NAME))
        blobs = sorted({str(r[0]) for r in case.db.conn.execute("SELECT sha256 FROM items")})
        sources: list[tuple[Path, str]] = [(db_copy, DB_NAME)]
        for digest in blobs:
            blob = case.vault.blob_path(digest)
            name = f"vault/{digest[:2]}/{digest[2:4]}/{digest}"
            if not blob.is_file():
                raise PackageError(f"the vault blob {digest} is missing; run `casetrail verify` first")
            size, md5, sha = _hash_file(blob)
            if sha != digest:
                raise PackageError(f"the vault blob {digest} no longer matches its hash; "
                                   "run `casetrail verify` and do not export a damaged case")
            rows.append((size, md5, sha, name))
            sources.append((blob, name))
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(tmp, "x", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for src, name in sources:
                zf.write(src, name)
            zf.writestr(MANIFEST, manifest_text(rows))
            zf.writestr(CHECKPOINT, json.dumps(cp.to_json(), indent=2, sort_keys=True) + "\n")
            zf.writestr(README, _readme(case, cp))
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise PackageError(f"cannot write the package {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
        shutil.rmtree(work, ignore_errors=True)
    size, _md5, digest = _hash_file(path)
    with case.transaction() as conn:
        stored = store_checkpoint(conn, case, cp)
        entry = custody.append(
            conn, action="exported", examiner=case.examiner, source=str(path), sha256=digest,
            result=f"case package written: {len(rows)} files, {size} bytes",
            detail={"format": "case package", "files": len(rows), "size": size,
                    "checkpoint_id": stored.id, "database_copy_sha256": rows[0][2],
                    "covers_custody_up_to": cp.custody_seq})
    return PackageResult(path, digest, len(rows), size, stored, int(entry["seq"]))


def _readme(case: Case, cp: Checkpoint) -> str:
    return (
        f"Casetrail case package\n\nCase: {case.meta.get('title', '')}\nCase id: {cp.case_id}\n"
        f"Examiner: {case.meta.get('examiner', '')}\n\n"
        f"Audit the files (unzip first, then in the unzipped folder):\n    {AUDIT_COMMAND}\n\n"
        f"Import into Casetrail (verifies every hash, the custody chain and the checkpoint):\n"
        f"    casetrail import-package PACKAGE.zip DEST{SUFFIX}\n\n"
        f"Signed checkpoint (Ed25519) over custody entry {cp.custody_seq}, head {cp.head}\n"
        f"Key id {cp.key_id}, public key (base64) {cp.public_key}\n")


def _safe_member(name: str) -> bool:
    if name in (DB_NAME, MANIFEST, CHECKPOINT, README):
        return True
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or "\\" in name or ":" in name:
        return False
    return bool(_BLOB_RE.match(name))


def import_package(zip_path: Path, dest: Path, *, examiner: str | None = None) -> Case:
    """Verify a package completely, then unpack it as a new case folder at ``dest``.

    Args:
        zip_path: the package.
        dest: the new case folder (must not exist; ``.casetrail`` is the usual suffix).
        examiner: who receives it; defaults to the case's examiner.

    Returns:
        The imported case, open for writing, with the transfer recorded in custody.

    Raises:
        PackageError: the package is not intact or not safe to unpack; nothing is left at dest.
    """
    if dest.exists():
        raise PackageError(f"{dest} exists already; choose a new folder for the imported case")
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackageError(f"{zip_path} is not a readable zip file: {exc}") from exc
    package_sha = _hash_file(zip_path)[2]
    staging = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.importing")
    try:
        with zf:
            infos = zf.infolist()
            for info in infos:
                mode = (info.external_attr >> 16) & 0o170000
                if not _safe_member(info.filename) or info.is_dir() or mode == stat.S_IFLNK:
                    raise PackageError(f"the package holds an unexpected or unsafe entry "
                                       f"{info.filename!r}; refused")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise PackageError("the package names a file twice; refused")
            if MANIFEST not in names or DB_NAME not in names:
                raise PackageError("the package has no manifest or no case database; refused")
            manifest = parse_manifest(zf.read(MANIFEST).decode("utf-8", "replace"))
            payload = [n for n in names if n not in (MANIFEST, CHECKPOINT, README)]
            missing = sorted(set(manifest) - set(payload))
            extra = sorted(set(payload) - set(manifest))
            if missing or extra:
                raise PackageError("the package does not match its manifest: "
                                   + "; ".join([f"missing {m}" for m in missing[:5]]
                                               + [f"not in manifest {x}" for x in extra[:5]]))
            staging.mkdir(parents=True)
            (staging / "vault" / "tmp").mkdir(parents=True)
            (staging / "exports").mkdir()
            for info in infos:
                if info.filename not in manifest:
                    continue
                _extract_checked(zf, info, staging, manifest[info.filename])
            cp_data = json.loads(zf.read(CHECKPOINT)) if CHECKPOINT in names else None
        _check_database(staging / DB_NAME, cp_data)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    case = Case.open(dest, examiner=examiner)
    if case.read_only:
        case.close()
        raise PackageError(f"the imported case cannot be opened for writing: {case.read_only_reason}")
    problems: list[str] = []
    if cp_data is not None:
        problems = verify_external(case, _checkpoint_from(cp_data))
    if problems:
        case.close()
        shutil.rmtree(dest, ignore_errors=True)
        raise PackageError("the package's checkpoint does not hold: " + "; ".join(problems))
    case.record("acquired", source=str(zip_path), sha256=package_sha, hash_before=package_sha,
                hash_after=package_sha,
                result=f"case package imported: {len(manifest)} files verified against the manifest",
                detail={"what": "case package imported", "files": len(manifest),
                        "checkpoint_seq": cp_data.get("custody_seq") if cp_data else None,
                        "checkpoint_key_id": cp_data.get("key_id") if cp_data else None})
    return case


def _extract_checked(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path,
                     expected: tuple[int, str, str]) -> None:
    size, md5_hex, sha_hex = expected
    if info.file_size != size:
        raise PackageError(f"{info.filename}: the zip says {info.file_size} bytes, the manifest {size}")
    target = root / info.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    written = 0
    with zf.open(info) as src, target.open("xb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > size:  # never trust the declared size: stop a bomb at the manifest's
                raise PackageError(f"{info.filename} is larger than the manifest says")
            md5.update(chunk)
            sha.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if written != size or md5.hexdigest() != md5_hex or sha.hexdigest() != sha_hex:
        raise PackageError(f"{info.filename} does not match its hash in the manifest; refused")
    m = _BLOB_RE.match(info.filename)
    if m:
        if m.group(3) != sha_hex or m.group(1) != sha_hex[:2] or m.group(2) != sha_hex[2:4]:
            raise PackageError(f"{info.filename} is not named by its own SHA-256; refused")
        target.chmod(0o444)


def _check_database(db: Path, cp_data: dict[str, object] | None) -> None:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        chain = custody.verify_chain(conn)
    except sqlite3.DatabaseError as exc:
        raise PackageError(f"the package's database cannot be read: {exc}") from exc
    finally:
        conn.close()
    if not chain.ok:
        raise PackageError(f"the package's custody chain is broken: {chain.reason}")


def _checkpoint_from(data: dict[str, object]) -> Checkpoint:
    try:
        return Checkpoint(int(str(data.get("id", 0))), str(data["case_id"]), int(str(data["custody_seq"])),
                          str(data["head"]), str(data.get("at", "")), str(data.get("examiner", "")),
                          str(data["key_id"]), str(data["public_key"]), str(data["signature"]))
    except (KeyError, ValueError) as exc:
        raise PackageError("the package's checkpoint.json cannot be read") from exc
