# SPDX-License-Identifier: GPL-3.0-or-later
"""Casetrail: offline evidence handling and attribution briefings for threat analysts."""

from desktop.offline import switch_off_telemetry

__version__ = "0.1.0"
TOOL_NAME = "casetrail"

switch_off_telemetry()  # before any dependency is imported (see desktop.offline)
