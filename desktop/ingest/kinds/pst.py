# SPDX-License-Identifier: GPL-3.0-or-later
"""Outlook stores (``.pst``, ``.ost``): every message rebuilt as RFC 5322, one derived item each.

A store is acquired as it is (its own hash); reading it is analysis. libpff (``pypff``) walks the
folder tree one message at a time, so a large store streams through the child in bounded memory:
each message is rebuilt and written as a part before the next is read.

How a message is rebuilt (recorded in each derived item's custody entry):
- its transport headers, when Outlook kept them (``PR_TRANSPORT_MESSAGE_HEADERS``), verbatim
  except the MIME structure fields (``MIME-Version``, ``Content-*``), which describe a body Outlook
  no longer holds in that form; otherwise From/To/Cc/Subject/Date/Message-ID are *synthesised*
  from the MAPI properties, and the custody entry says so;
- a new MIME body: the stored plain-text and HTML bodies (``multipart/alternative``) and every
  attachment with its stored name, type and content id; an embedded message is rebuilt the same
  way and attached as ``message/rfc822``. RTF bodies are not de-encapsulated.
The rebuilt bytes are therefore *not* an original file: the store is the original, and the
derived item records its folder path and the store's message identifier so it can be found again.

A password on a store (``PR_PST_PASSWORD``) is a checksum Outlook asks for, not encryption:
libpff reads the store without it. The analysis says clearly that the store is
password-protected and that its content was read without the password.
"""

from __future__ import annotations

import email.encoders
import email.utils
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any, ClassVar, cast

from desktop.ingest.plugin import Limits, PartWriter, Probe, Result

PST_MAGIC = b"!BDN"
MAX_EMBED_DEPTH = 8
MAX_ATTACHMENT = 512 << 20  # an attachment larger than this is listed, not copied into the rebuild
_MIME_FIELDS = ("mime-version", "content-type", "content-transfer-encoding", "content-disposition",
                "content-id", "content-description")
_GENERATOR_POLICY = policy.compat32.clone(linesep="\r\n")

# MAPI property tags (MS-OXPROPS)
_MESSAGE_CLASS, _SUBJECT, _CLIENT_SUBMIT_TIME = 0x001A, 0x0037, 0x0039
_SENDER_NAME, _SENDER_EMAIL, _SENDER_SMTP = 0x0C1A, 0x0C1F, 0x5D01
_DISPLAY_TO, _DISPLAY_CC, _DELIVERY_TIME = 0x0E04, 0x0E03, 0x0E06
_INTERNET_MESSAGE_ID, _TRANSPORT_HEADERS = 0x1035, 0x007D
_RECIPIENT_NAME, _RECIPIENT_EMAIL, _RECIPIENT_SMTP, _RECIPIENT_TYPE = 0x3001, 0x3003, 0x39FE, 0x0C15
_ATTACH_FILENAME, _ATTACH_LONG_FILENAME, _ATTACH_MIME, _ATTACH_CID, _ATTACH_METHOD = (
    0x3704, 0x3707, 0x370E, 0x3712, 0x3705)
_PST_PASSWORD = 0x67FF
_EMBEDDED_MESSAGE = 5
_STRING_TYPES = (0x001E, 0x001F)


@dataclass
class MapiAttachment:
    """One attachment as read from the store."""

    name: str
    mime: str
    data: bytes | None = None
    content_id: str | None = None
    message: MapiMessage | None = None  # an embedded message
    note: str = ""


@dataclass
class MapiMessage:
    """What the rebuild needs from one stored message (plain data, so it is testable alone).

    Attributes:
        message_class: e.g. ``IPM.Note``, ``IPM.Appointment``.
        transport_headers: the stored Internet headers, or None.
        subject, sender_name, sender_addr, message_id: MAPI properties.
        to, cc: ``(name, address)`` from the recipient table (or the display strings).
        sent: client submit time (or delivery time), UTC.
        text_body, html_body: stored bodies.
        attachments: the message's attachments.
        defects: what could not be read.
    """

    message_class: str = ""
    transport_headers: str | None = None
    subject: str | None = None
    sender_name: str | None = None
    sender_addr: str | None = None
    message_id: str | None = None
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    sent: datetime | None = None
    text_body: str | None = None
    html_body: bytes | None = None
    attachments: list[MapiAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


class PstAnalyser:
    """An Outlook Personal Storage (``.pst``) or Offline Storage (``.ost``) file, by its magic."""

    name: ClassVar[str] = "pst"
    limits: ClassVar[Limits] = Limits(timeout_s=7200.0, memory_mb=3072)

    def accepts(self, probe: Probe) -> bool:
        """The ``!BDN`` header of a PST/OST file."""
        return probe.head.startswith(PST_MAGIC)

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Rebuild every message of the store as a part, folder by folder."""
        import pypff

        store = pypff.file()
        try:
            store.open(str(path))
        except OSError as exc:
            raise ValueError(f"This Outlook store cannot be opened by libpff ({exc}).") from exc
        try:
            protected = _password_protected(store)
            counts: dict[str, int] = {}
            for folder_path, item in _walk(store.get_root_folder()):
                mapi = read_message(item)
                data, how = rebuild(mapi)
                counts[mapi.message_class or "unknown"] = counts.get(mapi.message_class or "unknown", 0) + 1
                parts.add(data, f"pst-{len(parts.parts) + 1:06d}.eml", "outlook store message",
                          {"folder": folder_path, "store_identifier": _identifier(item),
                           "message_class": mapi.message_class, "rebuilt": how,
                           "defects": mapi.defects[:20]})
        finally:
            store.close()
        summary = f"Outlook store, {len(parts.parts)} items rebuilt as RFC 5322 messages"
        if protected:
            summary += ("; the store is PASSWORD-PROTECTED: Outlook's password is only a checksum, "
                        "and the content was read without it")
        notes = [("this Outlook store is password-protected; Outlook's password is only a checksum, "
                  "so its content was read without it")] if protected else []
        return {"kind": "email", "parts": parts.parts, "summary": summary, "notes": notes,
                "detail": {"password_protected": protected, "message_classes": counts}}


def _identifier(item: Any) -> int | None:
    try:
        return int(item.get_identifier())
    except (OSError, AttributeError, TypeError, ValueError):
        return None


def _walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Every message item under ``root`` with its folder path, depth-first, one at a time."""
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, folder = stack.pop()
        for index in range(_count(folder, "number_of_sub_messages")):
            try:
                yield path or "/", folder.get_sub_message(index)
            except OSError:
                continue  # a damaged item; its neighbours are still read
        children = []
        for index in range(_count(folder, "number_of_sub_folders")):
            try:
                sub = folder.get_sub_folder(index)
            except OSError:
                continue
            children.append((f"{path}/{sub.name or '(unnamed)'}", sub))
        stack += reversed(children)


def _count(obj: Any, attr: str) -> int:
    try:
        return int(getattr(obj, attr) or 0)
    except (OSError, AttributeError, TypeError, ValueError):  # a generic item lacks some counts
        return 0


def _properties(item: Any) -> dict[int, Any]:
    """The entries of an item's first record set by property tag."""
    out: dict[int, Any] = {}
    try:
        if not item.number_of_record_sets:
            return out
        record = item.get_record_set(0)
        for index in range(record.number_of_entries):
            entry = record.get_entry(index)
            out.setdefault(int(entry.entry_type), entry)
    except OSError:
        pass
    return out


def _text(props: dict[int, Any], tag: int) -> str | None:
    entry = props.get(tag)
    if entry is None:
        return None
    try:
        if int(entry.value_type) in _STRING_TYPES:
            value = entry.get_data_as_string()
            return str(value) if value else None
        data = entry.data
        return bytes(data).decode("utf-8", "replace").rstrip("\x00") if data else None
    except (OSError, ValueError, UnicodeError):
        return None


def _integer(props: dict[int, Any], tag: int) -> int | None:
    entry = props.get(tag)
    if entry is None:
        return None
    try:
        return int(entry.get_data_as_integer())
    except (OSError, TypeError, ValueError):
        return None


def _password_protected(store: Any) -> bool:
    """``PR_PST_PASSWORD`` holds a CRC-32 of the password, 0 when there is none."""
    try:
        props = _properties(store.get_message_store())
    except OSError:
        return False
    return bool(_integer(props, _PST_PASSWORD))


def read_message(item: Any, depth: int = 0) -> MapiMessage:
    """Read one stored item's properties, bodies, recipients and attachments."""
    props = _properties(item)
    msg = MapiMessage(message_class=_text(props, _MESSAGE_CLASS) or "")
    msg.transport_headers = _text(props, _TRANSPORT_HEADERS)
    subject = _text(props, _SUBJECT)
    if subject and subject[0] == "\x01":
        subject = subject[2:]  # MS-OXCMSG: 0x01 and the length of a prefix ("RE: ") come first
    msg.subject = subject
    msg.sender_name = _text(props, _SENDER_NAME)
    msg.sender_addr = _text(props, _SENDER_SMTP) or _text(props, _SENDER_EMAIL)
    msg.message_id = _text(props, _INTERNET_MESSAGE_ID)
    for attr in ("client_submit_time", "delivery_time"):
        try:
            when = getattr(item, attr, None)
        except (OSError, ValueError):
            when = None
        if isinstance(when, datetime):
            msg.sent = when if when.tzinfo else when.replace(tzinfo=UTC)
            break
    try:
        body = item.plain_text_body
        msg.text_body = bytes(body).decode("utf-8", "replace") if body else None
    except (OSError, AttributeError):
        msg.defects.append("plain-text body unreadable")
    try:
        html = item.html_body
        msg.html_body = bytes(html) if html else None
    except (OSError, AttributeError):
        msg.defects.append("HTML body unreadable")
    msg.to, msg.cc = _recipients(item, props, msg.defects)
    for index in range(_count(item, "number_of_attachments")):
        try:
            msg.attachments.append(_attachment(item.get_attachment(index), depth, msg.defects))
        except OSError as exc:
            msg.defects.append(f"attachment {index + 1} unreadable: {exc}")
    return msg


def _recipients(item: Any, props: dict[int, Any],
                defects: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    to: list[tuple[str, str]] = []
    cc: list[tuple[str, str]] = []
    try:
        table = item.recipients
        rows = int(table.number_of_record_sets) if table is not None else 0
        for index in range(rows):
            record = table.get_record_set(index)
            entries = {int(record.get_entry(i).entry_type): record.get_entry(i)
                       for i in range(record.number_of_entries)}
            name = _text(entries, _RECIPIENT_NAME) or ""
            addr = _text(entries, _RECIPIENT_SMTP) or _text(entries, _RECIPIENT_EMAIL) or ""
            kind = _integer(entries, _RECIPIENT_TYPE)
            (cc if kind == 2 else to).append((name, addr))  # 3 (Bcc) is kept as To: it was sent to them
    except (OSError, AttributeError, TypeError):
        defects.append("recipient table unreadable; display names used")
    if not to and not cc:
        to = [(n.strip(), "") for n in (_text(props, _DISPLAY_TO) or "").split(";") if n.strip()]
        cc = [(n.strip(), "") for n in (_text(props, _DISPLAY_CC) or "").split(";") if n.strip()]
    return to, cc


def _attachment(att: Any, depth: int, defects: list[str]) -> MapiAttachment:
    props = _properties(att)
    name = (_text(props, _ATTACH_LONG_FILENAME) or _text(props, _ATTACH_FILENAME)
            or _text(props, _RECIPIENT_NAME) or "")  # 0x3001 is also an attachment's display name
    out = MapiAttachment(name=name, mime=(_text(props, _ATTACH_MIME) or "application/octet-stream").lower(),
                         content_id=_text(props, _ATTACH_CID))
    if _integer(props, _ATTACH_METHOD) == _EMBEDDED_MESSAGE:
        if depth >= MAX_EMBED_DEPTH:
            out.note = f"embedded message deeper than {MAX_EMBED_DEPTH} levels, not rebuilt"
        elif _count(att, "number_of_sub_items"):
            out.message = read_message(att.get_sub_item(0), depth + 1)
        else:
            out.note = "embedded message without content"
        return out
    size = _count(att, "size")
    if size > MAX_ATTACHMENT:
        out.note = (f"attachment of {size} bytes, larger than the {MAX_ATTACHMENT >> 20} MiB "
                    "copied into a rebuild")
        defects.append(f"attachment {name!r}: {out.note}")
        return out
    out.data = bytes(att.read_buffer(size)) if size else b""
    return out


def rebuild(msg: MapiMessage) -> tuple[bytes, str]:
    """Rebuild a stored message as RFC 5322 bytes; also say how (for custody)."""
    body = _mime_body(msg)
    if msg.transport_headers and msg.transport_headers.strip():
        head = _transport_header_block(msg.transport_headers)
        how = ("transport headers as stored (MIME fields replaced); MIME body rebuilt from the stored "
               "bodies and attachments")
    else:
        head = _synthesised_headers(msg)
        how = ("no transport headers stored: From/To/Cc/Subject/Date/Message-ID synthesised from MAPI "
               "properties; MIME body rebuilt from the stored bodies and attachments")
    _content_boundaries(body)
    return head + body.as_bytes(policy=_GENERATOR_POLICY), how


def _content_boundaries(part: Message) -> None:
    """Give every multipart a boundary made from what it holds, innermost first.

    The generator's own boundary is random, so the same store imported twice gave every message
    with an attachment or two bodies new bytes and a new hash: a second import of a store found
    none of its messages already in the case. A boundary that occurs in the parts it separates is
    not used (as the generator does for its own).
    """
    if part.get_content_maintype() != "multipart":
        return
    subparts = cast(list[Message], part.get_payload())
    for sub in subparts:
        _content_boundaries(sub)
    text = b"".join(sub.as_bytes(policy=_GENERATOR_POLICY) for sub in subparts)
    base = "=_casetrail_" + hashlib.sha256(text).hexdigest()[:32]
    boundary, n = base, 0
    while boundary.encode("ascii") in text:
        n += 1
        boundary = f"{base}.{n}"
    part.set_boundary(boundary)


def _transport_header_block(text: str) -> bytes:
    """The stored header block minus its MIME fields, with CRLF line ends."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    skipping = False
    for line in lines:
        if not line.strip():
            break  # the end of the header block
        if line[:1] in (" ", "\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.split(":", 1)[0].strip().lower() in _MIME_FIELDS
        if not skipping:
            kept.append(line)
    return "".join(f"{line}\r\n" for line in kept).encode("utf-8", "surrogateescape")


def _encoded(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _address(name: str, addr: str) -> str:
    if not addr:
        # A display name without an address (Exchange-internal): an empty RFC 5322 group, so
        # no parser mistakes the name for an address.
        return f"{_encoded(name.replace(':', ' ').replace(';', ' '))}:;" if name else ""
    return email.utils.formataddr((name, addr), charset="utf-8")


def _synthesised_headers(msg: MapiMessage) -> bytes:
    fields: list[tuple[str, str]] = []
    sender = _address(msg.sender_name or "", msg.sender_addr or "")
    if sender:
        fields.append(("From", sender))
    for name, people in (("To", msg.to), ("Cc", msg.cc)):
        rendered = [r for r in (_address(n, a) for n, a in people) if r]
        if rendered:
            fields.append((name, ", ".join(rendered)))
    if msg.subject is not None:
        fields.append(("Subject", _encoded(msg.subject)))
    if msg.sent is not None:
        fields.append(("Date", email.utils.format_datetime(msg.sent.astimezone(UTC))))
    if msg.message_id:
        fields.append(("Message-ID", msg.message_id.strip()))
    if msg.message_class:
        fields.append(("X-MS-Message-Class", msg.message_class))
    return "".join(f"{n}: {v}\r\n" for n, v in fields).encode("ascii", "replace")


def _mime_body(msg: MapiMessage) -> MIMEBase:
    """The MIME entity that follows the header block (its own MIME-Version and Content-* fields)."""
    alternatives: list[MIMEBase] = []
    if msg.text_body is not None:
        alternatives.append(MIMEText(msg.text_body, "plain", "utf-8"))
    if msg.html_body is not None:
        html = MIMENonMultipart("text", "html")
        html.set_payload(msg.html_body)
        email.encoders.encode_base64(html)
        alternatives.append(html)
    if not alternatives:
        alternatives.append(MIMEText("", "plain", "utf-8"))
    body: MIMEBase = alternatives[0]
    if len(alternatives) > 1:
        body = MIMEMultipart("alternative", _subparts=alternatives)
    if msg.attachments:
        body = MIMEMultipart("mixed", _subparts=[body, *(_attachment_part(a) for a in msg.attachments)])
    if "MIME-Version" not in body:
        body["MIME-Version"] = "1.0"
    return body


def _attachment_part(att: MapiAttachment) -> MIMEBase:
    part: MIMEBase
    if att.message is not None:
        inner, _how = rebuild(att.message)
        part = MIMEMessage(message_from_bytes(inner, policy=policy.compat32))
    else:
        major, _, minor = att.mime.partition("/")
        part = MIMENonMultipart(major or "application", minor or "octet-stream")
        part.set_payload(att.data or b"")
        email.encoders.encode_base64(part)
    if att.name:
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", att.name))
    if att.content_id:
        part["Content-ID"] = f"<{att.content_id.strip('<>')}>"
    if att.note:
        part["Content-Description"] = _encoded(att.note)
    return part


ANALYSER = PstAnalyser()
