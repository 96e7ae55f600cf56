# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Python package and resource folder of the checkout is declared, so the wheel carries it.

``pyproject.toml`` lists packages by name (resources/ ships as ``casetrail_resources``); a new
sub-package that is not listed works in the editable checkout and is missing from the wheel, so
the offline install breaks on the air-gapped machine. This test finds them first.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _declared() -> set[str]:
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_python_package_is_in_the_wheel() -> None:
    found = {".".join(p.parent.relative_to(REPO).parts)
             for top in ("casetrail", "desktop", "reports") for p in (REPO / top).rglob("__init__.py")}
    missing = sorted(found - _declared())
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"


def test_every_resource_folder_is_in_the_wheel() -> None:
    root = REPO / "resources"
    found = {".".join(("casetrail_resources", *d.relative_to(root).parts)) for d in [root, *root.rglob("*")]
             if d.is_dir() and "__pycache__" not in d.parts and any(f.is_file() for f in d.iterdir())}
    missing = sorted(found - _declared())
    assert not missing, f"add {missing} to [tool.setuptools] packages and package-data in pyproject.toml"
