# SPDX-License-Identifier: GPL-3.0-or-later
"""The receipt a signed briefing carries, and the PAdES signature that seals it (pyHanko).

A briefing is rendered (reportlab, revision 1 of the PDF), its SHA-256 is signed in the export
receipt, and then one incremental update (revision 2) adds the receipt as an embedded file
``casetrail-receipt.json`` (stored uncompressed, so a plain byte scan finds it) and a PAdES
B-B signature (ETSI.CAdES.detached, SHA-512, Ed25519) by the examiner's key with its
self-signed certificate. Any PDF tool that validates signatures (pyHanko, Adobe, ``pdfsig``
where its crypto library knows Ed25519) then shows whether a byte was changed, and
``casetrail verify --against BRIEFING.pdf`` checks the case against the embedded receipt.

Because revision 1 is left untouched by the incremental update, an expert recomputes the
signed content hash as SHA-256 of the first ``content_size`` bytes (printed in the receipt).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desktop.core.checkpoint import Checkpoint, checkpoint_from_json
from desktop.core.errors import CasetrailError

RECEIPT_NAME = "casetrail-receipt.json"
FIELD = "CasetrailExaminer"
_MARK = re.compile(rb'\{"algorithm": "Ed25519", .*?"signature": "[A-Za-z0-9+/=]+"\}', re.S)


def receipt_document(receipt: Checkpoint, content_size: int) -> dict[str, Any]:
    """The embedded receipt: the signed fields plus how many bytes the content hash covers."""
    return {**receipt.to_json(), "content_size": content_size}


def sign_pdf(data: bytes, receipt: Checkpoint, key: Ed25519PrivateKey, certificate_pem: bytes,
             examiner: str) -> bytes:
    """Append the receipt and a PAdES signature to a rendered PDF (one incremental update).

    Args:
        data: the rendered PDF (revision 1), whose SHA-256 the receipt signs.
        receipt: the signed export receipt.
        key: the examiner's private key (unlocked).
        certificate_pem: the certificate of that key.
        examiner: the signer's name, shown by PDF readers.

    Returns:
        The signed PDF; its first ``len(data)`` bytes are ``data``.
    """
    from asn1crypto import keys as asn1_keys
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    der = pem.unarmor(certificate_pem)[2]
    cert = asn1_x509.Certificate.load(der)
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    signer = signers.SimpleSigner(cert, asn1_keys.PrivateKeyInfo.load(pkcs8),
                                  SimpleCertificateStore.from_certs([cert]))  # type: ignore[no-untyped-call]
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    # One line, keys sorted: "algorithm" opens it and "signature" closes it, so a byte scan finds it.
    doc = json.dumps(receipt_document(receipt, len(data)), sort_keys=True).encode()
    spec = embed.FileSpec(RECEIPT_NAME, file_name=RECEIPT_NAME, description="Casetrail export receipt",
                          embedded_data=embed.EmbeddedFileObject.from_file_data(
                              writer, doc, compress=False, mime_type="application/json"))
    embed.embed_file(writer, spec)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD, md_algorithm="sha512", subfilter=fields.SigSeedSubFilter.PADES,
        name=examiner, reason=f"Casetrail briefing, custody entry {receipt.custody_seq}",
        location=f"case {receipt.case_id}")
    out = io.BytesIO()
    pdf_signer = signers.PdfSigner(meta, signer=signer, new_field_spec=fields.SigFieldSpec(FIELD))
    pdf_signer.sign_pdf(writer, output=out)
    return out.getvalue()


def receipt_of_pdf(data: bytes, path: Path) -> Checkpoint:
    """Read the receipt a signed briefing embeds and check that it covers the PDF's first revision.

    Raises:
        CasetrailError: no receipt, or it does not describe this PDF's content.
    """
    found = _MARK.findall(data)
    if not found:
        raise CasetrailError(f"{path} carries no Casetrail receipt (not a briefing signed by Casetrail)")
    try:
        doc = json.loads(found[-1])
        receipt = checkpoint_from_json(doc)
        size = int(doc["content_size"])
    except (ValueError, KeyError) as exc:
        raise CasetrailError(f"the receipt in {path} cannot be read ({exc})") from exc
    if hashlib.sha256(data[:size]).hexdigest() != receipt.content_sha256:
        raise CasetrailError(f"{path} was altered: its content no longer has the SHA-256 its receipt signs")
    return receipt
