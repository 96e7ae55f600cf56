"""Briefings and exports (PDF, STIX, CSV, case package). Never imports Qt."""
