# SPDX-License-Identifier: GPL-3.0-or-later
"""Handling markings hold: a briefing's TLP is at least the highest TLP it prints (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop.core.case import Case
from desktop.core.tags import apply_tags
from reports.briefing import BriefingOptions, MarkingRefused, write_briefing


def _text(path: Path) -> str:
    pdf = pdfium.PdfDocument(path)
    try:
        return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))
    finally:
        pdf.close()


def test_a_lower_marking_is_refused_naming_what_is_above_it(rich_case: Case, tmp_path: Path) -> None:
    apply_tags(rich_case, indicator="198.51.100.23", tags=["tlp:red"])
    out = tmp_path / "b.pdf"
    with pytest.raises(MarkingRefused, match=r"indicator 198\.51\.100\.23 \(ipv4\) is tagged tlp:red"):
        write_briefing(rich_case, out, BriefingOptions(tlp="clear"))
    assert not out.exists()
    with pytest.raises(MarkingRefused, match="tagged tlp:amber"):  # 203.0.113.7 is TLP:AMBER
        write_briefing(rich_case, out, BriefingOptions(tlp="green", redact=["198.51.100.23"]))


def test_redacted_items_may_go_lower_and_the_choice_is_recorded(rich_case: Case, tmp_path: Path) -> None:
    apply_tags(rich_case, indicator="198.51.100.23", tags=["tlp:red"])
    out = tmp_path / "b.pdf"
    options = BriefingOptions(tlp="clear", redact=["198.51.100.23", "203.0.113.7"])
    result = write_briefing(rich_case, out, options)
    text = _text(out)
    assert "198.51.100.23" not in text
    assert "Redacted so that nothing above TLP:CLEAR is printed" in text
    rule = rich_case.custody()[-1]["detail"]["tlp_rule"]
    assert rule["marking"] == "clear"
    assert sorted(rule["redacted_above_marking"]) == ["indicator 198.51.100.23 (ipv4) is tagged tlp:red",
                                                      "indicator 203.0.113.7 (ipv4) is tagged tlp:amber"]
    assert result.pages > 1


def test_the_marking_of_the_case_itself_is_enough(rich_case: Case, tmp_path: Path) -> None:
    apply_tags(rich_case, indicator="198.51.100.23", tags=["tlp:red"])
    write_briefing(rich_case, tmp_path / "b.pdf", BriefingOptions(tlp="red"))
    assert "TLP:RED" in _text(tmp_path / "b.pdf")


def test_a_stricter_other_case_is_named_nowhere_not_even_in_the_appendix(
    rich_case: Case, tmp_path: Path
) -> None:
    """The snapshot holds the match; the marking rule decides whether its title may be printed."""
    import pypdfium2 as pdfium

    from desktop.core import findings, references
    from desktop.core.acquire import import_paths
    from desktop.core.intel import index_case
    from desktop.core.progress import run_to_end
    from reports.briefing import render_briefing

    with Case.create(tmp_path / "crimson.casetrail", title="Operation Crimson", examiner="B",
                     tlp="red") as other:
        source = tmp_path / "c2.txt"
        source.write_text("seen 203.0.113.7\n")
        got = run_to_end(import_paths(other, [source], "test")).acquired[0].item
        with other.transaction() as conn:
            findings.record_occurrences(conn, got.id, [
                {"type": "ipv4", "value": "203.0.113.7", "source": "body", "where": "text body"}])
        index_case(other)
    references.refresh(rich_case)

    def text(tlp: str) -> str:
        data, _ = render_briefing(rich_case, BriefingOptions(tlp=tlp))
        return " ".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(data))

    assert "Operation Crimson" not in text("amber")
    assert "Operation Crimson" in text("red")
