# SPDX-License-Identifier: GPL-3.0-or-later
"""The case package: one zip a receiving analyst can audit with standard tools and import.

Layout of the zip::

    case.sqlite                 a consistent copy of the database (SQLite ``VACUUM INTO``)
    vault/ab/cd/<sha256>        every blob, named by its SHA-256
    README.txt                  how to audit
    examiner-key.json           the signer's public key (trust it only after checking its fingerprint)
    manifest.txt                hashdeep format: size, md5, sha256, path of every file above
    checkpoint.json             the signed receipt: case, custody seq and head, and the SHA-256
                                of manifest.txt, signed with the examiner's Ed25519 key

So the signature covers every byte of the package: the receipt signs the manifest, the manifest
hashes every other file. Audit without Casetrail, after unzipping into a folder::

    cd PACKAGE && hashdeep -c md5,sha256 -a -k manifest.txt -r -l case.sqlite vault \
        README.txt examiner-key.json
    sha256sum manifest.txt      # must be the content_sha256 signed in checkpoint.json

Import fails closed, each refusal one sentence naming the file: member names are checked before
anything is written (no absolute paths, no ``..``, no links, no duplicates, nothing outside the
layout above); ``checkpoint.json`` must be there, its signature valid, its key trusted on this
workstation (``casetrail keys trust``), and ``manifest.txt`` must hash to what it signed; every
file must be in the manifest and match it while it is extracted; vault blobs must hash to their
names; then the unpacked case must pass the full verification (schema by exact SQL, chain, state
replay) and still contain the signed head. Only then is the folder moved into place and the
transfer recorded in its custody.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from desktop.core import custody, failpoints, keys, receipts, references
from desktop.core.case import DB_NAME, SUFFIX, Case
from desktop.core.checkpoint import (
    MAGIC2,
    Checkpoint,
    checkpoint_from_json,
    examiner_key,
    head_of,
    verify_external,
    verify_one,
)
from desktop.core.errors import CasetrailError, database_reason, os_reason
from desktop.core.progress import run_to_end
from desktop.core.scratch import partial, temp_name
from desktop.core.verify import require_intact, verify_case

MANIFEST = "manifest.txt"
CHECKPOINT = "checkpoint.json"
README = "README.txt"
KEY = "examiner-key.json"
EXPORT = "case package"
_BLOB_RE = re.compile(r"vault/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\Z")
_CHUNK = 1 << 20
AUDIT_COMMAND = f"hashdeep -c md5,sha256 -a -k manifest.txt -r -l case.sqlite vault {README} {KEY}"


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


def export_package(case: Case, path: Path, receipt_file: Path | None = None) -> PackageResult:
    """Write the case package and record the export (and its signed receipt) in custody.

    Raises:
        PackageError: the package cannot be written.
        VerificationFailed: the case fails verification (no package of a failing case).
    """
    references.ensure_snapshot(case)  # the matches exported are the case's own
    require_intact(case, "case package")
    seq, head = head_of(case.db.conn)
    key = examiner_key(case.examiner)
    public_doc = keys.public_document(case.examiner, keys.raw_public(key.public_key()),
                                      keys.published_document(case.examiner))
    # The database copy goes to the case's own scratch folder (removed when the case is next
    # opened if a kill leaves it), the zip to a registered temp name beside its destination: the
    # next casetrail run removes what a killed export left (desktop.core.scratch).
    work = temp_name(case.path / "work" / "package")
    tmp = temp_name(path)
    with partial(work), partial(tmp):
        try:
            work.mkdir(parents=True)
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
            extras = {README: _readme(case, seq, head, public_doc).encode(),
                      KEY: (json.dumps(public_doc, indent=2) + "\n").encode()}
            for name, data in extras.items():
                rows.append((len(data), hashlib.md5(data, usedforsecurity=False).hexdigest(),
                             hashlib.sha256(data).hexdigest(), name))
            manifest = manifest_text(rows).encode()
            receipt = receipts.sign(case, seq, head, export=EXPORT,
                                    content_sha256=hashlib.sha256(manifest).hexdigest())
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(tmp, "x", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                for src, name in sources:
                    zf.write(src, name)
                for name, data in extras.items():
                    zf.writestr(name, data)
                zf.writestr(MANIFEST, manifest)
                zf.writestr(CHECKPOINT, json.dumps(receipt.to_json(), indent=2, sort_keys=True) + "\n")
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            failpoints.hit("export_before_rename")
            os.replace(tmp, path)
        except OSError as exc:
            raise PackageError(f"cannot write the package {path}: {os_reason(exc)}") from exc
        except sqlite3.DatabaseError as exc:  # VACUUM INTO on a full disk
            raise PackageError(f"cannot copy the case database for the package: "
                               f"{database_reason(exc)}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
    size, _md5, digest = _hash_file(path)
    with case.transaction() as conn:
        stored = receipts.issue(conn, case, receipt)
        entry = custody.append(
            conn, action="exported", examiner=case.examiner, source=str(path), sha256=digest,
            result=f"case package written: {len(rows)} files, {size} bytes",
            detail={"format": "case package", "files": len(rows), "size": size,
                    "checkpoint_id": stored.id, "database_copy_sha256": rows[0][2],
                    "manifest_sha256": receipt.content_sha256, "covers_custody_up_to": seq})
    receipts.publish(stored, path, receipt_file)
    return PackageResult(path, digest, len(rows), size, stored, int(entry["seq"]))


def _readme(case: Case, seq: int, head: str, key: dict[str, str]) -> str:
    return (
        f"Casetrail case package\n\nCase: {case.meta.get('title', '')}\n"
        f"Case id: {case.meta.get('case_id', '')}\n"
        f"Examiner: {case.meta.get('examiner', '')}\n\n"
        f"Audit the files (unzip first, then in the unzipped folder):\n    {AUDIT_COMMAND}\n"
        f"and check that SHA-256(manifest.txt) is the content_sha256 that {CHECKPOINT} signs.\n\n"
        f"Import into Casetrail (verifies every hash, the signature, the custody chain and the state):\n"
        f"    casetrail keys trust {KEY}     (only after checking the fingerprint with the sender)\n"
        f"    casetrail import-package PACKAGE.zip DEST{SUFFIX}\n\n"
        f"Signed receipt (Ed25519) over custody entry {seq}, head {head}, and SHA-256(manifest.txt)\n"
        f"Signing key fingerprint {key['fingerprint']} ({key['examiner']})\n"
        f"docs/verification.md specifies every format byte for byte.\n")


def _safe_member(name: str) -> bool:
    if name in (DB_NAME, MANIFEST, CHECKPOINT, README, KEY):
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
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                twice = sorted({n for n in names if names.count(n) > 1})
                raise PackageError(f"the package names {twice[0]!r} twice; refused")
            for info in infos:
                mode = (info.external_attr >> 16) & 0o170000
                if not _safe_member(info.filename) or info.is_dir() or mode == stat.S_IFLNK:
                    raise PackageError(f"the package holds an unexpected or unsafe entry "
                                       f"{info.filename!r}; refused")
            if CHECKPOINT not in names:
                raise PackageError(f"the package has no {CHECKPOINT} (the signed receipt of its manifest); "
                                   "refused: nothing proves who made it or that it is complete")
            if MANIFEST not in names or DB_NAME not in names:
                lacking = MANIFEST if MANIFEST not in names else DB_NAME
                raise PackageError(f"the package has no {lacking}; refused")
            receipt = _receipt(zf.read(CHECKPOINT))
            manifest_bytes = zf.read(MANIFEST)
            if hashlib.sha256(manifest_bytes).hexdigest() != receipt.content_sha256:
                raise PackageError(f"{MANIFEST} is not the manifest that {CHECKPOINT} signs (it was changed "
                                   "or regenerated); refused")
            manifest = parse_manifest(manifest_bytes.decode("utf-8", "replace"))
            payload = [n for n in names if n not in (MANIFEST, CHECKPOINT)]
            missing = sorted(set(manifest) - set(payload))
            extra = sorted(set(payload) - set(manifest))
            if missing or extra:
                raise PackageError("the package does not match its manifest: "
                                   + "; ".join([f"{m} is missing" for m in missing[:5]]
                                               + [f"{x} is not in the manifest" for x in extra[:5]]))
            staging.mkdir(parents=True)
            (staging / "vault" / "tmp").mkdir(parents=True)
            (staging / "exports").mkdir()
            for info in infos:
                if info.filename in manifest:
                    _extract_checked(zf, info, staging, manifest[info.filename])
        for name in (README, KEY):
            (staging / name).unlink(missing_ok=True)  # carried for the reader; not part of a case
        _check_database(staging, receipt)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    case = Case.open(dest, examiner=examiner)
    if case.read_only:
        case.close()
        raise PackageError(f"the imported case cannot be opened for writing: {case.read_only_reason}")
    case.record("acquired", source=str(zip_path), sha256=package_sha, hash_before=package_sha,
                hash_after=package_sha,
                result=f"case package imported: {len(manifest)} files verified against the signed manifest",
                detail={"what": "case package imported", "files": len(manifest),
                        "checkpoint_seq": receipt.custody_seq, "checkpoint_head": receipt.head,
                        "manifest_sha256": receipt.content_sha256, "signed_by": receipt.fingerprint,
                        "signer": receipt.examiner})
    return case


def _receipt(data: bytes) -> Checkpoint:
    """Read and check the package's signed receipt: format, signature, trusted key."""
    try:
        receipt = checkpoint_from_json(json.loads(data))
    except ValueError as exc:
        raise PackageError(f"{CHECKPOINT} cannot be read ({exc}); refused") from exc
    if receipt.message_format != MAGIC2 or receipt.export != EXPORT:
        raise PackageError(f"{CHECKPOINT} does not sign a manifest (a package from a Casetrail before "
                           "signed manifests); refused: ask the sender for a new package")
    bad = verify_one(receipt)
    if bad:
        raise PackageError(f"{CHECKPOINT}: {bad}; refused")
    if not keys.is_trusted(receipt.public_key):
        raise PackageError(f"{CHECKPOINT} is signed by key {receipt.fingerprint} ({receipt.examiner}), which "
                           f"this workstation does not trust; check the fingerprint with the sender, then "
                           f"`casetrail keys trust` their key (the package carries it as {KEY})")
    return receipt


def _check_database(folder: Path, receipt: Checkpoint) -> None:
    """The unpacked case must verify in full and still hold the signed head."""
    if not (folder / DB_NAME).stat().st_size:
        raise PackageError(f"the package's {DB_NAME} is empty; refused")
    try:
        case = Case.open(folder)
    except CasetrailError as exc:
        raise PackageError(f"the package's {DB_NAME} is not a case database: {exc}") from exc
    try:
        if str(case.meta.get("case_id", "")) != receipt.case_id:
            raise PackageError(f"the package's {DB_NAME} is not the case {CHECKPOINT} signs; refused")
        problems = verify_external(case, receipt)
        if problems:
            raise PackageError(f"the package's {CHECKPOINT} does not hold: {problems[0]}; refused")
        report = run_to_end(verify_case(case, record=False, ledger=False))
        if not report.ok:
            raise PackageError(f"the package's case fails verification: {report.first_problem()}; refused")
    finally:
        case.close()


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
