# SPDX-License-Identifier: GPL-3.0-or-later
"""Bundled resources are found in a source checkout and in an installed wheel."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import pytest

from desktop import resources


def test_source_checkout_resources_are_found() -> None:
    assert resources.resource_path("data", "tlds.txt").is_file()


def test_an_installed_wheel_is_found_through_its_data_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = tmp_path / "site-packages" / "casetrail_resources"
    (installed / "data").mkdir(parents=True)
    (installed / "data" / "tlds.txt").write_text("com\n")
    spec = types.SimpleNamespace(submodule_search_locations=[str(installed)])
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: spec if name == "casetrail_resources" else None)
    monkeypatch.setattr(resources, "__file__", str(tmp_path / "site-packages" / "desktop" / "resources.py"))
    assert resources.resource_path("data", "tlds.txt") == installed / "data" / "tlds.txt"
