# SPDX-License-Identifier: GPL-3.0-or-later
"""PyInstaller runtime hook: point the bundle at its own libmagic database and Qt plugins.

Runs inside the frozen program before any Casetrail module. libmagic reads its compiled database
from ``$MAGIC`` (else a path compiled into the library, which on another distribution may hold
another version's database or nothing): the bundle carries the database of the libmagic it
carries, and uses that one. Nothing here touches the network.
"""

import os
import sys

_root = getattr(sys, "_MEIPASS", None)
if _root:
    _mgc = os.path.join(_root, "magic", "magic.mgc")
    if os.path.isfile(_mgc):
        os.environ["MAGIC"] = _mgc
