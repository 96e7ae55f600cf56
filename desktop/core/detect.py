# SPDX-License-Identifier: GPL-3.0-or-later
"""True file type from content (libmagic), and whether a file's extension disagrees with it.

The only module that imports ``magic``. Types come from bytes, never from names: an attacker
names a PNG ``invoice.pdf``; the analyst must see both facts.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePath

import magic

_lock = threading.Lock()  # libmagic handles are not thread-safe
_mime = magic.Magic(mime=True)
_desc = magic.Magic()
# libmagic is the largest cost of acquiring small files (measured: ~1 ms of CPU per call on text,
# two calls a file). ctypes releases the GIL during the call, so a batch is identified on two
# threads, each with handles of its own.
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


def _detect_here(path: Path) -> FileType:
    handles = getattr(_local, "handles", None)
    if handles is None:
        handles = _local.handles = (magic.Magic(mime=True), magic.Magic())
    return FileType(handles[0].from_file(str(path)), handles[1].from_file(str(path)))


def detect_files(paths: Sequence[Path]) -> list[FileType]:
    """Identify many files by content, on two threads; results in the order given."""
    global _pool
    if len(paths) < 4:
        return [detect_file(p) for p in paths]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="detect")
        pool = _pool
    return list(pool.map(_detect_here, paths))


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
