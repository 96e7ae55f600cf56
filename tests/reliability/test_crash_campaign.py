# SPDX-License-Identifier: GPL-3.0-or-later
"""The short kill campaign of the suite: 50 SIGKILLs at random moments, and nothing lost after each.

``make crash`` runs the same campaign with 1,000 kills (:mod:`reliability.crash`).
"""

from __future__ import annotations

from pathlib import Path

from reliability.crash import OPS, Runner

KILLS = 50


def test_fifty_kills_lose_nothing(tmp_path: Path) -> None:
    result = Runner(tmp_path, seed=1616).campaign(KILLS, say=False)
    assert result.failures == []
    assert result.total_kills >= KILLS
    # Every command was killed at least once, and every check ran after every kill.
    assert all(result.kills[op] > 0 for op in OPS), result.kills
    for check in ("no orphan", "opens", "integrity_check", "blobs", "verify", "re-import converges"):
        assert result.checks[check] >= result.total_kills, (check, result.checks)
