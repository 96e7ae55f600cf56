# SPDX-License-Identifier: GPL-3.0-or-later
"""Write an export file so that it is either complete or absent, and say what was written.

An export is evidence handed to someone else: a half-written STIX bundle or CSV after a crash or a
full disk must never look like a finished one. The bytes go to a temporary file in the target's
folder, are fsynced, renamed over the target in one step, and the folder is fsynced; the SHA-256
returned is what the custody entry records.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from desktop.core.errors import CasetrailError


def write_atomic(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically and durably; return its SHA-256 (hex).

    Raises:
        CasetrailError: the folder does not exist or cannot be written.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CasetrailError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CasetrailError(f"cannot write in {folder}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CasetrailError(f"cannot write {path}: {exc.strerror}") from exc
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return hashlib.sha256(data).hexdigest()
