# SPDX-License-Identifier: GPL-3.0-or-later
"""The signed manifest, install.sh's checks, and the SBOM, on a small dist/ made here.

The real wheelhouse and bundle are installed by ``make test-package``; these tests drive the same
scripts on a miniature ``dist/`` whose bundle is a shell script, so every refusal and the whole
install path (prefix, launcher, desktop entry, icons, uninstall) run in a second or two.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "packaging"))

import release  # noqa: E402 - packaging/ is a folder of scripts
import sbom  # noqa: E402

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def test_the_published_fingerprint_is_the_project_key() -> None:
    public = serialization.load_pem_public_key(release.PROJECT_KEY.read_bytes())
    assert isinstance(public, Ed25519PublicKey)
    fpr = release.fingerprint(public)
    for doc in (REPO / "README.md", REPO / "packaging" / "README.md"):
        assert fpr in doc.read_text(), f"{doc.name} does not publish the release key's fingerprint"


def _mini_dist(root: Path, key_file: Path) -> tuple[Path, str]:
    """A dist/ with two wheels, a bundle whose executable is a script, and the desktop files."""
    dist = root / "dist"
    (dist / "wheelhouse").mkdir(parents=True)
    (dist / "wheelhouse" / "casetrail-0.1.0-py3-none-any.whl").write_bytes(b"PK not really a wheel")
    (dist / "wheelhouse" / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"PK six")
    bundle = root / "casetrail"
    bundle.mkdir()
    exe = bundle / "casetrail"
    exe.write_text("#!/bin/sh\necho 'casetrail 0.1.0'\n")
    exe.chmod(0o755)
    with tarfile.open(dist / "casetrail-0.1.0-linux-x86_64.tar.gz", "w:gz") as tar:
        tar.add(bundle, arcname="casetrail")
    shutil.copytree(REPO / "packaging" / "linux", dist / "desktop")
    for name in ("LICENSE", "THIRD-PARTY-NOTICES"):
        shutil.copy(REPO / name, dist / name)
    key = release.load_or_create(key_file, create=True)
    fpr = release.fingerprint(key.public_key())
    release.write_installer(dist, fpr, "0.1.0")
    release.write_sums(dist)
    assert release.sign(dist, key) == fpr
    return dist, fpr


def _install(dist: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "share"))
    env.pop("CASETRAIL_RELEASE_FINGERPRINT", None)
    return subprocess.run(["bash", str(dist / "install.sh"), *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_the_manifest_lists_every_file_install_sh_uses(tmp_path: Path) -> None:
    dist, _fpr = _mini_dist(tmp_path, tmp_path / "key.pem")
    listed = {line.split("  ", 1)[1] for line in (dist / "SHA256SUMS").read_text().splitlines()}
    assert {"wheelhouse/casetrail-0.1.0-py3-none-any.whl", "wheelhouse/six-1.17.0-py2.py3-none-any.whl",
            "casetrail-0.1.0-linux-x86_64.tar.gz", "install.sh", "desktop/casetrail.desktop",
            "desktop/casetrail.svg", "desktop/icons/512x512/apps/casetrail.png", "LICENSE",
            "THIRD-PARTY-NOTICES"} <= listed
    assert all(re.fullmatch(r"[0-9a-f]{64}  \S.*", line)
               for line in (dist / "SHA256SUMS").read_text().splitlines())


def test_signing_with_a_key_other_than_the_projects_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no release key"):
        release.release_key(tmp_path / "other.pem", new_key=False)  # does not exist: no --new-key
    other = tmp_path / "other.pem"
    release.load_or_create(other, create=True)
    with pytest.raises(SystemExit, match="not the project's release key"):
        release.release_key(other, new_key=False)
    assert release.release_key(other, new_key=True) is not None


@needs_openssl
def test_install_sh_verifies_installs_the_bundle_with_desktop_files_and_uninstalls(tmp_path: Path) -> None:
    dist, fpr = _mini_dist(tmp_path, tmp_path / "key.pem")
    home = tmp_path / "home"
    prefix = tmp_path / "opt" / "casetrail"
    done = _install(dist, home, "--bundle", "--prefix", str(prefix))
    assert done.returncode == 0, done.stderr
    assert f"release key {fpr}" in done.stderr
    assert "signature valid" in done.stderr
    out = subprocess.run([str(prefix / "bin" / "casetrail"), "--version"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "casetrail 0.1.0"
    entry = (home / "share" / "applications" / "casetrail.desktop").read_text()
    assert f"Exec={prefix}/bin/casetrail gui %f" in entry
    assert "Icon=casetrail" in entry
    icons = home / "share" / "icons" / "hicolor"
    assert all((icons / f"{s}x{s}" / "apps" / "casetrail.png").is_file() for s in (16, 32, 48, 256, 512))
    assert (icons / "scalable" / "apps" / "casetrail.svg").is_file()
    again = _install(dist, home, "--bundle", "--prefix", str(prefix))
    assert again.returncode == 2, "a second install over the first must be refused"
    gone = _install(dist, home, "--uninstall", "--prefix", str(prefix))
    assert gone.returncode == 0, gone.stderr
    assert not prefix.exists()
    assert not (home / "share" / "applications" / "casetrail.desktop").exists()


def _tamper_wheel(dist: Path) -> None:
    wheel = dist / "wheelhouse" / "six-1.17.0-py2.py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes() + b"!")


def _add_wheel(dist: Path) -> None:
    (dist / "wheelhouse" / "evil-1.0-py3-none-any.whl").write_bytes(b"PK evil")


def _tamper_manifest(dist: Path) -> None:
    sums = dist / "SHA256SUMS"
    sums.write_text(sums.read_text().replace("six-1.17.0", "six-1.17.1", 1))


def _resign_with_another_key(dist: Path) -> None:
    key = Ed25519PrivateKey.generate()
    (dist / "SHA256SUMS.sig").write_bytes(key.sign((dist / "SHA256SUMS").read_bytes()))
    (dist / "release-key.pem").write_bytes(release.public_pem(key.public_key()))


def _corrupt_signature(dist: Path) -> None:
    sig = bytearray((dist / "SHA256SUMS.sig").read_bytes())
    sig[0] ^= 1
    (dist / "SHA256SUMS.sig").write_bytes(bytes(sig))


@needs_openssl
@pytest.mark.parametrize("tamper", [_tamper_wheel, _add_wheel, _tamper_manifest, _resign_with_another_key,
                                    _corrupt_signature])
def test_install_sh_refuses_and_installs_nothing(tmp_path: Path, tamper: object) -> None:
    dist, _fpr = _mini_dist(tmp_path, tmp_path / "key.pem")
    tamper(dist)  # type: ignore[operator]
    prefix = tmp_path / "opt" / "casetrail"
    done = _install(dist, tmp_path / "home", "--bundle", "--prefix", str(prefix))
    assert done.returncode == 1, done.stderr
    assert "nothing installed" in done.stderr
    assert not prefix.exists()
    assert not list(prefix.parent.glob("casetrail.installing-*")) if prefix.parent.exists() else True
    assert not (tmp_path / "home" / "share" / "applications").exists()


@needs_openssl
def test_a_fingerprint_given_on_the_command_line_must_match(tmp_path: Path) -> None:
    dist, fpr = _mini_dist(tmp_path, tmp_path / "key.pem")
    wrong = ("0" if fpr[0] != "0" else "1") + fpr[1:16]
    done = _install(dist, tmp_path / "home", "--bundle", "--no-desktop", "--fingerprint", wrong,
                    "--prefix", str(tmp_path / "p"))
    assert done.returncode == 1
    assert "is not the expected one" in done.stderr
    right = _install(dist, tmp_path / "home", "--bundle", "--no-desktop", "--fingerprint", fpr[:16],
                     "--prefix", str(tmp_path / "q"))
    assert right.returncode == 0, right.stderr


def test_the_sbom_is_cyclonedx_and_names_what_the_notices_name() -> None:
    doc = sbom.build(None, None)
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == "1.5"
    components = doc["components"]
    assert isinstance(components, list)
    names = {c["name"] for c in components}
    notices = (REPO / "THIRD-PARTY-NOTICES").read_text()
    for name in ("PySide6_Essentials", "av", "Qt", "FFmpeg", "x264", "MISP warninglists", "DejaVu fonts"):
        assert name in names, name
        assert name in notices, name
    assert all(c.get("licenses") for c in components)
    assert sbom.build(None, None)["serialNumber"] == doc["serialNumber"]  # same inputs, same file
