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

Every export stores a checkpoint that is also its *receipt*: it signs what was exported and the
SHA-256 of the exported content together with the head, so two different briefings never carry
one signature. The signed message is exactly these bytes (UTF-8, ``\n`` line ends, no
trailing newline)::

    casetrail-checkpoint-v2
    <case_id>
    <custody seq, decimal>
    <head entry hash, 64 lower-case hex>
    <time signed, as stored>
    <what was exported: briefing, case package, stix, csv, or empty>
    <SHA-256 hex of the exported content, or empty>

Checkpoints stored before issue 11 signed the first four lines only, under
``casetrail-checkpoint-v1``; they still verify. The receipt is also appended to the workstation
ledger (``desktop.core.ledger``) and can be written to a file to carry away.

Keys are ``desktop.core.keys``: encrypted, and trusted explicitly. A checkpoint signed by a key
this workstation does not trust is a discrepancy. This module never stores a private key in a
case.
"""

from __future__ import annotations

import base64
import sqlite3
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from desktop.core import custody, keys, state
from desktop.core.case import Case
from desktop.core.keys import SigningKeyError, examiner_key, keys_dir, raw_public

MAGIC = "casetrail-checkpoint-v1"
MAGIC2 = "casetrail-checkpoint-v2"
__all__ = ["SigningKeyError", "examiner_key", "keys_dir"]


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint (since issue 11 also the receipt of an export).

    Attributes:
        id: the ``checkpoints`` row (0 for one not stored yet).
        case_id: the case's UUID, part of the signed message.
        custody_seq: the last custody entry covered.
        head: that entry's ``entry_hash``.
        at: when it was signed (UTC); signed in v2.
        examiner: who signed.
        key_id: first 16 hex of SHA-256 of the raw public key.
        public_key: the raw 32-byte Ed25519 public key, base64.
        signature: the 64-byte signature, base64.
        export: what was exported (v2), e.g. ``briefing``; empty for a bare checkpoint.
        content_sha256: SHA-256 hex of the exported content (v2), or empty.
        message_format: ``casetrail-checkpoint-v2`` (or ``-v1`` for checkpoints of older cases).
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
    export: str = ""
    content_sha256: str = ""
    message_format: str = MAGIC2

    @property
    def public_key_hex(self) -> str:
        """The raw public key as hex."""
        return base64.b64decode(self.public_key).hex()

    @property
    def signature_hex(self) -> str:
        """The signature as hex."""
        return base64.b64decode(self.signature).hex()

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex of the raw public key (``keys list``)."""
        return keys.fingerprint(base64.b64decode(self.public_key))

    def message(self) -> bytes:
        """The exact bytes the signature covers."""
        if self.message_format == MAGIC:
            return signed_message(self.case_id, self.custody_seq, self.head)
        return signed_message_v2(self.case_id, self.custody_seq, self.head, self.at, self.export,
                                 self.content_sha256)

    def to_json(self) -> dict[str, object]:
        """A plain dictionary: the receipt file, ``checkpoint.json`` of packages, the ledger."""
        return {"id": self.id, "case_id": self.case_id, "custody_seq": self.custody_seq,
                "head": self.head, "at": self.at, "examiner": self.examiner, "key_id": self.key_id,
                "public_key": self.public_key, "public_key_hex": self.public_key_hex,
                "fingerprint": self.fingerprint, "signature": self.signature, "algorithm": "Ed25519",
                "message_format": self.message_format, "export": self.export,
                "content_sha256": self.content_sha256}


@dataclass(frozen=True)
class CheckpointReport:
    """What :func:`verify_checkpoints` found.

    Attributes:
        ok: every checkpoint verifies, matches the chain as it is now, and has a trusted key.
        checked: how many checkpoints were checked.
        problems: one sentence per problem, naming the checkpoint.
        unknown_keys: key ids that are not on this workstation's trust list.
        signers: ``checkpoint id -> "key id (examiner)"``: the key of every checkpoint.
    """

    ok: bool
    checked: int
    problems: list[str]
    unknown_keys: list[str]
    signers: dict[int, str]


def signed_message(case_id: str, seq: int, head: str) -> bytes:
    """The bytes a v1 checkpoint signature covers (checkpoints of cases before issue 11)."""
    return f"{MAGIC}\n{case_id}\n{int(seq)}\n{head}".encode()


def signed_message_v2(case_id: str, seq: int, head: str, at: str, export: str, content_sha256: str) -> bytes:
    """The bytes a checkpoint (receipt) signature covers (see the module docstring)."""
    return f"{MAGIC2}\n{case_id}\n{int(seq)}\n{head}\n{at}\n{export}\n{content_sha256}".encode()


def key_id(public_raw: bytes) -> str:
    """Return the key id: the first 16 hex digits of SHA-256 of the raw public key."""
    return keys.fingerprint(public_raw)[:16]


def known_key_ids() -> set[str]:
    """Key ids of every key on this workstation's trust list."""
    return {fp[:16] for fp in keys.trusted_fingerprints()}


def head_of(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last custody entry's seq and hash (0 and the genesis value for an empty log)."""
    row = conn.execute("SELECT seq, entry_hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, custody.GENESIS)


def make_checkpoint(case: Case, seq: int | None = None, head: str | None = None, *, export: str = "",
                    content_sha256: str = "", legacy: bool = False) -> Checkpoint:
    """Sign the chain head (or a given seq and head), and what was exported, storing nothing.

    Args:
        case: the case.
        seq: the custody entry covered (default: the head).
        head: its entry hash.
        export: what is exported (``briefing``, ``case package``, ``stix``, ``csv``).
        content_sha256: SHA-256 of the exported content.
        legacy: sign the v1 message (case, seq, head) only: the deterministic checkpoint a
            briefing prints inside itself, before its own content hash exists.
    """
    if seq is None or head is None:
        seq, head = head_of(case.db.conn)
    key = examiner_key(case.examiner)
    raw = raw_public(key.public_key())
    case_id = str(case.meta.get("case_id", ""))
    at = custody.utc_now()
    cp = Checkpoint(0, case_id, seq, head, at, case.examiner, key_id(raw), base64.b64encode(raw).decode(),
                    "", "" if legacy else export, "" if legacy else content_sha256,
                    MAGIC if legacy else MAGIC2)
    sig = key.sign(cp.message())
    return replace(cp, signature=base64.b64encode(sig).decode())


def store_checkpoint(conn: sqlite3.Connection, case: Case, cp: Checkpoint) -> Checkpoint:
    """Write a checkpoint row and its custody entry inside the caller's transaction."""
    cur = conn.execute(
        "INSERT INTO checkpoints (custody_seq, head, at, examiner, key_id, public_key, signature, export, "
        "content_sha256, message_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (cp.custody_seq, cp.head, cp.at, cp.examiner, cp.key_id, cp.public_key, cp.signature, cp.export,
         cp.content_sha256, cp.message_format))
    stored = replace(cp, id=int(cur.lastrowid or 0))
    custody.append(conn, action="note", examiner=case.examiner, result="signed checkpoint",
                   detail={"what": "signed checkpoint", "checkpoint_id": stored.id,
                           "custody_seq": cp.custody_seq, "head": cp.head, "key_id": cp.key_id,
                           "public_key": cp.public_key, "signature": cp.signature, "export": cp.export,
                           "content_sha256": cp.content_sha256, "message_format": cp.message_format},
                   state=[state.row_change(conn, "checkpoints", stored.id)])
    return stored


def sign_checkpoint(case: Case) -> Checkpoint:
    """Sign the current head of the chain, store the checkpoint and record it in custody.

    The checkpoint covers the entries up to the current head; its own custody entry comes
    after it (and is covered by the next checkpoint).
    """
    with case.transaction() as conn:
        seq, head = head_of(conn)
        cp = make_checkpoint(case, seq, head)
        return store_checkpoint(conn, case, cp)


def list_checkpoints(case: Case) -> list[Checkpoint]:
    """Return the stored checkpoints, oldest first."""
    case_id = str(case.meta.get("case_id", ""))
    rows = case.db.conn.execute(
        "SELECT id, custody_seq, head, at, examiner, key_id, public_key, signature, export, content_sha256, "
        "message_format FROM checkpoints ORDER BY id")
    return [Checkpoint(int(r[0]), case_id, int(r[1]), *r[2:]) for r in rows]


def latest_checkpoint(case: Case) -> Checkpoint | None:
    """Return the newest stored checkpoint, or None."""
    found = list_checkpoints(case)
    return found[-1] if found else None


def checkpoint_from_json(data: object) -> Checkpoint:
    """Read a receipt (``to_json``) back; raise ValueError when it is not one."""
    if not isinstance(data, dict):
        raise ValueError("a receipt is a JSON object")
    try:
        fmt = str(data.get("message_format") or MAGIC)
        if fmt not in (MAGIC, MAGIC2):
            raise ValueError(f"unknown receipt format {fmt!r}")
        return Checkpoint(int(str(data.get("id", 0))), str(data["case_id"]), int(str(data["custody_seq"])),
                          str(data["head"]), str(data.get("at", "")), str(data.get("examiner", "")),
                          str(data["key_id"]), str(data["public_key"]), str(data["signature"]),
                          str(data.get("export", "")), str(data.get("content_sha256", "")), fmt)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a receipt field is missing: {exc}") from exc


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
    signers: dict[int, str] = {}
    trusted = keys.trusted_fingerprints()
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
        signers[cp.id] = f"{cp.key_id} ({cp.examiner})"
        if _fingerprint_of(cp) not in trusted:
            problems.append(f"checkpoint {cp.id} is signed by key {cp.key_id} (examiner {cp.examiner}), "
                            "which this workstation does not trust (`casetrail keys trust` after "
                            "checking its fingerprint)")
            if cp.key_id not in unknown:
                unknown.append(cp.key_id)
    return CheckpointReport(not problems, len(cps), problems, unknown, signers)


def _fingerprint_of(cp: Checkpoint) -> str:
    try:
        return cp.fingerprint
    except ValueError:
        return ""
