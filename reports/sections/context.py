# SPDX-License-Identifier: GPL-3.0-or-later
"""What every section of the briefing shares: styles, the rendering context, links and tables.

The context is the one place case text becomes a paragraph (:meth:`Ctx.p`, through
:class:`reports.layout.WrapParagraph` and :mod:`reports.safe_text`), the one place a reference in
analyst text (``[item 6]``, ``[E2]``) becomes a link, and the one place tables get their column
widths (:func:`reports.layout.column_widths`), so no section can print a word broken or a value
unescaped. It also holds the exhibit plan: which item is which exhibit number, decided once
before any section is laid out, so that page 1 can cite exhibits that come later.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle

from desktop.core import timestamps
from desktop.core.case import Case, Item
from desktop.core.checkpoint import Checkpoint
from desktop.core.citations import Ref, split_refs
from reports import bounds
from reports.layout import WrapParagraph, column_widths
from reports.safe_text import MONO, SANS, SANS_BOLD, SANS_ITALIC, Redactor, Run, plain, register_fonts
from reports.tagging import table_events

INK = colors.HexColor("#1B2333")
ACCENT = colors.HexColor("#1F4E79")
MUTED = "#4A5568"
RULE = colors.HexColor("#B8BEC8")
HEAD_BG = colors.HexColor("#E8ECF2")
ZEBRA = colors.HexColor("#F6F7F9")
DRAFT_COLOUR = "#8A5A00"
PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
BODY_W = PAGE_W - 2 * MARGIN
# Rows per table: reportlab splits a table in time proportional to its rows, for every page it
# spans, so very long tables come in chunks (each chunk repeats the header where it starts).
TABLE_CHUNK = 200
SHORT_HASH = 8  # hex digits of a SHA-256 cited in running text (the full value is in Appendix A)


def styles() -> dict[str, ParagraphStyle]:
    """The briefing's paragraph styles."""
    register_fonts()
    base = ParagraphStyle("body", fontName=SANS, fontSize=9.5, leading=13, textColor=INK, spaceAfter=4)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, spaceAfter=0),
        "note": ParagraphStyle(
            "note",
            parent=base,
            fontName=SANS_ITALIC,
            fontSize=7.5,
            leading=9.5,
            textColor=colors.HexColor(MUTED),
            spaceAfter=0,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10, spaceAfter=0),
        "cellb": ParagraphStyle(
            "cellb", parent=base, fontName=SANS_BOLD, fontSize=8, leading=10, spaceAfter=0
        ),
        "head": ParagraphStyle(
            "head", parent=base, fontName=SANS_BOLD, fontSize=7.5, leading=9.5, spaceAfter=0, textColor=INK
        ),
        "headc": ParagraphStyle(
            "headc",
            parent=base,
            fontName=SANS_BOLD,
            fontSize=8,
            leading=10,
            spaceAfter=0,
            alignment=TA_CENTER,
        ),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7.5, leading=9.5, spaceAfter=0),
        "h1": ParagraphStyle(
            "h1",
            parent=base,
            fontName=SANS_BOLD,
            fontSize=16,
            leading=20,
            textColor=ACCENT,
            spaceBefore=4,
            spaceAfter=8,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=SANS_BOLD,
            fontSize=11.5,
            leading=15,
            textColor=INK,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "h3": ParagraphStyle(
            "h3",
            parent=base,
            fontName=SANS_BOLD,
            fontSize=9.5,
            leading=12,
            textColor=ACCENT,
            spaceBefore=6,
            spaceAfter=3,
        ),
        "title": ParagraphStyle(
            "title", parent=base, fontName=SANS_BOLD, fontSize=22, leading=27, textColor=INK, spaceAfter=6
        ),
        "kicker": ParagraphStyle(
            "kicker", parent=base, fontName=SANS_BOLD, fontSize=10, leading=13, textColor=ACCENT, spaceAfter=4
        ),
        "finding": ParagraphStyle("finding", parent=base, fontSize=9.5, leading=13, spaceAfter=0),
        "bluf": ParagraphStyle("bluf", parent=base, fontSize=10.5, leading=14.5, spaceAfter=5),
        "caption": ParagraphStyle(
            "caption", parent=base, fontSize=8, leading=10.5, textColor=colors.HexColor(MUTED), spaceAfter=8
        ),
        "center": ParagraphStyle(
            "center", parent=base, fontSize=8.5, leading=10.5, spaceAfter=0, alignment=TA_CENTER
        ),
        "center_on_dark": ParagraphStyle(
            "center_on_dark",
            parent=base,
            fontName=SANS_BOLD,
            fontSize=8.5,
            leading=10.5,
            spaceAfter=0,
            alignment=TA_CENTER,
            textColor=colors.white,
        ),
    }


# -- the exhibit plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrHit:
    """An OCR hit drawn on an exhibit image, with what the table beside it says."""

    indicator_id: int
    item_id: int
    where: str
    raw: str | None
    time_s: float | None
    bbox: tuple[float, float, float, float]
    confidence: float | None
    frame_index: int | None
    status: str = "uncertain"  # certain, uncertain or enhanced (issue 14); unchecked readings are uncertain
    reads: int | None = None  # how many reads of the value were made (frames, variants)
    agree: int | None = None  # how many of them agree
    alternatives: tuple[str, ...] = ()  # other values the reads gave (confusable variants)
    enhanced_item_id: int | None = None  # the enhanced image it was read on


@dataclass(frozen=True)
class Exhibit:
    """One numbered exhibit.

    Attributes:
        number: its number in this briefing (stable for a given case state).
        item: the item it shows.
        kind: ``frame`` (a kept video frame), ``image`` (a screenshot or picture) or ``message``.
        same_as: the number of an earlier exhibit with the same content (same SHA-256): this one
            only refers to it, so content is shown once.
    """

    number: int
    item: Item
    kind: str
    same_as: int | None = None

    @property
    def anchor(self) -> str:
        """The link destination of the exhibit's heading."""
        return f"ex-{self.number}"


@dataclass
class ExhibitPlan:
    """Every exhibit of the briefing, numbered before any section is laid out."""

    exhibits: list[Exhibit] = field(default_factory=list)
    by_item: dict[int, Exhibit] = field(default_factory=dict)
    hits: dict[int, list[OcrHit]] = field(default_factory=lambda: defaultdict(list))
    of_parent: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    same_as: dict[int, int] = field(default_factory=dict)

    def shown_by(self, item_id: int) -> Exhibit | None:
        """The exhibit that shows an item's content (the first one, for a duplicate)."""
        ex = self.by_item.get(item_id) or self.by_item.get(self.same_as.get(item_id, -1))
        if ex is not None and ex.same_as is not None:
            return self.exhibits[ex.same_as - 1]
        return ex


def plan_exhibits(case: Case, items: dict[int, Item], messages: set[int]) -> ExhibitPlan:
    """Number the exhibits before any section is laid out.

    Order: kept video frames with OCR hits (by video, then time), screenshots and pictures with
    OCR hits, then messages. A second item with the same SHA-256 as an earlier exhibit gets a
    number that refers to the first (content is shown once).
    """
    conn = case.db.conn
    plan = ExhibitPlan(same_as={i.id: i.same_as for i in items.values() if i.same_as is not None})
    conf: dict[tuple[int, float | None, int, int, int, int], tuple[float | None, int | None]] = {}
    for iid, t, fi, c, x, y, w, h in conn.execute(
        "SELECT item_id, time_s, frame_index, confidence, x, y, w, h FROM ocr_lines"
    ):
        conf[(int(iid), None if t is None else round(float(t), 3), int(x), int(y), int(w), int(h))] = (
            float(c),
            None if fi is None else int(fi),
        )
    for ind_id, item_id, where, raw, time_s, bbox, frame, status, detail, agree, reads, enh in conn.execute(
        "SELECT indicator_id, item_id, where_, raw, time_s, bbox, frame_item_id, status, ocr_detail, "
        "frames_agree, reads, enhanced_item_id "
        "FROM occurrences WHERE bbox IS NOT NULL ORDER BY item_id, COALESCE(time_s, 0), id"
    ):
        try:
            box = json.loads(bbox)
        except ValueError:
            continue
        if not (isinstance(box, list) and len(box) >= 4 and all(isinstance(b, int | float) for b in box[:4])):
            continue
        t = None if time_s is None else round(float(time_s), 3)
        key = (int(item_id), t, int(box[0]), int(box[1]), int(box[2]), int(box[3]))
        c, fi = conf.get(key, (None, None))
        ocr = _json_object(detail)
        reading = ocr.get("confidence")  # the reading's own confidence (issue 14)
        if isinstance(reading, int | float):
            c = float(reading)
        alts = ocr.get("alternatives")
        alternatives = tuple(str(a) for a in alts if isinstance(a, str)) if isinstance(alts, list) else ()
        hit = OcrHit(
            int(ind_id),
            int(item_id),
            str(where),
            raw,
            None if time_s is None else float(time_s),
            (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            c,
            fi,
            str(status or "uncertain"),
            None if reads is None else int(reads),
            None if agree is None else int(agree),
            alternatives,
            None if enh is None else int(enh),
        )
        # An OCR hit in a video belongs on the kept frame it was read from.
        plan.hits[int(frame) if frame is not None else int(item_id)].append(hit)
    frames = sorted(
        (i for i in items.values() if i.derived_how == "video frame" and i.id in plan.hits),
        key=lambda i: (i.parent_id or 0, _first_time(plan.hits[i.id]), i.id),
    )
    images = [
        i
        for i in items.values()
        if i.derived_how != "video frame" and i.kind == "image" and i.id in plan.hits
    ]
    first_of: dict[str, int] = {}

    def add(item: Item, kind: str) -> None:
        number = len(plan.exhibits) + 1
        ex = Exhibit(number, item, kind, first_of.get(item.sha256))
        first_of.setdefault(item.sha256, number)
        plan.exhibits.append(ex)
        plan.by_item[item.id] = ex
        if kind == "frame" and item.parent_id is not None:
            plan.of_parent[item.parent_id].append(number)

    for item in frames:
        add(item, "frame")
    for item in images:
        add(item, "image")
    for item in items.values():
        if item.id in messages:
            add(item, "message")
    return plan


def _first_time(hits: list[OcrHit]) -> float:
    return min((h.time_s for h in hits if h.time_s is not None), default=0.0)


# -- the context -----------------------------------------------------------------------------


@dataclass
class Ctx:
    """Everything a section needs to lay out its part of the case.

    Attributes:
        case: the case.
        tlp: the marking of this briefing.
        redact: values blacked out everywhere.
        st: the paragraph styles.
        sections: the sections included (links only point at what is printed).
        items: every item by id.
        plan: the exhibits.
        max_exhibits: image exhibits beyond this many are listed, not drawn.
        labels: position labels of the assessment, for references: ``hypothesis``,
            ``evidence``, ``judgment`` → number of rows.
        notes: ids of the notes printed.
        values: indicator id → (type, value).
        tags: indicator id → its tags; item_tags: item id → its tags.
        frames: kept frame item id → (time in the video, frame index).
        media: item id → its stored media metadata.
        subjects: message item id → its subject.
        checkpoint: the signed checkpoint this briefing prints.
        printed_indicators: ids of the indicators the indicator table prints (link targets).
    """

    case: Case
    tlp: str
    redact: Redactor
    st: dict[str, ParagraphStyle]
    sections: frozenset[str]
    items: dict[int, Item]
    plan: ExhibitPlan
    max_exhibits: int = 200
    labels: dict[str, int] = field(default_factory=dict)
    notes: set[int] = field(default_factory=set)
    values: dict[int, tuple[str, str]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    item_tags: dict[int, list[str]] = field(default_factory=dict)
    frames: dict[int, tuple[float | None, int | None]] = field(default_factory=dict)
    media: dict[int, dict[str, Any]] = field(default_factory=dict)
    subjects: dict[int, str] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    printed_indicators: set[int] = field(default_factory=set)
    keys: int = 0

    # -- paragraphs ------------------------------------------------------------------------

    def p(self, text: object | Sequence[Run | str], style: str = "body") -> WrapParagraph:
        """Every piece of case text becomes a paragraph here: escaped, visible, never a broken word."""
        text = bounds.bounded(text, style)  # no value longer than its place can hold (issue 16)
        runs = (
            [r if isinstance(r, Run) else Run(r) for r in text]
            if isinstance(text, list | tuple)
            else [Run(text)]
        )
        return WrapParagraph(None, self.st[style], runs=runs, redact=self.redact)

    def heading(self, text: object, level: int, anchor: str | None = None) -> WrapParagraph:
        """A heading that is also an outline entry (level 0 = section) and, optionally, a link target."""
        para = self.p([Run(text, anchor=anchor)], ("h1", "h2", "h3")[min(level, 2)])
        self.keys += 1
        # The outline is not laid out: its entry has plain spaces where the heading keeps words together.
        title = plain(bounds.bounded(text, "h1"), self.redact).replace("\u00a0", " ")
        para._casetrail_outline = (title, level, f"k{self.keys}")  # type: ignore[attr-defined]
        return para

    def linked(
        self, text: str, style: str = "body", *, prefix: Sequence[Run] = (), suffix: Sequence[Run] = ()
    ) -> WrapParagraph:
        """Analyst or drafted text with its references turned into links (see :meth:`ref_runs`)."""
        runs: list[Run] = list(prefix)
        for piece in split_refs(text):
            runs.extend(self.ref_runs(piece) if isinstance(piece, Ref) else [Run(piece)])
        return self.p([*runs, *suffix], style)

    # -- references and citations ----------------------------------------------------------

    def item_cite(self, item_id: int, *, bracket: bool = True) -> list[Run]:
        """``[Exhibit 3 · 1f6d4923]`` for an item an exhibit shows, else ``[item 6 · 3abd2f1e]``."""
        item = self.items.get(int(item_id))
        if item is None:
            return [Run(f"[item {item_id}, not in this case]")]
        ex = self.plan.shown_by(item.id) if "exhibits" in self.sections else None
        short = item.sha256[:SHORT_HASH]
        link: str | None
        if ex is not None:
            label, link = f"Exhibit {ex.number}", ex.anchor
        else:
            label, link = f"item {item.id}", f"item-{item.id}" if "appendix" in self.sections else None
        # No-break spaces: a citation never splits between its number and its hash.
        out = [Run(label.replace(" ", "\u00a0"), link=link), Run("\u00a0\u00b7\u00a0"), Run(short, mono=True)]
        return [Run("["), *out, Run("]")] if bracket else out

    def indicator_link(self, indicator_id: int) -> str | None:
        """The link target of an indicator's row, when the indicator table prints it."""
        return f"ind-{indicator_id}" if indicator_id in self.printed_indicators else None

    def ref_runs(self, ref: Ref) -> list[Run]:
        """The printed form of a reference, a link when its target is in this briefing."""
        if ref.kind == "item":
            return self.item_cite(ref.number)
        if ref.kind == "indicator":
            return [Run(f"[I{ref.number}]", link=self.indicator_link(ref.number))]
        if ref.kind == "note":
            link = f"note-{ref.number}" if ref.number in self.notes else None
            return [Run(f"[N{ref.number}]", link=link)]
        prefix, section = {
            "hypothesis": ("H", "ach"),
            "evidence": ("E", "ach"),
            "judgment": ("KJ", "judgments"),
        }[ref.kind]
        ok = ref.number <= self.labels.get(ref.kind, 0) and section in self.sections
        return [Run(f"[{prefix}{ref.number}]", link=f"{prefix.lower()}-{ref.number}" if ok else None)]

    # -- tables ----------------------------------------------------------------------------

    def table(
        self,
        header: Sequence[str] | None,
        rows: list[list[Any]],
        *,
        fixed: dict[int, float] | None = None,
        widths: Sequence[float] | None = None,
        extra: Sequence[tuple[Any, ...]] = (),
        zebra: bool = True,
        total: float = BODY_W,
        split_rows: bool = False,
    ) -> list[Flowable]:
        """A table whose columns are at least as wide as their longest word.

        Long tables come in chunks of :data:`TABLE_CHUNK` rows, the header repeated on each.

        ``split_rows``: a row may be split across pages (for tables of free text, where one
        row can be taller than a page); otherwise a row that does not fit moves whole.
        """
        if not rows:
            return []
        head = [self.p(h, "head") for h in header] if header is not None else None
        all_rows = ([head] if head else []) + rows
        cols = list(widths) if widths is not None else column_widths(all_rows, total, fixed=fixed)
        out: list[Flowable] = []
        for i in range(0, len(rows), TABLE_CHUNK):
            chunk = rows[i : i + TABLE_CHUNK]
            out.append(
                grid(
                    [head, *chunk] if head else chunk,
                    cols,
                    header=head is not None,
                    extra=_shift(extra, i) if extra else (),
                    zebra=zebra,
                    split_rows=split_rows,
                )
            )
        return out

    def kv(
        self, pairs: Sequence[tuple[str, object, bool]], key_w: float = 34 * mm, total: float = BODY_W
    ) -> Table:
        """A two-column table of labels and values (``mono`` values in the monospaced face)."""
        rows = [
            [
                self.p(k, "cellb"),
                v if isinstance(v, Flowable) else self.p(v, "mono" if mono else "cell"),
            ]
            for k, v, mono in pairs
        ]
        return grid(rows, [key_w, total - key_w], header=False, zebra=False)


def _shift(extra: Sequence[tuple[Any, ...]], offset: int) -> list[tuple[Any, ...]]:
    """Style commands for rows ``offset…`` of a long table, renumbered for its chunk."""
    out = []
    for cmd in extra:
        (c0, r0), (c1, r1) = cmd[1], cmd[2]
        if r0 < 0 or r1 < 0 or offset == 0:  # relative to the end, or the first chunk: as given
            out.append(cmd)
            continue
        r0, r1 = r0 - offset, r1 - offset
        if r1 < 1 or r0 > TABLE_CHUNK:
            continue
        out.append((cmd[0], (c0, max(r0, 1)), (c1, min(r1, TABLE_CHUNK)), *cmd[3:]))
    return out


def grid(
    rows: list[list[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    extra: Sequence[tuple[Any, ...]] = (),
    zebra: bool = True,
    split_rows: bool = False,
) -> Table:
    """The house table style."""
    t = Table(
        rows,
        colWidths=list(widths),
        repeatRows=1 if header else 0,
        hAlign="LEFT",
        splitInRow=1 if split_rows else 0,
        renderCB=table_events,
    )
    cmds: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), SANS),  # a plain-string cell would otherwise reference Helvetica
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        cmds += [("BACKGROUND", (0, 0), (-1, 0), HEAD_BG), ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK)]
    if zebra:
        first = 1 if header else 0
        cmds += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(first + 1, len(rows), 2)]
    t.setStyle(TableStyle(cmds + list(extra)))
    return t


# -- values as people read them --------------------------------------------------------------


def size_text(n: int) -> str:
    """``1.2 MiB (1,234,567 bytes)``."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit} ({n:,} bytes)"
    return f"{n} B"


NBSP = "\u00a0"
_NUMBER_UNIT = re.compile(r"(?<=\d) (?=(?:s|ms|%|B|KiB|MiB|GiB|TiB|bytes|px)\b)")


def seconds(t: float, digits: int = 2) -> str:
    """``5.00 s`` with a no-break space: a time never parts from its unit at a line end."""
    return f"{t:.{digits}f}{NBSP}s"


def keep_units(text: str) -> str:
    """Text whose numbers keep their units (``5.0 s``, ``12 KiB``) on the same line."""
    return _NUMBER_UNIT.sub(NBSP, text)


def short_size(n: int) -> str:
    """``1.2 MiB``, for captions (Appendix A has the exact byte count)."""
    return size_text(n).split(" (")[0]


def short_time(at: object) -> str:
    """A UTC instant to the second, as a table shows it (the full value is in the case).

    :func:`desktop.core.timestamps.human` is the one rendering; the date and the time are joined
    by a no-break space here so that a narrow cell never parts them.
    """
    return timestamps.human(at).replace(" ", NBSP)


def join_words(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _json_object(text: str | None) -> dict[str, object]:
    """A stored JSON object, or {} when there is none or it is not an object."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
