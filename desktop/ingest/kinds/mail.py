# SPDX-License-Identifier: GPL-3.0-or-later
"""Single messages: RFC 5322 ``.eml`` (and each message cut from a mailbox) and Outlook ``.msg``.

Headers, the Received chain, bodies and attachments come from :mod:`desktop.ingest.email`; this
module turns them into occurrences (where each indicator was read) and derived parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from desktop.core import hop_numbers, limits
from desktop.core.indicators import extract
from desktop.ingest.plugin import Limits, Occurrence, PartWriter, Probe, Result, TextPart
from desktop.ingest.scan import occurrence, scan

MAX_TEXT = limits.INDEXED_TEXT  # scan at most this much of a body (as much as is indexed)
_SKIP_HEADERS = ("dkim-signature", "x-google-dkim-signature", "arc-seal", "arc-message-signature",
                 "content-type", "content-transfer-encoding", "mime-version", "content-disposition")


class MailAnalyser:
    """One RFC 5322 message (``.eml``, a message cut from a mailbox), recognised by content."""

    name: ClassVar[str] = "email"
    limits: ClassVar[Limits] = Limits(timeout_s=120.0, memory_mb=2048)

    def accepts(self, probe: Probe) -> bool:
        """A header block, whatever the file is called."""
        return probe.mail_form == "eml"

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Parse the message; attachments become parts."""
        return analyse_message(path, probe, parts)


class MsgAnalyser(MailAnalyser):
    """One Outlook ``.msg`` item (an OLE compound file), recognised by content.

    Its own, tighter limits: a real .msg is read in well under a second and a few tens of MiB,
    while a crafted one (a FAT count or stream size larger than the file) used to drive olefile
    to ~800 MiB for ~30 s. The structural check in :func:`desktop.ingest.email.parse_msg` refuses
    those at once; the limits stop whatever it does not foresee.
    """

    name: ClassVar[str] = "msg"
    limits: ClassVar[Limits] = Limits(timeout_s=60.0, memory_mb=1024)

    def accepts(self, probe: Probe) -> bool:
        """An Outlook item, whatever the file is called."""
        return probe.mail_form == "msg"


def analyse_message(path: Path, probe: Probe, parts: PartWriter) -> Result:
    """Parse one message, ``.eml`` or ``.msg``; attachments become parts."""
    from desktop.ingest.email import parse_eml, parse_msg

    form = probe.mail_form
    data = path.read_bytes()
    parsed = parse_eml(data) if form == "eml" else parse_msg(data)
    info = parsed.to_dict()
    occurrences: list[Occurrence] = header_occurrences(info)
    # The bodies are indexed whole (in pieces, up to the index's limit) from here; what the
    # case keeps of them for display is bounded afterwards (desktop.ingest.bounds).
    texts: list[TextPart] = []
    if parsed.text_body:
        occurrences += scan(parsed.text_body[:MAX_TEXT], "body", "text body")
        texts.append({"part": "body:text", "text": parsed.text_body})
    if parsed.html_body:
        occurrences += scan(parsed.html_body[:MAX_TEXT], "body", "HTML body")
        texts.append({"part": "body:html", "text": parsed.html_body})
    for index, att in enumerate(parsed.attachments):
        part_name = att.name or (f"attached-message-{index + 1}.eml" if att.is_message
                                 else f"attachment-{index + 1}")
        parts.add(att.data, part_name, "attached message" if att.is_message else "attachment",
                  {"content_type": att.content_type, "disposition": att.disposition,
                   "content_id": att.content_id, "raw_name": att.raw_name})
        occurrences += [occurrence(f, "attachment", f"attachment {index + 1} name")
                        for f in extract(part_name) if f.type in ("file_name", "domain", "url")]
    info.pop("attachments", None)
    return {"kind": "email", "email": info, "occurrences": occurrences, "parts": parts.parts,
            "texts": texts,
            "summary": f"{form} message, {len(info.get('hops') or [])} hops, "
                       f"{len(parts.parts)} attachments, {len(occurrences)} indicator occurrences"}


def header_occurrences(info: dict[str, object]) -> list[Occurrence]:
    """Indicators in the headers of a parsed message, each with the header it was read in."""
    occurrences: list[Occurrence] = []
    headers = info.get("headers") or []
    assert isinstance(headers, list)  # noqa: S101 - the shape ParsedEmail.to_dict() returns
    received_total = sum(1 for n, _ in headers if n.lower() == "received")
    received_seen = 0
    for name, value in headers:
        low = name.lower()
        if low in _SKIP_HEADERS or low.startswith(("arc-", "x-ms-exchange-crosstenant")):
            continue
        if low in ("message-id", "in-reply-to", "references"):
            # A message id looks like an address but names no mailbox: only its domain counts.
            occurrences += [o for o in scan(str(value), "header", name, offsets=False)
                            if o["type"] != "email"]
            continue
        where = name
        if low == "received":
            # Received headers are prepended: the first one seen is the hop nearest the recipient.
            index = hop_numbers.index_from_header_position(received_seen, received_total)
            where = hop_numbers.where(index, received_total)
            received_seen += 1
        occurrences += scan(str(value), "header", where, offsets=False)
    for sig in info.get("dkim_signatures") or []:  # type: ignore[attr-defined]
        if sig.get("d"):
            occurrences += scan(str(sig["d"]), "header", "DKIM-Signature d=", offsets=False)
    return occurrences


ANALYSER = MailAnalyser()
MSG_ANALYSER = MsgAnalyser()
