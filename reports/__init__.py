# SPDX-License-Identifier: GPL-3.0-or-later
"""Briefings and exports (PDF, STIX, CSV, case package). Never imports Qt."""
