# SPDX-License-Identifier: GPL-3.0-or-later
"""Errors the core raises on purpose.

Every error here carries one sentence a user can act on; the CLI prints it as is and the window
shows it in a dialog. Anything else escaping the core is a bug.
"""


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
