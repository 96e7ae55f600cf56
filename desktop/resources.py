# SPDX-License-Identifier: GPL-3.0-or-later
"""Where Casetrail's bundled files (icons, stylesheet, demo evidence) are found on disk.

Qt-free on purpose: the demo builder and the reports use it too. Resources live in the repository's
``resources/`` folder next to the ``desktop`` package in a source checkout; an installed wheel
carries the same folder as the data-only package ``casetrail_resources``; a frozen build
(PyInstaller) puts the same folder next to the executable's unpacked modules.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    found = [here.parent / "resources"]  # source checkout / editable install
    spec = importlib.util.find_spec("casetrail_resources")  # an installed wheel
    if spec is not None and spec.submodule_search_locations:
        found += [Path(p) for p in spec.submodule_search_locations]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        found.insert(0, Path(frozen) / "resources")
    return found


def resources_root() -> Path:
    """Return the ``resources/`` folder.

    Raises:
        FileNotFoundError: no resources folder is where this installation should have one.
    """
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in _candidates())
    raise FileNotFoundError(f"Casetrail's resources folder is missing (looked in {tried})")


def resource_path(*parts: str) -> Path:
    """Return the path of a bundled resource, e.g. ``resource_path("demo", "note.txt")``.

    The path is returned whether or not the file exists, so callers can say which one is missing.
    """
    return resources_root().joinpath(*parts)
