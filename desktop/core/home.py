# SPDX-License-Identifier: GPL-3.0-or-later
"""The workstation folder: where this machine keeps what outlives a case.

The library of feeds and indexed cases, the examiners' signing keys and the demo case live under
one folder: ``$CASETRAIL_HOME`` when set (tests, portable installs on removable media), otherwise
the platform's per-user data directory. Only this module decides where that is.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def workstation_home() -> Path:
    """Return ``$CASETRAIL_HOME`` or the platform's user data directory for Casetrail."""
    env = os.environ.get("CASETRAIL_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("casetrail", appauthor=False))
