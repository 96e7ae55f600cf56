# SPDX-License-Identifier: GPL-3.0-or-later
"""Checksum manifest and release signature of what ``make package`` leaves in ``dist/``.

``SHA256SUMS`` lists every file ``install.sh`` may read (wheels, the bundle archive, the desktop
entry and icons, notices, SBOM), in ``sha256sum`` format, paths relative to ``dist/``.
``SHA256SUMS.sig`` is an Ed25519 signature (raw 64 bytes, RFC 8032) over the exact bytes of
``SHA256SUMS``, made with the release key; ``release-key.pem`` is its public half (SPKI PEM, what
``openssl pkeyutl -verify`` reads on the air-gapped machine, where there may be no Python).

The release key is not an examiner's key: it signs software, not cases, and lives in its own file
(``$CASETRAIL_RELEASE_KEY``, default ``~/.config/casetrail/release-key.ed25519.pem``, mode 0600,
encrypted when ``CASETRAIL_RELEASE_PASSPHRASE`` is set). Its fingerprint is computed as the case
checkpoints' key ids are (SHA-256 of the raw 32-byte public key, ``desktop.core.checkpoint``),
printed in full; ``packaging/release-key.pem`` holds the public key of the project's releases and
signing with any other key is refused unless ``--new-key`` says that is meant.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from desktop.core.checkpoint import key_id

HERE = Path(__file__).resolve().parent
PROJECT_KEY = HERE / "release-key.pem"
SUMS = "SHA256SUMS"
SIG = "SHA256SUMS.sig"
PUBLIC = "release-key.pem"
# What the manifest covers, relative to dist/ (the bundle folder itself travels as its archive).
COVERED = ("wheelhouse/*.whl", "casetrail-*-linux-*.tar.gz", "desktop/**/*", "THIRD-PARTY-NOTICES",
           "LICENSE", "sbom.cdx.json", "install.sh", "roundtrip.sh")


def default_key_path() -> Path:
    """Return where the release key is kept on the build machine."""
    env = os.environ.get("CASETRAIL_RELEASE_KEY")
    return Path(env) if env else Path.home() / ".config" / "casetrail" / "release-key.ed25519.pem"


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """Return the full fingerprint: SHA-256 of the raw public key, hex (its first 16 = key id)."""
    digest = hashlib.sha256(_raw(public)).hexdigest()
    if not digest.startswith(key_id(_raw(public))):  # one definition of a key's id in Casetrail
        raise SystemExit("release: the fingerprint disagrees with desktop.core.checkpoint.key_id")
    return digest


def public_pem(public: Ed25519PublicKey) -> bytes:
    """Return the public key as SPKI PEM."""
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_or_create(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """Load the release key, or create it (mode 0600) when ``create`` and it does not exist."""
    passphrase = os.environ.get("CASETRAIL_RELEASE_PASSPHRASE", "").encode() or None
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
        if not isinstance(key, Ed25519PrivateKey):
            raise SystemExit(f"release: {path} is not an Ed25519 key")
        return key
    if not create:
        raise SystemExit(f"release: no release key at {path}; pass --new-key to create one")
    key = Ed25519PrivateKey.generate()
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))
    print(f"release: created a new release key at {path}", file=sys.stderr)
    return key


def covered_files(dist: Path) -> list[Path]:
    """Return the files the manifest lists, sorted by path."""
    found = {p for pattern in COVERED for p in dist.glob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: p.relative_to(dist).as_posix())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_sums(dist: Path) -> Path:
    """Write ``dist/SHA256SUMS`` (sha256sum format) and return it."""
    lines = [f"{_sha256(p)}  {p.relative_to(dist).as_posix()}\n" for p in covered_files(dist)]
    if not any("wheelhouse/" in line for line in lines):
        raise SystemExit(f"release: {dist}/wheelhouse has no wheels to list")
    out = dist / SUMS
    out.write_text("".join(lines), encoding="utf-8")
    return out


def release_key(key_path: Path, *, new_key: bool) -> Ed25519PrivateKey:
    """Load the release key; refuse one that is not the project's unless ``new_key``."""
    key = load_or_create(key_path, create=new_key)
    if PROJECT_KEY.exists() and PROJECT_KEY.read_bytes() != public_pem(key.public_key()) and not new_key:
        raise SystemExit(f"release: the key at {key_path} is not the project's release key "
                         f"({PROJECT_KEY}); sign with that key, or pass --new-key for a private build")
    return key


def write_installer(dist: Path, fpr: str, version: str) -> Path:
    """Copy ``install.sh`` into ``dist/`` with the release key's fingerprint and the version in it."""
    text = (HERE / "install.sh").read_text(encoding="utf-8")
    text = text.replace("@FINGERPRINT@", fpr).replace("@VERSION@", version)
    out = dist / "install.sh"
    out.write_text(text, encoding="utf-8")
    out.chmod(0o755)
    return out


def sign(dist: Path, key: Ed25519PrivateKey) -> str:
    """Sign ``dist/SHA256SUMS``, write the signature and the public key; return the fingerprint."""
    public = key.public_key()
    data = (dist / SUMS).read_bytes()
    signature = key.sign(data)
    public.verify(signature, data)  # never ship a signature that does not verify
    (dist / SIG).write_bytes(signature)
    (dist / PUBLIC).write_bytes(public_pem(public))
    return fingerprint(public)


def main(argv: Sequence[str] | None = None) -> int:
    """``release.py DIST [--key PEM] [--new-key]``: install.sh, SHA256SUMS, its signature."""
    ap = argparse.ArgumentParser(description="Write and sign dist/SHA256SUMS.")
    ap.add_argument("dist", type=Path)
    ap.add_argument("--key", type=Path, default=None, help="the release key (default: %(default)s)")
    ap.add_argument("--new-key", action="store_true",
                    help="create the key if missing and allow a key other than packaging/release-key.pem")
    args = ap.parse_args(argv)
    import importlib.metadata as md

    key = release_key(args.key or default_key_path(), new_key=args.new_key)
    write_installer(args.dist, fingerprint(key.public_key()), md.version("casetrail"))
    sums = write_sums(args.dist)
    fpr = sign(args.dist, key)
    print(f"release: {sums} lists {len(sums.read_text().splitlines())} files; signed with the release "
          f"key {fpr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
