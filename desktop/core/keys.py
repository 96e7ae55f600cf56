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
- **A document-signing key signs PDFs.** Few PDF tools check Ed25519 signatures (poppler's
  ``pdfsig``/NSS and ``openssl cms`` cannot; Adobe lists RSA and ECDSA only), so a briefing's
  PAdES signature is made by a second key per examiner: RSA-3072, PKCS#1 v1.5 with SHA-256,
  in a self-signed certificate (subject = examiner), which every PDF validator checks and which
  signs deterministically. The examiner's Ed25519 key *vouches* for that certificate: it signs
  ``casetrail-document-key-v1`` + its own fingerprint + the certificate's SHA-256 (the
  *binding*). The binding travels in every signed briefing and with the public key (``keys
  export``/``keys trust``), so a PDF signer certificate no trusted examiner key vouches for is
  a discrepancy. The document key is encrypted like the examiner key (same passphrase), made
  on first use (also for an examiner whose key predates it), and recorded in the ledger.

The fingerprint of a key is the SHA-256 of its raw 32-byte public key, 64 hex digits; its *key
id*, printed in checkpoints, is the first 16. Checkpoints, receipts, manifests and the ledger
stay Ed25519. Trust and key creation are also appended to the workstation ledger
(``desktop.core.ledger``). This module never sends a key anywhere.
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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from desktop.core.errors import CasetrailError
from desktop.core.home import workstation_home

PUBLIC_FORMAT = "casetrail-public-key-v1"
BINDING_FORMAT = "casetrail-document-key-v1"
DOCUMENT_KEY_BITS = 3072
DOCUMENT_MEMBERS = ("document_certificate", "document_certificate_sha256", "document_binding")
_SLUG = re.compile(r"[^a-z0-9]+")
_FP = re.compile(r"[0-9a-f]{16,64}\Z")
_session_passphrase: str | None = None
_lock = threading.RLock()
_unlocked: dict[tuple[str, str], Ed25519PrivateKey] = {}  # (key file, SHA-256 of file + passphrase)
_unlocked_documents: dict[tuple[str, str], DocumentKey] = {}


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
        document_certificate_sha256: SHA-256 of the document-signing certificate the key vouches
            for, or empty (none known yet). Not part of the ``--json`` shape.
    """

    fingerprint: str
    examiner: str
    public_key: str
    trusted: bool
    private: bool
    document_certificate_sha256: str = ""

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


def document_key_file(examiner: str) -> Path:
    """Where the examiner's encrypted document-signing key (RSA) lives."""
    return _stem(examiner).with_suffix(".document.pem")


def document_cert_file(examiner: str) -> Path:
    """Where the certificate of the examiner's document-signing key lives (for PDF tools)."""
    return _stem(examiner).with_suffix(".document.cert.pem")


def _public_file(examiner: str) -> Path:
    return _stem(examiner).with_suffix(".pub.json")


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


def public_document(examiner: str, public_raw: bytes,
                    document: dict[str, str] | None = None) -> dict[str, str]:
    """The exported public key: what ``keys export`` writes and ``keys trust`` reads.

    ``document`` adds the document-signing certificate the key vouches for (the members
    ``document_certificate`` (PEM), ``document_certificate_sha256`` and ``document_binding``).
    """
    return {"format": PUBLIC_FORMAT, "examiner": examiner, "algorithm": "Ed25519",
            "public_key": base64.b64encode(public_raw).decode(), "fingerprint": fingerprint(public_raw),
            **(document or {})}


def _record_trust(examiner: str, public_raw: bytes, how: str, document: dict[str, str] | None = None) -> bool:
    """Put a key on the trust list; append it to the ledger. Returns False if it was there.

    A key already trusted learns the document certificate it vouches for (``document``, whose
    binding the caller has checked): that needs no new trust decision, since the key itself
    signed the binding. The change is appended to the ledger.
    """
    from desktop.core import ledger  # the ledger signs nothing itself; no import cycle at load

    fp = fingerprint(public_raw)
    path = _trusted_dir() / f"{fp}.json"
    if path.is_file():
        if document:
            found = _read_json(path)
            if found is not None and any(found.get(m) != document[m] for m in DOCUMENT_MEMBERS):
                doc = {**found, **document}
                _write_new(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode(), 0o644)
                _ledger_document(examiner, fp, document, how)
        return False
    doc = public_document(examiner, public_raw, document)
    _write_new(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode(), 0o644)
    ledger.append({"type": "key trusted", "how": how, **public_document(examiner, public_raw)})
    if document:
        _ledger_document(examiner, fp, document, how)
    return True


def _ledger_document(examiner: str, fp: str, document: dict[str, str], how: str) -> None:
    from desktop.core import ledger

    ledger.append({"type": "document key", "how": how, "examiner": examiner, "fingerprint": fp,
                   "document_certificate_sha256": document["document_certificate_sha256"],
                   "document_binding": document["document_binding"]})


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


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
    """The public half and the trust entry of an own key, written once."""
    raw = raw_public(key.public_key())
    pub = _public_file(examiner)
    if not pub.is_file():
        _write_new(pub, (json.dumps(public_document(examiner, raw), indent=2) + "\n").encode(), 0o644)
    _record_trust(examiner, raw, how)


# -- the document-signing key (PDF signatures) -----------------------------------------------------


@dataclass(frozen=True)
class DocumentKey:
    """An examiner's unlocked document-signing key, its certificate, and the binding to the examiner.

    Attributes:
        examiner: whose key it is.
        key: the RSA private key (unlocked).
        certificate: its self-signed certificate (:func:`make_document_certificate`).
        fingerprint: the fingerprint of the examiner's Ed25519 key that vouches for it.
        binding: base64 of the Ed25519 signature over :func:`binding_message`.
    """

    examiner: str
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    fingerprint: str
    binding: str

    @property
    def certificate_der(self) -> bytes:
        """The certificate, DER."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def certificate_sha256(self) -> str:
        """SHA-256 hex of the certificate's DER (what ``openssl x509 -fingerprint -sha256`` prints)."""
        return hashlib.sha256(self.certificate_der).hexdigest()

    def public_members(self) -> dict[str, str]:
        """The members a public-key document carries for it (:data:`DOCUMENT_MEMBERS`)."""
        return {"document_certificate": self.certificate.public_bytes(serialization.Encoding.PEM).decode(),
                "document_certificate_sha256": self.certificate_sha256, "document_binding": self.binding}


def binding_message(examiner_fingerprint: str, certificate_sha256: str) -> bytes:
    r"""What the examiner's Ed25519 key signs to vouch for a document-signing certificate.

    Three lines joined by ``\n``, no final line feed: ``casetrail-document-key-v1``, the
    examiner key's fingerprint, the SHA-256 of the certificate's DER (both 64 lower-case hex).
    """
    return f"{BINDING_FORMAT}\n{examiner_fingerprint}\n{certificate_sha256}".encode()


def binding_problem(public_raw: bytes, certificate_sha256: str, binding: str) -> str | None:
    """Why the Ed25519 key ``public_raw`` does not vouch for that certificate, or None when it does."""
    try:
        sig = base64.b64decode(binding, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            sig, binding_message(fingerprint(public_raw), certificate_sha256.lower()))
    except (ValueError, TypeError):
        return "its binding to the examiner key cannot be read"
    except InvalidSignature:
        return "the examiner key does not vouch for it (the binding signature does not hold)"
    return None


def make_document_certificate(examiner: str, key: rsa.RSAPrivateKey, examiner_fp: str) -> x509.Certificate:
    """The self-signed certificate of a document-signing key.

    Deterministic (fixed validity, serial from the public key, PKCS#1 v1.5 signs
    deterministically), so a key always has the same certificate and the certificate never
    needs to be stored to be trusted. It is a CA certificate of path length 0 (``keyCertSign``)
    because NSS (``pdfsig``) accepts a self-signed certificate as a trust anchor only so; the
    subject names the examiner and, for a reader's eye, the key id of the examiner key that
    vouches for it (the binding is what proves it). Valid from 2000 to 9999-12-31 (RFC 5280's
    "no expiration"): a briefing must stay checkable for as long as the case is kept.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, examiner),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                                         f"examiner key {examiner_fp[:16]}"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Casetrail document signing key")])
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=False, encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(int(hashlib.sha256(spki).hexdigest()[:30], 16))
            .not_valid_before(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
            .not_valid_after(datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def document_key(examiner: str) -> DocumentKey:
    """Return the examiner's document-signing key, unlocking it (or creating it on first use).

    The examiner's own key is unlocked (or created, or migrated) first: it signs the binding.
    An examiner whose key predates document keys gets one here, at the first signing; its
    certificate and binding are written next to the key, into the public-key file and the
    trust entry, and appended to the ledger.

    Raises:
        PassphraseNeeded: no passphrase is available.
        SigningKeyError: a key cannot be read, created, or unlocked with the passphrase.
    """
    with _lock:
        identity = examiner_key(examiner)
        path = document_key_file(examiner)
        how = "document key (recorded)"
        try:
            if not path.exists():
                _create_document_key(examiner, path)
                how = "document key (created)"
            data = path.read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot use the document-signing key at {path}: "
                                  f"{exc.strerror or exc}") from exc
        phrase = _passphrase(examiner, new=False)
        cache_key = (str(path), hashlib.sha256(data + phrase).hexdigest())
        if cache_key in _unlocked_documents:
            return _unlocked_documents[cache_key]
        try:
            loaded = serialization.load_pem_private_key(data, password=phrase)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"the passphrase does not unlock the document-signing key at "
                                  f"{path}") from exc
        if not isinstance(loaded, rsa.RSAPrivateKey) or loaded.key_size < DOCUMENT_KEY_BITS:
            raise SigningKeyError(f"the document-signing key at {path} is not an RSA key of "
                                  f"{DOCUMENT_KEY_BITS} bits or more")
        raw = raw_public(identity.public_key())
        fp = fingerprint(raw)
        cert = make_document_certificate(examiner, loaded, fp)
        digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        binding = base64.b64encode(identity.sign(binding_message(fp, digest))).decode()
        doc = DocumentKey(examiner, loaded, cert, fp, binding)
        _publish_document(examiner, raw, doc, how)
        _unlocked_documents[cache_key] = doc
        return doc


def _create_document_key(examiner: str, path: Path) -> None:
    """Write a new encrypted RSA key at ``path``; a key made at the same moment elsewhere wins."""
    phrase = _passphrase(examiner, new=False)
    key = rsa.generate_private_key(public_exponent=65537, key_size=DOCUMENT_KEY_BITS)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(phrase)))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # never overwrites
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _publish_document(examiner: str, raw: bytes, doc: DocumentKey, how: str) -> None:
    """Write the certificate, the public-key file and the trust entry of a document key when they lag."""
    pem = doc.certificate.public_bytes(serialization.Encoding.PEM)
    cert = document_cert_file(examiner)
    try:
        current = cert.read_bytes()
    except OSError:
        current = b""
    if current != pem:
        _write_new(cert, pem, 0o644)
    members = doc.public_members()
    pub = _public_file(examiner)
    found = _read_json(pub)
    if found is None or any(found.get(m) != members[m] for m in DOCUMENT_MEMBERS):
        full = public_document(examiner, raw, members)
        _write_new(pub, (json.dumps(full, indent=2) + "\n").encode(), 0o644)
    _record_trust(examiner, raw, how, members)


def published_document(examiner: str) -> dict[str, str] | None:
    """The document certificate of an own key as its public-key file carries it (no passphrase)."""
    doc = _read_json(_public_file(examiner))
    found = _read_public(_public_file(examiner))
    try:
        return document_members(doc, found[1]) if doc and found else None
    except SigningKeyError:
        return None


def document_members(doc: dict[str, Any], public_raw: bytes) -> dict[str, str] | None:
    """The document certificate a public-key document carries, checked; None when it has none.

    Raises:
        SigningKeyError: it carries one that its key does not vouch for, or that cannot be read.
    """
    if not any(m in doc for m in DOCUMENT_MEMBERS):
        return None
    try:
        pem = str(doc["document_certificate"])
        cert = x509.load_pem_x509_certificate(pem.encode())
        digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        binding = str(doc["document_binding"])
    except (KeyError, ValueError) as exc:
        raise SigningKeyError("its document-signing certificate cannot be read") from exc
    if digest != str(doc.get("document_certificate_sha256", "")).lower():
        raise SigningKeyError("its document_certificate_sha256 is not the SHA-256 of its "
                              "document certificate")
    bad = binding_problem(public_raw, digest, binding)
    if bad:
        raise SigningKeyError(f"its document-signing certificate: {bad}")
    return {"document_certificate": pem, "document_certificate_sha256": digest, "document_binding": binding}


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
            seen.setdefault(fp, KeyInfo(fp, examiner, base64.b64encode(raw).decode(), fp in trusted, private,
                                        _document_sha(pub, raw)))
    for fp in sorted(trusted - set(seen)):
        path = _trusted_dir() / f"{fp}.json"
        found = _read_public(path)
        if found:
            seen[fp] = KeyInfo(fp, found[0], base64.b64encode(found[1]).decode(), True, False,
                               _document_sha(path, found[1]))
    return list(seen.values())


def _document_sha(path: Path, raw: bytes) -> str:
    doc = _read_json(path)
    try:
        members = document_members(doc, raw) if doc else None
    except SigningKeyError:
        return ""
    return members["document_certificate_sha256"] if members else ""


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
    raw = base64.b64decode(info.public_key)
    members = None
    for source in (_trusted_dir() / f"{info.fingerprint}.json", _public_file(info.examiner)):
        found = _read_json(source)
        try:
            members = document_members(found, raw) if found else None
        except SigningKeyError:
            members = None
        if members:
            break
    doc = public_document(info.examiner, raw, members)
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
    doc = _read_json(path) or {}
    try:
        members = document_members(doc, raw)
    except SigningKeyError as exc:
        raise SigningKeyError(f"{path} is refused: {exc}") from exc
    added = _record_trust(examiner, raw, f"trusted from {path.name}", members)
    fp = fingerprint(raw)
    return KeyInfo(fp, examiner, base64.b64encode(raw).decode(), True, key_file(examiner).is_file(),
                   members["document_certificate_sha256"] if members else ""), added


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
