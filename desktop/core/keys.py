# SPDX-License-Identifier: GPL-3.0-or-later
"""Examiners' signing keys: encrypted on disk, unlocked once a session, and a list of trusted keys.

A signature proves only as much as the key behind it. Three rules follow:

- **The private key is encrypted** (PKCS#8, AES-256-CBC under a key derived from the examiner's
  passphrase, ``cryptography``'s ``BestAvailableEncryption``): copying the key file off the
  workstation gives nobody the power to re-sign a rewritten log. The passphrase comes from
  ``CASETRAIL_PASSPHRASE`` (scripts, tests), from :func:`set_passphrase` (the window asks once a
  session) or from the terminal (asked once a process). A key written unencrypted by an earlier
  Casetrail is encrypted the first time it is unlocked (migrated, not broken).
- **Trust is explicit.** ``keys/trusted/<fingerprint>.json`` lists the public keys this
  workstation accepts: its own examiners' keys (written when a key is created or migrated) and
  colleagues' keys imported with ``casetrail keys trust FILE``. A checkpoint or receipt signed
  by a key that is not on the list is a discrepancy, whatever examiner name it carries: anyone
  can make a key pair under any name.
- **A certificate for the key** (self-signed X.509 with the Ed25519 key, subject = examiner)
  lets standard PDF tools check the briefing's PAdES signature.

The fingerprint of a key is the SHA-256 of its raw 32-byte public key, 64 hex digits; its *key
id*, printed in checkpoints, is the first 16. Trust and key creation are also appended to the
workstation ledger (``desktop.core.ledger``). This module never sends a key anywhere.
"""

from __future__ import annotations

import base64
import datetime
import getpass
import hashlib
import json
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from desktop.core.errors import CasetrailError
from desktop.core.home import workstation_home

PUBLIC_FORMAT = "casetrail-public-key-v1"
_SLUG = re.compile(r"[^a-z0-9]+")
_FP = re.compile(r"[0-9a-f]{16,64}\Z")
_session_passphrase: str | None = None
_lock = threading.RLock()
_unlocked: dict[tuple[str, str], Ed25519PrivateKey] = {}  # (key file, SHA-256 of file + passphrase)


class SigningKeyError(CasetrailError):
    """The examiner's signing key cannot be created, unlocked or read."""


class PassphraseNeeded(SigningKeyError):  # noqa: N818 - a state to ask the user about
    """Signing needs the examiner's passphrase and none was given."""


@dataclass(frozen=True)
class KeyInfo:
    """A key this workstation knows: one of ``keys list``.

    Attributes:
        fingerprint: SHA-256 hex of the raw public key.
        examiner: the name the key was made for.
        public_key: the raw public key, base64.
        trusted: on this workstation's trust list.
        private: the private key is held here (encrypted).
    """

    fingerprint: str
    examiner: str
    public_key: str
    trusted: bool
    private: bool

    @property
    def key_id(self) -> str:
        """The first 16 hex digits of the fingerprint."""
        return self.fingerprint[:16]

    def to_json(self) -> dict[str, Any]:
        """The ``keys list --json`` shape (DESIGN §7)."""
        return {"fingerprint": self.fingerprint, "examiner": self.examiner, "trusted": self.trusted,
                "private": self.private}


def keys_dir() -> Path:
    """The workstation's key folder."""
    return workstation_home() / "keys"


def _trusted_dir() -> Path:
    return keys_dir() / "trusted"


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_raw: bytes) -> str:
    """SHA-256 hex of the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()


# -- the passphrase -----------------------------------------------------------------------------


def set_passphrase(passphrase: str) -> None:
    """Remember the passphrase for this session (the window's dialog calls this once)."""
    global _session_passphrase
    _session_passphrase = passphrase


def passphrase_available() -> bool:
    """Whether signing can proceed without asking (environment or session)."""
    return bool(os.environ.get("CASETRAIL_PASSPHRASE") or _session_passphrase)


def _passphrase(examiner: str, *, new: bool) -> bytes:
    env = os.environ.get("CASETRAIL_PASSPHRASE")
    if env:
        return env.encode()
    if _session_passphrase:
        return _session_passphrase.encode()
    if sys.stdin is not None and sys.stdin.isatty():
        prompt = (f"New passphrase for the signing key of {examiner}: " if new
                  else f"Passphrase of the signing key of {examiner}: ")
        value = getpass.getpass(prompt)
        if value:
            set_passphrase(value)
            return value.encode()
    raise PassphraseNeeded(f"signing needs the passphrase of {examiner}'s key: set CASETRAIL_PASSPHRASE "
                           "or run the command from a terminal")


# -- files ----------------------------------------------------------------------------------------


def _stem(examiner: str) -> Path:
    slug = _SLUG.sub("-", examiner.lower()).strip("-")[:40] or "examiner"
    digest = hashlib.sha256(examiner.encode()).hexdigest()[:8]
    return keys_dir() / f"{slug}-{digest}"


def key_file(examiner: str) -> Path:
    """Where the examiner's encrypted private key lives."""
    return _stem(examiner).with_suffix(".ed25519.pem")


def cert_file(examiner: str) -> Path:
    """Where the certificate of the examiner's key lives (for PDF signatures)."""
    return _stem(examiner).with_suffix(".cert.pem")


def _write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write a whole file under a temp name, fsync, and move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def public_document(examiner: str, public_raw: bytes) -> dict[str, str]:
    """The exported public key: what ``keys export`` writes and ``keys trust`` reads."""
    return {"format": PUBLIC_FORMAT, "examiner": examiner, "algorithm": "Ed25519",
            "public_key": base64.b64encode(public_raw).decode(), "fingerprint": fingerprint(public_raw)}


def _record_trust(examiner: str, public_raw: bytes, how: str) -> bool:
    """Put a key on the trust list; append it to the ledger. Returns False if it was there."""
    from desktop.core import ledger  # the ledger signs nothing itself; no import cycle at load

    fp = fingerprint(public_raw)
    path = _trusted_dir() / f"{fp}.json"
    if path.is_file():
        return False
    doc = public_document(examiner, public_raw)
    _write_new(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode(), 0o644)
    ledger.append({"type": "key trusted", "how": how, **doc})
    return True


# -- the examiner's key ----------------------------------------------------------------------------


def examiner_key(examiner: str) -> Ed25519PrivateKey:
    """Return the examiner's signing key, unlocking it (or creating it, encrypted, on first use).

    A key file an older Casetrail wrote unencrypted is encrypted under the passphrase now.

    Raises:
        PassphraseNeeded: no passphrase is available.
        SigningKeyError: the key cannot be read, or the passphrase does not unlock it.
    """
    with _lock:
        path = key_file(examiner)
        try:
            if not path.exists():
                return _create(examiner, path)
            data = path.read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot use the signing key at {path}: {exc.strerror or exc}") from exc
        encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0]
        phrase = _passphrase(examiner, new=False) if encrypted else None
        cache_key = (str(path), hashlib.sha256(data + (phrase or b"")).hexdigest())
        if cache_key in _unlocked:  # unlocking costs a key derivation (~0.1 s): once a session
            return _unlocked[cache_key]
        try:
            loaded = serialization.load_pem_private_key(data, password=phrase)
        except ValueError as exc:
            what = "the passphrase does not unlock" if encrypted else "is not a valid key file:"
            raise SigningKeyError(f"{what} the signing key at {path}" if encrypted else
                                  f"the signing key at {path} is not a valid key file") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise SigningKeyError(f"the signing key at {path} is not an Ed25519 key")
        if not encrypted:  # migrate a key written by an earlier Casetrail
            _write_new(path, _encrypted_pem(loaded, _passphrase(examiner, new=True)))
        _ensure_companions(examiner, loaded, how="own key (migrated)" if not encrypted else "own key")
        if encrypted:
            _unlocked[cache_key] = loaded
        return loaded


def _encrypted_pem(key: Ed25519PrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase))


def _create(examiner: str, path: Path) -> Ed25519PrivateKey:
    phrase = _passphrase(examiner, new=True)
    key = Ed25519PrivateKey.generate()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_encrypted_pem(key, phrase))
                fh.flush()
                os.fsync(fh.fileno())
            # os.link never overwrites: a key made at the same moment by another process wins.
            os.link(tmp, path)
        except FileExistsError:
            return examiner_key(examiner)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise SigningKeyError(f"cannot create the signing key at {path}: {exc.strerror or exc}") from exc
    _ensure_companions(examiner, key, how="own key (created)")
    return key


def _ensure_companions(examiner: str, key: Ed25519PrivateKey, *, how: str) -> None:
    """The public half, the certificate and the trust entry of an own key, written once."""
    raw = raw_public(key.public_key())
    pub = _stem(examiner).with_suffix(".pub.json")
    if not pub.is_file():
        _write_new(pub, (json.dumps(public_document(examiner, raw), indent=2) + "\n").encode(), 0o644)
    cert = cert_file(examiner)
    if not cert.is_file():
        _write_new(cert, make_certificate(examiner, key).public_bytes(serialization.Encoding.PEM), 0o644)
    _record_trust(examiner, raw, how)


def make_certificate(examiner: str, key: Ed25519PrivateKey) -> x509.Certificate:
    """A self-signed certificate of the examiner's key, for PAdES signatures.

    Deterministic (fixed validity, serial from the fingerprint; Ed25519 signs deterministically),
    so the same key always has the same certificate.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, examiner),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Casetrail examiner key")])
    raw = raw_public(key.public_key())
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=False, encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(int(fingerprint(raw)[:30], 16)).not_valid_before(start)
            .not_valid_after(datetime.datetime(2999, 12, 31, tzinfo=datetime.UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, None))


# -- the trust list --------------------------------------------------------------------------------


def _read_public(path: Path) -> tuple[str, bytes] | None:
    """(examiner, raw public key) from an exported key file or a legacy ``.pub`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and doc.get("format") == PUBLIC_FORMAT:
            raw = base64.b64decode(str(doc["public_key"]), validate=True)
            Ed25519PublicKey.from_public_bytes(raw)
            return str(doc.get("examiner", "")), raw
    except (ValueError, KeyError):
        pass
    lines = text.splitlines()
    if len(lines) >= 3 and lines[1].startswith("Ed25519 "):  # Casetrail before issue 11
        try:
            raw = base64.b64decode(lines[2].strip(), validate=True)
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            return None
        return lines[0], raw
    return None


def migrate_legacy_keys() -> list[str]:
    """Put the keys an earlier Casetrail made here (unencrypted, before trust lists) on the list.

    Such a key was this workstation's own examiner key; it is trusted as it was, and encrypted
    as soon as a passphrase is available (here, when one is set, or at its next use). Keys made
    since issue 11 are born encrypted and trusted, so an unencrypted key file is always legacy.

    Returns:
        The fingerprints newly trusted.
    """
    out: list[str] = []
    folder = keys_dir()
    if not folder.is_dir():
        return out
    with _lock:
        for path in sorted(folder.glob("*.ed25519.pem")):
            try:
                data = path.read_bytes()
                if b"ENCRYPTED" in data.split(b"\n", 1)[0]:
                    continue
                key = serialization.load_pem_private_key(data, password=None)
            except (OSError, ValueError, TypeError):
                continue
            if not isinstance(key, Ed25519PrivateKey):
                continue
            legacy_pub = path.with_name(path.name.replace(".ed25519.pem", ".ed25519.pub"))
            found = _read_public(legacy_pub)
            examiner = found[0] if found else path.name.split(".")[0]
            raw = raw_public(key.public_key())
            if _record_trust(examiner, raw, "own key (made before trust lists; migrated)"):
                out.append(fingerprint(raw))
            if passphrase_available():
                _write_new(path, _encrypted_pem(key, _passphrase(examiner, new=True)))
                _ensure_companions(examiner, key, how="own key (migrated)")
    return out


def trusted_fingerprints() -> set[str]:
    """Fingerprints of every key on this workstation's trust list."""
    migrate_legacy_keys()
    folder = _trusted_dir()
    if not folder.is_dir():
        return set()
    out = set()
    for path in folder.glob("*.json"):
        found = _read_public(path)
        if found and fingerprint(found[1]) == path.stem:
            out.add(path.stem)
    return out


def list_keys() -> list[KeyInfo]:
    """Every key this workstation holds or trusts, own keys first."""
    trusted = trusted_fingerprints()
    seen: dict[str, KeyInfo] = {}
    folder = keys_dir()
    if folder.is_dir():
        for pub in sorted(folder.glob("*.pub.json")) + sorted(folder.glob("*.ed25519.pub")):
            found = _read_public(pub)
            if found is None:
                continue
            examiner, raw = found
            fp = fingerprint(raw)
            private = key_file(examiner).is_file()
            seen.setdefault(fp, KeyInfo(fp, examiner, base64.b64encode(raw).decode(), fp in trusted, private))
    for fp in sorted(trusted - set(seen)):
        found = _read_public(_trusted_dir() / f"{fp}.json")
        if found:
            seen[fp] = KeyInfo(fp, found[0], base64.b64encode(found[1]).decode(), True, False)
    return list(seen.values())


def find_key(prefix: str) -> KeyInfo:
    """The one known key whose fingerprint starts with ``prefix`` (16 to 64 hex digits).

    Raises:
        SigningKeyError: no key, or more than one, matches.
    """
    p = prefix.strip().lower()
    if not _FP.match(p):
        raise SigningKeyError(f"{prefix!r} is not a key fingerprint (16 to 64 hex digits)")
    hits = [k for k in list_keys() if k.fingerprint.startswith(p)]
    if len(hits) != 1:
        raise SigningKeyError(f"{'no key' if not hits else 'several keys'} on this workstation "
                              f"{'has' if not hits else 'have'} a fingerprint starting {p}")
    return hits[0]


def export_key(prefix: str, path: Path) -> KeyInfo:
    """Write a known key's public half to ``path`` (``keys export``)."""
    info = find_key(prefix)
    doc = public_document(info.examiner, base64.b64decode(info.public_key))
    try:
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SigningKeyError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return info


def trust_key(path: Path) -> tuple[KeyInfo, bool]:
    """Trust the public key in ``path`` on this workstation (``keys trust``); recorded in the ledger.

    Returns:
        The key and whether it was newly trusted.

    Raises:
        SigningKeyError: the file is not a public key Casetrail exported.
    """
    found = _read_public(path)
    if found is None:
        raise SigningKeyError(f"{path} is not an examiner's public key exported by `casetrail keys export`")
    examiner, raw = found
    added = _record_trust(examiner, raw, f"trusted from {path.name}")
    fp = fingerprint(raw)
    return KeyInfo(fp, examiner, base64.b64encode(raw).decode(), True, key_file(examiner).is_file()), added


def fingerprint_of(examiner: str) -> str | None:
    """The fingerprint of the examiner's own key on this workstation (no passphrase needed)."""
    for name in (".pub.json", ".ed25519.pub"):
        found = _read_public(_stem(examiner).with_suffix(name))
        if found:
            return fingerprint(found[1])
    return None


def is_trusted(public_key_b64: str) -> bool:
    """Whether a base64 raw public key is on the trust list."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except ValueError:
        return False
    return fingerprint(raw) in trusted_fingerprints()
