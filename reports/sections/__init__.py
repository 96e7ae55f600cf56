# SPDX-License-Identifier: GPL-3.0-or-later
"""The sections of the PDF briefing, one module each, sharing :mod:`reports.sections.context`.

:mod:`reports.briefing` assembles them (cover, page furniture, the integrity appendix, writing
and recording the file); each section module turns part of the case into flowables and never
writes anything. Every string from the case goes through the context's paragraph helpers.
"""
