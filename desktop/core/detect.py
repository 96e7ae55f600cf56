# SPDX-License-Identifier: GPL-3.0-or-later
"""True file type from content (libmagic), and whether a file's extension disagrees with it.

The only module that imports ``magic``. Types come from bytes, never from names: an attacker
names a PNG ``invoice.pdf``; the analyst must see both facts.
"""

from __future__ import annotations

import mimetypes
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


def detect_file(path: Path) -> FileType:
    """Identify a file by its content."""
    with _lock:
        return FileType(_mime.from_file(str(path)), _desc.from_file(str(path)))


def _mime_here(path: Path) -> str:
    handle = getattr(_local, "mime", None)
    if handle is None:
        handle = _local.mime = magic.Magic(mime=True)
    return str(handle.from_file(str(path)))


def detect_mimes(paths: Sequence[Path]) -> list[str]:
    """The MIME type of many files by content, on two threads; results in the order given.

    Acquisition needs the type at once (it decides the kind and the extension check); libmagic's
    description is a second full pass, so it is left to the analysis (:func:`describe_file`).
    """
    if len(paths) < 4:
        return [detect_file(p).mime for p in paths]
    return list(_detect_pool().map(_mime_here, paths))


def detect_mimes_later(paths: Sequence[Path]) -> Callable[[], list[str]]:
    """Start typing files on the two threads; the returned call waits for the types, in order."""
    futures = [_detect_pool().submit(_mime_here, p) for p in paths]
    return lambda: [f.result() for f in futures]


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
        return FileType(_mime.from_buffer(head), _desc.from_buffer(head))


def extension_mismatch(name: str, mime: str) -> bool:
    """Say whether a file name's extension disagrees with its detected MIME type.

    Unknown types (``application/octet-stream``) and names without an extension never mismatch:
    the flag must mean "the name claims something the content contradicts".
    """
    ext = PurePath(name).suffix.lower()
    if not ext or mime in ("application/octet-stream", "inode/x-empty"):
        return False
    known = set(mimetypes.guess_all_extensions(mime, strict=False)) | _EXTRA_EXTENSIONS.get(mime, set())
    if mime.startswith("text/"):
        known |= _EXTRA_EXTENSIONS["text/plain"]
    return ext not in known


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
