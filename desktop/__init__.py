# SPDX-License-Identifier: GPL-3.0-or-later
"""Casetrail: offline evidence handling and attribution briefings for threat analysts."""

__version__ = "0.1.0"
TOOL_NAME = "casetrail"
