# SPDX-License-Identifier: GPL-3.0-or-later
"""Named crash points for the crash-safety tests.

``CASETRAIL_CRASH_AT=name`` (or ``name:N`` for the N-th time it is reached) makes the process die
at once with ``os._exit``, exactly as a power cut or ``kill -9`` would leave things: no cleanup,
no ``finally``. Unset, a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os

_spec = os.environ.get("CASETRAIL_CRASH_AT", "")
_name, _, _count = _spec.partition(":")
_remaining = int(_count) if _count.isdigit() else 1
_EXIT = 137


def hit(name: str) -> None:
    """Die here if the environment asks for it."""
    global _remaining
    if name != _name:
        return
    _remaining -= 1
    if _remaining <= 0:
        os._exit(_EXIT)
