# SPDX-License-Identifier: GPL-3.0-or-later
"""The PDF attribution briefing: from the bottom line to each exhibit's hash, on paper.

A decision-maker reads the first pages (bottom line up front, key judgments, the ACH ranking);
an examiner follows any claim down to an exhibit, its item's SHA-256 and the custody entries
that prove where the bytes came from; a third party checks the signed checkpoint printed at the
end against the case.

Reproducibility: the same case state yields the same bytes. reportlab runs with
``invariant=1`` (fixed dates and document id), every image is re-encoded deterministically, the
date on the cover is the time of the last custody entry (not the clock), and the checkpoint
printed is the one over that last entry — Ed25519 signatures are deterministic. The export's own
custody entries (the stored checkpoint and ``exported`` with the PDF's SHA-256) are written
*after* the PDF, so they are not in it; the next briefing shows them.

Safety: every string from the case goes through :func:`reports.safe_text.safe_para` (or
:func:`reports.safe_text.plain` for outline entries and metadata); images are decoded with
Pillow from the vault with a format allow-list and a pixel limit and handed to reportlab as
in-memory objects, never as ``<img src>``. Nothing here touches the network.

This module never imports Qt: the window renders a preview by calling :func:`render_briefing`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageDraw
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from desktop import __version__
from desktop.about import build_info
from desktop.core import analysis, campaigns, custody, hop_numbers, keys, receipts, references, timestamps
from desktop.core.case import TLP_LEVELS, Case, Item
from desktop.core.checkpoint import Checkpoint, make_checkpoint
from desktop.core.correlate import indicators_with_matches
from desktop.core.errors import CasetrailError
from desktop.core.findings import email_of
from desktop.core.indicators import defang
from desktop.core.pdf_receipt import sign_pdf
from desktop.core.verify import VerifyReport, require_intact
from reports.atomic_write import write_atomic
from reports.safe_text import (
    MONO,
    SANS,
    SANS_BOLD,
    Redactor,
    Run,
    plain,
    register_fonts,
    safe_para,
)

SECTIONS = ("bluf", "judgments", "ach", "indicators", "campaigns", "exhibits", "timeline", "notes",
            "appendix")
SECTION_TITLES = {
    "bluf": "Bottom line up front", "judgments": "Key judgments",
    "ach": "Analysis of competing hypotheses", "indicators": "Indicators", "campaigns": "Campaigns",
    "exhibits": "Exhibits", "timeline": "Timeline", "notes": "Analyst notes",
    "appendix": "Appendix A: Evidence items and chain of custody",
    "checkpoint": "Appendix B: Custody chain head and signed checkpoint",
}
# FIRST TLP 2.0: the label's colour on a black background.
TLP_COLOURS = {"clear": "#FFFFFF", "green": "#33FF00", "amber": "#FFC000",
               "amber+strict": "#FFC000", "red": "#FF2B2B"}
TLP_MEANING = {
    "clear": "Recipients can spread this to the world; there is no limit on disclosure.",
    "green": "Recipients can spread this within their community, but not via publicly "
             "accessible channels.",
    "amber": "Limited disclosure: recipients can only spread this on a need-to-know basis within "
             "their organisation and its clients.",
    "amber+strict": "Limited disclosure: recipients can only spread this on a need-to-know basis "
                    "within their organisation only.",
    "red": "For the eyes and ears of individual recipients only; no further disclosure.",
}
RATING_COLOURS = {"CC": "#1E7B34", "C": "#A7D7A9", "N": "#E4E6EA", "I": "#F4B4AE",
                  "II": "#C0392B", "NA": "#FFFFFF"}
_IMAGE_FORMATS = ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]
_MAX_PIXELS = 40_000_000  # above this an exhibit is not drawn (the item is still listed)
_EXHIBIT_PX = 1400  # longest side of an exhibit image in the PDF: ~200 dpi at full width
_TABLE_CHUNK = 40  # rows per table: reportlab splits long tables in quadratic time

INK = colors.HexColor("#1B2333")
ACCENT = colors.HexColor("#1F4E79")
RULE = colors.HexColor("#B8BEC8")
HEAD_BG = colors.HexColor("#E8ECF2")
ZEBRA = colors.HexColor("#F6F7F9")
PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
BODY_W = PAGE_W - 2 * MARGIN


class BriefingError(CasetrailError):
    """The briefing cannot be written (bad options, unwritable destination)."""


@dataclass(frozen=True)
class BriefingOptions:
    """What to put in a briefing.

    Attributes:
        tlp: the marking; None uses the case's TLP.
        sections: the sections to include (see :data:`SECTIONS`); None means all. The cover and
            the signed checkpoint are always included.
        redact: values to black out wherever they appear (also in defanged form, and OCR boxes
            whose text holds one are blacked out on the images).
        max_exhibits: image exhibits beyond this many are listed but not drawn.
        correlate: look indicators up in the workstation library (other cases, feeds, ASN);
            False limits matches to this case and the bundled warninglists.
        despite_discrepancies: write the briefing of a case that fails verification; every page
            then carries a red banner and the cover lists the findings.
        receipt_file: also write the signed receipt of the export to this file.
    """

    tlp: str | None = None
    sections: set[str] | frozenset[str] | None = None
    redact: list[str] = field(default_factory=list)
    max_exhibits: int = 200
    correlate: bool = True
    despite_discrepancies: bool = False
    receipt_file: Path | None = None


@dataclass(frozen=True)
class BriefingResult:
    """What :func:`write_briefing` wrote.

    Attributes:
        path: the PDF.
        sha256: its SHA-256, also recorded in custody.
        pages: its page count.
        size: its size in bytes.
        checkpoint: the receipt of the export: the checkpoint signed over the state shown and
            the SHA-256 of the PDF's content, stored in the case and the workstation ledger.
        custody_seq: the custody entry recording the export.
        printed: the checkpoint printed inside the PDF (case, seq, head).
    """

    path: Path
    sha256: str
    pages: int
    size: int
    checkpoint: Checkpoint
    custody_seq: int
    printed: Checkpoint | None = None

    def summary(self) -> str:
        """One line for the CLI."""
        return (f"wrote briefing {self.path} ({self.pages} pages, {self.size} bytes, "
                f"SHA-256 {self.sha256}); checkpoint over custody entry {self.checkpoint.custody_seq} "
                f"signed with key {self.checkpoint.key_id}; export recorded as custody entry "
                f"{self.custody_seq}")


# -- styles ----------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("body", fontName=SANS, fontSize=9.5, leading=13, textColor=INK,
                          spaceAfter=4)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, spaceAfter=0),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10, spaceAfter=0),
        "cellb": ParagraphStyle("cellb", parent=base, fontName=SANS_BOLD, fontSize=8, leading=10,
                                spaceAfter=0),
        "head": ParagraphStyle("head", parent=base, fontName=SANS_BOLD, fontSize=7.5, leading=9.5,
                               spaceAfter=0, textColor=INK),
        "headc": ParagraphStyle("headc", parent=base, fontName=SANS_BOLD, fontSize=8, leading=10,
                                spaceAfter=0, alignment=TA_CENTER),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7.5, leading=9.5,
                               spaceAfter=0),
        "h1": ParagraphStyle("h1", parent=base, fontName=SANS_BOLD, fontSize=16, leading=20,
                             textColor=ACCENT, spaceBefore=4, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontName=SANS_BOLD, fontSize=11.5, leading=15,
                             textColor=INK, spaceBefore=10, spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=base, fontName=SANS_BOLD, fontSize=9.5, leading=12,
                             textColor=ACCENT, spaceBefore=6, spaceAfter=3),
        "title": ParagraphStyle("title", parent=base, fontName=SANS_BOLD, fontSize=24, leading=30,
                                textColor=INK, spaceAfter=10),
        "kicker": ParagraphStyle("kicker", parent=base, fontName=SANS_BOLD, fontSize=10, leading=13,
                                 textColor=ACCENT, spaceAfter=6),
        "bluf": ParagraphStyle("bluf", parent=base, fontSize=11, leading=15.5, spaceAfter=6),
        "caption": ParagraphStyle("caption", parent=base, fontSize=8, leading=10.5,
                                  textColor=colors.HexColor("#4A5568"), spaceAfter=8),
        "center": ParagraphStyle("center", parent=base, fontSize=8.5, leading=10.5, spaceAfter=0,
                                 alignment=TA_CENTER),
        "center_on_dark": ParagraphStyle("center_on_dark", parent=base, fontName=SANS_BOLD, fontSize=8.5,
                                         leading=10.5, spaceAfter=0, alignment=TA_CENTER,
                                         textColor=colors.white),
    }


# -- the page furniture ----------------------------------------------------------------------


class _Canvas(Canvas):
    """A canvas that prints the page total, known only at the end, through a form XObject."""

    def save(self) -> None:
        total = self.getPageNumber() - 1
        self.beginForm("casetrail-page-total")
        self.setFont(SANS, 7.5)
        self.setFillColor(INK)
        self.drawString(0, 0, str(total))
        self.endForm()
        super().save()


class _Doc(BaseDocTemplate):
    """Draws the TLP marking and page numbers, and turns headings into PDF bookmarks."""

    def __init__(self, out: io.BytesIO, *, tlp: str, running_title: str, banner: str | None = None,
                 **kw: Any) -> None:
        super().__init__(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN + (16 if banner else 6) * mm, bottomMargin=MARGIN + 4 * mm,
                         invariant=1, **kw)
        self.tlp = tlp
        self.banner = banner
        self.running_title = running_title
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._furniture)])

    def _tlp_badge(self, canv: Canvas, x_right: float, y: float, size: float = 8) -> None:
        label = f"TLP:{self.tlp.upper()}"
        width = canv.stringWidth(label, SANS_BOLD, size) + 8
        canv.setFillColor(colors.black)
        canv.rect(x_right - width, y - 2.5, width, size + 5, stroke=0, fill=1)
        canv.setFillColor(colors.HexColor(TLP_COLOURS[self.tlp]))
        canv.setFont(SANS_BOLD, size)
        canv.drawString(x_right - width + 4, y + 0.5, label)

    def _furniture(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        canv.saveState()
        top = PAGE_H - MARGIN + 2 * mm
        self._tlp_badge(canv, PAGE_W - MARGIN, top)
        canv.setFont(SANS, 7.5)
        canv.setFillColor(colors.HexColor("#4A5568"))
        title = self.running_title if len(self.running_title) <= 90 else self.running_title[:87] + "..."
        canv.drawString(MARGIN, top + 0.5, title)
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.5)
        canv.line(MARGIN, top - 4, PAGE_W - MARGIN, top - 4)
        bottom = MARGIN - 2 * mm
        canv.line(MARGIN, bottom + 12, PAGE_W - MARGIN, bottom + 12)
        self._tlp_badge(canv, PAGE_W - MARGIN, bottom)
        label = f"Page {canv.getPageNumber()} of "
        canv.setFillColor(INK)
        canv.setFont(SANS, 7.5)
        canv.drawString(MARGIN, bottom + 0.5, label)
        canv.saveState()
        canv.translate(MARGIN + canv.stringWidth(label, SANS, 7.5), bottom + 0.5)
        canv.doForm("casetrail-page-total")
        canv.restoreState()
        canv.drawCentredString(PAGE_W / 2, bottom + 0.5, f"{TOOL_LINE}")
        if self.banner:
            _failure_banner(canv, self.banner)
        canv.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:
        """Bookmark every heading so the PDF has an outline."""
        outline = getattr(flowable, "_casetrail_outline", None)
        if outline is None:
            return
        title, level, key = outline
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(title, key, level=level, closed=level > 0)


TOOL_LINE = f"Casetrail {__version__} attribution briefing"
_REFERENCE_RE = re.compile(r"\(reference item (\d+), SHA-256 [0-9a-f]{64}\)")
FAILED_RED = colors.HexColor("#C0151B")


def _failure_banner(canv: Canvas, text: str) -> None:
    """The red bar every page of a briefing of a failing case carries, under the header rule."""
    top = PAGE_H - MARGIN - 3 * mm
    canv.setFillColor(FAILED_RED)
    canv.rect(MARGIN, top - 9 * mm, BODY_W, 8.5 * mm, stroke=0, fill=1)
    canv.setFillColor(colors.white)
    canv.setFont(SANS_BOLD, 8.5)
    line = text
    while canv.stringWidth(line, SANS_BOLD, 8.5) > BODY_W - 6 * mm and len(line) > 10:
        line = line[:-2]
    if line != text:
        line = line.rstrip() + "…"
    canv.drawString(MARGIN + 3 * mm, top - 5.6 * mm, line)


# -- building blocks -------------------------------------------------------------------------


@dataclass
class _Ctx:
    case: Case
    options: BriefingOptions
    tlp: str
    redact: Redactor
    st: dict[str, ParagraphStyle]
    checkpoint: Checkpoint
    sections: frozenset[str]
    verification: VerifyReport | None = None
    marking: TlpDecision | None = None
    items: dict[int, Item] = field(default_factory=dict)
    keys: int = 0
    exhibits_of_item: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    def p(self, text: object | Sequence[Run | str], style: str = "body") -> Paragraph:
        """Every piece of case text becomes a paragraph here, through safe_para."""
        return safe_para(text, self.st[style], redact=self.redact)

    def heading(self, text: object, level: int) -> Paragraph:
        """A heading that is also an outline entry (level 0 = section)."""
        para = self.p(text, ("h1", "h2", "h3")[min(level, 2)])
        self.keys += 1
        para._casetrail_outline = (plain(text, self.redact), level, f"k{self.keys}")  # type: ignore[attr-defined]
        return para


def _table(rows: list[list[Any]], widths: Sequence[float], *, header: bool = True,
           extra: Sequence[tuple[Any, ...]] = (), zebra: bool = True) -> Table:
    t = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    cmds: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        cmds += [("BACKGROUND", (0, 0), (-1, 0), HEAD_BG), ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK)]
    if zebra:
        first = 1 if header else 0
        cmds += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(first + 1, len(rows), 2)]
    t.setStyle(TableStyle(cmds + list(extra)))
    return t


def _chunked(header: list[Any], rows: list[list[Any]], widths: Sequence[float]) -> list[Flowable]:
    if not rows:
        return []
    return [_table([header, *rows[i:i + _TABLE_CHUNK]], widths) for i in range(0, len(rows), _TABLE_CHUNK)]


def _kv(ctx: _Ctx, pairs: list[tuple[str, object, bool]], key_w: float = 34 * mm) -> Table:
    rows = [[ctx.p(k, "cellb"), ctx.p(v, "mono" if mono else "cell")] for k, v, mono in pairs]
    return _table(rows, [key_w, BODY_W - key_w], header=False, zebra=False)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n_f = n / 1024
        if n_f < 1024 or unit == "TiB":
            return f"{n_f:.1f} {unit} ({n:,} bytes)"
        n = int(n_f)
    return f"{n} B"


def _short_time(at: object) -> str:
    """A UTC instant to the second, as a table shows it (the full value is in the case)."""
    return timestamps.human(at)


def _item_ref(ctx: _Ctx, item_id: int | None) -> str:
    if item_id is None:
        return "case"
    item = ctx.items.get(int(item_id))
    return f"item {item_id}" + (f" ({item.name})" if item else "")


# -- sections --------------------------------------------------------------------------------


def _cover(ctx: _Ctx, last: dict[str, Any] | None, n_indicators: int) -> list[Flowable]:
    meta = ctx.case.meta
    tlp = ctx.tlp
    badge = Table([[Paragraph(f"TLP:{tlp.upper()}", ParagraphStyle(
        "badge", fontName=SANS_BOLD, fontSize=20, leading=24, textColor=colors.HexColor(TLP_COLOURS[tlp]),
        alignment=TA_CENTER))]], colWidths=[70 * mm], hAlign="LEFT",
        style=TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.black),
                          ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
    as_of = last["at"] if last else meta.get("created_at", "")
    out: list[Flowable] = [
        Spacer(1, 18 * mm), badge, Spacer(1, 14 * mm),
        ctx.p("ATTRIBUTION BRIEFING", "kicker"),
        ctx.p(meta.get("title", ctx.case.title), "title"),
        Spacer(1, 4 * mm),
        _kv(ctx, [
            ("Case", meta.get("case_id", ""), True),
            ("Examiner", meta.get("examiner", ""), False),
            ("Date", f"{str(as_of)[:10]} (state of the case at {as_of}, custody entry "
                     f"{last['seq'] if last else 0})", False),
            ("Case opened", meta.get("created_at", ""), False),
            ("Evidence", f"{len(ctx.items)} items, {n_indicators} indicators", False),
            ("Custody head", ctx.checkpoint.head, True),
            ("Signed by key", f"{ctx.checkpoint.fingerprint} (Ed25519, {ctx.checkpoint.examiner})", True),
        ]),
        Spacer(1, 8 * mm),
        ctx.p([Run(f"TLP:{tlp.upper()}. ", bold=True), TLP_MEANING[tlp]], "small"),
        Spacer(1, 8 * mm),
        ctx.p("Contents", "h3"),
    ]
    names = [SECTION_TITLES[s] for s in SECTIONS if s in ctx.sections] + [SECTION_TITLES["checkpoint"]]
    for i, name in enumerate(names, 1):
        out.append(ctx.p(f"{i}.  {name}", "small"))
    out.append(Spacer(1, 6 * mm))
    out += _failure_findings(ctx)
    out += _marking_note(ctx)
    out.append(ctx.p("Every exhibit names the item it comes from and its SHA-256; Appendix A lists "
                     "every item with its hashes and custody entries; Appendix B prints the signed "
                     "checkpoint of the custody chain this briefing shows.", "small"))
    out.append(PageBreak())
    return out


def _bluf(ctx: _Ctx, m: analysis.Matrix, judgments: list[analysis.Judgment]) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["bluf"], 0)]
    lines: list[Flowable] = []
    if m.scores:
        top = m.scores[0]
        tied = [s for s in m.scores if s.rank == 1]
        lines.append(ctx.p([Run("Most likely explanation: ", bold=True), top.hypothesis.title], "bluf"))
        why = (f"Ranked first of {len(m.scores)} hypotheses by analysis of competing hypotheses: "
               f"weighted inconsistency {top.weighted:.2f} (lower is more likely) over "
               f"{top.rated} rated pieces of evidence, {top.inconsistent} inconsistent.")
        if len(tied) > 1:
            why += f" Tied with {len(tied) - 1} other hypothesis(es): the evidence does not separate them."
        elif len(m.scores) > 1:
            why += (f" Next: {m.scores[1].hypothesis.title} at {m.scores[1].weighted:.2f}.")
        lines.append(ctx.p(why, "body"))
    else:
        lines.append(ctx.p("No hypotheses have been recorded in this case yet.", "bluf"))
    if judgments:
        j = judgments[0]
        lo, hi = j.probability
        lines.append(ctx.p([Run("Key judgment 1: ", bold=True), j.text], "bluf"))
        lines.append(ctx.p([Run("We assess this is ", bold=False),
                            Run(f"{j.likelihood} ({lo}-{hi}%)", bold=True),
                            Run(", with "), Run(f"{j.confidence} confidence", bold=True), Run(".")], "body"))
    else:
        lines.append(ctx.p("No key judgments have been recorded yet.", "body"))
    box = Table([[lines]], colWidths=[BODY_W], style=TableStyle([
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#EEF3F9")),
        ("LINEBEFORE", (0, 0), (0, -1), 3, ACCENT),
        ("LEFTPADDING", (0, 0), (-1, -1), 10), ("RIGHTPADDING", (0, 0), (-1, -1), 10),
        ("TOPPADDING", (0, 0), (-1, -1), 8), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
    out.append(box)
    out.append(Spacer(1, 4 * mm))
    return out


def _judgments(ctx: _Ctx, judgments: list[analysis.Judgment]) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["judgments"], 0)]
    if not judgments:
        out.append(ctx.p("No key judgments have been recorded."))
    rows = []
    for i, j in enumerate(judgments, 1):
        lo, hi = j.probability
        rows.append([ctx.p(f"KJ{i}", "cellb"), ctx.p(j.text, "cell"),
                     ctx.p(f"{j.likelihood} ({lo}-{hi}%)", "cell"), ctx.p(j.confidence, "cell"),
                     ctx.p(f"{j.created_by}, {j.created_at[:10]}", "cell")])
    if rows:
        head = [ctx.p(h, "head") for h in ("#", "Judgment", "Likelihood", "Confidence", "By")]
        out.append(_table([head, *rows], [12 * mm, BODY_W - 12 * mm - 34 * mm - 20 * mm - 28 * mm,
                                          34 * mm, 20 * mm, 28 * mm]))
    out.append(ctx.p("How to read these terms (ICD 203)", "h3"))
    legend = [[ctx.p("Likelihood", "head"), ctx.p("Probability", "head")]]
    legend += [[ctx.p(t, "cell"), ctx.p(f"{lo}-{hi}%", "cell")]
               for t, (lo, hi) in analysis.LIKELIHOOD.items()]
    conf = [[ctx.p("Confidence", "head"), ctx.p("Meaning", "head")]]
    conf += [[ctx.p(c, "cell"), ctx.p(analysis.CONFIDENCE_MEANING[c], "cell")] for c in analysis.CONFIDENCE]
    half = BODY_W / 2 - 3 * mm
    pair = Table([[_table(legend, [half * 0.62, half * 0.38]),
                   _table(conf, [half * 0.28, half * 0.72])]], colWidths=[half + 6 * mm, half],
                 style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    out.append(pair)
    out.append(ctx.p("Likelihood says how probable the judgment is; confidence says how good the "
                     "information and reasoning behind it are. The two are independent.", "small"))
    return out


def _ach(ctx: _Ctx, m: analysis.Matrix) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["ach"], 0)]
    if not m.hypotheses:
        return [*out, ctx.p("No hypotheses have been recorded.")]
    out.append(ctx.p("Hypotheses", "h3"))
    hrows = [[ctx.p(h, "head") for h in ("", "Hypothesis", "Description")]]
    for i, h in enumerate(m.hypotheses, 1):
        hrows.append([ctx.p(f"H{i}", "cellb"), ctx.p(h.title, "cellb"), ctx.p(h.description or "-", "cell")])
    out.append(_table(hrows, [12 * mm, 60 * mm, BODY_W - 72 * mm]))
    labels = {h.id: f"H{i}" for i, h in enumerate(m.hypotheses, 1)}
    out.append(ctx.p("Ranking", "h3"))
    rrows = [[ctx.p(h, "head") for h in ("Rank", "", "Hypothesis", "Weighted inconsistency",
                                         "I / II", "C / CC", "Rated")]]
    for s in m.scores:
        rrows.append([ctx.p(str(s.rank), "cellb"), ctx.p(labels[s.hypothesis.id], "cell"),
                      ctx.p(s.hypothesis.title, "cell"), ctx.p(f"{s.weighted:.2f}", "cell"),
                      ctx.p(str(s.inconsistent), "cell"), ctx.p(str(s.consistent), "cell"),
                      ctx.p(str(s.rated), "cell")])
    out.append(_table(rrows, [12 * mm, 10 * mm, BODY_W - 104 * mm, 32 * mm, 16 * mm, 16 * mm, 18 * mm]))
    out.append(CondPageBreak(60 * mm))
    out.append(ctx.p("Matrix", "h3"))
    n = len(m.hypotheses)
    fixed = 8 * mm + 15 * mm + 15 * mm
    hyp_w = max(11 * mm, min(18 * mm, (BODY_W - fixed - 55 * mm) / n))
    ev_w = BODY_W - fixed - hyp_w * n
    head = [ctx.p(x, "head") for x in ("#", "Evidence", "Cred.", "Rel.")] + \
        [ctx.p(labels[h.id], "headc") for h in m.hypotheses]
    rows: list[list[Any]] = [head]
    extra: list[tuple[Any, ...]] = []
    for r, e in enumerate(m.evidence, 1):
        ref = f" [{e.kind} {e.ref_id}]" if e.ref_id is not None else ""
        row: list[Any] = [ctx.p(f"E{r}", "cell"), ctx.p(f"{e.label}{ref}", "cell"),
                          ctx.p(e.credibility, "cell"), ctx.p(e.relevance, "cell")]
        for c, h in enumerate(m.hypotheses, 4):
            rating = m.rating(e.id, h.id) or ""
            row.append(ctx.p(rating or "-", "center_on_dark" if rating in ("CC", "II") else "center"))
            if rating:
                extra.append(("BACKGROUND", (c, r), (c, r), colors.HexColor(RATING_COLOURS[rating])))
        rows.append(row)
    score_row: list[Any] = [ctx.p("", "cell"), ctx.p("Weighted inconsistency (lower = more likely)", "cellb"),
                            ctx.p("", "cell"), ctx.p("", "cell")]
    by_id = {s.hypothesis.id: s for s in m.scores}
    score_row += [ctx.p(f"{by_id[h.id].weighted:.2f}", "headc") for h in m.hypotheses]
    rows.append(score_row)
    extra += [("LINEABOVE", (0, len(rows) - 1), (-1, len(rows) - 1), 0.8, INK),
              ("ALIGN", (4, 0), (-1, -1), "CENTER")]
    table = _table(rows, [8 * mm, ev_w, 15 * mm, 15 * mm] + [hyp_w] * n, extra=extra, zebra=False)
    out.append(table)
    out.append(Spacer(1, 2 * mm))
    out.append(ctx.p(
        "Ratings: CC very consistent, C consistent, N neutral, I inconsistent, II very inconsistent, "
        "NA not applicable, - not rated. Heuer's weighted inconsistency score (as in PARC ACH): each I "
        "counts 1 and each II counts 2, multiplied by the evidence's credibility and relevance weights "
        "(low 0.71, medium 1, high 1.41); consistent ratings add nothing, because evidence consistent "
        "with every hypothesis cannot tell them apart. The hypothesis with the least weighted "
        "inconsistency is the most likely; a small margin means the evidence does not separate them.",
        "small"))
    return out


def _where(ctx: _Ctx, occs: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    for o in occs:
        key = (o["item_id"], o["source"], o["where"])
        if key in seen:
            continue
        seen.add(key)
        t = f" at {float(o['time_s']):.1f} s" if o.get("time_s") is not None else ""
        parts.append(f"{o['source']}: {o['where']}{t} (item {o['item_id']})")
    if len(parts) > 4:
        return "; ".join(parts[:4]) + f"; and {len(parts) - 4} more"
    return "; ".join(parts)


def _match_text(m: dict[str, Any]) -> str:
    """A match as the indicator table shows it: name, source and, for intelligence, its reference."""
    ref = _REFERENCE_RE.search(str(m.get("detail", "")))
    where = f"; reference item {ref.group(1)}" if ref else ""
    return f"{m.get('name', '')} ({m.get('source', '')}{where})"


def _intel_references(ctx: _Ctx) -> list[Flowable]:
    """Appendix: every intelligence match with its relationship path, and every reference item.

    The matches are the case's snapshot (``desktop.core.references``): the feeds they come from
    are items of the case, with their SHA-256, so the claims hold on any workstation.
    """
    conn = ctx.case.db.conn
    refs = references.references_of(conn)
    matches, asn = references.snapshot(conn)
    if not refs and not matches:
        return []
    values = {int(i): (str(t), str(v)) for i, t, v in conn.execute("SELECT id, type, value FROM indicators")}
    out: list[Flowable] = [CondPageBreak(60 * mm), ctx.heading("Intelligence references and matches", 1),
                           ctx.p("The feeds and ip2asn tables behind every match are reference items of this "
                                 "case, acquired with their SHA-256 when the snapshot was taken; matches "
                                 "and providers are printed from that snapshot, not from the workstation "
                                 "library.", "small")]
    rows = [[ctx.p(h, "head") for h in ("Item", "Reference (file, format)", "SHA-256", "In library since")]]
    for r in refs:
        rows.append([ctx.p(str(r["item_id"]), "cell"), ctx.p(f"{r['name']} ({r['format']}, {r['feed_name']})",
                                                               "cell"),
                     ctx.p(r["sha256"], "mono"), ctx.p(r["imported_into_library_at"], "cell")])
    out.append(_table(rows, [12 * mm, 52 * mm, BODY_W - 12 * mm - 52 * mm - 34 * mm, 34 * mm]))
    rows = [[ctx.p(h, "head") for h in ("Indicator", "Match", "Relationship path", "Reference")]]
    for m in matches:
        t, v = values.get(m.indicator_id, ("", ""))
        ref = f"item {m.reference_item_id}" if m.reference_item_id else "workstation case index"
        rows.append([ctx.p(defang(v, t), "mono"), ctx.p(f"{m.name} ({m.kind})", "cell"),
                     ctx.p(m.detail, "cell"), ctx.p(ref, "cell")])
    for ind_id, (number, name, country, ref_id, _sha) in sorted(asn.items()):
        t, v = values.get(ind_id, ("", ""))
        rows.append([ctx.p(defang(v, t), "mono"), ctx.p(f"AS{number} {name} {country}", "cell"),
                     ctx.p("ip2asn range containing the address", "cell"), ctx.p(f"item {ref_id}", "cell")])
    out += _chunked(rows[0], rows[1:], [40 * mm, 40 * mm, BODY_W - 100 * mm, 20 * mm])
    return out


def _indicators(ctx: _Ctx, rows_in: list[dict[str, Any]]) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["indicators"], 0)]
    if not rows_in:
        return [*out, ctx.p("No indicators were found in this case.")]
    out.append(ctx.p(f"{len(rows_in)} indicators, defanged (hxxp, [.]) so that none is a live link. "
                     "Where found gives the source (header, body, attachment, metadata, OCR, analyst) "
                     "and the item; matches are hits in other cases and imported intelligence.", "small"))
    head = [ctx.p(h, "head") for h in ("Type", "Value", "Where found", "Matches", "ASN / provider", "Tags")]
    rows = []
    for r in rows_in:
        matches = "; ".join(_match_text(m) for m in r.get("matches") or [])
        asn = r.get("asn") or {}
        asn_s = (f"AS{asn.get('number')} {asn.get('name', '')} {asn.get('country', '')}".strip()
                 if asn else "")
        all_tags = sorted(set(r.get("tags") or []))
        shown = defang(r["value"], r["type"]) + _reading_note(r)
        rows.append([ctx.p(r["type"], "cell"), ctx.p(shown, "mono"),
                     ctx.p(_where(ctx, r["occurrences"]), "cell"), ctx.p(matches or "-", "cell"),
                     ctx.p(asn_s or "-", "cell"), ctx.p(", ".join(all_tags) or "-", "cell")])
    # The type column fits "file_path" in one line; matches get the room they need most.
    out += _chunked(head, rows, [18 * mm, 50 * mm, BODY_W - 18 * mm - 50 * mm - 32 * mm - 22 * mm - 20 * mm,
                                 32 * mm, 22 * mm, 20 * mm])
    return out


def _reading_note(row: dict[str, Any]) -> str:
    """How an OCR-only indicator was read, so that no misread reads as a finding (issue 14).

    An indicator whose every occurrence is an uncertain OCR reading is marked uncertain; one read
    only on enhanced images says so: an enhanced image is never presented as the original pixels.
    """
    occs = row.get("occurrences") or []
    if row.get("uncertain"):
        return " (uncertain OCR reading)"
    if occs and all(o.get("status") == "enhanced" for o in occs):
        return " (read on an enhanced image)"
    return ""


def _open_image(ctx: _Ctx, item: Item) -> PILImage.Image | str:
    """Decode an image from the vault with limits; return it or why it cannot be shown."""
    path = ctx.case.vault.blob_path(item.sha256)
    try:
        with PILImage.open(path, formats=_IMAGE_FORMATS) as im:
            if im.width * im.height > _MAX_PIXELS:
                return f"not drawn: {im.width}x{im.height} pixels is above the exhibit limit"
            im.seek(0)
            return im.convert("RGB")
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as exc:
        return f"not drawn: the image cannot be decoded ({type(exc).__name__})"


def _draw_boxes(im: PILImage.Image, boxes: list[_Box]) -> None:
    draw = ImageDraw.Draw(im)
    width = max(2, round(max(im.size) / 400))
    for n, ((x, y, w, h), hidden) in enumerate(boxes, 1):
        pad = width * 2
        rect = (x - pad, y - pad, x + w + pad, y + h + pad)
        if hidden:
            draw.rectangle((x, y, x + w, y + h), fill=(0, 0, 0))
        draw.rectangle(rect, outline=(220, 20, 60), width=width)
        tag = str(n)
        tw = 8 * len(tag) + 6
        draw.rectangle((rect[0], rect[1] - 16, rect[0] + tw, rect[1]), fill=(220, 20, 60))
        draw.text((rect[0] + 3, rect[1] - 15), tag, fill=(255, 255, 255))


def _image_flowable(im: PILImage.Image, max_w: float, max_h: float) -> Image:
    if max(im.size) > _EXHIBIT_PX:
        im = im.copy()
        im.thumbnail((_EXHIBIT_PX, _EXHIBIT_PX), PILImage.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90, subsampling=0, optimize=False)
    buf.seek(0)
    scale = min(max_w / im.width, max_h / im.height, 1.0 * 72 / 96 * 2)
    flow = Image(buf, width=im.width * scale, height=im.height * scale)
    flow.hAlign = "LEFT"
    return flow


def _frame_time(ctx: _Ctx, item: Item) -> float | None:
    for e in ctx.case.custody(item.id):
        detail = e.get("detail")
        if isinstance(detail, dict) and isinstance(detail.get("time_s"), int | float):
            return float(detail["time_s"])
    return None


def _exhibit_caption(ctx: _Ctx, label: str, item: Item, what: str) -> list[Flowable]:
    ctx.exhibits_of_item[item.id].append(label)
    return [ctx.heading(f"{label}: {what}", 1),
            ctx.p([Run("Item ", bold=True), Run(f"{item.id} "), Run(item.name),
                   Run(f"  ({item.mime}, {_size(item.size)})")], "small"),
            ctx.p([Run("SHA-256 ", bold=True), Run(item.sha256, mono=True)], "small"),
            Spacer(1, 2 * mm)]


_Box = tuple[tuple[float, float, float, float], bool]  # (x, y, w, h), blacked out


def _visual_exhibits(ctx: _Ctx, occs_by_item: dict[int, list[dict[str, Any]]],
                     values: dict[int, tuple[str, str]]) -> Iterator[tuple[Item, PILImage.Image | str,
                                                                              list[_Box]]]:
    """Frames with OCR boxes, then screenshots cropped to their OCR hits."""
    frames = [i for i in ctx.items.values() if i.derived_how == "video frame" and i.id in occs_by_item]
    images = [i for i in ctx.items.values() if i.derived_how != "video frame" and i.kind == "image"
              and i.id in occs_by_item]
    for item in frames + images:
        occs = occs_by_item[item.id]
        boxes: list[_Box] = []
        for o in occs:
            x, y, w, h = (float(v) for v in o["bbox"][:4])
            hidden = ctx.redact.hides(o.get("raw") or "") or ctx.redact.hides(values[o["indicator_id"]][1])
            boxes.append(((x, y, w, h), hidden))
        yield item, _open_image(ctx, item), boxes


def _exhibits(ctx: _Ctx, ind_rows: list[dict[str, Any]]) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["exhibits"], 0)]
    conn = ctx.case.db.conn
    values: dict[int, tuple[str, str]] = {}
    occs_by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ind_id, t, v in conn.execute("SELECT id, type, value FROM indicators"):
        values[int(ind_id)] = (t, v)
    for ind_id, item_id, source, where, raw, time_s, bbox, frame in conn.execute(
            "SELECT indicator_id, item_id, source, where_, raw, time_s, bbox, frame_item_id FROM occurrences "
            "WHERE bbox IS NOT NULL ORDER BY item_id, COALESCE(time_s, 0), id"):
        try:
            box = json.loads(bbox)
        except ValueError:
            continue
        if not (isinstance(box, list) and len(box) >= 4 and all(isinstance(b, int | float) for b in box[:4])):
            continue
        occ = {"indicator_id": int(ind_id), "item_id": item_id, "source": source, "where": where,
               "raw": raw, "time_s": time_s, "bbox": box}
        # An OCR hit in a video belongs on the kept frame it was read from.
        occs_by_item[int(frame) if frame is not None else int(item_id)].append(occ)
    number = 0
    drawn = 0
    for item, im, boxes in _visual_exhibits(ctx, occs_by_item, values):
        number += 1
        label = f"Exhibit {number}"
        parent = ctx.items.get(item.parent_id) if item.parent_id else None
        if item.derived_how == "video frame":
            t = _frame_time(ctx, item)
            what = (f"frame at {t:.2f} s of " if t is not None else "frame of ") + (
                parent.name if parent else "a video")
        else:
            what = f"screenshot {item.name}"
        block = _exhibit_caption(ctx, label, item, what)
        if parent is not None:
            block.insert(2, ctx.p([Run("From ", bold=True), Run(f"item {parent.id} "), Run(parent.name),
                                   Run("  SHA-256 "), Run(parent.sha256, mono=True)], "small"))
        if isinstance(im, str):
            block.append(ctx.p(im, "small"))
        elif drawn >= ctx.options.max_exhibits:
            block.append(ctx.p(f"Not drawn: more than {ctx.options.max_exhibits} image exhibits; "
                               "see the item in the case.", "small"))
        else:
            if item.derived_how != "video frame":
                im, boxes = _crop(im, boxes)
            _draw_boxes(im, boxes)
            block.append(_image_flowable(im, BODY_W, 110 * mm))
            block = [KeepTogether(block)]
            drawn += 1
        occs = occs_by_item[item.id]
        rows = [[ctx.p(h, "head") for h in ("Box", "Indicator", "Type", "Read as", "Where")]]
        for n, o in enumerate(occs, 1):
            t_, v_ = values[o["indicator_id"]]
            when = f" at {float(o['time_s']):.2f} s" if o.get("time_s") is not None else ""
            rows.append([ctx.p(str(n), "cellb"), ctx.p(defang(v_, t_), "mono"), ctx.p(t_, "cell"),
                         ctx.p(o.get("raw") or v_, "mono"), ctx.p(f"{o['where']}{when}", "cell")])
        block.append(Spacer(1, 2 * mm))
        block.append(_table(rows, [10 * mm, 55 * mm, 16 * mm, 50 * mm, BODY_W - 131 * mm]))
        out.extend(block)
    for item in ctx.items.values():
        mail = email_of(conn, item.id)
        if mail is None:
            continue
        number += 1
        out.append(CondPageBreak(80 * mm))
        out.extend(_exhibit_caption(ctx, f"Exhibit {number}", item,
                                    f"message {mail.get('subject') or item.name}"))
        auth = ", ".join(f"{k.upper()} {mail.get(k)}" for k in ("spf", "dkim", "dmarc") if mail.get(k))
        pairs = [(k, mail.get(c), mono) for k, c, mono in (
            ("From", "from_addr", True), ("Display name", "from_name", False), ("Sender", "sender", True),
            ("Reply-To", "reply_to", True), ("Return-Path", "return_path", True), ("To", "to_addrs", True),
            ("Cc", "cc_addrs", True), ("Date", "date_raw", False), ("Date (UTC)", "date_utc", False),
            ("Subject", "subject", False), ("Message-ID", "message_id", True),
            ("X-Mailer", "x_mailer", False),
            ("User-Agent", "user_agent", False), ("Origin IP", "origin_ip", True),
            ("Origin host", "origin_host", True)) if mail.get(c)]
        if auth:
            pairs.append(("Authentication", auth, False))
        flags = mail.get("flags") or []
        if flags:
            pairs.append(("Flags", "; ".join(str(f) for f in flags), False))
        out.append(_kv(ctx, pairs, 30 * mm))
        hops = mail.get("hops") or []
        if hops:
            out.append(ctx.p("Received chain (hop 1 is the first server the message reached)", "h3"))
            rows = [[ctx.p(h, "head") for h in ("Hop", "From (host / rDNS / IP)", "By", "Protocol",
                                                "Time (UTC)", "Delay")]]
            for hop in hops:
                src = " / ".join(str(x) for x in (hop.get("from_host"), hop.get("from_rdns"),
                                                  hop.get("from_ip")) if x)
                delay = f"{hop['delay_s']:.0f} s" if isinstance(hop.get("delay_s"), int | float) else ""
                mark = " (origin)" if hop.get("is_origin") else ""
                rows.append([ctx.p(f"{hop_numbers.number(int(hop.get('idx') or 0))}{mark}", "cell"),
                             ctx.p(src or "-", "mono"),
                             ctx.p(hop.get("by_host") or "-", "mono"),
                             ctx.p(hop.get("protocol") or "-", "cell"),
                             ctx.p(timestamps.human(hop.get("time_utc")) or hop.get("time_raw") or "-",
                                   "cell"),
                             ctx.p(delay, "cell")])
            out.append(_table(rows, [14 * mm, 52 * mm, 42 * mm, 18 * mm, BODY_W - 144 * mm, 18 * mm]))
        out.append(Spacer(1, 4 * mm))
    if number == 0:
        out.append(ctx.p("This case has no exhibits yet: no OCR hits on frames or screenshots and no "
                         "messages."))
    return out


def _crop(im: PILImage.Image, boxes: list[_Box]) -> tuple[PILImage.Image, list[_Box]]:
    """Crop a screenshot to its OCR hits with some context around them; move the boxes along."""
    xs = [b[0] for b, _ in boxes] + [b[0] + b[2] for b, _ in boxes]
    ys = [b[1] for b, _ in boxes] + [b[1] + b[3] for b, _ in boxes]
    margin_x = max(80.0, 0.15 * im.width)
    margin_y = max(60.0, 0.15 * im.height)
    left, top = max(0, int(min(xs) - margin_x)), max(0, int(min(ys) - margin_y))
    right, bottom = min(im.width, int(max(xs) + margin_x)), min(im.height, int(max(ys) + margin_y))
    if right <= left or bottom <= top:
        left, top, right, bottom = 0, 0, im.width, im.height
    moved = [((x - left, y - top, w, h), hidden) for (x, y, w, h), hidden in boxes]
    return im.crop((left, top, right, bottom)), moved


def _campaigns(ctx: _Ctx, found: list[campaigns.Campaign], tags: dict[str, list[str]]) -> list[Flowable]:
    """Each campaign: its size and dates, what it keeps constant, what varies, when it was sent."""
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["campaigns"], 0)]
    out.append(ctx.p(
        f"{len(found)} group{'s' if len(found) != 1 else ''} of messages that belong together: bodies "
        "near-identical once names, numbers and URLs are set aside (MinHash over word 3-shingles), the "
        "same attachment, or shared sending infrastructure. The grouping is deterministic and recorded "
        "in the chain of custody.", "small"))
    for c in found:
        out.append(ctx.heading(f"Campaign {c.id}: {len(c.items)} messages", 1))
        infra = c.constant.get("infrastructure") or {}
        pairs: list[tuple[str, object, bool]] = [
            ("First sent", _short_time(c.first_seen) if c.first_seen else "unknown", False),
            ("Last sent", _short_time(c.last_seen) if c.last_seen else "unknown", False),
            ("Grouped by", ", ".join(f"{k} ({v})" for k, v in c.links.items()), False),
            ("Messages", ", ".join(_item_ref(ctx, i) for i in c.items[:30])
             + (f" and {len(c.items) - 30} more" if len(c.items) > 30 else ""), False)]
        if tags.get(c.id):
            pairs.append(("Tags", ", ".join(tags[c.id]), False))
        if c.constant.get("sender"):
            pairs.append(("Sender (constant)", defang(str(c.constant["sender"]), "email"), True))
        for key, value in infra.items():
            kind = {"origin_ip": "ipv4", "helo": "domain", "message_id_domain": "domain",
                    "dkim_d": "domain"}.get(key)
            shown = defang(str(value), kind) if kind else str(value)
            pairs.append((f"{campaigns.INFRA_LABELS.get(key, key)} (constant)", shown, True))
        for att in c.constant.get("attachments") or []:
            pairs.append(("Attachment (constant)", f"{att['name']}  SHA-256 {att['sha256']}", True))
        for key in ("subjects", "recipients"):
            values = c.varying.get(key) or []
            if values:
                shown = "; ".join(str(v) for v in values[:6]) + (f"; … ({len(values)} in all)"
                                                                 if len(values) > 6 else "")
                pairs.append((f"{key.capitalize()} (varying)", shown, key == "recipients"))
        out.append(_kv(ctx, pairs, key_w=42 * mm))
        if c.constant.get("template"):
            out.append(ctx.p([Run("Template (normalised): ", bold=True),
                              Run(str(c.constant["template"])[:400])], "small"))
        bins = c.varying.get("send_time_histogram") or []
        if len(bins) > 1:
            top = max(b["count"] for b in bins) or 1
            width = _parse_utc(bins[0]["to"]) - _parse_utc(bins[0]["from"])
            head = [ctx.p(h, "head") for h in (f"Sent in the {_span(width)} from (UTC)", "Messages", "")]
            rows = [[ctx.p(_short_time(b["from"]), "cell"), ctx.p(str(b["count"]), "cell"),
                     ctx.p("\u2588" * max(1, round(30 * b["count"] / top)), "cell")]
                    for b in bins if b["count"]]  # empty periods are left out
            out += _chunked(head, rows, [58 * mm, 20 * mm, BODY_W - 78 * mm])
        kinds = sorted({i["type"] for i in c.indicators})
        out.append(ctx.p(f"{len(c.indicators)} indicators in its messages ({', '.join(kinds)}); see the "
                         "indicator table.", "small"))
    return out


def _parse_utc(text: str) -> float:
    when = timestamps.parse(text)  # the one reading of a time (desktop.core.timestamps)
    if when is None:
        raise ValueError(f"not a time: {text!r}")
    return when.timestamp()


def _span(seconds: float) -> str:
    """A duration as a reader says it: ``2 h 30 min``, ``45 min``, ``3 days``."""
    minutes = round(seconds / 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes / (24 * 60):.1f} days"
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min" if hours and mins else f"{hours} h" if hours else f"{max(1, mins)} min"


def _timeline(ctx: _Ctx) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["timeline"], 0)]
    events = analysis.timeline(ctx.case, custody_events="grouped")
    out.append(ctx.p("Times are UTC. Sources: message Date headers, Received hops, media creation times, "
                     "first on-screen sightings of indicators in videos, the chain of custody (runs of "
                     "the same action grouped) and events the analyst added.", "small"))
    head = [ctx.p(h, "head") for h in ("Time (UTC)", "Source", "Event", "Reference")]
    rows = []
    for e in events:
        ref = e.ref + (f", {_item_ref(ctx, e.item_id)}" if e.item_id is not None else "")
        rows.append([ctx.p(_short_time(e.at), "cell"), ctx.p(e.source, "cell"),
                     ctx.p([Run(e.title, bold=True), Run("\n" + e.detail if e.detail else "")], "cell"),
                     ctx.p(ref, "cell")])
    out += _chunked(head, rows, [34 * mm, 16 * mm, BODY_W - 34 * mm - 16 * mm - 40 * mm, 40 * mm])
    return out


def _notes(ctx: _Ctx) -> list[Flowable]:
    out: list[Flowable] = [ctx.heading(SECTION_TITLES["notes"], 0)]
    notes = analysis.list_notes(ctx.case)
    if not notes:
        return [*out, ctx.p("No notes.")]
    head = [ctx.p(h, "head") for h in ("Note", "On", "Text", "By")]
    rows = [[ctx.p(f"N{n.id}", "cellb"),
             ctx.p(_item_ref(ctx, n.item_id) if n.item_id else
                   (f"indicator {n.indicator_id}" if n.indicator_id else "case"), "cell"),
             ctx.p(n.text, "cell"), ctx.p(f"{n.author}\n{n.created_at}", "cell")] for n in notes]
    out += _chunked(head, rows, [12 * mm, 34 * mm, BODY_W - 12 * mm - 34 * mm - 34 * mm, 34 * mm])
    return out


def _appendix(ctx: _Ctx, custody_by_item: dict[int | None, list[dict[str, Any]]]) -> list[Flowable]:
    out: list[Flowable] = [PageBreak(), ctx.heading(SECTION_TITLES["appendix"], 0)]
    out.append(ctx.p("Every item in the case, in acquisition order, with its three hashes and every "
                     "custody entry about it. An exhibit's SHA-256 can be found here, and the vault "
                     "copy re-hashed with `casetrail verify`.", "small"))
    for item in ctx.items.values():
        parent = f"item {item.parent_id} ({item.derived_how})" if item.parent_id else "-"
        shown = ", ".join(ctx.exhibits_of_item.get(item.id, [])) or "-"
        block: list[Flowable] = [KeepTogether([ctx.heading(f"Item {item.id}: {item.name}", 1), _kv(ctx, [
            ("Kind / MIME", f"{item.kind} / {item.mime}" + ("  (extension does not match content)"
                                                              if item.ext_mismatch else ""), False),
            ("Size", _size(item.size), False),
            ("SHA-256", item.sha256, True), ("SHA-1", item.sha1, True), ("MD5", item.md5, True),
            ("Derived from", parent, False), ("Source", item.source_path, True),
            ("Acquired", f"{item.acquired_at} by {item.acquired_by}", False),
            ("Status", item.status, False), ("Exhibits", shown, False),
        ], 28 * mm)])]
        entries = custody_by_item.get(item.id, [])
        if entries:
            rows = [[ctx.p(h, "head") for h in ("Seq", "Time (UTC)", "Action", "Examiner", "Result",
                                                "Entry hash")]]
            for e in entries:
                rows.append([ctx.p(str(e["seq"]), "cell"), ctx.p(_short_time(e["at"]), "cell"),
                             ctx.p(e["action"], "cell"),
                             ctx.p(f"{e['examiner']} ({e['os_user']}@{e['host']})", "cell"),
                             ctx.p(e["result"], "cell"), ctx.p(str(e["entry_hash"])[:16], "mono")])
            block.append(Spacer(1, 1.5 * mm))
            block.append(_table(rows, [10 * mm, 33 * mm, 17 * mm, 36 * mm, BODY_W - 124 * mm, 28 * mm]))
        out.extend(block)
        out.append(Spacer(1, 3 * mm))
    return out


def _integrity_statement(ctx: _Ctx, chain: custody.ChainReport) -> list[Flowable]:
    """What verification found when this briefing was made: exactly ``VerifyReport.statement``."""
    report = ctx.verification
    if report is None:
        text = ("PREVIEW, NOT VERIFIED: the case is verified in full when the briefing is saved, and the "
                "saved briefing prints the result here.")
        if not chain.ok:
            text += f" The custody chain is broken now: {chain.reason}."
        return [ctx.p(text, "h2")]
    where = (f" Recorded in the case as custody entry {report.recorded_seq}." if report.recorded_seq
             else "")
    out: list[Flowable] = [ctx.p("Integrity statement", "h3"),
                           ctx.p(report.statement() + where, "body" if report.ok else "h2")]
    if not report.ok:
        out.append(ctx.p("Treat every claim of this briefing as unproven until the findings listed on "
                         "the cover are explained.", "body"))
    return out


def _marking_note(ctx: _Ctx) -> list[Flowable]:
    """The cover's account of the TLP rule: a marking below the case's, and what it redacted."""
    d = ctx.marking
    if d is None:
        return []
    rank = {level: i for i, level in enumerate(TLP_LEVELS)}
    out: list[Flowable] = []
    if rank.get(d.case_tlp, 0) > rank[d.marking]:
        out.append(ctx.p(f"Marked TLP:{d.marking.upper()}, below the case's TLP:{d.case_tlp.upper()}, by the "
                         "examiner's choice (recorded in custody with this export).", "small"))
    if d.redacted:
        out.append(ctx.p(f"Redacted so that nothing above TLP:{d.marking.upper()} is printed: "
                         + "; ".join(d.redacted) + ".", "small"))
    return [*out, Spacer(1, 4 * mm)] if out else []


def _failure_findings(ctx: _Ctx) -> list[Flowable]:
    """The cover's list of verification findings (a briefing made with --despite-discrepancies)."""
    report = ctx.verification
    if report is None or report.ok:
        return []
    found = report.findings()
    rows = [[ctx.p("THIS CASE FAILED VERIFICATION", "center_on_dark")]]
    rows += [[ctx.p(f"{i}. {f}", "cell")] for i, f in enumerate(found[:30], 1)]
    if len(found) > 30:
        rows.append([ctx.p(f"and {len(found) - 30} more; `casetrail verify` lists them all", "cell")])
    box = Table(rows, colWidths=[BODY_W], hAlign="LEFT", style=TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), FAILED_RED), ("BOX", (0, 0), (-1, -1), 1.2, FAILED_RED),
        ("LEFTPADDING", (0, 0), (-1, -1), 6), ("TOPPADDING", (0, 0), (-1, -1), 3)]))
    return [box, Spacer(1, 6 * mm)]


def _checkpoint_section(ctx: _Ctx, chain: custody.ChainReport, prior: int) -> list[Flowable]:
    cp = ctx.checkpoint
    out: list[Flowable] = [PageBreak(), ctx.heading(SECTION_TITLES["checkpoint"], 0)]
    out += _integrity_statement(ctx, chain)
    out.append(_kv(ctx, [
        ("Case id", cp.case_id, True), ("Custody seq", str(cp.custody_seq), True),
        ("Head hash", cp.head, True), ("Signed by", cp.examiner, False),
        ("Algorithm", "Ed25519 (RFC 8032), deterministic", False),
        ("Key id", f"{cp.key_id}  (first 16 hex of SHA-256 of the raw public key)", True),
        ("Fingerprint", f"{cp.fingerprint}  (SHA-256 of the raw public key; `casetrail keys list`)", True),
        ("Public key (base64)", cp.public_key, True), ("Public key (hex)", cp.public_key_hex, True),
        ("Signature (base64)", cp.signature, True),
        ("Earlier checkpoints", f"{prior} stored in the case before this briefing", False),
    ], 38 * mm))
    out.append(ctx.p("What was signed", "h3"))
    out.append(ctx.p("The UTF-8 bytes of these four lines, joined by line feeds, without a final line feed:",
                     "small"))
    out.append(ctx.p("\n".join(cp.message().decode().split("\n")), "mono"))
    out.append(Spacer(1, 2 * mm))
    out.append(ctx.p("How to check", "h3"))
    out.append(ctx.p(
        "In the case (or a package of it): `casetrail verify CASE` recomputes the chain and the vault "
        "hashes. The custody entry at the sequence number above must still have the head hash above; "
        "if it does not, or the entry is gone, the history was rewritten or cut short after this "
        "briefing was made. The signature can be checked with any Ed25519 implementation against the "
        "public key above; the key id should be the one the examiner published. The export of this "
        "briefing is recorded after this entry, with the PDF's SHA-256. The PDF itself is signed (PAdES, "
        "RSA-3072 with SHA-256, by the examiner's document-signing certificate): any PDF tool that checks "
        "signatures (Adobe Acrobat or Reader, pdfsig, openssl cms, pyHanko) shows whether a byte was "
        "changed. The signed receipt it carries binds the SHA-256 of this content to the chain head and "
        "names that certificate, which the key above vouches for; `casetrail verify CASE --against "
        "THIS.pdf` checks all of it against the case. "
        "docs/verification.md specifies every format byte for byte.", "small"))
    return out


def _software_section(ctx: _Ctx) -> list[Flowable]:
    """The methodology's tool statement: exactly which software typed, decoded and read the evidence.

    Kept in a function of its own so the briefing rework (issue 12) can move it; the block is
    :func:`desktop.about.build_info`, the same one ``casetrail --version`` prints.
    """
    info = build_info()
    out: list[Flowable] = [Spacer(1, 6 * mm), ctx.p("Software that produced this briefing", "h3")]
    out.append(ctx.p("File types were identified by libmagic, video was decoded by FFmpeg and text in "
                     "frames and screenshots was read by the OCR engine and models below; the same "
                     "versions reproduce the same findings. `casetrail --version` prints this block.",
                     "small"))
    models = "\n".join(info.ocr_models)
    rows: list[tuple[str, object, bool]] = [
        (label, models if label == "OCR models" and models else value, label in ("Built from", "OCR models"))
        for label, value in info.rows()]
    out.append(_kv(ctx, rows, 38 * mm))
    return out


# -- rendering -------------------------------------------------------------------------------


def _resolve(case: Case, options: BriefingOptions) -> tuple[str, frozenset[str]]:
    tlp = (options.tlp or case.meta.get("tlp") or "amber").lower()
    if tlp not in TLP_LEVELS:
        raise BriefingError(f"unknown TLP level {tlp!r}; use one of {', '.join(TLP_LEVELS)}")
    sections = frozenset(SECTIONS if options.sections is None else options.sections)
    unknown = sorted(sections - set(SECTIONS) - {"cover", "checkpoint"})
    if unknown:
        raise BriefingError(f"unknown briefing section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)}")
    return tlp, sections


def render_briefing(case: Case, options: BriefingOptions, checkpoint: Checkpoint | None = None,
                    progress: Callable[[str], None] | None = None,
                    verification: VerifyReport | None = None) -> tuple[bytes, int]:
    """Render the briefing of the case as it is now; write nothing.

    A pure function of the case state, the options and the checkpoint, so a window can call it
    for a preview and two calls give the same bytes.

    Args:
        case: the case to brief.
        options: what to include.
        checkpoint: the checkpoint to print; by default one is signed over the current head.
        progress: called with the name of each section as it is built.
        verification: the verification made for this briefing (None: a preview, said so).

    Returns:
        The PDF bytes and the number of pages.
    """
    tlp, sections = _resolve(case, options)
    found = campaigns.group(case.db.conn) if "campaigns" in sections else []
    if not found:
        sections = sections - {"campaigns"}  # the section is there only when there are campaigns
    st = _styles()
    entries = case.custody()
    last = entries[-1] if entries else None
    cp = checkpoint or make_checkpoint(case, legacy=True)
    try:
        decision: TlpDecision | None = tlp_rule(case, options)
    except MarkingRefused:
        decision = None  # a preview on the examiner's own screen; saving it is refused (write_briefing)
    ctx = _Ctx(case, options, tlp, Redactor(options.redact), st, cp, sections, verification, decision,
               items={i.id: i for i in case.items()})
    ind_rows = indicators_with_matches(case, use_library=options.correlate)
    m = analysis.matrix(case)
    judgments = analysis.list_judgments(case)
    story: list[Flowable] = []

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    step("cover")
    story += _cover(ctx, last, len(ind_rows))
    if "bluf" in sections:
        step("bluf")
        story += _bluf(ctx, m, judgments)
    if "judgments" in sections:
        step("judgments")
        story += _judgments(ctx, judgments)
    if "ach" in sections:
        step("ach")
        story += [CondPageBreak(80 * mm), *_ach(ctx, m)]
    if "indicators" in sections:
        step("indicators")
        story += [PageBreak(), *_indicators(ctx, ind_rows)]
    if "campaigns" in sections:
        step("campaigns")
        story += [PageBreak(), *_campaigns(ctx, found, campaigns.tags_of(case.db.conn))]
    if "exhibits" in sections:
        step("exhibits")
        story += [PageBreak(), *_exhibits(ctx, ind_rows)]
    if "timeline" in sections:
        step("timeline")
        story += [PageBreak(), *_timeline(ctx)]
    if "notes" in sections:
        step("notes")
        story += [CondPageBreak(60 * mm), *_notes(ctx)]
    if "appendix" in sections:
        step("appendix")
        by_item: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
        for e in entries:
            by_item[e["item_id"]].append(e)
        story += _appendix(ctx, by_item)
        story += _intel_references(ctx)
    step("checkpoint")
    prior = int(case.db.conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0])
    story += _checkpoint_section(ctx, custody.verify_chain(case.db.conn), prior)
    story += _software_section(ctx)
    buf = io.BytesIO()
    title = plain(case.meta.get("title", case.title), ctx.redact)
    banner = None if verification is None or verification.ok else verification.statement()
    doc = _Doc(buf, tlp=tlp, running_title=f"{title}  |  case {case.meta.get('case_id', '')}", banner=banner,
               title=title, author=plain(case.meta.get("examiner", ""), ctx.redact),
               subject=f"Attribution briefing, TLP:{tlp.upper()}", creator=TOOL_LINE,
               producer=TOOL_LINE, keywords=f"TLP:{tlp.upper()}")
    step("layout")
    doc.build(story, canvasmaker=_Canvas)
    data = buf.getvalue()
    return data, int(doc.page)


class MarkingRefused(BriefingError):  # noqa: N818 - an outcome, like VerificationFailed
    """The chosen TLP is below what the briefing would print (issue 11)."""


@dataclass(frozen=True)
class TlpDecision:
    """The TLP rule applied to one briefing: recorded in the export's custody entry.

    Attributes:
        marking: the TLP printed on every page.
        case_tlp: the case's own marking.
        redacted: what is tagged above the marking and is redacted, one line each.
    """

    marking: str
    case_tlp: str
    redacted: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """For the custody entry."""
        return {"marking": self.marking, "case_tlp": self.case_tlp,
                "redacted_above_marking": list(self.redacted)}


def tlp_rule(case: Case, options: BriefingOptions) -> TlpDecision:
    """A briefing's TLP is at least the highest TLP of anything it prints (issue 11).

    Every indicator and item tagged with a TLP above the chosen marking must be redacted (an
    indicator by its value; an item by its name and its SHA-256), else the briefing is refused,
    naming them. What was redacted for the marking is listed and recorded.

    Raises:
        MarkingRefused: something tagged above the marking would be printed.
    """
    tlp, _sections = _resolve(case, options)
    rank = {level: i for i, level in enumerate(TLP_LEVELS)}
    redactor = Redactor(options.redact)
    conn = case.db.conn
    refused: list[str] = []
    redacted: list[str] = []
    for target, target_id, tag in conn.execute(
            "SELECT target, target_id, tag FROM tags WHERE tag LIKE 'tlp:%' ORDER BY target, target_id, tag"):
        level = str(tag)[4:]
        if rank.get(level, len(rank)) <= rank[tlp]:
            continue
        if target == "indicator":
            row = conn.execute("SELECT type, value FROM indicators WHERE id = ?", (target_id,)).fetchone()
            what, hidden = (f"indicator {row[1]} ({row[0]})", redactor.hides(row[1])) if row else ("", True)
        else:
            item = case.item(int(target_id))
            what = f"item {target_id} ({item.name})" if item else ""
            hidden = item is None or (redactor.hides(item.name) and redactor.hides(item.sha256))
        if not what:
            continue
        (redacted if hidden else refused).append(f"{what} is tagged {tag}")
    if refused:
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        raise MarkingRefused(f"TLP:{tlp.upper()} is below what the briefing would print: "
                             f"{'; '.join(refused[:3])}{more}; choose a higher --tlp or redact them "
                             "(--redact VALUE; an item by its name and SHA-256)")
    return TlpDecision(tlp, str(case.meta.get("tlp", "amber")), tuple(redacted))


def minimum_tlp(case: Case) -> str:
    """The lowest marking a briefing of the case can carry without redactions (the dialog's default)."""
    levels = [str(case.meta.get("tlp", "amber"))]
    rows = case.db.conn.execute("SELECT DISTINCT tag FROM tags WHERE tag LIKE 'tlp:%'")
    levels += [str(t)[4:] for (t,) in rows]
    known = [lv for lv in levels if lv in TLP_LEVELS]
    return max(known, key=TLP_LEVELS.index) if known else "amber"


def _signature(case: Case, data: bytes, receipt: Checkpoint) -> bytes:
    """Seal the rendered PDF: embed the receipt and the PAdES signature of the examiner's document key."""
    return sign_pdf(data, receipt, keys.document_key(case.examiner))


def write_briefing(case: Case, path: Path, options: BriefingOptions | None = None) -> BriefingResult:
    """Render the briefing, write it atomically, and record the checkpoint and export in custody.

    The PDF shows the case as it was before this export (see the module docstring), so exports
    of identical case states are byte-identical.

    Raises:
        BriefingError: bad options, or the file cannot be written.
        ReadOnlyCaseError: the case is open read-only (an export must be recorded).
    """
    options = options or BriefingOptions()
    if case.read_only:
        from desktop.core.errors import ReadOnlyCaseError

        raise ReadOnlyCaseError(f"a briefing is recorded in custody, and the case is read-only: "
                                f"{case.read_only_reason}")
    decision = tlp_rule(case, options)
    if options.correlate:
        references.ensure_snapshot(case)
    report = require_intact(case, "briefing", despite=options.despite_discrepancies)
    # Printed inside: the deterministic checkpoint over the state shown (case, seq, head).
    cp = make_checkpoint(case, legacy=True)
    data, pages = render_briefing(case, options, cp, verification=report)
    receipt = receipts.sign(case, cp.custody_seq, cp.head, export="briefing",
                            content_sha256=hashlib.sha256(data).hexdigest())
    data = _signature(case, data, receipt)
    digest = write_atomic(path, data)
    tlp, sections = _resolve(case, options)
    with case.transaction() as conn:
        stored = receipts.issue(conn, case, receipt)
        entry = custody.append(
            conn, action="exported", examiner=case.examiner, source=str(path), sha256=digest,
            result=f"PDF briefing written: {pages} pages, {len(data)} bytes",
            detail={"format": "pdf briefing", "pages": pages, "size": len(data), "tlp": tlp,
                    "sections": sorted(sections), "redacted_values": len(Redactor(options.redact).terms),
                    "checkpoint_id": stored.id, "shows_custody_up_to": cp.custody_seq,
                    "verified_intact": report.ok, "verification_entry": report.recorded_seq,
                    "despite_discrepancies": not report.ok, "content_sha256": receipt.content_sha256,
                    "tlp_rule": decision.to_json()})
    receipts.publish(stored, path, options.receipt_file)
    return BriefingResult(path, digest, pages, len(data), stored, int(entry["seq"]), cp)
