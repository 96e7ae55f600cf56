# SPDX-License-Identifier: GPL-3.0-or-later
"""A helper of the core tests: small text files acquired (not analysed) into a case."""

from __future__ import annotations

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end


def acquired_notes(case: Case, n: int) -> list[int]:
    """``n`` acquired text files, through the ordinary acquisition; their item ids."""
    folder = case.path.parent / "evidence"
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        paths.append(folder / f"note{i}.txt")
        paths[-1].write_text(f"note {i}\n")
    return [a.item.id for a in run_to_end(import_paths(case, paths)).acquired]
