# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the reliability campaigns (see :mod:`reliability.harness`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reliability.harness import build_shim, mount_tmpfs, unmount


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Make small tmpfs file systems (size in KiB); each is unmounted after the test."""
    mounted: list[Path] = []

    def make(size_kib: int) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        why = mount_tmpfs(where, size_kib)
        if why:
            pytest.skip(f"a small file system cannot be mounted here ({why}); the fault tests need root")
        mounted.append(where)
        return where

    yield make
    for where in reversed(mounted):
        unmount(where)


@pytest.fixture(scope="session")
def eio_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled LD_PRELOAD shim that fails writes or syncs of chosen files with EIO."""
    built = build_shim(tmp_path_factory.mktemp("shim"))
    if isinstance(built, str):
        pytest.skip(built)
    return built
