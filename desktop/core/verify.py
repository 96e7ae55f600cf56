# SPDX-License-Identifier: GPL-3.0-or-later
"""Verification of a whole case: every blob re-hashed, the chain recomputed, the state replayed.

What is checked, in order: the database's own integrity and its schema (every table, index and
trigger by its exact SQL, ``store.schema_problems``); every vault blob against its SHA-256; the
custody chain; every item, finding and row of analyst state against custody
(``state.replay``); every signed checkpoint against the chain.

Fail closed: anything that cannot be checked counts as a discrepancy. The result is itself
recorded in custody (when the case is writable and ``record`` is true), as a persistent case
fact rather than a message that vanishes with the window — the lesson of Autopsy's
"Verification Failed" artifact. The briefing prints exactly :meth:`VerifyReport.statement`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import custody, keys, state, store
from desktop.core import ledger as ledger_mod
from desktop.core.case import Case
from desktop.core.checkpoint import Checkpoint, checkpoint_from_json, verify_checkpoints, verify_one
from desktop.core.errors import CasetrailError, VerificationFailed
from desktop.core.progress import Progress, Task, run_to_end


@dataclass
class VerifyReport:
    """What verification found.

    Attributes:
        items: item id → ``ok`` | ``modified`` | ``missing``.
        chain: the custody chain recomputation.
        problems: database-level findings (integrity check, removed triggers).
        recorded: whether the result was written to custody.
        record_error: why the result could not be written to custody (a full disk), "" otherwise;
            the result itself still stands and is reported.
    """

    items: dict[int, str] = field(default_factory=dict)
    chain: custody.ChainReport | None = None
    problems: list[str] = field(default_factory=list)
    recorded: bool = False
    record_error: str = ""
    checkpoints: int = 0
    damage: dict[int, dict[str, Any]] = field(default_factory=dict)
    replay: state.ReplayReport | None = None
    recorded_seq: int | None = None
    signers: dict[int, str] = field(default_factory=dict)
    against: str | None = None

    @property
    def state_ok(self) -> bool:
        """Every item, finding and row of analyst state agrees with custody."""
        return self.replay is not None and not self.replay.problems

    def findings(self) -> list[str]:
        """Every discrepancy as one sentence, the most fundamental first."""
        out: list[str] = []
        chain = self.chain
        if chain is None:
            out.append("the custody chain was not checked")
        elif not chain.ok:
            out.append(f"the custody chain is broken at entry {chain.first_bad_seq}: {chain.reason}")
        out += [f"item {i} is {s} in the vault" for i, s in sorted(self.items.items()) if s != "ok"]
        out += self.problems
        if self.replay is None:
            out.append("the case state was not replayed against custody")
        else:
            out += self.replay.problems
        return out

    def first_problem(self) -> str:
        """The first discrepancy, or an empty string when the case is intact."""
        found = self.findings()
        return found[0] if found and not self.ok else ""

    def statement(self) -> str:
        """The integrity statement a briefing prints: exactly what verify found."""
        if self.ok:
            rows = self.replay.rows_checked if self.replay else 0
            return (f"Verified intact: {len(self.items)} items re-hashed against the vault, the custody "
                    f"chain of {self.chain.length if self.chain else 0} entries recomputed, the database "
                    f"schema matched by exact SQL, {rows} rows of case state and every item's findings "
                    f"replayed against custody, {self.checkpoints} signed checkpoints checked.")
        found = self.findings()
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        return f"THIS CASE FAILED VERIFICATION: {found[0]}{more}."

    @property
    def custody_ok(self) -> bool:
        """The chain recomputes and the append-only triggers are in place."""
        return bool(self.chain and self.chain.ok) and not any(
            "trigger" in p or p.startswith("custody checkpoint") for p in self.problems)

    @property
    def ok(self) -> bool:
        """Everything checked and nothing is wrong."""
        return (self.chain is not None and self.custody_ok and not self.problems and self.state_ok
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
            "state": {
                "ok": self.state_ok,
                "problems": self.replay.problems if self.replay else ["not replayed"],
                "rows_checked": self.replay.rows_checked if self.replay else 0,
                "items_checked": self.replay.items_checked if self.replay else 0,
            },
            "checkpoints": [{"id": i, "key": k} for i, k in sorted(self.signers.items())],
            "against": self.against,
            "problems": self.problems,
            "findings": self.findings() if not self.ok else [],
            "statement": self.statement(),
            "recorded": self.recorded,
            **({"record_error": self.record_error} if self.record_error else {}),
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


def verify_case(case: Case, *, record: bool = True, ledger: bool = True,
                against: Path | None = None) -> Task[VerifyReport]:
    """Check everything (see the module docstring); yield progress per blob.

    Args:
        case: the case.
        record: append the result to custody (when the case is writable); False for an expert's
            read-only check (``verify --no-record``).
        ledger: check the case against the receipts in this workstation's ledger.
        against: also check it against a receipt carried away (a receipt file or a briefing PDF).
    """
    report = VerifyReport()
    report.problems += store.integrity_problems(case.db)
    report.problems += [f"the append-only trigger {t} has been removed from the custody table"
                        for t in store.missing_custody_triggers(case.db)]
    report.problems += store.schema_problems(case.db)
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
    report.signers = checkpoints.signers
    if ledger:
        report.problems += ledger_problems(case)
    if against is not None:
        report.against = str(against)
        report.problems += against_problems(case, against)
    yield Progress("case state", len(by_hash), len(by_hash), len(by_hash), len(by_hash))
    try:
        report.replay = state.replay(case.db.conn)
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as exc:
        report.replay = state.ReplayReport([f"the case state cannot be replayed: {exc}"])
    if record and not case.read_only:
        bad = {i: s for i, s in report.items.items() if s != "ok"}
        try:
            _record(case, report, bad, len(by_hash))
        except CasetrailError as exc:  # a full disk must not hide what verification found
            report.record_error = str(exc)
    return report


def _record(case: Case, report: VerifyReport, bad: dict[int, str], blobs: int) -> None:
    """Record the result of a verification in custody."""
    assert report.chain is not None  # noqa: S101 - set just before
    assert report.replay is not None  # noqa: S101
    entry = case.record(
        "verified",
        result="intact" if report.ok else "discrepancies found",
        detail={"items_checked": len(report.items), "blobs_checked": blobs,
                "bad_items": {str(k): v for k, v in bad.items()},
                "damaged_chunks": {str(k): v["damaged_chunks"] for k, v in report.damage.items()},
                "custody_ok": report.custody_ok,
                "first_bad_seq": report.chain.first_bad_seq, "problems": report.problems,
                "state_problems": report.replay.problems[:50], "statement": report.statement(),
                "checkpoint_keys": {str(k): v for k, v in report.signers.items()},
                "against": report.against},
    )
    report.recorded = True
    report.recorded_seq = int(entry["seq"])


def require_intact(case: Case, what: str, *, despite: bool = False) -> VerifyReport:
    """Run the full verification before an export; refuse the export of a failing case.

    Every export (briefing, package, STIX, CSV) calls this first: a case that fails verification
    gets nothing written unless the caller explicitly accepts it (``despite``, the briefing's
    ``--despite-discrepancies``), and then the report travels with the export so it can say so.

    Raises:
        VerificationFailed: the case failed and ``despite`` is false.
    """
    report = run_to_end(verify_case(case))
    if not report.ok and not despite:
        raise VerificationFailed(
            f"no {what} was written because the case failed verification: {report.first_problem()} "
            f"(`casetrail verify` lists every finding)")
    return report


def _prefix_problem(hashes: dict[int, str], seq: int, head: str, what: str) -> str | None:
    if seq == 0:
        return None
    if seq not in hashes:
        return (f"{what} saw custody entry {seq}, which this case no longer contains: the case was "
                "restored to an earlier copy, or its tail was cut")
    if hashes[seq] != head:
        return (f"{what} saw custody entry {seq} with hash {head[:16]}…, but the case has "
                f"{hashes[seq][:16]}… there: its history was rewritten after that export (or this "
                "is a copy that went another way)")
    return None


def ledger_problems(case: Case) -> list[str]:
    """Check the case against every receipt this workstation's ledger holds for it."""
    found = ledger_mod.read()
    problems = [f"workstation ledger: {p}" for p in found.problems]
    case_id = str(case.meta.get("case_id", ""))
    hashes = {int(s): str(h) for s, h in case.db.conn.execute("SELECT seq, entry_hash FROM custody")}
    for record in found.receipts(case_id):
        try:
            receipt = checkpoint_from_json(record)
        except ValueError:
            problems.append(f"workstation ledger line {record.get('n')}: an unreadable receipt of this case")
            continue
        what = (f"the {receipt.export or 'export'} of {record.get('file', '?')} at {receipt.at} "
                f"(ledger line {record.get('n')})")
        bad = verify_one(receipt)
        if bad:
            problems.append(f"{what}: its receipt's signature does not hold ({bad})")
        bad = _prefix_problem(hashes, receipt.custody_seq, receipt.head, what)
        if bad:
            problems.append(bad)
    return problems


def load_receipt(path: Path) -> Checkpoint:
    """Read a receipt file, or the receipt embedded in a signed briefing PDF.

    Raises:
        CasetrailError: the file holds no readable receipt.
    """
    return _load(path)[0]


def _load(path: Path) -> tuple[Checkpoint, list[str]]:
    """The receipt in ``path`` and, for a briefing PDF, the problems of its PDF signature."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CasetrailError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data.startswith(b"%PDF"):
        from desktop.core.pdf_receipt import embedded_receipt, signature_problems

        found = embedded_receipt(data, path)
        return found.receipt, signature_problems(data, path, found)
    try:
        return checkpoint_from_json(json.loads(data)), []
    except ValueError as exc:
        raise CasetrailError(f"{path} is not a Casetrail receipt ({exc})") from exc


def against_problems(case: Case, path: Path) -> list[str]:
    """Prove that the case still contains, as a prefix, the chain the receipt in ``path`` saw.

    For a briefing PDF also: its PAdES signature holds over the whole file, and its signer
    certificate is one the receipt's (trusted) examiner key vouches for.
    """
    try:
        receipt, problems = _load(path)
    except CasetrailError as exc:
        return [str(exc)]
    bad = verify_one(receipt)
    if bad:
        problems.append(f"{path.name}: {bad}")
    if receipt.case_id != str(case.meta.get("case_id", "")):
        problems.append(f"{path.name} is a receipt of case {receipt.case_id}, not of this case")
    if not keys.is_trusted(receipt.public_key):
        problems.append(f"{path.name} is signed by key {receipt.key_id} ({receipt.examiner}), which this "
                        "workstation does not trust")
    hashes = {int(s): str(h) for s, h in case.db.conn.execute("SELECT seq, entry_hash FROM custody")}
    what = f"{path.name} ({receipt.export} at {receipt.at})"
    bad = _prefix_problem(hashes, receipt.custody_seq, receipt.head, what)
    if bad:
        problems.append(bad)
    return problems
