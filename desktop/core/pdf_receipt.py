# SPDX-License-Identifier: GPL-3.0-or-later
"""The receipt a signed briefing carries, and the PAdES signature that seals it (pyHanko).

A briefing is rendered (reportlab, revision 1 of the PDF), its SHA-256 is signed in the export
receipt (Ed25519, the examiner's key), and then one incremental update (revision 2) adds the
receipt as an embedded file ``casetrail-receipt.json`` (stored uncompressed, so a plain byte
scan finds it) and a PAdES B-B signature (``ETSI.CAdES.detached``, SHA-256, RSA PKCS#1 v1.5)
by the examiner's *document-signing key* (``desktop.core.keys.document_key``). RSA with
PKCS#1 v1.5 is what every PDF validator checks — Adobe Acrobat/Reader since version 6, poppler's
``pdfsig`` (NSS), ``openssl cms``, pyHanko — where the Ed25519 signature used before could only
be checked by pyHanko. The receipt names the certificate that signs the PDF and carries the
examiner key's *binding* to it, so ``casetrail verify --against BRIEFING.pdf`` (and the
standalone verifier) prove that the PDF was signed by a key a trusted examiner vouches for.

The signature is a pure function of the rendered PDF, the receipt and the keys: RSA PKCS#1 v1.5
has no random input (RFC 8017 §8.2), the signing time written is the receipt's, and the second
half of the document id is derived from the content (pyHanko would draw it at random). The
same case state and receipt therefore give the same signed bytes.

Because revision 1 is left untouched by the incremental update, an expert recomputes the
signed content hash as SHA-256 of the first ``content_size`` bytes (printed in the receipt).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from desktop.core import keys
from desktop.core.checkpoint import Checkpoint, checkpoint_from_json
from desktop.core.errors import CasetrailError

if TYPE_CHECKING:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.writer import BasePdfFileWriter
    from pyhanko.sign.signers.pdf_signer import PdfSigner, PdfSigningSession

RECEIPT_NAME = "casetrail-receipt.json"
FIELD = "CasetrailExaminer"
_MARK = re.compile(rb'\{"algorithm": "Ed25519", .*?"signature": "[A-Za-z0-9+/=]+"\}', re.S)


@dataclass(frozen=True)
class EmbeddedReceipt:
    """The receipt a signed briefing embeds.

    Attributes:
        receipt: the signed export receipt (its content hash covers revision 1).
        content_size: how many bytes revision 1 has.
        document_certificate_sha256: SHA-256 of the DER of the certificate that signs the PDF;
            empty in briefings signed before document keys (the examiner key signed the PDF).
        document_binding: the examiner key's Ed25519 signature vouching for that certificate.
    """

    receipt: Checkpoint
    content_size: int
    document_certificate_sha256: str
    document_binding: str


def receipt_document(receipt: Checkpoint, content_size: int, document: keys.DocumentKey) -> dict[str, Any]:
    """The embedded receipt: the signed fields, the bytes the content hash covers, the binding."""
    return {**receipt.to_json(), "content_size": content_size,
            "document_certificate_sha256": document.certificate_sha256,
            "document_binding": document.binding}


def sign_pdf(data: bytes, receipt: Checkpoint, document: keys.DocumentKey) -> bytes:
    """Append the receipt and a PAdES signature to a rendered PDF (one incremental update).

    Args:
        data: the rendered PDF (revision 1), whose SHA-256 the receipt signs.
        receipt: the signed export receipt.
        document: the examiner's unlocked document-signing key.

    Returns:
        The signed PDF; its first ``len(data)`` bytes are ``data``. Deterministic.
    """
    from asn1crypto import algos
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils import embed
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert = asn1_x509.Certificate.load(document.certificate_der)
    pkcs8 = document.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    signer = signers.SimpleSigner(
        cert, asn1_keys.PrivateKeyInfo.load(pkcs8), SimpleCertificateStore(),  # type: ignore[no-untyped-call]
        # PKCS#1 v1.5, never PSS: PSS draws a random salt, and v1.5 is what every validator knows
        signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}))
    # One line, keys sorted: "algorithm" opens it and "signature" closes it, so a byte scan finds it.
    doc = json.dumps(receipt_document(receipt, len(data), document), sort_keys=True).encode()
    when = _signing_time(receipt)
    seed = hashlib.sha256(data + doc).digest()[:16]
    writer = _reproducible_writer()(io.BytesIO(data), when=when, seed=seed)
    spec = embed.FileSpec(RECEIPT_NAME, file_name=RECEIPT_NAME, description="Casetrail export receipt",
                          embedded_data=embed.EmbeddedFileObject.from_file_data(
                              writer, doc, compress=False, mime_type="application/json"))
    embed.embed_file(writer, spec)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        name=document.examiner, reason=f"Casetrail briefing, custody entry {receipt.custody_seq}",
        location=f"case {receipt.case_id}")
    out = io.BytesIO()
    pdf_signer = _receipt_time_signer()(meta, signer=signer, new_field_spec=fields.SigFieldSpec(FIELD),
                                        when=when)
    pdf_signer.sign_pdf(writer, output=out)
    return out.getvalue()


def _signing_time(receipt: Checkpoint) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(receipt.at).astimezone(datetime.UTC).replace(microsecond=0)
    except ValueError as exc:
        raise CasetrailError(f"the receipt's time {receipt.at!r} is not an ISO 8601 time") from exc


@functools.cache
def _reproducible_writer() -> Callable[..., IncrementalPdfFileWriter]:
    """An incremental writer whose bytes depend on its input only.

    pyHanko writes the clock into ``/ModDate`` and draws the new half of the document id at
    random; this one writes the receipt's time and an id derived from the content. There is no
    public setter for either, so it overrides two internals of the pinned pyHanko;
    ``test_signature.py`` checks that signing twice gives the same bytes.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    class ReproducibleWriter(IncrementalPdfFileWriter):
        def __init__(self, stream: io.BytesIO, *, when: datetime.datetime, seed: bytes) -> None:
            super().__init__(stream)
            self._when = when
            self._document_id = generic.ArrayObject(
                [generic.ByteStringObject(self.document_id[0]), generic.ByteStringObject(seed)])

        def _update_meta(self) -> None:
            super()._update_meta()  # type: ignore[no-untyped-call]
            if self._info is not None:
                info = self._info.get_object()  # type: ignore[no-untyped-call]
                info[generic.pdf_name("/ModDate")] = generic.pdf_date(self._when)

    return ReproducibleWriter


@functools.cache
def _receipt_time_signer() -> Callable[..., PdfSigner]:
    """A PdfSigner that writes the receipt's time (``/M``) instead of the clock's (pyHanko loads late)."""
    from pyhanko.sign import signers

    class ReceiptTimeSigner(signers.PdfSigner):
        def __init__(self, *args: Any, when: datetime.datetime, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._when = when

        def init_signing_session(self, pdf_out: BasePdfFileWriter,
                                 existing_fields_only: bool = False) -> PdfSigningSession:
            session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
            session.system_time = self._when
            return session

    return ReceiptTimeSigner


def embedded_receipt(data: bytes, path: Path) -> EmbeddedReceipt:
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
        cert_sha = str(doc.get("document_certificate_sha256", ""))
        binding = str(doc.get("document_binding", ""))
    except (ValueError, KeyError) as exc:
        raise CasetrailError(f"the receipt in {path} cannot be read ({exc})") from exc
    if hashlib.sha256(data[:size]).hexdigest() != receipt.content_sha256:
        raise CasetrailError(f"{path} was altered: its content no longer has the SHA-256 its receipt signs")
    return EmbeddedReceipt(receipt, size, cert_sha, binding)


def receipt_of_pdf(data: bytes, path: Path) -> Checkpoint:
    """The receipt of a signed briefing (see :func:`embedded_receipt`)."""
    return embedded_receipt(data, path).receipt


def signature_problems(data: bytes, path: Path, embedded: EmbeddedReceipt) -> list[str]:
    """Check a briefing's PAdES signature and that a key of its receipt's examiner vouches for its signer.

    The signature must hold (pyHanko: digest and signature), cover the whole file (nothing
    appended after signing), and be made by the certificate the receipt names, which the
    receipt's examiner key vouches for (the binding). The caller checks that this examiner key
    is trusted. A briefing signed before document keys was signed by the examiner key itself.
    Fails closed: a signature that cannot be read is a problem.

    Returns:
        One sentence per problem; empty when the signature holds.
    """
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    name = path.name
    try:
        sigs = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
        if not sigs:
            return [f"{name} carries no PDF signature"]
        sig = sigs[-1]
        cert = sig.signer_cert
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[cert], allow_fetching=False))
    except (PdfError, SignatureValidationError, ValueError, KeyError, TypeError) as exc:
        return [f"{name}: its PDF signature cannot be checked ({exc})"]
    problems: list[str] = []
    if not (status.intact and status.valid):
        problems.append(f"{name}: its PDF signature does not hold (the file was changed after it was signed)")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append(f"{name} was changed after it was signed: its PDF signature does not cover the "
                        "whole file")
    receipt = embedded.receipt
    digest = hashlib.sha256(cert.dump()).hexdigest()
    raw = base64.b64decode(receipt.public_key)
    who = f"examiner key {receipt.key_id} ({receipt.examiner})"
    if embedded.document_certificate_sha256:
        bad = (None if digest == embedded.document_certificate_sha256.lower() else
               "its receipt names another certificate")
        bad = bad or keys.binding_problem(raw, digest, embedded.document_binding)
    else:  # signed before document keys: by the examiner key itself, in its own certificate
        public = cert.public_key
        same = public.algorithm == "ed25519" and public["public_key"].native == raw
        bad = None if same else "no document certificate is named"
    if bad:
        problems.append(f"{name} is signed by a certificate (SHA-256 {digest[:16]}…) that {who} does "
                        f"not vouch for: {bad}")
    return problems
