# SPDX-License-Identifier: GPL-3.0-or-later
"""The briefing's PAdES signature and embedded receipt bind what it states (issue 11).

The PDF is signed with the examiner's document-signing key (RSA-3072, PKCS#1 v1.5, SHA-256) so
that the tools an opposing expert has — poppler's ``pdfsig`` (NSS), ``openssl cms``, pyHanko —
say "valid" for the honest file and fail on one changed byte; the examiner's Ed25519 key
vouches for that key's certificate, and ``verify --against`` names a signer it does not vouch for.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from briefing_case import build_case
from cryptography.hazmat.primitives import serialization

from desktop.core import keys
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.pdf_receipt import embedded_receipt, receipt_of_pdf, sign_pdf
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from reports.briefing import BriefingOptions, write_briefing

STANDALONE = Path(__file__).resolve().parents[3] / "packaging" / "verify_case.py"


@dataclass(frozen=True)
class Sealed:
    """One case and one signed briefing of it, made once for the module (keys in ``home``)."""

    case: Case
    home: Path
    pdf: Path
    altered: Path


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sealed]:
    root = tmp_path_factory.mktemp("sealed")
    old = os.environ.get("CASETRAIL_HOME")
    os.environ["CASETRAIL_HOME"] = str(root / "home")
    try:
        case = build_case(root / "work")
        pdf = root / "briefing.pdf"
        write_briefing(case, pdf, BriefingOptions())
    finally:
        os.environ["CASETRAIL_HOME"] = old or ""
    altered = root / "altered.pdf"
    altered.write_bytes(_alter_one_character(pdf.read_bytes()))
    try:
        yield Sealed(case, root / "home", pdf, altered)
    finally:
        case.close()


@pytest.fixture
def at_home(sealed: Sealed, monkeypatch: pytest.MonkeyPatch) -> Sealed:
    """The module's workstation folder (its keys, trust list and ledger) for this test."""
    monkeypatch.setenv("CASETRAIL_HOME", str(sealed.home))
    return sealed


def _alter_one_character(data: bytes) -> bytes:
    """Change one character of the briefing's first revision (inside a signed byte range).

    Revision 1 keeps its dictionaries in compressed object streams (the tagged PDF's structure
    tree is large); a stream's own dictionary is plain text: ``/Subtype /Image`` becomes
    ``/Subtype /image``.
    """
    i = data.index(b"/Subtype /Image") + len(b"/Subtype /")
    assert i < data.index(b"%%EOF"), "the picture is in revision 1"
    return data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:]


def _against(case: Case, pdf: Path) -> list[str]:
    report = run_to_end(verify_case(case, record=False, ledger=False, against=pdf))
    return [] if report.ok else report.findings()


def _standalone(sealed: Sealed, pdf: Path) -> tuple[int, str]:
    p = subprocess.run([sys.executable, str(STANDALONE), str(sealed.case.path), "--trusted-keys",
                        str(sealed.home / "keys" / "trusted"), "--against", str(pdf)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, p.stdout


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


def test_pyhanko_validates_it_and_an_altered_character_fails(at_home: Sealed) -> None:
    cert = keys.document_cert_file(at_home.case.examiner).read_bytes()
    assert _validate(at_home.pdf.read_bytes(), cert) == (True, True)
    assert _validate(at_home.altered.read_bytes(), cert)[0] is False


@pytest.mark.skipif(shutil.which("pdfsig") is None,
                    reason="pdfsig (poppler-utils) is not installed; `make system-deps` installs it")
def test_pdfsig_says_valid_and_an_altered_byte_fails(at_home: Sealed, tmp_path: Path) -> None:
    def pdfsig(pdf: Path, *extra: str) -> str:
        return subprocess.run(["pdfsig", *extra, str(pdf)], capture_output=True, text=True, timeout=60,
                              check=False).stdout

    honest = pdfsig(at_home.pdf)
    assert "Signature Validation: Signature is Valid." in honest, honest
    assert "Total document signed" in honest
    assert "Signing Hash Algorithm: SHA-256" in honest
    assert f"CN={at_home.case.examiner}" in honest
    altered = pdfsig(at_home.altered)
    assert "Signature is Valid" not in altered, altered
    assert "Digest Mismatch" in altered, altered
    if shutil.which("certutil") is None:
        return  # libnss3-tools: the trusted-certificate step of docs/verification.md §7
    db = tmp_path / "nssdb"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", str(db), "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", str(db), "-n", "examiner", "-t", "CT,C,C", "-i",
                    str(keys.document_cert_file(at_home.case.examiner))], check=True, capture_output=True)
    trusted = pdfsig(at_home.pdf, "-nssdir", str(db))
    assert "Certificate Validation: Certificate is Trusted." in trusted, trusted


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signed_byte_ranges(at_home: Sealed, tmp_path: Path) -> None:
    """The `openssl cms -verify` steps of docs/verification.md §7, on the honest and the altered file."""
    cert = keys.document_cert_file(at_home.case.examiner)

    def openssl_verify(pdf: Path) -> int:
        data = pdf.read_bytes()
        a, b, c, d = map(int, re.findall(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]", data)[-1])
        (tmp_path / "signed.bin").write_bytes(data[a:a + b] + data[c:c + d])
        (tmp_path / "sig.der").write_bytes(bytes.fromhex(data[b + 1:c - 1].decode()))
        return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                               str(tmp_path / "sig.der"), "-content", str(tmp_path / "signed.bin"),
                               "-CAfile", str(cert), "-purpose", "any", "-out", os.devnull],
                              capture_output=True, timeout=60, check=False).returncode

    assert openssl_verify(at_home.pdf) == 0
    assert openssl_verify(at_home.altered) != 0


def test_the_receipt_binds_the_content(at_home: Sealed) -> None:
    data = at_home.pdf.read_bytes()
    found = embedded_receipt(data, at_home.pdf)
    assert found.receipt.export == "briefing"
    assert found.receipt.head in {e["entry_hash"] for e in at_home.case.custody()}
    document = keys.document_key(at_home.case.examiner)
    assert found.document_certificate_sha256 == document.certificate_sha256
    with pytest.raises(CasetrailError, match="was altered"):
        receipt_of_pdf(at_home.altered.read_bytes(), at_home.altered)
    assert _against(at_home.case, at_home.pdf) == []
    assert any("was altered" in f for f in _against(at_home.case, at_home.altered))
    assert _standalone(at_home, at_home.pdf)[0] == 0
    code, out = _standalone(at_home, at_home.altered)
    assert code == 1, out
    assert "its PDF signature does not hold" in out, out


def test_signing_is_reproducible(at_home: Sealed) -> None:
    """Revision 1 and the receipt it embeds give back the very bytes of the signed file."""
    data = at_home.pdf.read_bytes()
    found = embedded_receipt(data, at_home.pdf)
    document = keys.document_key(at_home.case.examiner)
    again = sign_pdf(data[:found.content_size], found.receipt, document)
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_signer_no_trusted_examiner_vouches_for_is_a_discrepancy(at_home: Sealed, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The untouched revision 1 and receipt, re-sealed with a document key made elsewhere."""
    data = at_home.pdf.read_bytes()
    found = embedded_receipt(data, at_home.pdf)
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "forger"))
    forged_key = keys.document_key(at_home.case.examiner)  # same name, another workstation
    monkeypatch.setenv("CASETRAIL_HOME", str(at_home.home))
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(sign_pdf(data[:found.content_size], found.receipt, forged_key))
    pem = forged_key.certificate.public_bytes(serialization.Encoding.PEM)
    assert _validate(forged.read_bytes(), pem) == (True, True)  # a valid signature, by the wrong key
    problems = _against(at_home.case, forged)
    assert any("does not vouch for" in p for p in problems), problems
    code, out = _standalone(at_home, forged)
    assert code == 1, out
    assert "does not vouch for" in out, out
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(data + b"\n%% an update after signing\n")
    assert any("does not cover the whole file" in p for p in _against(at_home.case, appended))
    assert _standalone(at_home, appended)[0] == 1


def test_a_briefing_signed_before_document_keys_still_verifies(at_home: Sealed, tmp_path: Path) -> None:
    """Briefings of the first issue-11 release were signed by the Ed25519 key itself."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    data = at_home.pdf.read_bytes()
    found = embedded_receipt(data, at_home.pdf)
    key = keys.examiner_key(at_home.case.examiner)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, at_home.case.examiner)])
    usage = x509.KeyUsage(True, True, False, False, False, True, False, False, False)
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(start).not_valid_after(start.replace(year=2999))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True).sign(key, None))
    a_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    writer = IncrementalPdfFileWriter(io.BytesIO(data[:found.content_size]))
    doc = json.dumps({**found.receipt.to_json(), "content_size": found.content_size}, sort_keys=True).encode()
    embed.embed_file(writer, embed.FileSpec("casetrail-receipt.json", embedded_data=embed.EmbeddedFileObject
                                            .from_file_data(writer, doc, compress=False)))
    signer = signers.SimpleSigner(a_cert, asn1_keys.PrivateKeyInfo.load(pkcs8),
                                  SimpleCertificateStore.from_certs([a_cert]))  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="F", md_algorithm="sha512",
                                                   subfilter=fields.SigSeedSubFilter.PADES),
                      signer=signer, new_field_spec=fields.SigFieldSpec("F")).sign_pdf(writer, output=out)
    legacy = tmp_path / "legacy.pdf"
    legacy.write_bytes(out.getvalue())
    assert _against(at_home.case, legacy) == []
    assert _standalone(at_home, legacy)[0] == 0


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


def test_pyhanko_cli_validates_it(at_home: Sealed) -> None:
    cli = Path(sys.executable).parent / "pyhanko"
    if not cli.exists():
        pytest.skip("pyhanko-cli is not installed")
    cert = keys.document_cert_file(at_home.case.examiner)
    cmd = [str(cli), "sign", "validate", "--no-revocation-check", "--trust", str(cert), "--trust-replace"]
    ok = subprocess.run([*cmd, str(at_home.pdf)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "INTACT" in ok.stdout.upper() or "VALID" in ok.stdout.upper()
    fail = subprocess.run([*cmd, str(at_home.altered)], capture_output=True, text=True, check=False)
    assert fail.returncode != 0, fail.stdout


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_the_signed_briefing_is_a_valid_pdf(sealed: Sealed) -> None:
    proc = subprocess.run(["qpdf", "--check", str(sealed.pdf)], capture_output=True, text=True)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # 3: warnings only


def test_the_signed_briefing_is_still_a_tagged_pdf(sealed: Sealed) -> None:
    """Signing (an incremental update of the catalog) keeps the structure tree written before it."""
    import pikepdf

    with pikepdf.open(sealed.pdf) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert pdf.Root.StructTreeRoot.K.S == "/Document"
        assert "/AcroForm" in pdf.Root  # the signature's field: the catalog read is revision 2's
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(sealed.pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Tagged:\s+yes$", info, re.M), info
