# SPDX-License-Identifier: GPL-3.0-or-later
"""Telemetry of every dependency switched off, before any of them is imported.

Casetrail runs on air-gapped laptops and handles evidence: no library may collect, queue or send
anything about the machine or its use. The one dependency found doing so is onnxruntime (loaded
for OCR): its official builds carry Microsoft's 1DS telemetry SDK, which on first use writes a
persistent device identifier and an event queue under ``~/.cache/Microsoft/DeveloperTools/
.onnxruntime/`` (measured with version 1.32.0) and would upload them given a network.
``ORT_DISABLE_TELEMETRY=1``, set before ONNX Runtime initialises, "prevents the uploader,
events, and persistent device identifier from being created for the process lifetime"
(onnxruntime's Privacy.md). ``DO_NOT_TRACK=1`` is the common opt-out other tools honour.

The variables are set (not defaulted: a user's environment cannot switch telemetry back on) in
this process when :mod:`desktop` is imported, so every child process (the analysis sandbox, the
frame renderer) inherits them. ``tests/reliability/test_no_telemetry.py`` runs an import with OCR
and a briefing under an empty home folder and fails if anything is written there.
"""

from __future__ import annotations

import os

TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime's 1DS telemetry: no device id, no event queue
    "DO_NOT_TRACK": "1",  # the general opt-out (consoledonottrack.com) for any tool that honours it
}


def switch_off_telemetry() -> None:
    """Set the opt-outs in this process's environment (inherited by every child)."""
    os.environ.update(TELEMETRY_OFF)
