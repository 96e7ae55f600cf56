# SPDX-License-Identifier: GPL-3.0-or-later
"""Receipts of exports: a signed checkpoint over the chain head *and* the content exported.

Every export (briefing, case package, STIX, CSV) ends with :func:`issue`: one signed checkpoint
stored in the case (with its custody entry, in the caller's transaction) and :func:`publish`:
the same receipt appended to the workstation ledger, outside the case, so that a case later
restored to an earlier copy, or cut short, fails ``verify``. ``casetrail verify --against
RECEIPT.json`` checks a case against a receipt carried away.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from desktop.core import ledger
from desktop.core.case import Case
from desktop.core.checkpoint import Checkpoint, make_checkpoint, store_checkpoint


def sign(case: Case, seq: int, head: str, *, export: str, content_sha256: str) -> Checkpoint:
    """Sign the receipt of an export of the state at ``seq``/``head`` (stores nothing)."""
    return make_checkpoint(case, seq, head, export=export, content_sha256=content_sha256)


def issue(conn: sqlite3.Connection, case: Case, receipt: Checkpoint) -> Checkpoint:
    """Store a signed receipt in the case, inside the caller's transaction."""
    return store_checkpoint(conn, case, receipt)


def publish(receipt: Checkpoint, exported: Path, receipt_file: Path | None = None) -> None:
    """Append the receipt to the workstation ledger, and write it to a file when asked."""
    ledger.append({"type": "receipt", **receipt.to_json(), "file": str(exported)})
    if receipt_file is not None:
        write(receipt, receipt_file)


def write(receipt: Checkpoint, path: Path) -> None:
    """Write a receipt file to carry away (``--receipt``)."""
    path.write_text(json.dumps(receipt.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
