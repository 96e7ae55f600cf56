# SPDX-License-Identifier: GPL-3.0-or-later
"""Errors the core raises on purpose.

Every error here carries one sentence a user can act on; the CLI prints it as is and the window
shows it in a dialog. Anything else escaping the core is a bug.
"""

import errno


class CasetrailError(Exception):
    """Base class: a failure with a message meant for the user."""


class CaseOpenError(CasetrailError):
    """The folder is not a case, or the case cannot be opened."""


class SchemaUpgradeNeeded(CaseOpenError):  # noqa: N818 - a state of the case, not a fault
    """The case was written by an older Casetrail and must be opened for writing once to upgrade."""


class ReadOnlyCaseError(CasetrailError):
    """A write was attempted on a case opened read-only."""


class AcquisitionError(CasetrailError):
    """A file could not be acquired into the vault; nothing was recorded for it."""


class SourceChangedError(AcquisitionError):
    """The source file changed while it was being read, so its hashes describe no single state."""


class CopyMismatchError(AcquisitionError):
    """The vault copy re-read from disk does not hash to what was read from the source."""


class Cancelled(CasetrailError):  # noqa: N818 - it is an outcome, not an error condition
    """The user cancelled a long operation between two steps."""


class VerificationFailed(CasetrailError):  # noqa: N818 - an outcome the CLI reports with exit 1
    """The case failed verification, so an export or briefing was refused (fail closed)."""

    exit_code = 1
class CaseWriteError(CasetrailError):
    """The case database could not be written (a full disk, an I/O error); nothing was recorded."""


# What an errno means to someone who has to act on it.
_ERRNO_WORDS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EIO: "the disk reported an input/output error (it may be failing)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission was denied",
    errno.EPERM: "the operation is not permitted",
    errno.ENOENT: "it does not exist",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "its name is too long for the file system",
    errno.EMFILE: "too many files are open",
    errno.EFBIG: "the file is larger than the file system allows",
}


def os_reason(exc: BaseException) -> str:
    """Say in words why an operating-system call failed: ``the disk is full (No space left on device)``."""
    if isinstance(exc, OSError) and exc.errno in _ERRNO_WORDS:
        return f"{_ERRNO_WORDS[exc.errno]} ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def database_reason(exc: BaseException) -> str:
    """Say in words why SQLite refused to read or write the case database."""
    text = str(exc)
    low = text.lower()
    if "disk is full" in low or "database or disk is full" in low:
        return "the disk is full (SQLite: database or disk is full)"
    if "disk i/o error" in low:
        return "the disk reported an input/output error (SQLite: disk I/O error)"
    if "readonly" in low or "read-only" in low:
        return f"the database cannot be written (SQLite: {text})"
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return f"the database is damaged (SQLite: {text}); run `casetrail verify` and restore it from a copy"
    if "locked" in low or "busy" in low:
        return f"another process holds the database (SQLite: {text})"
    return f"SQLite: {text}"
