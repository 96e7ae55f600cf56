# SPDX-License-Identifier: GPL-3.0-or-later
"""The PDF briefing: complete, literal with hostile text, reproducible, valid, recorded."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from briefing_case import HOSTILE, SCRIPTS

from desktop.core import custody
from desktop.core.case import Case
from desktop.core.checkpoint import list_checkpoints, verify_checkpoints
from desktop.core.findings import list_indicators
from desktop.core.indicators import defang
from reports.briefing import BriefingError, BriefingOptions, render_briefing, write_briefing
from reports.safe_text import BREAK_MARK, visible


def _text(pdf_bytes: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def _flat(s: str) -> str:
    """The text without white space and without the marks of tokens broken at a column's end."""
    return "".join(s.replace(BREAK_MARK, "").split())


@pytest.fixture
def briefing(rich_case: Case, tmp_path: Path) -> tuple[Path, list[str]]:
    out = tmp_path / "brief.pdf"
    write_briefing(rich_case, out, BriefingOptions())
    return out, _text(out.read_bytes())


def test_every_hash_and_indicator_is_in_the_text(rich_case: Case, briefing: tuple[Path, list[str]]) -> None:
    _path, pages = briefing
    flat = _flat("".join(pages))
    for item in rich_case.items():
        for digest in (item.sha256, item.sha1, item.md5):
            assert digest in flat, f"item {item.id} hash {digest} missing"
    for row in list_indicators(rich_case.db.conn):
        assert _flat(defang(row["value"], row["type"])) in flat
    assert "hxxp://payload[.]example[.]org/a.exe" in flat


def test_marking_page_numbers_and_outline(briefing: tuple[Path, list[str]]) -> None:
    path, pages = briefing
    for n, text in enumerate(pages, 1):
        assert text.count("TLP:AMBER") >= 2, f"page {n} lacks the header and footer marking"
        assert f"Page {n} of {len(pages)}" in " ".join(text.split())
    pdf = pdfium.PdfDocument(path)
    titles = [item.get_title() for item in pdf.get_toc()]
    pdf.close()
    for want in ("Bottom line up front", "Key judgments", "Analysis of competing hypotheses",
                 "Indicators", "Exhibits", "Timeline", "Appendix A: Evidence items and chain of custody",
                 "Appendix B: Custody chain head and signed checkpoint"):
        assert want in titles
    assert any(t.startswith("Exhibit 1: frame at 12.00 s") for t in titles)


def test_hostile_text_prints_literally(briefing: tuple[Path, list[str]]) -> None:
    flat = _flat("".join(briefing[1]))
    for hostile in HOSTILE:
        assert _flat(visible(hostile)) in flat, hostile
    # Right-to-left runs are laid out in visual order, so compare word by word.
    for word in SCRIPTS.split():
        assert word in flat, word
    assert "invoice⟨RLO⟩gpj.exe" in flat
    assert not Path("/tmp/casetrail-pwned").exists()
    assert b"root:x:0:0" not in briefing[0].read_bytes()


def test_bluf_and_judgments(briefing: tuple[Path, list[str]]) -> None:
    text = " ".join(" ".join(briefing[1]).split())
    assert "Most likely explanation: State-linked operators (APT-Lantern)" in text
    assert "We assess this is likely (55-80%), with moderate confidence." in text


def test_export_is_recorded_with_the_pdf_hash_and_a_checkpoint(rich_case: Case, tmp_path: Path) -> None:
    out = tmp_path / "b.pdf"
    result = write_briefing(rich_case, out, BriefingOptions(tlp="red"))
    data = out.read_bytes()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.pages == len(_text(data))
    entries = rich_case.custody()
    before, signed, exported = entries[-3], entries[-2], entries[-1]
    assert before["action"] == "verified"  # fail closed: the full verification runs first
    assert before["result"] == "intact"
    assert signed["detail"]["what"] == "signed checkpoint"
    assert signed["detail"]["custody_seq"] == before["seq"]
    assert exported["action"] == "exported"
    assert exported["sha256"] == result.sha256
    assert exported["detail"]["tlp"] == "red"
    assert exported["seq"] == result.custody_seq
    assert list_checkpoints(rich_case)[-1].head == before["entry_hash"] == result.checkpoint.head
    receipt = list_checkpoints(rich_case)[-1]
    assert receipt.export == "briefing"
    assert len(receipt.content_sha256) == 64  # of the PDF's first revision: see test_signature.py
    assert verify_checkpoints(rich_case).ok
    assert custody.verify_chain(rich_case.db.conn).ok
    flat = _flat("".join(_text(data)))
    assert "TLP:RED" in flat
    assert result.printed is not None
    assert result.printed.signature in flat
    assert before["entry_hash"] in flat
    assert result.checkpoint.public_key_hex in flat
    assert str(out) in result.summary()
    assert result.sha256 in result.summary()
    assert not list(tmp_path.glob(".b.pdf*"))  # no temp file left behind


def test_same_case_state_gives_the_same_bytes(rich_case: Case, tmp_path: Path) -> None:
    first, _ = render_briefing(rich_case, BriefingOptions())
    second, _ = render_briefing(rich_case, BriefingOptions())
    assert first == second
    # A saved briefing binds the verification made for it (a custody entry of its own), so a
    # restored copy of the folder never yields the same bytes as the original's briefing.
    a = write_briefing(rich_case, tmp_path / "a.pdf", BriefingOptions())
    assert a.sha256 != hashlib.sha256(first).hexdigest()


def test_redaction_replaces_the_value_everywhere(rich_case: Case) -> None:
    data, _ = render_briefing(rich_case, BriefingOptions(redact=["login-portal.example.net",
                                                                 "billing@paper-lantern.example.com"]))
    flat = _flat("".join(_text(data))).lower()
    for gone in ("login-portal.example.net", "login-portal[.]example[.]net", "billing@paper",
                 "billing[@]paper"):
        assert gone not in flat
    assert "redacted" in flat
    # Nor in the structure tree: section titles and the pictures' alternative text.
    import pdf_structure

    document, _owners = pdf_structure.structure(data)
    said = " ".join(f"{e.title or ''} {e.alt or ''}" for e in document.walk()).lower()
    assert "exhibit" in said
    for gone in ("login-portal", "billing@paper", "billing[@]paper"):
        assert gone not in said


def test_a_redacted_value_still_on_screen_in_a_later_frame_is_blacked_out(rich_case: Case) -> None:
    """The address read at 12 s stays on the screen at 47.5 s, where no hit names it: no leak."""
    from briefing_case import FRAME_TEXT

    x, y = FRAME_TEXT[0][1]
    box = (x, y, x + 16 * len(FRAME_TEXT[0][0]), y + 30)  # where the address is drawn on both frames

    def text_pixels(options: BriefingOptions) -> list[int]:
        data, _ = render_briefing(rich_case, options)
        pdf = pdfium.PdfDocument(data)
        counts = []
        for page in pdf:
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
                im = obj.get_bitmap(render=False).to_pil().convert("RGB")
                if im.size != (640, 360):  # the two kept frames; the screenshot is cropped
                    continue
                region = im.crop(box)
                counts.append(sum(1 for r, g, b in region.get_flattened_data() if g > 150 and g > r + 40))
        return counts

    assert sorted(text_pixels(BriefingOptions())) > [0, 0]  # green text: the address is legible on both
    assert text_pixels(BriefingOptions(redact=["203.0.113.7"])) == [0, 0]


def test_sections_can_be_chosen_but_the_checkpoint_stays(rich_case: Case) -> None:
    data, pages = render_briefing(rich_case, BriefingOptions(sections={"bluf"}))
    text = " ".join(_text(data))
    assert "Bottom line up front" in text
    assert "Appendix B" in text
    assert "Appendix A" not in text.replace("Appendix A lists", "")
    assert "Received chain" not in text
    assert pages < 6
    with pytest.raises(BriefingError, match="unknown briefing section"):
        render_briefing(rich_case, BriefingOptions(sections={"gossip"}))
    with pytest.raises(BriefingError, match="unknown TLP"):
        render_briefing(rich_case, BriefingOptions(tlp="purple"))


def test_pages_render_to_png(briefing: tuple[Path, list[str]], artifacts: Path) -> None:
    pdf = pdfium.PdfDocument(briefing[0])
    out = artifacts / "briefing"
    out.mkdir(exist_ok=True)
    for i in range(len(pdf)):
        image = pdf[i].render(scale=1.5).to_pil()
        assert image.size[0] > 800
        # the page is not blank: something beyond the white background was drawn
        assert image.convert("L").getextrema()[0] < 100
        image.save(out / f"page-{i + 1:02d}.png")
    pdf.close()


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed (apt-get install qpdf)")
def test_qpdf_check_passes(briefing: tuple[Path, list[str]]) -> None:
    proc = subprocess.run(["qpdf", "--check", str(briefing[0])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_pdftotext_sees_the_hashes(rich_case: Case, briefing: tuple[Path, list[str]]) -> None:
    proc = subprocess.run(["pdftotext", str(briefing[0]), "-"], capture_output=True, text=True, check=True)
    flat = _flat(proc.stdout)
    assert all(item.sha256 in flat for item in rich_case.items())


def test_a_read_only_case_cannot_export(rich_case: Case, tmp_path: Path) -> None:
    from desktop.core.errors import ReadOnlyCaseError

    with Case.open(rich_case.path, read_only=True) as ro, pytest.raises(ReadOnlyCaseError):
        write_briefing(ro, tmp_path / "x.pdf", BriefingOptions())
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils is not installed")
def test_every_font_is_embedded(briefing: tuple[Path, list[str]]) -> None:
    proc = subprocess.run(["pdffonts", str(briefing[0])], capture_output=True, text=True, check=True)
    rows = proc.stdout.splitlines()[2:]
    assert rows, proc.stdout
    for row in rows:
        assert row.split()[-5] == "yes", f"not embedded: {row}"  # the "emb" column


def test_the_pdf_is_dated_by_the_case_state(rich_case: Case) -> None:
    data, _pages = render_briefing(rich_case, BriefingOptions())
    last = rich_case.custody()[-1]["at"]  # e.g. 2024-03-05T09:30:00.123456Z
    pdf = pdfium.PdfDocument(data)
    try:
        meta = pdf.get_metadata_dict()
    finally:
        pdf.close()
    stamp = last[:4] + last[5:7] + last[8:10] + last[11:13] + last[14:16] + last[17:19]
    assert meta["CreationDate"].startswith(f"D:{stamp}"), (meta, last)
    assert meta["ModDate"] == meta["CreationDate"]


def test_an_ocr_only_indicator_says_how_it_was_read() -> None:
    """Issue 14's readings in the indicator table: a possible misread never reads as a finding."""
    from reports.sections.indicators import Occurrence, reading_note

    def occ(status: str | None, source: str = "ocr") -> Occurrence:
        return Occurrence(1, source, "frame", 1.0, None, status)

    assert reading_note([occ("uncertain"), occ("uncertain")]) == "uncertain OCR reading"
    assert reading_note([occ("enhanced")]) == "read on an enhanced image"
    assert reading_note([occ("uncertain"), occ(None, "header")]) == ""  # a parsed header settles it
    assert reading_note([occ("certain")]) == ""
