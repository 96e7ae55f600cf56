# SPDX-License-Identifier: GPL-3.0-or-later
"""Write an export file so that it is either complete or absent, and say what was written.

An export is evidence handed to someone else: a half-written STIX bundle or CSV after a crash or a
full disk must never look like a finished one. The bytes go to a temporary file in the target's
folder, are fsynced, renamed over the target in one step, and the folder is fsynced; the SHA-256
returned is what the custody entry records.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from desktop.core import failpoints
from desktop.core.errors import CasetrailError, os_reason
from desktop.core.scratch import partial, temp_name


def write_atomic(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically and durably; return its SHA-256 (hex).

    The temp file is registered (:func:`desktop.core.scratch.partial`): a process killed while
    writing it leaves nothing that the next ``casetrail`` run does not remove and report.

    Raises:
        CasetrailError: the folder does not exist or cannot be written.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CasetrailError(f"cannot write {path}: the folder {folder} does not exist")
    tmp = temp_name(path)
    with partial(tmp):
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise CasetrailError(f"cannot write in {folder}: {os_reason(exc)}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            failpoints.hit("export_before_rename")
            os.replace(tmp, path)
        except OSError as exc:
            raise CasetrailError(f"cannot write {path}: {os_reason(exc)}") from exc
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return hashlib.sha256(data).hexdigest()
