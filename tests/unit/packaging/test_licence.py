# SPDX-License-Identifier: GPL-3.0-or-later
"""Casetrail's licence, the header on every source file, and a notice for every component it carries."""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "packaging"))

import inventory  # noqa: E402 - packaging/ is a folder of scripts, not a package

HEADER = "# SPDX-License-Identifier: GPL-3.0-or-later"


def test_the_project_is_gpl3_or_later() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "GPL-3.0-or-later"
    assert set(meta["license-files"]) >= {"LICENSE", "THIRD-PARTY-NOTICES"}
    text = (REPO / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text
    assert "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole text, not a stub
    assert md.metadata("casetrail")["License-Expression"] == "GPL-3.0-or-later"


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
                         cwd=REPO, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / f for f in out.stdout.split() if (REPO / f).is_file()]


def test_every_source_file_carries_the_spdx_header() -> None:
    missing = []
    for path in _tracked("*.py", "*.sh", "Makefile", ".ci/run"):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:2]
        if HEADER not in lines:
            missing.append(str(path.relative_to(REPO)))
    assert not missing, f"add `{HEADER}` as the first line (after a shebang) of: {', '.join(missing)}"


def test_every_carried_component_has_a_notice() -> None:
    assert inventory.unresolved() == []


def test_the_committed_notices_name_every_installed_dependency() -> None:
    text = (REPO / "THIRD-PARTY-NOTICES").read_text(encoding="utf-8")
    names = {m.group(1).lower() for m in re.finditer(r"^(\S+) \S+$", text, re.MULTILINE)}
    absent = sorted(d.metadata["Name"] for d in [*inventory.closure().values(),
                                                   *inventory.closure("test").values()]
                    if d.metadata["Name"].lower() not in names)
    assert not absent, f"THIRD-PARTY-NOTICES lacks {', '.join(absent)}: run `make notices`"
    # Pinned dependencies must be noticed at the version that is pinned.
    for raw in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        name, _, version = raw.partition("==")
        assert re.search(rf"^{re.escape(md.metadata(name)['Name'])} {re.escape(version)}$", text,
                         re.MULTILINE | re.IGNORECASE), f"{name} {version}: run `make notices`"
    for lib in ("Qt", "FFmpeg", "x264", "MISP warninglists", "MISP taxonomies", "DejaVu fonts"):
        assert re.search(rf"^{re.escape(lib)}( |$)", text, re.MULTILINE), lib


def test_a_distribution_with_an_ambiguous_licence_is_reported(tmp_path: Path) -> None:
    info = tmp_path / "mystery-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mystery\nVersion: 1.0\nLicense: BSD\n"
                                   "Classifier: License :: OSI Approved :: BSD License\n")
    dist = md.PathDistribution(info)
    assert inventory.licence_of(dist) == ""
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: mystery\nVersion: 1.0\n"
                                   "License-Expression: MIT\n")
    assert inventory.licence_of(md.PathDistribution(info)) == "MIT"


def test_a_vendored_library_without_an_entry_is_reported(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "site-packages"
    (root / "av.libs").mkdir(parents=True)
    (root / "av.libs" / "libavcodec-0123abcd.so.62").write_bytes(b"")
    (root / "av.libs" / "libsurprise-0123abcd.so.1").write_bytes(b"")
    found = inventory.vendored_libraries(root)
    assert found == ["av.libs/libavcodec-0123abcd.so.62", "av.libs/libsurprise-0123abcd.so.1"]
    monkeypatch.setattr(inventory, "vendored_libraries", lambda _root=None: found)
    problems = inventory.unresolved()
    assert problems == ["av.libs/libsurprise-0123abcd.so.1: a vendored native library with no entry "
                        "in EMBEDDED"]
