# SPDX-License-Identifier: GPL-3.0-or-later
"""True file type from content (libmagic), and whether a file's extension disagrees with it.

The only module that imports ``magic``. Types come from bytes, never from names: an attacker
names a PNG ``invoice.pdf``; the analyst must see both facts.

libmagic recognises an RFC 5322 message only by a few leading headers (``Received:``,
``Return-Path:`` …): a message that starts ``Subject:`` is "text/plain", a malformed one
"application/octet-stream". Mail is what this tool is for, so messages and mailboxes are also
recognised by their header block (:func:`mail_form`, the rules the analysis opens mail by) and
typed ``message/rfc822`` / ``application/mbox``.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePath

import magic

_lock = threading.Lock()  # libmagic handles are not thread-safe
_mime = magic.Magic(mime=True)
_desc = magic.Magic()
# libmagic is the largest cost of acquiring small files (measured: ~1 ms of CPU per call on text).
# ctypes releases the GIL during the call, so a batch is typed on two threads, each with a handle
# of its own, and the description (a second full pass) is left to the analysis.
_WORKERS = 2
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    """A forked child has none of its parent's threads: an inherited pool would never do its work.

    The crash campaign forks its commands from a process that has typed files already.
    """
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)

# -- mail by content ---------------------------------------------------------------------------
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_MSG_STREAM_NAMES = tuple(n.encode("utf-16-le") for n in ("__substg1.0_", "__nameid_version1.0",
                                                            "__properties_version1.0"))
# RFC 5322 field name, then a colon; white space before the colon is the obsolete syntax
# (RFC 5322 4.5.8) that real messages still carry ("From : …").
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}[ \t]*:")
_STRONG_HEADERS = frozenset({"received", "return-path", "message-id", "mime-version", "dkim-signature",
                             "delivered-to", "x-received", "authentication-results", "arc-seal",
                             "x-mailer", "in-reply-to", "references"})
_WEAK_HEADERS = frozenset({"from", "to", "cc", "subject", "date", "reply-to", "sender", "bcc"})
# An mbox separator: a "From " line followed by a header line. "From :" is a header in the
# obsolete syntax (white space before the colon), not a separator.
MBOX_SEPARATOR = re.compile(rb"^From [^\s:][^\n]*\n(?=[!-9;-~]{1,76}:)", re.MULTILINE)
MAIL_HEAD = 16 << 10  # bytes of a file read to recognise mail
# What libmagic says of mail it does not recognise; only these are looked at again.
_MAYBE_MAIL = frozenset({"text/plain", "text/html", "text/x-c", "text/x-makefile", "text/troff",
                         "application/octet-stream", "message/rfc822", "message/news"})
MAIL_MIMES = {"eml": "message/rfc822", "mbox": "application/mbox"}

# Extensions a MIME type is also rightly known by, beyond what ``mimetypes`` lists.
_EXTRA_EXTENSIONS: dict[str, set[str]] = {
    "text/plain": {".txt", ".log", ".csv", ".tsv", ".md", ".eml", ".ini", ".cfg", ".json", ".xml",
                   ".html", ".htm", ".py", ".sh", ".ps1", ".bat", ".conf", ".yaml", ".yml"},
    "message/rfc822": {".eml", ".msg", ".txt", ".mht", ".mhtml"},
    "application/vnd.ms-outlook": {".msg"},
    "application/CDFV2": {".msg", ".doc", ".xls", ".ppt"},
    "application/mbox": {".mbox", ".mbx", ""},
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "image/tiff": {".tif", ".tiff"},
    "video/mp4": {".mp4", ".m4v"},
    "video/quicktime": {".mov", ".qt"},
    "video/x-matroska": {".mkv"},
    "video/webm": {".webm"},
    "application/zip": {".zip", ".docx", ".xlsx", ".pptx", ".jar", ".apk", ".odt", ".ods"},
    "application/json": {".json"},
    "text/html": {".html", ".htm"},
    "text/xml": {".xml", ".svg"},
    "text/csv": {".csv"},
}


@dataclass(frozen=True)
class FileType:
    """What libmagic says a file is.

    Attributes:
        mime: the MIME type, e.g. ``image/png``.
        description: libmagic's human description, e.g. ``PNG image data, 4 x 3, 8-bit/color RGB``.
    """

    mime: str
    description: str


def mail_form(head: bytes, mime: str) -> str | None:
    """Which mail format bytes are: ``'eml'``, ``'msg'``, ``'mbox'`` or None.

    Args:
        head: the first bytes of the file (:data:`MAIL_HEAD` is enough).
        mime: the MIME type libmagic gave (an OLE file is an Outlook message only if it holds
            the streams of one, or libmagic says so).
    """
    if head.startswith(OLE_MAGIC):
        if mime == "application/vnd.ms-outlook" or any(n in head for n in _MSG_STREAM_NAMES):
            return "msg"
        return None
    if mime == "application/vnd.ms-outlook":
        return None  # libmagic says Outlook but the bytes are no OLE file: nothing we can open
    if MBOX_SEPARATOR.match(head.replace(b"\r\n", b"\n")):
        return "mbox"
    if _looks_like_headers(head):
        return "eml"
    return None


def _looks_like_headers(head: bytes) -> bool:
    """Say whether ``head`` starts with an RFC 5322 header block of a mail message.

    At least two header lines are needed, and either one header only mail carries (Received,
    Message-ID, MIME-Version …) or two of the common ones (From, To, Subject, Date …): a text file
    that happens to begin "Subject: notes" is not mail.
    """
    lines = head.split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off by the head limit
    names: list[str] = []
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and names:
            continue
        match = _HEADER_LINE.match(line)
        if not match:
            return False
        names.append(match.group(0)[:-1].decode("ascii").strip().lower())
    strong = sum(n in _STRONG_HEADERS or n.startswith("x-") for n in names)
    weak = sum(n in _WEAK_HEADERS for n in names)
    return len(names) >= 2 and (strong >= 1 or weak >= 2)


def refine_mime(mime: str, head: bytes) -> str:
    """The type libmagic gave, or the mail type when the bytes are a message or mailbox it missed."""
    if mime not in _MAYBE_MAIL:
        return mime
    return MAIL_MIMES.get(mail_form(head, mime) or "", mime)


def _refined(path: Path, mime: str) -> str:
    if mime not in _MAYBE_MAIL:
        return mime
    try:
        # A bare descriptor: a buffered file object costs a stat and a terminal check a file.
        fd = os.open(path, os.O_RDONLY)
        try:
            head = os.read(fd, MAIL_HEAD)
        finally:
            os.close(fd)
    except OSError:
        return mime
    return refine_mime(mime, head)


def detect_file(path: Path) -> FileType:
    """Identify a file by its content."""
    with _lock:
        mime, description = _mime.from_file(str(path)), _desc.from_file(str(path))
    return FileType(_refined(path, mime), description)


def _mime_here(path: Path) -> str:
    handle = getattr(_local, "mime", None)
    if handle is None:
        handle = _local.mime = magic.Magic(mime=True)
    return _refined(path, str(handle.from_file(str(path))))


def detect_mimes(paths: Sequence[Path]) -> list[str]:
    """The MIME type of many files by content, on two threads; results in the order given.

    Acquisition needs the type at once (it decides the kind and the extension check); libmagic's
    description is a second full pass, so it is left to the analysis (:func:`describe_file`).
    """
    if len(paths) < 4:
        return [detect_file(p).mime for p in paths]
    return list(_detect_pool().map(_mime_here, paths))


# libmagic types a buffer exactly as it types the file holding those bytes when the buffer is the
# whole file and within the part of a file it reads (MAGIC_PARAM_BYTES_MAX, 7 MiB in 5.44), with
# two exceptions, where it looks at the file itself: an empty file (``inode/x-empty`` from its
# path, ``application/x-empty`` from no bytes) and ELF (the program headers are read through the
# descriptor: a PIE executable is ``application/x-pie-executable``, from bytes ``x-sharedlib``).
# Compared on 6,096 files (the shared corpora, tests/data, /usr/bin, /usr/share/doc, Pillow's
# package): those were the only differences; tests/unit/core/test_detect.py keeps checking.
_FILE_ONLY = (b"\x7fELF",)
_CONTENT_MAX = 4 << 20  # the batch path's largest file; also kept under libmagic's read limit


def _bytes_max(handle: magic.Magic) -> int:
    try:
        return int(handle.getparam(magic.MAGIC_PARAM_BYTES_MAX))
    except (AttributeError, NotImplementedError, magic.MagicException):
        return 1 << 20  # the smallest default libmagic ever had


def mime_of_content(data: bytes) -> str | None:
    """The MIME type libmagic gives the file whose whole content is ``data``, from the bytes.

    Typing the bytes already read spares opening and reading the vault copy again on the typing
    thread (three opens a file: python-magic's check that it exists, libmagic's, and the mail
    check's). Returns None where only the file itself gives libmagic's answer (an empty file, ELF,
    a file longer than libmagic reads): type the file then (:func:`detect_mimes`).
    """
    handle = getattr(_local, "mime", None)
    if handle is None:
        handle = _local.mime = magic.Magic(mime=True)
    limit = getattr(_local, "bytes_max", None)
    if limit is None:  # the thread's handle may have been made by _mime_here
        limit = _local.bytes_max = min(_CONTENT_MAX, _bytes_max(handle))
    if not data or len(data) > limit or data.startswith(_FILE_ONLY):
        return None
    return refine_mime(str(handle.from_buffer(data)), data[:MAIL_HEAD])


def mimes_of_contents_later(contents: Sequence[bytes | None]) -> Callable[[], list[str | None]]:
    """Start typing whole files' contents (:func:`mime_of_content`) on the two threads.

    A few jobs, not one a file: a future a file cost the caller's thread more than the rest of
    its work on a small file. Files are dealt to the jobs in turn (text costs libmagic several
    times what binary data does, and a folder holds them in runs). The returned call waits for
    the types, in the order given; None for a content that is None or must be typed as a file.
    """
    jobs = min(_WORKERS, len(contents))
    futures = [_detect_pool().submit(_mimes_of, contents[j::jobs]) for j in range(jobs)]

    def wait() -> list[str | None]:
        out: list[str | None] = [None] * len(contents)
        for j, future in enumerate(futures):
            out[j::jobs] = future.result()
        return out

    return wait


def _mimes_of(contents: Sequence[bytes | None]) -> list[str | None]:
    return [None if c is None else mime_of_content(c) for c in contents]


def _detect_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="detect")
        return _pool


def describe_file(path: Path) -> str:
    """The description libmagic gives a file (e.g. ``PNG image data, 4 x 3, 8-bit/color RGB``)."""
    with _lock:
        return str(_desc.from_file(str(path)))


def detect_bytes(data: bytes) -> FileType:
    """Identify a byte string by its content (only the first 1 MiB is consulted)."""
    head = data[: 1 << 20]
    with _lock:
        mime, description = _mime.from_buffer(head), _desc.from_buffer(head)
    return FileType(refine_mime(mime, head[:MAIL_HEAD]), description)


def extension_mismatch(name: str, mime: str) -> bool:
    """Say whether a file name's extension disagrees with its detected MIME type.

    Unknown types (``application/octet-stream``) and names without an extension never mismatch:
    the flag must mean "the name claims something the content contradicts".
    """
    ext = PurePath(name).suffix.lower()
    if not ext or mime in ("application/octet-stream", "inode/x-empty"):
        return False
    return ext not in _known_extensions(mime)


@functools.lru_cache(maxsize=512)
def _known_extensions(mime: str) -> frozenset[str]:
    """Every extension a MIME type is rightly known by (asked once a type: a scan of the table)."""
    known = set(mimetypes.guess_all_extensions(mime, strict=False)) | _EXTRA_EXTENSIONS.get(mime, set())
    if mime.startswith("text/"):
        known |= _EXTRA_EXTENSIONS["text/plain"]
    return frozenset(known)


def kind_of(mime: str) -> str:
    """Return the evidence kind the analysis pipeline dispatches on."""
    if mime in ("message/rfc822", "application/vnd.ms-outlook", "application/mbox"):
        return "email"
    major = mime.split("/", 1)[0]
    if major in ("image", "video", "audio"):
        return major
    if major == "text":
        return "text"
    return "file"


def libmagic_version() -> str:
    """Return the version of the libmagic that identifies files (``5.44``), or ``unknown``.

    Printed in every briefing: two libmagic versions can name the same bytes differently.
    """
    try:
        number = int(magic.version())  # type: ignore[no-untyped-call]
    except (AttributeError, NotImplementedError, ValueError, TypeError):
        return "unknown"
    return f"{number // 100}.{number % 100:02d}"
