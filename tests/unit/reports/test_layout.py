# SPDX-License-Identifier: GPL-3.0-or-later
"""The layout rules on their own: words never broken, values broken visibly, headings kept, labels seen."""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table
from test_briefing_text import _split_words

from reports.exhibit_image import Hit, draw_hits, group_hits, label_text
from reports.layout import (
    PictureBlock,
    WrapParagraph,
    breaks_for,
    column_widths,
    keep_with_next,
    widths_of,
)
from reports.safe_text import BREAK_MARK, MONO, SANS, Run, register_fonts
from reports.sections.context import grid

URL = "hxxp://pb-notices-demo[.]com/send.php?batch=7&token=0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def style() -> ParagraphStyle:
    register_fonts()
    return ParagraphStyle("t", fontName=SANS, fontSize=8, leading=10)


def _pdf(story: list[object]) -> bytes:
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, invariant=1).build(story)  # type: ignore[arg-type]
    return buf.getvalue()


def _text(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def test_a_word_that_fits_is_never_broken(style: ParagraphStyle) -> None:
    assert breaks_for([Run("Authentication-Results of the message")], style, 200) == [{}]


def test_a_long_value_breaks_at_a_joint_with_a_mark(style: ParagraphStyle) -> None:
    mono = ParagraphStyle("m", parent=style, fontName=MONO)
    (breaks,) = breaks_for([Run("see " + URL)], mono, 100)
    assert breaks, "a URL wider than the column must break"
    assert breaks[4] is False  # it starts on a line of its own
    marked = sorted(i for i, m in breaks.items() if m)
    text = "see " + URL
    # Every marked break follows a joint (or is forced inside the hex run, which has none).
    for i in marked:
        assert text[i - 1] in "/.-_:?&=[]" or text[i - 1] in "0123456789abcdef"
    para = WrapParagraph(None, mono, runs=[Run(text)])
    para.wrap(100, 1000)
    assert len(para.blPara.lines) == len(marked) + 2


def test_widths_keep_words_and_cap_values(style: ParagraphStyle) -> None:
    lo, whole, nat = widths_of([Run("AS49981 WORLDSTREAM " + URL)], style)
    from reportlab.pdfbase.pdfmetrics import stringWidth

    assert lo >= stringWidth("WORLDSTREAM", SANS, 8)
    assert whole >= stringWidth(URL, SANS, 8) > lo
    assert nat > whole


def test_columns_get_at_least_their_widest_word(style: ParagraphStyle) -> None:
    cells = [
        [
            WrapParagraph(None, style, runs=[Run("WORLDSTREAM")]),
            WrapParagraph(None, style, runs=[Run("x " * 400)]),
        ]
    ]
    widths = column_widths(cells, 300, fixed={0: 10})
    from reportlab.pdfbase.pdfmetrics import stringWidth

    assert widths[0] >= stringWidth("WORLDSTREAM", SANS, 8) + 6  # a fixed width is widened to the word
    assert abs(sum(widths) - 300) < 0.01


def test_when_words_do_not_fit_only_the_long_values_give_way(style: ParagraphStyle) -> None:
    """A hop table with two host names too long for it: "Protocol", "Microsoft", a time stay whole."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    host = "ubuntu-s-1vcpu-1gb-35gb-intel-sfo3-06-relay-west"  # hyphens only: a word, not a value
    words = ["Hop", host, host.upper(), "Protocol", "Microsoft", "2023-09-19\u00a018:35:49", "Delay"]
    cells = [[WrapParagraph(None, style, runs=[Run(w)]) for w in words]]
    widths = column_widths(cells, 170 * mm)
    assert abs(sum(widths) - 170 * mm) < 0.01
    for c in (0, 3, 4, 5, 6):
        assert widths[c] >= stringWidth(words[c], SANS, 8) + 6, (words[c], widths)
    assert widths[1] == widths[2] < stringWidth(host, SANS, 8)  # the hosts share what is left


def test_the_checker_catches_a_word_reportlab_splits(style: ParagraphStyle) -> None:
    """Negative control: plain reportlab in a narrow cell cuts the word, and the text check says so."""
    words = {"AS49981", "WORLDSTREAM"}
    plain = Table([[Paragraph("AS49981 WORLDSTREAM", style)]], colWidths=[14 * mm])
    assert _split_words(" ".join(_text(_pdf([plain]))), words)
    # The same cell in a table laid out by column_widths: the column is widened to the word.
    cells = [[WrapParagraph(None, style, runs=[Run("AS49981 WORLDSTREAM")]),
              WrapParagraph(None, style, runs=[Run("other text " * 30)])]]
    ours = grid(cells, column_widths(cells, 90 * mm, fixed={0: 14 * mm}), header=False)  # 3 + 3 pt padding
    assert not _split_words(" ".join(_text(_pdf([ours]))), words)


def test_a_heading_is_kept_with_what_follows(style: ParagraphStyle) -> None:
    head = ParagraphStyle("h", parent=style, fontSize=14, leading=18)
    filler = Spacer(1, 235 * mm)
    orphan = _text(_pdf([filler, Paragraph("Orphaned heading", head), Table([["row"]] * 30)]))
    assert "Orphaned heading" in orphan[0]  # the control: without the guard it stays at the foot
    kept = _text(
        _pdf([Spacer(1, 235 * mm), *keep_with_next(Paragraph("Kept heading", head), Table([["row"]] * 30))])
    )
    assert "Kept heading" not in kept[0]
    assert "Kept heading" in kept[1]


def test_a_picture_shrinks_to_stay_with_its_table(style: ParagraphStyle) -> None:
    im = Image.new("RGB", (1280, 720), (20, 20, 20))
    buf = io.BytesIO()
    im.save(buf, format="JPEG")
    rows = Table([[f"row {n}"] for n in range(8)])
    block = PictureBlock(
        [Paragraph("Exhibit 1: caption", style)],
        (buf, 1280, 720),
        [rows],
        max_w=170 * mm,
        max_h=84 * mm,
        min_h=40 * mm,
        alt="a dark test picture",
    )
    pages = _text(_pdf([Spacer(1, 120 * mm), block]))
    assert len(pages) == 1
    assert "Exhibit 1" in pages[0]
    assert "row 7" in pages[0]
    big = PictureBlock(
        [Paragraph("Exhibit 2: caption", style)],
        (buf, 1280, 720),
        [Table([["r"]] * 8)],
        max_w=170 * mm,
        max_h=84 * mm,
        min_h=40 * mm,
        alt="a dark test picture",
    )
    pages = _text(_pdf([Spacer(1, 215 * mm), big]))
    assert "Exhibit 2" not in pages[0]
    assert "Exhibit 2" in pages[1]


def test_labels_stay_inside_the_picture_and_clear_of_each_other() -> None:
    im = Image.new("RGB", (800, 300), (0, 0, 0))
    hits = [
        Hit(0, 0, 400, 20, 1),
        Hit(0, 0, 400, 20, 2),
        Hit(2, 1, 398, 19, 3),  # one OCR line, three hits
        Hit(10, 40, 500, 20, 4),
        Hit(10, 70, 500, 20, 5),
        Hit(700, 280, 100, 20, 6),
    ]
    placed = draw_hits(im, hits, print_width_pt=400)
    assert [p.numbers for p in placed] == [(1, 2, 3), (4,), (5,), (6,)]
    for p in placed:
        x0, y0, x1, y1 = p.label
        assert x0 >= 0, p
        assert y0 >= 0, p
        assert x1 <= im.width, p
        assert y1 <= im.height, p
    labels = [p.label for p in placed]
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]), (a, b)


def test_boxes_fit_their_line_and_cross_no_other_text() -> None:
    """OCR boxes taller than the line (as on a terminal) are drawn between the lines (Exhibit 9)."""
    from PIL import ImageDraw, ImageFont

    from desktop.resources import resource_path

    im = Image.new("RGB", (700, 140), (24, 24, 27))
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(resource_path("fonts", "DejaVuSansMono.ttf")), 15)
    texts = ["root@relay:~# ip -4 addr show eth0", "inet 185.141.63.120/24 brd 185.141.63.255",
             "root@relay:~# tail -n 3 /var/log/mail.log", "Mar 11 09:13:58 relay postfix/smtp[4411]"]
    ink = []  # the rows each line's glyphs cover
    for n, text in enumerate(texts):
        x, y = 10, 12 + 22 * n
        draw.text((x, y), text, font=font, fill=(230, 230, 230))
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        ink.append((left, top, right, bottom))
    # The engine's boxes: 9 px taller than the glyphs above and below, so they overlap neighbours.
    ocr = [(x0 - 3, y0 - 9, x1 - x0 + 6, y1 - y0 + 18) for x0, y0, x1, y1 in ink]
    hits = [Hit(*ocr[1], 1), Hit(*ocr[2], 2), Hit(*ocr[2], 3)]
    placed = draw_hits(im, hits, print_width_pt=480, obstacles=ocr)
    for p, own in zip(placed, (1, 2), strict=True):
        _x0, y0, _x1, y1 = p.box
        assert y0 < ink[own][1], p  # the box holds its own line's glyphs
        assert y1 > ink[own][3], p
        for k, (_l, top, _r, bottom) in enumerate(ink):
            if k != own:  # and no edge of it runs through another line's glyphs
                assert not top <= y0 <= bottom, (p, k)
                assert not top <= y1 <= bottom, (p, k)
        lx0, ly0, lx1, ly1 = p.label
        for k, (left, top, right, bottom) in enumerate(ink):  # every label beside the text, not on it
            assert min(lx1, right) <= max(lx0, left) or min(ly1, bottom) <= max(ly0, top), (p, k)
    assert [p.numbers for p in placed] == [(1,), (2, 3)]


def test_label_text_and_grouping() -> None:
    assert label_text([2, 3, 4, 6]) == "2\u20134, 6"
    assert label_text([1, 2]) == "1, 2"
    assert len(group_hits([Hit(0, 0, 10, 10, 1), Hit(50, 50, 10, 10, 2)])) == 2
    assert BREAK_MARK == "\u21a9"


def test_a_redacted_line_is_covered_where_it_is_on_screen_and_nowhere_else() -> None:
    """A line typed later in the video is blank on an earlier frame: no bar suggests it was there."""
    from briefing_case import frame_png
    from PIL import Image

    from reports.sections.exhibits import black_out

    im = Image.open(io.BytesIO(frame_png([("203.0.113.7", (40, 60))]))).convert("RGB")
    typed, blank = (38, 58, 182, 36), (38, 200, 182, 36)
    black_out(im, [typed, blank])
    assert im.crop((40, 62, 200, 90)).getextrema() == ((0, 0), (0, 0), (0, 0))  # covered
    assert im.getpixel((100, 230)) != (0, 0, 0)  # left as it was


def test_a_wrapped_line_keeps_the_space_it_was_wrapped_at() -> None:
    """Text readers (a screen reader on the structure tree, copy and paste) must not run words together."""
    out = io.BytesIO()
    canv = canvas.Canvas(out, pageCompression=0)
    style = ParagraphStyle("plain", fontName="Helvetica", fontSize=10, leading=12)
    para = WrapParagraph("alpha beta gamma delta epsilon zeta eta theta iota kappa", style)
    para.wrap(60, 500)
    para.drawOn(canv, 10, 400)
    canv.showPage()
    canv.save()
    lines = re.findall(rb"\(([^()]*)\) Tj T\*", out.getvalue())
    assert len(lines) >= 3
    assert all(line.endswith(b" ") for line in lines), lines
    assert canv.beginText.__func__ is canvas.Canvas.beginText  # the canvas is left as it was
