# SPDX-License-Identifier: GPL-3.0-or-later
"""Every briefing says which software typed, decoded and read its evidence."""

from __future__ import annotations

import pypdfium2 as pdfium

from desktop.about import build_info
from desktop.core.case import Case
from reports.briefing import BriefingOptions, render_briefing


def test_the_briefing_prints_the_version_block(rich_case: Case) -> None:
    data, _pages = render_briefing(rich_case, BriefingOptions(sections=set()))
    pdf = pdfium.PdfDocument(data)
    try:
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()
    flat = "".join(text.split())
    info = build_info()
    assert "Softwarethatproducedthisbriefing" in flat
    for value in (info.revision, info.libmagic, info.ffmpeg, info.sqlite, *info.ocr_models):
        assert "".join(value.split()) in flat, value
