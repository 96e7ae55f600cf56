# SPDX-License-Identifier: GPL-3.0-or-later
r"""The workstation ledger: an append-only record, outside every case, of what left this machine.

A case folder can be restored from an older copy, or have its custody tail cut together with the
checkpoints that signed it; nothing inside the case can then tell. The ledger can: every export
appends its signed receipt (case id, custody seq and head, time, content hash) to
``$CASETRAIL_HOME/ledger.jsonl``, and ``verify`` checks that the case still contains, as a
prefix, every chain a receipt saw. Key creation and trust are appended too.

Format: one JSON object per line (UTF-8, ``\n``), each with ``"n"`` (1, 2, …) and ``"prev"``
(SHA-256 hex of the previous line's bytes without its line feed; 64 zeros for the first), so a
line edited or removed in the middle is named by :func:`read`. Lines are appended with
``O_APPEND`` and fsynced under a file lock; nothing ever rewrites the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from desktop.core.errors import CasetrailError
from desktop.core.home import workstation_home

NAME = "ledger.jsonl"
GENESIS = "0" * 64


class LedgerError(CasetrailError):
    """The ledger cannot be written."""


def ledger_path() -> Path:
    """The ledger file of this workstation."""
    return workstation_home() / NAME


@dataclass
class Ledger:
    """What :func:`read` found: the records, and any sign that the file was altered."""

    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def receipts(self, case_id: str) -> list[dict[str, Any]]:
        """The receipts of one case, oldest first."""
        return [r for r in self.records if r.get("type") == "receipt" and r.get("case_id") == case_id]


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def read(path: Path | None = None) -> Ledger:
    """Read the ledger and check its chain of lines; a missing ledger is empty."""
    path = path or ledger_path()
    out = Ledger()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return out
    except OSError as exc:
        out.problems.append(f"the workstation ledger {path} cannot be read: {exc.strerror or exc}")
        return out
    prev = GENESIS
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            out.problems.append(f"line {n} of the workstation ledger is not JSON: the ledger was altered")
            break
        if not isinstance(record, dict) or record.get("n") != n or record.get("prev") != prev:
            out.problems.append(f"line {n} of the workstation ledger does not follow line {n - 1}: "
                                "lines were edited, removed or inserted")
            break
        out.records.append(record)
        prev = _line_hash(line)
    return out


def append(record: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """Append one record (``n`` and ``prev`` are added) and fsync it.

    Raises:
        LedgerError: the ledger cannot be written (the export is then not complete).
    """
    path = path or ledger_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=30):
            current = read(path)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                data = b""
            last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1] if data.strip() else b""
            full = {**record, "n": len(current.records) + 1 if not current.problems
                    else data.count(b"\n") + 1, "prev": _line_hash(last) if last else GENESIS}
            line = json.dumps(full, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise LedgerError(f"cannot append to the workstation ledger {path}: {exc.strerror or exc}") from exc
    return full
