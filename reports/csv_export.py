# SPDX-License-Identifier: GPL-3.0-or-later
"""Export a case's indicators as CSV: one row per indicator, for spreadsheets and other tools.

Columns: type, value, defanged, tags, first_seen, occurrences, sources, items, matches, asn.
Multi-valued cells are joined with `` | ``. A cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with ``'`` (the
OWASP advice for CSV injection): evidence values are hostile, and a case CSV is opened in Excel.
The ``value`` column of such a row therefore differs from the stored value by that one character;
the ``defanged`` column is safe to paste in any case.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

from desktop.core import custody, receipts, references
from desktop.core.case import Case
from desktop.core.checkpoint import head_of
from desktop.core.correlate import indicators_with_matches
from desktop.core.indicators import defang
from desktop.core.verify import require_intact
from reports.atomic_write import write_atomic
from reports.stix_export import ExportResult

COLUMNS = ("type", "value", "defanged", "tags", "first_seen", "occurrences", "sources", "items",
           "matches", "asn")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _source(occurrence: dict[str, Any]) -> str:
    """The source, with how sure an OCR reading is: ``ocr (uncertain)``, ``ocr (enhanced image)``."""
    status = occurrence.get("status")
    if occurrence.get("source") == "ocr" and status in ("uncertain", "enhanced"):
        return f"ocr ({'enhanced image' if status == 'enhanced' else 'uncertain'})"
    return str(occurrence["source"])


def build_rows(case: Case) -> list[dict[str, str]]:
    """The CSV rows of a case (pure: reads the case and the library, writes nothing)."""
    first_seen = {(str(t), str(v)): str(f) for t, v, f in
                  case.db.conn.execute("SELECT type, value, first_seen FROM indicators")}
    out = []
    for ind in indicators_with_matches(case):
        occ: list[dict[str, Any]] = ind["occurrences"]
        asn = ind.get("asn")
        row = {
            "type": ind["type"],
            "value": ind["value"],
            "defanged": defang(ind["value"], ind["type"]),
            "tags": " | ".join(ind["tags"]),
            "first_seen": first_seen.get((ind["type"], ind["value"]), ""),
            "occurrences": str(len(occ)),
            "sources": " | ".join(sorted({_source(o) for o in occ})),
            "items": " | ".join(str(i) for i in sorted({int(o["item_id"]) for o in occ})),
            "matches": " | ".join(f"{m['source']}: {m['name']} ({m['detail']})" for m in ind["matches"]),
            "asn": f"AS{asn['number']} {asn['name']} {asn['country']}".strip() if asn else "",
        }
        out.append({k: _cell(v) for k, v in row.items()})
    return out


def export_csv(case: Case, path: Path, receipt_file: Path | None = None) -> ExportResult:
    """Write the case's indicator CSV atomically and record the export in custody."""
    references.ensure_snapshot(case)  # the matches exported are the case's own
    require_intact(case, "CSV export")
    rows = build_rows(case)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    payload = buf.getvalue().encode("utf-8")
    seq, head = head_of(case.db.conn)
    receipt = receipts.sign(case, seq, head, export="csv",
                            content_sha256=hashlib.sha256(payload).hexdigest())
    digest = write_atomic(path, payload)
    with case.transaction() as conn:
        stored = receipts.issue(conn, case, receipt)
        custody.append(conn, action="exported", examiner=case.examiner, source=str(path.resolve()),
                       sha256=digest, result="written",
                       detail={"format": "csv", "rows": len(rows), "checkpoint_id": stored.id})
    receipts.publish(stored, path, receipt_file)
    return ExportResult(str(path), digest, "CSV", {"indicators": len(rows)})
