# SPDX-License-Identifier: GPL-3.0-or-later
r"""Signed checkpoints of the custody chain: an examiner's Ed25519 signature over its head.

The hash chain (``custody.py``) proves that entries were not edited, removed or reordered *in
the middle*; it cannot prove that the *tail* was not cut off, or that the whole log was not
rebuilt from scratch, because whoever rewrites it can recompute every hash. A checkpoint fixes a
point of the chain with a signature made by the examiner's key, which never leaves the
workstation: ``(case_id, custody seq, head hash)`` signed with Ed25519. It is made at each export
and printed in every briefing, so a later copy of the case can be checked against the paper:
:func:`verify_checkpoints` finds a truncated tail (the signed seq no longer exists), a rewritten
history (the entry at that seq has another hash now) and a forged or altered checkpoint row.

The signed message is exactly these bytes (UTF-8, ``\n`` line ends, no trailing newline)::

    casetrail-checkpoint-v1
    <case_id>
    <custody seq, decimal>
    <head entry hash, 64 lower-case hex>

Ed25519 signatures are deterministic, so the same state signed with the same key always gives
the same signature (which keeps briefings byte-reproducible).

Keys: one per examiner name, created on first use in ``$CASETRAIL_HOME/keys/`` (else the
platform's user data folder ``…/casetrail/keys/``) as PKCS#8 PEM, mode 0600. The key id is the
first 16 hex digits of SHA-256 of the raw 32-byte public key. This module never sends a key
anywhere and never stores a private key in a case.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from desktop.core import custody
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.home import workstation_home

MAGIC = "casetrail-checkpoint-v1"
_SLUG = re.compile(r"[^a-z0-9]+")


class SigningKeyError(CasetrailError):
    """The examiner's signing key cannot be created or read."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint.

    Attributes:
        id: the ``checkpoints`` row (0 for one not stored yet).
        case_id: the case's UUID, part of the signed message.
        custody_seq: the last custody entry covered.
        head: that entry's ``entry_hash``.
        at: when it was signed (UTC), not signed itself.
        examiner: who signed.
        key_id: first 16 hex of SHA-256 of the raw public key.
        public_key: the raw 32-byte Ed25519 public key, base64.
        signature: the 64-byte signature, base64.
    """

    id: int
    case_id: str
    custody_seq: int
    head: str
    at: str
    examiner: str
    key_id: str
    public_key: str
    signature: str

    @property
    def public_key_hex(self) -> str:
        """The raw public key as hex."""
        return base64.b64decode(self.public_key).hex()

    @property
    def signature_hex(self) -> str:
        """The signature as hex."""
        return base64.b64decode(self.signature).hex()

    def message(self) -> bytes:
        """The exact bytes the signature covers."""
        return signed_message(self.case_id, self.custody_seq, self.head)

    def to_json(self) -> dict[str, object]:
        """A plain dictionary, for packages and the CLI."""
        return {"id": self.id, "case_id": self.case_id, "custody_seq": self.custody_seq,
                "head": self.head, "at": self.at, "examiner": self.examiner, "key_id": self.key_id,
                "public_key": self.public_key, "public_key_hex": self.public_key_hex,
                "signature": self.signature, "algorithm": "Ed25519", "message_format": MAGIC}


@dataclass(frozen=True)
class CheckpointReport:
    """What :func:`verify_checkpoints` found.

    Attributes:
        ok: every checkpoint verifies and matches the chain as it is now.
        checked: how many checkpoints were checked.
        problems: one sentence per problem, naming the checkpoint.
        unknown_keys: key ids that are not in this workstation's key folder (a signature by a
            key nobody here holds proves less: anyone can make a key pair).
    """

    ok: bool
    checked: int
    problems: list[str]
    unknown_keys: list[str]


def signed_message(case_id: str, seq: int, head: str) -> bytes:
    """Return the bytes a checkpoint signature covers (see the module docstring)."""
    return f"{MAGIC}\n{case_id}\n{int(seq)}\n{head}".encode()


def key_id(public_raw: bytes) -> str:
    """Return the key id: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def keys_dir() -> Path:
    """Return the workstation's key folder (``$CASETRAIL_HOME/keys`` or the platform's)."""
    return workstation_home() / "keys"


def _key_file(examiner: str) -> Path:
    slug = _SLUG.sub("-", examiner.lower()).strip("-")[:40] or "examiner"
    digest = hashlib.sha256(examiner.encode()).hexdigest()[:8]
    return keys_dir() / f"{slug}-{digest}.ed25519.pem"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def examiner_key(examiner: str) -> Ed25519PrivateKey:
    """Return the examiner's signing key, creating it (mode 0600) on first use.

    Raises:
        SigningKeyError: the key folder cannot be written or the key file cannot be read.
    """
    path = _key_file(examiner)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            # Written in full under a temp name, then linked into place: a second process or
            # thread creating the key at the same moment never reads a half-written file, and
            # os.link never overwrites the key that won.
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.link(tmp, path)
            except FileExistsError:
                return examiner_key(examiner)
            finally:
                tmp.unlink(missing_ok=True)
            pub = path.with_suffix(".pub")
            pub.write_text(f"{examiner}\nEd25519 {key_id(_raw_public(key.public_key()))}\n"
                           f"{base64.b64encode(_raw_public(key.public_key())).decode()}\n")
            return key
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"cannot use the signing key at {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise SigningKeyError(f"the signing key at {path} is not a valid key file") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"the signing key at {path} is not an Ed25519 key")
    return loaded


def known_key_ids() -> set[str]:
    """Return the key ids of every key in this workstation's key folder."""
    out: set[str] = set()
    folder = keys_dir()
    if not folder.is_dir():
        return out
    for path in folder.glob("*.ed25519.pem"):
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError):
            continue
        if isinstance(key, Ed25519PrivateKey):
            out.add(key_id(_raw_public(key.public_key())))
    return out


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT seq, entry_hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, custody.GENESIS)


def make_checkpoint(case: Case, seq: int | None = None, head: str | None = None) -> Checkpoint:
    """Sign the chain head (or a given seq and head) without storing anything.

    The briefing uses this to print the checkpoint of the state it shows, then stores it with
    :func:`store_checkpoint` in the same transaction that records the export.
    """
    if seq is None or head is None:
        seq, head = _head(case.db.conn)
    key = examiner_key(case.examiner)
    raw = _raw_public(key.public_key())
    case_id = str(case.meta.get("case_id", ""))
    sig = key.sign(signed_message(case_id, seq, head))
    return Checkpoint(0, case_id, seq, head, custody.utc_now(), case.examiner, key_id(raw),
                      base64.b64encode(raw).decode(), base64.b64encode(sig).decode())


def store_checkpoint(conn: sqlite3.Connection, case: Case, cp: Checkpoint) -> Checkpoint:
    """Write a checkpoint row and its custody entry inside the caller's transaction."""
    cur = conn.execute(
        "INSERT INTO checkpoints (custody_seq, head, at, examiner, key_id, public_key, signature) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (cp.custody_seq, cp.head, cp.at, cp.examiner, cp.key_id, cp.public_key, cp.signature))
    stored = Checkpoint(int(cur.lastrowid or 0), cp.case_id, cp.custody_seq, cp.head, cp.at,
                        cp.examiner, cp.key_id, cp.public_key, cp.signature)
    custody.append(conn, action="note", examiner=case.examiner, result="signed checkpoint",
                   detail={"what": "signed checkpoint", "checkpoint_id": stored.id,
                           "custody_seq": cp.custody_seq, "head": cp.head, "key_id": cp.key_id,
                           "public_key": cp.public_key, "signature": cp.signature})
    return stored


def sign_checkpoint(case: Case) -> Checkpoint:
    """Sign the current head of the chain, store the checkpoint and record it in custody.

    The checkpoint covers the entries up to the current head; its own custody entry comes
    after it (and is covered by the next checkpoint).
    """
    with case.transaction() as conn:
        seq, head = _head(conn)
        cp = make_checkpoint(case, seq, head)
        return store_checkpoint(conn, case, cp)


def list_checkpoints(case: Case) -> list[Checkpoint]:
    """Return the stored checkpoints, oldest first."""
    case_id = str(case.meta.get("case_id", ""))
    rows = case.db.conn.execute("SELECT id, custody_seq, head, at, examiner, key_id, public_key, signature "
                                "FROM checkpoints ORDER BY id")
    return [Checkpoint(int(r[0]), case_id, int(r[1]), *r[2:]) for r in rows]


def latest_checkpoint(case: Case) -> Checkpoint | None:
    """Return the newest stored checkpoint, or None."""
    found = list_checkpoints(case)
    return found[-1] if found else None


def verify_one(cp: Checkpoint) -> str | None:
    """Check one checkpoint's key id and signature; return the problem, or None."""
    try:
        raw = base64.b64decode(cp.public_key, validate=True)
        sig = base64.b64decode(cp.signature, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return f"checkpoint {cp.id}: the public key or signature is not valid base64 Ed25519 data"
    if key_id(raw) != cp.key_id:
        return f"checkpoint {cp.id}: the key id does not belong to its public key"
    try:
        public.verify(sig, cp.message())
    except InvalidSignature:
        return f"checkpoint {cp.id}: the signature does not match case, seq {cp.custody_seq} and head"
    return None


def _against_chain(cp: Checkpoint, hashes: dict[int, str]) -> str | None:
    if cp.custody_seq == 0:
        return None if cp.head == custody.GENESIS else (
            f"checkpoint {cp.id}: an empty chain must have the genesis head")
    if cp.custody_seq not in hashes:
        return (f"checkpoint {cp.id}: custody entry {cp.custody_seq} it signed is gone "
                "(the log was cut short)")
    if hashes[cp.custody_seq] != cp.head:
        return (f"checkpoint {cp.id}: custody entry {cp.custody_seq} has another hash than the one "
                "signed (the log was rewritten)")
    return None


def verify_external(case: Case, cp: Checkpoint) -> list[str]:
    """Check a checkpoint kept outside the case (a package, a printed briefing) against it.

    Returns:
        The problems found; empty when the signature holds, the case id matches and the chain
        still has the signed head at the signed seq.
    """
    problems = [p for p in (verify_one(cp),) if p]
    if cp.case_id != str(case.meta.get("case_id", "")):
        problems.append(f"checkpoint {cp.id}: it is for case {cp.case_id}, not this case")
    hashes = {int(s): str(h) for s, h in case.db.conn.execute(
        "SELECT seq, entry_hash FROM custody WHERE seq = ?", (cp.custody_seq,))}
    bad = _against_chain(cp, hashes)
    if bad:
        problems.append(bad)
    return problems


def verify_checkpoints(case: Case) -> CheckpointReport:
    """Check every stored checkpoint against its signature and against the chain as it is now.

    Fails closed: a checkpoint that cannot be checked is a problem, never a pass.
    """
    conn = case.db.conn
    problems: list[str] = []
    unknown: list[str] = []
    known = known_key_ids()
    cps = list_checkpoints(case)
    hashes = {int(s): str(h) for s, h in conn.execute("SELECT seq, entry_hash FROM custody")}
    last_seq = 0
    for cp in cps:
        bad = verify_one(cp)
        if bad:
            problems.append(bad)
        if cp.custody_seq < last_seq:
            problems.append(f"checkpoint {cp.id}: covers seq {cp.custody_seq}, before the previous "
                            f"checkpoint's {last_seq} (checkpoints must not go backwards)")
        last_seq = max(last_seq, cp.custody_seq)
        bad = _against_chain(cp, hashes)
        if bad:
            problems.append(bad)
        if cp.key_id not in known and cp.key_id not in unknown:
            unknown.append(cp.key_id)
    return CheckpointReport(not problems, len(cps), problems, unknown)
