# SPDX-License-Identifier: GPL-3.0-or-later
"""The PDF attribution briefing: from the key findings to each exhibit's hash, on paper.

A decision-maker reads page 1 — the key findings, each citing the exhibits and short hashes
that prove it, then the analyst's bottom line; a peer follows any claim to its exhibit in one
hop (every id is printed and is a link); opposing counsel finds how each item came into the
case, which tools read it, which clock each time is, and the signed checkpoint a third party
checks against the case.

This module assembles the document: options, the page furniture (TLP marking, a running header
that never cuts the case id, page numbers, the outline), the cover, the integrity appendix, and
writing and recording the file. The sections are in :mod:`reports.sections`, one module each,
and the layout rules (no broken word, no orphan heading) in :mod:`reports.layout`.

Reproducibility: the same case state yields the same bytes. reportlab runs with ``invariant=1``
(a document id from the content), the PDF's creation date is the time of the last custody entry
the briefing shows (the state its checkpoint signs; never the clock), every image is re-encoded
deterministically, and Ed25519 signatures are deterministic. The export's own custody entries
(the stored checkpoint and ``exported`` with the PDF's SHA-256) are written *after* the PDF, so
they are not in it; the next briefing shows them.

Safety: every string from the case goes through :mod:`reports.safe_text` (via the sections'
context, or :func:`reports.safe_text.plain` for outline entries and metadata); images are decoded
with Pillow from the vault with a format allow-list and a pixel limit and handed to reportlab as
in-memory objects, never as ``<img src>``. Nothing here touches the network. Every font is
embedded (the canvas starts in the bundled DejaVu Sans, so not even reportlab's default Helvetica
is referenced).

This module never imports Qt: the window renders a preview by calling :func:`render_briefing`.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import LayoutError

from desktop import __version__
from desktop.core import analysis, campaigns, custody, keys, receipts, references, timestamps
from desktop.core.case import TLP_LEVELS, Case
from desktop.core.checkpoint import Checkpoint, make_checkpoint
from desktop.core.correlate import Correlation, correlate
from desktop.core.dissemination import Recipient, declaration, distribution, settings
from desktop.core.errors import CasetrailError
from desktop.core.grading import analyst_grades
from desktop.core.indicators import defang
from desktop.core.intel import Library
from desktop.core.key_findings import KeyFinding, decisions, draft_findings, key_findings
from desktop.core.markings import printable_correlations
from desktop.core.pdf_receipt import sign_pdf
from desktop.core.redaction import ROLES, role_values
from desktop.core.statements import list_statements
from desktop.core.tags import all_tags
from desktop.core.verify import VerifyReport, require_intact
from reports import bounds, tagging
from reports.atomic_write import write_atomic
from reports.layout import kept
from reports.safe_text import SANS, SANS_BOLD, Redactor, Run, plain, register_fonts
from reports.sections import appendix, assessment, dissemination, exhibits, findings, indicators, methodology
from reports.sections import campaigns as campaigns_mod
from reports.sections import timeline as timeline_mod
from reports.sections.context import (
    BODY_W,
    INK,
    MARGIN,
    MUTED,
    PAGE_H,
    PAGE_W,
    RULE,
    Ctx,
    plan_exhibits,
    short_time,
    styles,
)
from reports.sections.sources import Sources, load_sources

SECTIONS = (
    "findings",
    "bluf",
    "judgments",
    "ach",
    "statements",
    "indicators",
    "campaigns",
    "exhibits",
    "timeline",
    "notes",
    "methodology",
    "declaration",
    "appendix",
)
SECTION_TITLES = {
    "findings": findings.TITLE,
    "bluf": assessment.TITLES["bluf"],
    "judgments": assessment.TITLES["judgments"],
    "ach": assessment.TITLES["ach"],
    "statements": assessment.TITLES["statements"],
    "indicators": indicators.TITLE,
    "campaigns": campaigns_mod.TITLE,
    "exhibits": exhibits.TITLE,
    "timeline": timeline_mod.TITLE,
    "notes": "Analyst notes",
    "methodology": methodology.TITLE,
    "declaration": dissemination.DECLARATION,
    "appendix": appendix.TITLE,
    "checkpoint": "Appendix B: Custody chain head and signed checkpoint",
}
# FIRST TLP 2.0: the label's colour on a black background.
TLP_COLOURS = {
    "clear": "#FFFFFF",
    "green": "#33FF00",
    "amber": "#FFC000",
    "amber+strict": "#FFC000",
    "red": "#FF2B2B",
}
TLP_MEANING = {
    "clear": "Recipients can spread this to the world; there is no limit on disclosure.",
    "green": "Recipients can spread this within their community, but not via publicly accessible channels.",
    "amber": "Limited disclosure: recipients can only spread this on a need-to-know basis within "
    "their organisation and its clients.",
    "amber+strict": "Limited disclosure: recipients can only spread this on a need-to-know basis "
    "within their organisation only.",
    "red": "For the eyes and ears of individual recipients only; no further disclosure.",
}
TOOL_LINE = f"Casetrail {__version__} attribution briefing"


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
        redact_roles: roles whose personal data is blacked out (see
            :data:`desktop.core.redaction.ROLES`: ``recipients``, ``victims``).
        max_exhibits: image exhibits beyond this many are listed but not drawn.
        correlate: look indicators up in the workstation library (other cases, feeds, ASN);
            False limits matches to this case and the bundled warninglists.
        other_cases: name matches with other cases of this workstation (only those whose
            marking is no stricter than the briefing's); False leaves every other case out.
        despite_discrepancies: write the briefing of a case that fails verification; every page
            then carries a red banner and the cover lists the findings.
        receipt_file: also write the signed receipt of the export to this file.
    """

    tlp: str | None = None
    sections: set[str] | frozenset[str] | None = None
    redact: list[str] = field(default_factory=list)
    redact_roles: frozenset[str] = frozenset()
    max_exhibits: int = 200
    correlate: bool = True
    other_cases: bool = True
    despite_discrepancies: bool = False
    receipt_file: Path | None = None

    def redactor(self, conn: sqlite3.Connection) -> Redactor:
        """Everything this briefing blacks out: the values given and those of the roles given."""
        return Redactor([*self.redact, *role_values(conn, self.redact_roles)])


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
        return (
            f"wrote briefing {self.path} ({self.pages} pages, {self.size} bytes, "
            f"SHA-256 {self.sha256}); checkpoint over custody entry {self.checkpoint.custody_seq} "
            f"signed with key {self.checkpoint.key_id}; export recorded as custody entry "
            f"{self.custody_seq}"
        )


# -- the page furniture ----------------------------------------------------------------------


def _epoch(at: str) -> float:
    """A custody time (ISO 8601 UTC) as seconds since 1970, for the PDF's dates."""
    dt = timestamps.parse(at)  # the one reading of a time (desktop.core.timestamps)
    if dt is None:
        return 946684800.0  # reportlab's invariant date, for a case with no readable time
    return float(calendar.timegm(dt.utctimetuple()))


class _Canvas(Canvas):
    """A canvas in an embedded font from the start, dated by the case state, with a page total.

    The total is known only at the end, so it is printed through a form XObject.
    """

    created: float = 946684800.0

    def __init__(self, *args: Any, **kw: Any) -> None:
        kw.setdefault("initialFontName", SANS)
        kw.setdefault("lang", "en")
        super().__init__(*args, **kw)
        stamp = TimeStamp(invariant=True)
        stamp.t = self.created
        stamp.lt = time.gmtime(self.created)
        stamp.YMDhms = tuple(stamp.lt)[:6]
        self._doc._timeStamp = stamp  # type: ignore[attr-defined]  # not in the stubs
        self.showOutline()
        self.tagger = tagging.Tagger()  # the structure, recorded while drawing (reports.tagging)

    def showPage(self) -> None:
        self.tagger.end_page()
        super().showPage()

    def _annotatePage(self, name: str) -> None:
        """A link on the page: it belongs to the structure element drawing it."""
        self.tagger.annotation(len(self._annotationrefs))  # type: ignore[attr-defined]
        super()._annotatePage(name)  # type: ignore[misc]

    def save(self) -> None:
        total = self.getPageNumber() - 1
        self.beginForm("casetrail-page-total")
        self.addLiteral("/Artifact <</Type /Pagination>> BDC")  # part of the page number: furniture
        self.setFont(SANS, 7.5)
        self.setFillColor(INK)
        self.drawString(0, 0, str(total))
        self.addLiteral("EMC")
        self.endForm()
        super().save()


def _canvas_for(created: float) -> type[_Canvas]:
    return type("_DatedCanvas", (_Canvas,), {"created": created})


class _Doc(BaseDocTemplate):
    """Draws the TLP marking and page numbers, and turns headings into PDF bookmarks."""

    def __init__(
        self,
        out: io.BytesIO,
        *,
        tlp: str,
        running_title: str,
        case_id: str,
        banner: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(
            out,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + (16 if banner else 6) * mm,
            bottomMargin=MARGIN + 4 * mm,
            invariant=1,
            **kw,
        )
        self.tlp = tlp
        self.banner = banner
        self.running_title = running_title
        self.case_id = case_id
        frame = Frame(
            self.leftMargin,
            self.bottomMargin,
            self.width,
            self.height,
            id="body",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._furniture)])

    def _tlp_badge(self, canv: Canvas, x_right: float, y: float, size: float = 8) -> float:
        label = f"TLP:{self.tlp.upper()}"
        width = canv.stringWidth(label, SANS_BOLD, size) + 8
        canv.setFillColor(colors.black)
        canv.rect(x_right - width, y - 2.5, width, size + 5, stroke=0, fill=1)
        canv.setFillColor(colors.HexColor(TLP_COLOURS[self.tlp]))
        canv.setFont(SANS_BOLD, size)
        canv.drawString(x_right - width + 4, y + 0.5, label)
        return width

    def _furniture(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        tagger = tagging.tagger_of(canv)
        if tagger is None:
            self._draw_furniture(canv)
            return
        with tagger.artifact(canv, "Pagination"):  # running header, footer, marking: not content
            self._draw_furniture(canv)

    def _draw_furniture(self, canv: Canvas) -> None:
        canv.saveState()
        top = PAGE_H - MARGIN + 2 * mm
        badge = self._tlp_badge(canv, PAGE_W - MARGIN, top)
        canv.setFont(SANS, 7.5)
        canv.setFillColor(colors.HexColor(MUTED))
        # The case id is printed whole, right-aligned before the badge; the title gets what is left.
        case = f"case {self.case_id}"
        case_x = PAGE_W - MARGIN - badge - 4 * mm
        canv.drawRightString(case_x, top + 0.5, case)
        room = case_x - canv.stringWidth(case, SANS, 7.5) - 6 * mm - MARGIN
        canv.drawString(MARGIN, top + 0.5, _fit(self.running_title, room, canv))
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


def _fit(text: str, width: float, canv: Canvas) -> str:
    """The text, cut at a word and ended with an ellipsis when wider than ``width``."""
    if canv.stringWidth(text, SANS, 7.5) <= width:
        return text
    words = text.split(" ")
    while words and canv.stringWidth(" ".join(words) + " \u2026", SANS, 7.5) > width:
        words.pop()
    return (" ".join(words) + " \u2026") if words else "\u2026"


def _kv(ctx: Ctx, pairs: list[tuple[str, object, bool]], key_w: float = 34 * mm) -> Table:
    return ctx.kv(pairs, key_w)


# -- the cover and the document control page ------------------------------------------------


def _cover(
    ctx: Ctx,
    last: dict[str, Any] | None,
    found: list[KeyFinding],
    m: analysis.Matrix,
    judgments: list[analysis.Judgment],
    verification: VerifyReport | None = None,
    decision: TlpDecision | None = None,
) -> list[Flowable]:
    """Page 1: marking, title, what verification found if it failed, the key findings, the bottom line."""
    meta = ctx.case.meta
    tlp = ctx.tlp
    badge = Table(
        [
            [
                Paragraph(
                    f"TLP:{tlp.upper()}",
                    ParagraphStyle(
                        "badge",
                        fontName=SANS_BOLD,
                        fontSize=14,
                        leading=17,
                        textColor=colors.HexColor(TLP_COLOURS[tlp]),
                        alignment=TA_CENTER,
                    ),
                )
            ]
        ],
        colWidths=[48 * mm],
        hAlign="LEFT",
        renderCB=tagging.layout_events,
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("BACKGROUND", (0, 0), (-1, -1), colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        ),
    )
    as_of = str(last["at"]) if last else str(meta.get("created_at", ""))
    line = [
        Run("Case ", bold=True),
        Run(meta.get("case_id", ""), mono=True),
        Run("   Examiner ", bold=True),
        Run(meta.get("examiner", "")),
        Run("   State of the case ", bold=True),
        Run(f"{short_time(as_of)} UTC, custody entry {last['seq'] if last else 0}"),
    ]
    out: list[Flowable] = [
        badge,
        Spacer(1, 5 * mm),
        ctx.p("ATTRIBUTION BRIEFING", "kicker"),
        ctx.p(meta.get("title", ctx.case.title), "title"),
        ctx.p(line, "small"),
        Spacer(1, 5 * mm),
    ]
    out += _failure_findings(ctx, verification)
    out += _marking_note(ctx, decision)
    if "findings" in ctx.sections:
        out += findings.key_findings(ctx, found)
    if "bluf" in ctx.sections:
        out += assessment.bluf(ctx, m, judgments)
    return out


def _about(
    ctx: Ctx,
    last: dict[str, Any] | None,
    n_indicators: int,
    contents: list[str],
    values: dict[str, str],
    recipients: list[Recipient],
) -> list[Flowable]:
    """Page 2: the case and its integrity in one table, handling and distribution, contents."""
    meta = ctx.case.meta
    cp = ctx_checkpoint(ctx)
    as_of = str(last["at"]) if last else str(meta.get("created_at", ""))
    out: list[Flowable] = [
        ctx.kv(
            [
                ("Case", meta.get("case_id", ""), True),
                ("Examiner", meta.get("examiner", ""), False),
                (
                    "Date",
                    f"{as_of[:10]}: the state of the case at {as_of} (this workstation's clock), custody "
                    "entry "
                    f"{last['seq'] if last else 0}",
                    False,
                ),
                ("Case opened", meta.get("created_at", ""), False),
                (
                    "Evidence",
                    f"{len(ctx.items)} items, {n_indicators} indicators, {len(ctx.plan.exhibits)} exhibits",
                    False,
                ),
                ("Custody head", cp.head, True),
                ("Signed by key", f"{cp.fingerprint} (Ed25519, {cp.examiner})", True),
                (
                    "PDF signature",
                    "PAdES, RSA-3072: the examiner's document-signing certificate, which the key above "
                    "vouches for (Appendix B, How to check)",
                    False,
                ),
            ]
        )
    ]
    out += dissemination.handling_section(ctx, TLP_MEANING[ctx.tlp], values, recipients)
    rows = [
        ctx.p([Run(f"{i}.  "), Run(name, link=anchor)], "small")
        for i, (name, anchor) in enumerate(zip(contents[::2], contents[1::2], strict=True), 1)
    ]
    out += kept([ctx.p("Contents", "h3")], rows)
    out.append(
        ctx.p(
            "Every claim cites the exhibit that shows it with the start of its SHA-256 (a link); every "
            "indicator, hypothesis, evidence row and judgment has an id the text refers to; Appendix A "
            "lists every item with its hashes, provenance and custody entries; Appendix B prints the "
            "signed checkpoint of the custody chain this briefing shows.",
            "small",
        )
    )
    return [CondPageBreak(110 * mm), *kept([ctx.heading("About this briefing", 0, anchor="about")], out)]


def ctx_checkpoint(ctx: Ctx) -> Checkpoint:
    """The checkpoint this briefing prints (set before any section is laid out)."""
    if ctx.checkpoint is None:
        raise BriefingError("internal: the briefing has no checkpoint to print")
    return ctx.checkpoint


def _notes(ctx: Ctx) -> list[Flowable]:
    notes = analysis.list_notes(ctx.case)
    if not notes:
        return []
    rows = []
    for n in notes:
        on: list[Run] = [Run("case")]
        if n.item_id:
            on = ctx.item_cite(n.item_id)
        elif n.indicator_id:
            on = [Run(f"[I{n.indicator_id}]", link=ctx.indicator_link(n.indicator_id))]
        rows.append(
            [
                ctx.p([Run(f"N{n.id}", bold=True, anchor=f"note-{n.id}")], "cellb"),
                ctx.p(on, "cell"),
                ctx.linked(n.text, "cell"),
                ctx.p(f"{n.author}\n{short_time(n.created_at)}", "cell"),
            ]
        )
    return kept(
        [ctx.heading(SECTION_TITLES["notes"], 0, anchor="notes")],
        ctx.table(("Note", "On", "Text", "By"), rows, fixed={0: 11 * mm}, split_rows=True),
    )


def _integrity_statement(ctx: Ctx, chain: custody.ChainReport, report: VerifyReport | None) -> list[Flowable]:
    """What verification found when this briefing was made: exactly ``VerifyReport.statement``."""
    if report is None:
        text = (
            "PREVIEW, NOT VERIFIED: the case is verified in full when the briefing is saved, and the "
            "saved briefing prints the result here."
        )
        if not chain.ok:
            text += f" The custody chain is broken now: {chain.reason}."
        return [ctx.p(text, "h2")]
    where = f" Recorded in the case as custody entry {report.recorded_seq}." if report.recorded_seq else ""
    out: list[Flowable] = [
        ctx.p("Integrity statement", "h3"),
        ctx.p(report.statement() + where, "body" if report.ok else "h2"),
    ]
    if not report.ok:
        out.append(
            ctx.p(
                "Treat every claim of this briefing as unproven until the findings listed on "
                "the cover are explained.",
                "body",
            )
        )
    return out


def _marking_note(ctx: Ctx, d: TlpDecision | None) -> list[Flowable]:
    """The cover's account of the TLP rule: a marking below the case's, and what it redacted."""
    if d is None:
        return []
    rank = {level: i for i, level in enumerate(TLP_LEVELS)}
    out: list[Flowable] = []
    if rank.get(d.case_tlp, 0) > rank[d.marking]:
        out.append(
            ctx.p(
                f"Marked TLP:{d.marking.upper()}, below the case's TLP:{d.case_tlp.upper()}, by the "
                "examiner's choice (recorded in custody with this export).",
                "small",
            )
        )
    if d.redacted:
        out.append(
            ctx.p(
                f"Redacted so that nothing above TLP:{d.marking.upper()} is printed: "
                + "; ".join(d.redacted)
                + ".",
                "small",
            )
        )
    if ctx.redact:
        out.append(
            ctx.p(
                "Redacted values are blacked out in the text and on the pictures, where every line the "
                "OCR engine read that holds one is covered. Text on a picture that the engine did not "
                "read cannot be found that way: look at every exhibit before this briefing leaves "
                "the examiner's hands.",
                "small",
            )
        )
    return [*out, Spacer(1, 4 * mm)] if out else []


def _failure_findings(ctx: Ctx, report: VerifyReport | None) -> list[Flowable]:
    """The cover's list of verification findings (a briefing made with --despite-discrepancies)."""
    if report is None or report.ok:
        return []
    found = report.findings()
    rows = [[ctx.p("THIS CASE FAILED VERIFICATION", "center_on_dark")]]
    rows += [[ctx.p(f"{i}. {f}", "cell")] for i, f in enumerate(found[:30], 1)]
    if len(found) > 30:
        rows.append([ctx.p(f"and {len(found) - 30} more; `casetrail verify` lists them all", "cell")])
    box = Table(
        rows,
        colWidths=[BODY_W],
        hAlign="LEFT",
        renderCB=tagging.layout_events,
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("BACKGROUND", (0, 0), (-1, 0), FAILED_RED),
                ("BOX", (0, 0), (-1, -1), 1.2, FAILED_RED),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )
    return [box, Spacer(1, 6 * mm)]


def _intel_references(ctx: Ctx, printable: dict[int, Correlation]) -> list[Flowable]:
    """Appendix: every intelligence match with its relationship path, and every reference item.

    The matches are the case's snapshot (``desktop.core.references``): the feeds they come from
    are items of the case, with their SHA-256, so the claims hold on any workstation. A match with
    another case is printed only if the correlations this briefing may print (``printable``,
    after the marking rule of ``desktop.core.markings``) still hold it: another case's title
    is that case's information, under its own TLP.
    """
    conn = ctx.case.db.conn
    refs = references.references_of(conn)
    matches, asn = references.snapshot(conn)
    allowed = {
        (ind, m.name) for ind, c in printable.items() for m in c.matches if m.kind == "other-case"
    }
    matches = [m for m in matches if m.kind != "other-case" or (m.indicator_id, m.name) in allowed]
    if not refs and not matches:
        return []
    out: list[Flowable] = [
        ctx.p(
            "The feeds and ip2asn tables behind every match are reference items of this case, acquired with "
            "their "
            "SHA-256 when the snapshot was taken; matches and providers are printed from that snapshot, not "
            "from "
            "the workstation library.",
            "small",
        )
    ]
    rows = [
        [
            ctx.p([*ctx.item_cite(int(r["item_id"]))], "cell"),
            ctx.p(f"{r['name']} ({r['format']}, {r['feed_name']})", "cell"),
            ctx.p(r["sha256"], "mono"),
            ctx.p(short_time(r["imported_into_library_at"]), "cell"),
        ]
        for r in refs
    ]
    out += ctx.table(
        ("Item", "Reference (file, format)", "SHA-256", "In library since"), rows
    )
    rows = []
    for m in matches:
        t, v = ctx.values.get(m.indicator_id, ("", ""))
        ref = ctx.item_cite(m.reference_item_id) if m.reference_item_id else [Run("workstation case index")]
        rows.append(
            [
                ctx.p(
                    [
                        Run(f"I{m.indicator_id} ", link=ctx.indicator_link(m.indicator_id)),
                        Run(defang(v, t), mono=True),
                    ],
                    "cell",
                ),
                ctx.p(f"{bounds.bound_text(str(m.name), bounds.NAME_CHARS)} ({m.kind})", "cell"),
                ctx.p(m.detail, "cell"),
                ctx.p(ref, "cell"),
            ]
        )
    for ind_id, (number, name, country, ref_id, _sha) in sorted(asn.items()):
        t, v = ctx.values.get(ind_id, ("", ""))
        rows.append(
            [
                ctx.p(
                    [Run(f"I{ind_id} ", link=ctx.indicator_link(ind_id)), Run(defang(v, t), mono=True)],
                    "cell",
                ),
                ctx.p(f"AS{number} {bounds.bound_text(str(name), bounds.NAME_CHARS)} {country}", "cell"),
                ctx.p("ip2asn range containing the address", "cell"),
                ctx.p(ctx.item_cite(ref_id), "cell"),
            ]
        )
    if rows:
        out += kept(
            [ctx.p("Each match and the reference item it comes from", "h3")],
            ctx.table(("Indicator", "Match", "Relationship path", "Reference"), rows, split_rows=True),
        )
    return [
        CondPageBreak(60 * mm),
        *kept([ctx.heading("Intelligence references and matches", 1, anchor="intel-references")], out),
    ]


def _checkpoint_section(
    ctx: Ctx, chain: custody.ChainReport, prior: int, report: VerifyReport | None = None
) -> list[Flowable]:
    cp = ctx_checkpoint(ctx)
    out: list[Flowable] = [PageBreak(), ctx.heading(SECTION_TITLES["checkpoint"], 0, anchor="checkpoint")]
    out += _integrity_statement(ctx, chain, report)
    out.append(
        _kv(
            ctx,
            [
                ("Case id", cp.case_id, True),
                ("Custody seq", str(cp.custody_seq), True),
                ("Head hash", cp.head, True),
                ("Signed by", cp.examiner, False),
                ("Algorithm", "Ed25519 (RFC 8032), deterministic", False),
                ("Key id", f"{cp.key_id}  (first 16 hex of SHA-256 of the raw public key)", True),
                (
                    "Fingerprint",
                    f"{cp.fingerprint}  (SHA-256 of the raw public key; `casetrail keys list`)",
                    True,
                ),
                ("Public key (base64)", cp.public_key, True),
                ("Public key (hex)", cp.public_key_hex, True),
                ("Signature (base64)", cp.signature, True),
                ("Earlier checkpoints", f"{prior} stored in the case before this briefing", False),
            ],
            38 * mm,
        )
    )
    out.append(ctx.p("What was signed", "h3"))
    out.append(
        ctx.p(
            "The UTF-8 bytes of these four lines, joined by line feeds, without a final line feed:", "small"
        )
    )
    out.append(ctx.p("\n".join(cp.message().decode().split("\n")), "mono"))
    out.append(Spacer(1, 2 * mm))
    out.append(ctx.p("How to check", "h3"))
    out.append(
        ctx.p(
            "In the case (or a package of it): `casetrail verify CASE` recomputes the chain and the vault "
            "hashes. The custody entry at the sequence number above must still have the head hash above; "
            "if it does not, or the entry is gone, the history was rewritten or cut short after this "
            "briefing was made. The signature can be checked with any Ed25519 implementation against the "
            "public key above; the key id should be the one the examiner published. The export of this "
            "briefing is recorded after this entry, with the PDF's SHA-256. The PDF itself is signed "
            "(PAdES, RSA-3072 with SHA-256, by the examiner's document-signing certificate): any PDF tool "
            "that checks signatures (Adobe Acrobat or Reader, pdfsig, openssl cms, pyHanko) shows "
            "whether a byte was changed. The signed receipt it carries binds the SHA-256 of this content "
            "to the chain head and names that certificate, which the key above vouches for; `casetrail "
            "verify CASE --against THIS.pdf` checks all of it against the case. "
            "docs/verification.md specifies every format byte for byte.",
            "small",
        )
    )
    return out


def _software_section(ctx: Ctx) -> list[Flowable]:
    """The tool statement: exactly which software typed, decoded and read the evidence (i18).

    The block is :func:`desktop.about.build_info`, the same one ``casetrail --version`` prints; it
    ends every briefing, whatever its sections.
    """
    rows = [
        [ctx.p(label, "cellb"), ctx.p(value, "mono" if label in ("Built from", "OCR models") else "cell")]
        for label, value in methodology.software_rows()
    ]
    return kept(
        [
            Spacer(1, 6 * mm),
            ctx.p("Software that produced this briefing", "h3"),
            ctx.p(
                "File types were identified by libmagic, video was decoded by FFmpeg and text in "
                "frames and screenshots was read by the OCR engine and models below; the same "
                "versions reproduce the same findings. `casetrail --version` prints this block.",
                "small",
            ),
        ],
        ctx.table(None, rows, fixed={0: 38 * mm}, zebra=False),
    )


# -- rendering -------------------------------------------------------------------------------


def _resolve(case: Case, options: BriefingOptions) -> tuple[str, frozenset[str]]:
    tlp = (options.tlp or case.meta.get("tlp") or "amber").lower()
    if tlp not in TLP_LEVELS:
        raise BriefingError(f"unknown TLP level {tlp!r}; use one of {', '.join(TLP_LEVELS)}")
    sections = frozenset(SECTIONS if options.sections is None else options.sections)
    unknown = sorted(sections - set(SECTIONS) - {"cover", "checkpoint"})
    if unknown:
        raise BriefingError(f"unknown briefing section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)}")
    roles = sorted(set(options.redact_roles) - set(ROLES))
    if roles:
        raise BriefingError(f"unknown redaction role(s) {', '.join(roles)}; use {', '.join(ROLES)}")
    return tlp, sections


def _frame_meta(entries: list[dict[str, Any]]) -> dict[int, tuple[float | None, int | None]]:
    out: dict[int, tuple[float | None, int | None]] = {}
    for e in entries:
        detail = e.get("detail")
        if (
            e["action"] != "derived"
            or not isinstance(detail, dict)
            or detail.get("how") not in (None, "video frame")
        ):
            continue
        t, fi = detail.get("time_s"), detail.get("frame_index")
        if e["item_id"] is not None and (t is not None or fi is not None):
            out[int(e["item_id"])] = (
                float(t) if isinstance(t, int | float) else None,
                int(fi) if isinstance(fi, int) else None,
            )
    return out


def render_briefing(
    case: Case,
    options: BriefingOptions,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[str], None] | None = None,
    verification: VerifyReport | None = None,
) -> tuple[bytes, int]:
    """Render the briefing of the case as it is now; write nothing.

    A pure function of the case state, the workstation library, the options and the
    checkpoint, so a window can call it for a preview and two calls give the same bytes.

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
    conn = case.db.conn
    entries = case.custody()
    last = entries[-1] if entries else None
    cp = checkpoint or make_checkpoint(case, legacy=True)
    try:
        decision: TlpDecision | None = tlp_rule(case, options)
    except MarkingRefused:
        decision = None  # a preview on the examiner's own screen; saving it is refused (write_briefing)
    redact = options.redactor(conn)
    items = {i.id: i for i in case.items()}
    messages = {int(r[0]) for r in conn.execute("SELECT item_id FROM emails")}
    m = analysis.matrix(case)
    judgments = analysis.list_judgments(case)
    ctx = Ctx(
        case,
        tlp,
        redact,
        styles(),
        sections,
        items,
        plan_exhibits(case, items, messages),
        max_exhibits=options.max_exhibits,
        labels={"hypothesis": len(m.hypotheses), "evidence": len(m.evidence), "judgment": len(judgments)},
        notes={n.id for n in analysis.list_notes(case)} if "notes" in sections else set(),
        values={
            int(i): (str(t), str(v)) for i, t, v in conn.execute("SELECT id, type, value FROM indicators")
        },
        tags=all_tags(conn, "indicator"),
        item_tags=all_tags(conn, "item"),
        frames=_frame_meta(entries),
        media={int(i): _json(d) for i, d in conn.execute("SELECT item_id, detail FROM media")},
        subjects={int(i): str(s) for i, s in conn.execute("SELECT item_id, subject FROM emails") if s},
    )
    # Correlation reads the case's intelligence snapshot when it has one (issue 11), else the library;
    # the library is still asked where other cases are, to read their markings.
    corr = correlate(case, use_library=options.correlate)
    library = Library.open_existing() if options.correlate else None
    try:
        corr, hidden_cases = printable_correlations(corr, library, tlp, other_cases=options.other_cases)
        sources = load_sources(case, library, analyst_grades(case)) if options.correlate else Sources()
    finally:
        if library is not None:
            library.close()
    found = key_findings(draft_findings(case, corr), decisions(case))
    values = settings(case)
    ctx.checkpoint = cp
    story: list[Flowable] = []

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    if "indicators" in sections:
        occurring = {int(r[0]) for r in conn.execute("SELECT DISTINCT indicator_id FROM occurrences")}
        ctx.printed_indicators = {i for i in corr if i in occurring}
    body: dict[str, list[Flowable]] = {}
    builders: dict[str, Callable[[], list[Flowable]]] = {
        # An empty assessment section is left out; the bottom line on page 1 says there is none.
        "judgments": lambda: (
            [CondPageBreak(90 * mm), *assessment.judgments_section(ctx, judgments, m.evidence)]
            if judgments
            else []
        ),
        "ach": lambda: [CondPageBreak(80 * mm), *assessment.ach(ctx, m)] if m.hypotheses else [],
        "statements": lambda: _then(
            CondPageBreak(60 * mm), assessment.statements_section(ctx, list_statements(case))
        ),
        "indicators": lambda: [PageBreak(), *indicators.indicator_table(ctx, corr, sources)],
        "campaigns": lambda: _then(
            PageBreak(), campaigns_mod.campaigns_section(ctx, campaigns.group(conn), campaigns.tags_of(conn))
        ),
        "exhibits": lambda: [PageBreak(), *exhibits.exhibits_section(ctx)],
        "timeline": lambda: _then(PageBreak(), timeline_mod.timeline_section(ctx)),
        "notes": lambda: _then(CondPageBreak(60 * mm), _notes(ctx)),
        "methodology": lambda: [
            PageBreak(),
            *methodology.methodology_section(ctx, sources, found, hidden_cases, not options.other_cases),
        ],
        "declaration": lambda: [
            CondPageBreak(90 * mm),
            *dissemination.declaration_section(
                ctx, *declaration(case, values), values, str(last["at"]) if last else "", cp.key_id
            ),
        ],
        "appendix": lambda: [
            *appendix.appendix_section(ctx, _by_item(entries)),
            *_intel_references(ctx, corr),
        ],
    }
    step("cover")
    story += _cover(ctx, last, found, m, judgments, verification, decision)
    for name, build in builders.items():
        if name in sections:
            step(name)
            body[name] = build()
    contents: list[str] = []
    for name in SECTIONS:
        if body.get(name):
            contents += [SECTION_TITLES[name], name]
    contents += [SECTION_TITLES["checkpoint"], "checkpoint"]
    story += _about(ctx, last, len(corr), contents, values, distribution(case))
    for name in builders:
        story += body.get(name, [])
    step("checkpoint")
    prior = int(conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0])
    story += _checkpoint_section(ctx, custody.verify_chain(conn), prior, verification)
    story += _software_section(ctx)
    buf = io.BytesIO()
    banner = None if verification is None or verification.ok else verification.statement()
    title = plain(case.meta.get("title", case.title), ctx.redact)
    register_fonts()
    doc = _Doc(
        buf,
        tlp=tlp,
        running_title=title,
        case_id=str(case.meta.get("case_id", "")),
        banner=banner,
        title=title,
        author=plain(case.meta.get("examiner", ""), ctx.redact),
        subject=f"Attribution briefing, TLP:{tlp.upper()}",
        creator=TOOL_LINE,
        producer=TOOL_LINE,
        keywords=f"TLP:{tlp.upper()}",
        lang="en",
        initialFontName=SANS,
    )
    step("layout")
    _build(doc, story, _canvas_for(_epoch(str(last["at"])) if last else 946684800.0))
    step("tagging")
    # The structure tree is written before the receipt hashes the PDF and the signature seals it.
    tagger = tagging.tagger_of(doc.canv)
    if tagger is None:
        raise BriefingError("internal: the briefing was drawn without recording its structure")
    data = tagging.apply(buf.getvalue(), tagger)
    return data, int(doc.page)


def _build(doc: BaseDocTemplate, story: list[Flowable], canvasmaker: Any) -> None:
    """Lay the story out; a piece that fits no page is one sentence, not an internal error.

    Values are bounded where they enter (:mod:`reports.bounds`, called by ``Ctx.p``), so this is
    the last line of defence for a layout nobody foresaw (issue 16).
    """
    try:
        doc.build(story, canvasmaker=canvasmaker)
    except LayoutError as e:
        logging.getLogger(__name__).error("briefing layout failed", exc_info=True)
        raise BriefingError("the briefing cannot be laid out: one of its tables or pictures is larger "
                            "than a page (please report it with the log)") from e


def _then(first: Flowable, rest: list[Flowable]) -> list[Flowable]:
    """``first`` (a page break) followed by ``rest``, or nothing when the section is empty."""
    return [first, *rest] if rest else []


def _by_item(entries: list[dict[str, Any]]) -> dict[int | None, list[dict[str, Any]]]:
    by_item: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for e in entries:
        by_item[e["item_id"]].append(e)
    return by_item


def _json(value: object) -> dict[str, Any]:
    import json

    try:
        data = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


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
        return {
            "marking": self.marking,
            "case_tlp": self.case_tlp,
            "redacted_above_marking": list(self.redacted),
        }


def tlp_rule(case: Case, options: BriefingOptions) -> TlpDecision:
    """A briefing's TLP is at least the highest TLP of anything it prints (issue 11).

    Every indicator and item tagged with a TLP above the chosen marking must be redacted (an
    indicator by its value; an item by its name and its SHA-256), else the briefing is refused,
    naming them. What was redacted for the marking is listed and recorded. Values redacted by
    role (recipients, victims) count as redacted.

    Raises:
        MarkingRefused: something tagged above the marking would be printed.
    """
    tlp, _sections = _resolve(case, options)
    rank = {level: i for i, level in enumerate(TLP_LEVELS)}
    conn = case.db.conn
    redactor = options.redactor(conn)
    refused: list[str] = []
    redacted: list[str] = []
    for target, target_id, tag in conn.execute(
        "SELECT target, target_id, tag FROM tags WHERE tag LIKE 'tlp:%' ORDER BY target, target_id, tag"
    ):
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
        raise MarkingRefused(
            f"TLP:{tlp.upper()} is below what the briefing would print: "
            f"{'; '.join(refused[:3])}{more}; choose a higher --tlp or redact them "
            "(--redact VALUE; an item by its name and SHA-256)"
        )
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
    """Verify the case, render the briefing, sign it, write it atomically, record the export.

    The PDF shows the case as it was before this export (see the module docstring); its own
    custody entries (verification, receipt, export) come after it.

    Raises:
        BriefingError: bad options, or the file cannot be written.
        MarkingRefused: the marking is below what the briefing would print.
        VerificationFailed: the case fails verification (and ``despite_discrepancies`` is off).
        ReadOnlyCaseError: the case is open read-only (an export must be recorded).
    """
    options = options or BriefingOptions()
    if case.read_only:
        from desktop.core.errors import ReadOnlyCaseError

        raise ReadOnlyCaseError(
            f"a briefing is recorded in custody, and the case is read-only: {case.read_only_reason}"
        )
    decision = tlp_rule(case, options)
    if options.correlate:
        references.ensure_snapshot(case)
    report = require_intact(case, "briefing", despite=options.despite_discrepancies)
    # Printed inside: the deterministic checkpoint over the state shown (case, seq, head).
    cp = make_checkpoint(case, legacy=True)
    data, pages = render_briefing(case, options, cp, verification=report)
    receipt = receipts.sign(
        case, cp.custody_seq, cp.head, export="briefing", content_sha256=hashlib.sha256(data).hexdigest()
    )
    data = _signature(case, data, receipt)
    digest = write_atomic(path, data)
    tlp, sections = _resolve(case, options)
    with case.transaction() as conn:
        stored = receipts.issue(conn, case, receipt)
        entry = custody.append(
            conn,
            action="exported",
            examiner=case.examiner,
            source=str(path),
            sha256=digest,
            result=f"PDF briefing written: {pages} pages, {len(data)} bytes",
            detail={
                "format": "pdf briefing",
                "pages": pages,
                "size": len(data),
                "tlp": tlp,
                "sections": sorted(sections),
                "redacted_values": len(Redactor(options.redact).terms),
                "redacted_roles": sorted(options.redact_roles),
                "other_cases": options.other_cases,
                "checkpoint_id": stored.id,
                "shows_custody_up_to": cp.custody_seq,
                "verified_intact": report.ok,
                "verification_entry": report.recorded_seq,
                "despite_discrepancies": not report.ok,
                "content_sha256": receipt.content_sha256,
                "tlp_rule": decision.to_json(),
            },
        )
    receipts.publish(stored, path, options.receipt_file)
    return BriefingResult(path, digest, pages, len(data), stored, int(entry["seq"]), cp)
