# SPDX-License-Identifier: GPL-3.0-or-later
"""The briefing's PAdES signature and embedded receipt bind what it states (issue 11)."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core import keys
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.pdf_receipt import receipt_of_pdf
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from reports.briefing import BriefingOptions, write_briefing


@pytest.fixture
def signed(rich_case: Case, tmp_path: Path) -> Path:
    out = tmp_path / "b.pdf"
    write_briefing(rich_case, out, BriefingOptions())
    return out


def _validate(data: bytes, cert_pem: bytes) -> tuple[bool, bool]:
    """(intact, covers the whole file) as pyHanko judges the signature, offline."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    cert = asn1_x509.Certificate.load(pem.unarmor(cert_pem)[2])
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    sig = reader.embedded_signatures[0]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[cert], allow_fetching=False))
    return bool(status.intact and status.valid), status.coverage.name == "ENTIRE_FILE"


def _alter_one_character(data: bytes) -> bytes:
    """Change one character of the briefing's first revision (inside a signed byte range)."""
    i = data.index(b"/Producer (")
    return data[:i + 11] + bytes([data[i + 11] ^ 0x20]) + data[i + 12:]


def test_the_briefing_is_signed_and_an_altered_character_fails(rich_case: Case, signed: Path) -> None:
    data = signed.read_bytes()
    cert = keys.cert_file(rich_case.examiner).read_bytes()
    assert _validate(data, cert) == (True, True)
    assert _validate(_alter_one_character(data), cert)[0] is False


def test_the_receipt_binds_the_content(rich_case: Case, signed: Path, tmp_path: Path) -> None:
    data = signed.read_bytes()
    receipt = receipt_of_pdf(data, signed)
    assert receipt.export == "briefing"
    last = rich_case.custody()
    assert receipt.head in {e["entry_hash"] for e in last}
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(_alter_one_character(data))
    with pytest.raises(CasetrailError, match="was altered"):
        receipt_of_pdf(bad.read_bytes(), bad)
    ok = run_to_end(verify_case(rich_case, against=signed))
    assert ok.ok, ok.findings()
    failed = run_to_end(verify_case(rich_case, against=bad))
    assert any("was altered" in f for f in failed.findings())


def test_different_briefings_never_share_a_signature(rich_case: Case, tmp_path: Path) -> None:
    from desktop.core import analysis

    a = write_briefing(rich_case, tmp_path / "a.pdf", BriefingOptions(tlp="red"))
    b = write_briefing(rich_case, tmp_path / "b.pdf", BriefingOptions(tlp="amber"))
    j = analysis.list_judgments(rich_case)[0]
    analysis.update_judgment(rich_case, j.id, likelihood="almost certain")
    c = write_briefing(rich_case, tmp_path / "c.pdf", BriefingOptions(tlp="red"))
    receipts = [a.checkpoint, b.checkpoint, c.checkpoint]
    assert len({r.signature for r in receipts}) == 3
    assert len({r.content_sha256 for r in receipts}) == 3
    for r, path in zip(receipts, ("a.pdf", "b.pdf", "c.pdf"), strict=True):
        pdf = (tmp_path / path).read_bytes()
        assert receipt_of_pdf(pdf, tmp_path / path).content_sha256 == r.content_sha256
        assert hashlib.sha256(pdf).hexdigest() != r.content_sha256  # the signature revision follows


def test_pyhanko_cli_validates_it(rich_case: Case, signed: Path) -> None:
    cli = Path(sys.executable).parent / "pyhanko"
    if not cli.exists():
        pytest.skip("pyhanko-cli is not installed")
    cert = keys.cert_file(rich_case.examiner)
    cmd = [str(cli), "sign", "validate", "--no-revocation-check", "--trust", str(cert), "--trust-replace"]
    ok = subprocess.run([*cmd, str(signed)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "INTACT" in ok.stdout.upper() or "VALID" in ok.stdout.upper()
    bad = signed.with_name("bad.pdf")
    bad.write_bytes(_alter_one_character(signed.read_bytes()))
    fail = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, check=False)
    assert fail.returncode != 0, fail.stdout


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_the_signed_briefing_is_a_valid_pdf(signed: Path) -> None:
    proc = subprocess.run(["qpdf", "--check", str(signed)], capture_output=True, text=True)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # 3: warnings only
