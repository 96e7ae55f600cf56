# SPDX-License-Identifier: GPL-3.0-or-later
"""Fail closed: a case that fails verification gets no briefing or export, unless marked (issue 11)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop.core.case import Case
from desktop.core.checkpoint import sign_checkpoint
from desktop.core.errors import VerificationFailed
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from reports.briefing import BriefingOptions, write_briefing
from reports.csv_export import export_csv
from reports.package import export_package
from reports.stix_export import export_stix


def _pages(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(path)
    try:
        return [" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf))]
    finally:
        pdf.close()


def _insider(case: Case) -> sqlite3.Connection:
    conn = sqlite3.connect(case.path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_update")
    conn.execute("DROP TRIGGER custody_no_delete")
    return conn


def _truncate(case: Case) -> None:
    conn = _insider(case)
    conn.execute("DELETE FROM custody WHERE seq > (SELECT MAX(seq) - 3 FROM custody)")
    conn.close()


def _rewrite(case: Case) -> None:
    conn = _insider(case)
    conn.execute("UPDATE custody SET result = 'nothing to see' WHERE seq = 3")
    conn.close()


def _replace_blob(case: Case) -> None:
    frame = next(i for i in case.items() if i.derived_how == "video frame")
    blob = case.vault.blob_path(frame.sha256)
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[-20] ^= 0xFF  # a frame without the IP, printed under the original SHA-256
    blob.write_bytes(bytes(data))


def _backwards_checkpoint(case: Case) -> None:
    sign_checkpoint(case)
    sign_checkpoint(case)
    conn = _insider(case)
    conn.execute("UPDATE checkpoints SET custody_seq = 1, "
                 "head = (SELECT entry_hash FROM custody WHERE seq = 1) "
                 "WHERE id = (SELECT MAX(id) FROM checkpoints)")
    conn.close()


@pytest.mark.parametrize("tamper", [_truncate, _rewrite, _replace_blob, _backwards_checkpoint])
def test_a_failing_case_gets_no_briefing(rich_case: Case, tmp_path: Path, tamper) -> None:  # type: ignore[no-untyped-def]
    sign_checkpoint(rich_case)  # an earlier export: the truncation cuts what it signed
    tamper(rich_case)
    out = tmp_path / "b.pdf"
    with pytest.raises(VerificationFailed, match="no briefing was written because the case failed"):
        write_briefing(rich_case, out, BriefingOptions())
    assert not out.exists()


def test_despite_discrepancies_marks_every_page_and_lists_findings(rich_case: Case, tmp_path: Path) -> None:
    _replace_blob(rich_case)
    out = tmp_path / "b.pdf"
    result = write_briefing(rich_case, out, BriefingOptions(despite_discrepancies=True))
    pages = _pages(out)
    assert len(pages) == result.pages > 3
    assert all("THIS CASE FAILED VERIFICATION" in p for p in pages)
    assert "is modified in the vault" in pages[0]  # the findings are listed on the cover
    exported = rich_case.custody()[-1]
    assert exported["detail"]["despite_discrepancies"] is True
    assert exported["detail"]["verified_intact"] is False


def test_the_integrity_statement_is_exactly_verifys_result(rich_case: Case, tmp_path: Path) -> None:
    out = tmp_path / "b.pdf"
    write_briefing(rich_case, out, BriefingOptions())
    verified = next(e for e in reversed(rich_case.custody()) if e["action"] == "verified")
    statement = verified["detail"]["statement"]
    assert statement.startswith("Verified intact:")
    text = " ".join(_pages(out))
    assert " ".join(statement.split()) in text
    assert f"custody entry {verified['seq']}" in text
    assert "FAILED VERIFICATION" not in text


@pytest.mark.parametrize("export", [
    lambda c, d: export_stix(c, d / "x.json"), lambda c, d: export_csv(c, d / "x.csv"),
    lambda c, d: export_package(c, d / "x.zip")])
def test_every_export_refuses_a_failing_case(rich_case: Case, tmp_path: Path, export) -> None:  # type: ignore[no-untyped-def]
    _rewrite(rich_case)
    with pytest.raises(VerificationFailed):
        export(rich_case, tmp_path)
    assert not list(tmp_path.glob("x.*"))
    assert not run_to_end(verify_case(rich_case)).ok
