# SPDX-License-Identifier: GPL-3.0-or-later
"""Verification of a whole case: every blob re-hashed, the custody chain recomputed.

Fail closed: anything that cannot be checked counts as a discrepancy. The result is itself
recorded in custody (when the case is writable), as a persistent case fact rather than a
message that vanishes with the window — the lesson of Autopsy's "Verification Failed" artifact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from desktop.core import custody, store
from desktop.core.case import Case
from desktop.core.checkpoint import verify_checkpoints
from desktop.core.progress import Progress, Task


@dataclass
class VerifyReport:
    """What verification found.

    Attributes:
        items: item id → ``ok`` | ``modified`` | ``missing``.
        chain: the custody chain recomputation.
        problems: database-level findings (integrity check, removed triggers).
        recorded: whether the result was written to custody.
    """

    items: dict[int, str] = field(default_factory=dict)
    chain: custody.ChainReport | None = None
    problems: list[str] = field(default_factory=list)
    recorded: bool = False
    checkpoints: int = 0
    damage: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def custody_ok(self) -> bool:
        """The chain recomputes and the append-only triggers are in place."""
        return bool(self.chain and self.chain.ok) and not any(
            "trigger" in p or p.startswith("custody checkpoint") for p in self.problems)

    @property
    def ok(self) -> bool:
        """Everything checked and nothing is wrong."""
        return (self.chain is not None and self.custody_ok and not self.problems
                and all(s == "ok" for s in self.items.values()))

    def summary(self) -> str:
        """One line saying what verification found (the CLI's last line, the demo's report)."""
        good = sum(1 for s in self.items.values() if s == "ok")
        length = self.chain.length if self.chain else 0
        return (f"{'intact' if self.ok else 'DISCREPANCIES FOUND'}: {good}/{len(self.items)} items ok, "
                f"custody chain of {length} entries {'ok' if self.custody_ok else 'BROKEN'}")

    def to_json(self) -> dict[str, Any]:
        """The ``verify --json`` shape of the CLI contract."""
        chain = self.chain
        return {
            "ok": self.ok,
            "items": [{"id": i, "status": s, **self.damage.get(i, {})}
                      for i, s in sorted(self.items.items())],
            "custody": {
                "ok": self.custody_ok,
                "first_bad_seq": chain.first_bad_seq if chain else None,
                "reason": chain.reason if chain else "not checked",
                "entries": chain.length if chain else 0,
                "head": chain.head if chain else None,
                "checkpoints_checked": self.checkpoints,
            },
            "problems": self.problems,
            "recorded": self.recorded,
        }


def _damage(case: Case, sha256: str) -> dict[str, Any]:
    """Say which chunks of a modified blob changed, when its chunk hashes were recorded."""
    row = case.db.execute("SELECT chunk_size, hashes FROM blob_chunks WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        return {}
    try:
        damaged = case.vault.damaged_chunks(sha256, list(json.loads(row[1])))
    except OSError:
        return {}
    return {"chunk_size": int(row[0]), "damaged_chunks": damaged}


def verify_case(case: Case) -> Task[VerifyReport]:
    """Re-hash every blob and recompute the custody chain; yield progress per blob."""
    report = VerifyReport()
    report.problems += store.integrity_problems(case.db)
    report.problems += [f"the append-only trigger {t} has been removed from the custody table"
                        for t in store.missing_custody_triggers(case.db)]
    rows = case.db.execute("SELECT id, sha256 FROM items ORDER BY id").fetchall()
    by_hash: dict[str, list[int]] = {}
    for item_id, sha in rows:
        by_hash.setdefault(sha, []).append(int(item_id))
    for index, (sha, ids) in enumerate(sorted(by_hash.items())):
        yield Progress(f"blob {sha[:12]}…", index, len(by_hash), index, len(by_hash))
        status = case.vault.verify_blob(sha)
        where = _damage(case, sha) if status == "modified" else {}
        for item_id in ids:
            report.items[item_id] = status
            if where:
                report.damage[item_id] = where
    yield Progress("custody chain", len(by_hash), len(by_hash), len(by_hash), len(by_hash))
    report.chain = custody.verify_chain(case.db.conn)
    # A signed checkpoint pins the chain head at an export: a truncated or rewritten tail that
    # still chains correctly is caught here.
    checkpoints = verify_checkpoints(case)
    report.checkpoints = checkpoints.checked
    report.problems += [f"custody checkpoint: {p}" for p in checkpoints.problems]
    if not case.read_only:
        bad = {i: s for i, s in report.items.items() if s != "ok"}
        case.record(
            "verified",
            result="intact" if report.ok else "discrepancies found",
            detail={"items_checked": len(report.items), "blobs_checked": len(by_hash),
                    "bad_items": {str(k): v for k, v in bad.items()},
                    "damaged_chunks": {str(k): v["damaged_chunks"] for k, v in report.damage.items()},
                    "custody_ok": report.custody_ok,
                    "first_bad_seq": report.chain.first_bad_seq, "problems": report.problems},
        )
        report.recorded = True
    return report
