# SPDX-License-Identifier: GPL-3.0-or-later
"""The assessment: bottom line, key judgments, ACH, and the analyst's statements around them.

Every row a reader may want to check has a stable label with a link target (``H1``, ``E2``,
``KJ1``) and every reference the analyst wrote (``[item 6]``, ``[E2]``) is a link, so a claim is
one hop from what it rests on. An ACH evidence row that stands for an item cites the exhibit
that shows it with its short hash, and one that stands for an indicator names the indicator's
id in the indicator table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, Spacer, Table, TableStyle

from desktop.core import analysis
from desktop.core.citations import refs_in
from desktop.core.statements import KIND_TITLES, KINDS, Statement
from reports.layout import keep_with_next, kept
from reports.safe_text import SANS, Run
from reports.sections.context import BODY_W, INK, Ctx, grid
from reports.sections.findings import boxed
from reports.tagging import layout_events

TITLES = {
    "bluf": "Bottom line up front",
    "judgments": "Key judgments",
    "ach": "Analysis of competing hypotheses",
    "statements": "Assumptions, gaps and alternatives",
}
RATING_COLOURS = {
    "CC": "#1E7B34",
    "C": "#A7D7A9",
    "N": "#E4E6EA",
    "I": "#F4B4AE",
    "II": "#C0392B",
    "NA": "#FFFFFF",
}
_STATEMENT_PREFIX = {"assumption": "A", "gap": "G", "alternative": "X", "watch": "W"}


def bluf(ctx: Ctx, m: analysis.Matrix, judgments: list[analysis.Judgment]) -> list[Flowable]:
    """The analyst's bottom line: the ranking's leader and key judgment 1."""
    lines: list[Flowable] = []
    if m.scores:
        top = m.scores[0]
        tied = [s for s in m.scores if s.rank == 1]
        number = m.hypotheses.index(top.hypothesis) + 1
        lines.append(
            ctx.p(
                [
                    Run("Most likely explanation: ", bold=True),
                    top.hypothesis.title,
                    Run(f" [H{number}]", link=f"h-{number}" if "ach" in ctx.sections else None),
                ],
                "bluf",
            )
        )
        why = (
            f"Ranked first of {len(m.scores)} hypotheses by analysis of competing hypotheses: "
            f"weighted inconsistency {top.weighted:.2f} (lower is more likely) over "
            f"{top.rated} rated pieces of evidence, {top.inconsistent} inconsistent."
        )
        if len(tied) > 1:
            why += f" Tied with {len(tied) - 1} other hypothesis(es): the evidence does not separate them."
        elif len(m.scores) > 1:
            why += f" Next: {m.scores[1].hypothesis.title} at {m.scores[1].weighted:.2f}."
        lines.append(ctx.p(why, "body"))
    else:
        lines.append(ctx.p("No hypotheses have been recorded in this case yet.", "bluf"))
    if judgments:
        j = judgments[0]
        lo, hi = j.probability
        lines.append(ctx.linked(j.text, "bluf", prefix=[Run("Key judgment 1: ", bold=True)]))
        basis = rests_on(ctx, j.text, m.evidence)
        if basis:
            lines.append(ctx.p(basis, "body"))
        lines.append(
            ctx.p(
                [
                    Run("We assess this is "),
                    Run(f"{j.likelihood} ({lo}-{hi}%)", bold=True),
                    Run(", with "),
                    Run(f"{j.confidence} confidence", bold=True),
                    Run("."),
                ],
                "body",
            )
        )
    else:
        lines.append(ctx.p("No key judgments have been recorded yet.", "body"))
    return [*keep_with_next(ctx.heading(TITLES["bluf"], 0, anchor="bluf"), boxed(lines)), Spacer(1, 4 * mm)]


def rests_on(ctx: Ctx, text: str, evidence: Sequence[analysis.Evidence]) -> list[Run]:
    """What the ACH rows a text cites stand for: ``E1 [Exhibit 1 · 5042952d]; E2 [I6]``.

    A judgment cites evidence rows; this names the exhibit or indicator behind each, so the
    reader goes from the judgment to the evidence itself in one hop.
    """
    out: list[Run] = []
    seen: set[int] = set()
    for ref in refs_in(text):
        n = ref.number
        if ref.kind != "evidence" or n in seen or not 1 <= n <= len(evidence):
            continue
        seen.add(n)
        cite = _evidence_ref(ctx, evidence[n - 1])
        if cite:
            out += [Run("; " if out else ""), Run(f"E{n}", link=f"e-{n}" if "ach" in ctx.sections else None)]
            out += cite
    return [Run("Rests on: ", bold=True), *out] if out else []


def judgments_section(
    ctx: Ctx, judgments: list[analysis.Judgment], evidence: Sequence[analysis.Evidence] = ()
) -> list[Flowable]:
    """Every key judgment with ICD 203 likelihood and confidence, and how to read the terms."""
    heading = ctx.heading(TITLES["judgments"], 0, anchor="judgments")
    out: list[Flowable] = []
    rows = []
    for i, j in enumerate(judgments, 1):
        lo, hi = j.probability
        basis = rests_on(ctx, j.text, evidence)
        rows.append(
            [
                ctx.p([Run(f"KJ{i}", bold=True, anchor=f"kj-{i}")], "cellb"),
                ctx.linked(j.text, "cell", suffix=[Run("\n"), *basis] if basis else []),
                ctx.p(f"{j.likelihood} ({lo}-{hi}%)", "cell"),
                ctx.p(j.confidence, "cell"),
                ctx.p(f"{j.created_by}, {j.created_at[:10]}", "cell"),
            ]
        )
    if rows:
        out += ctx.table(("#", "Judgment", "Likelihood", "Confidence", "By"), rows, fixed={0: 12 * mm})
    else:
        out.append(ctx.p("No key judgments have been recorded."))
    legend = [[ctx.p("Likelihood", "head"), ctx.p("Probability", "head")]]
    legend += [
        [ctx.p(t, "cell"), ctx.p(f"{lo}-{hi}%", "cell")] for t, (lo, hi) in analysis.LIKELIHOOD.items()
    ]
    conf = [[ctx.p("Confidence", "head"), ctx.p("Meaning", "head")]]
    conf += [[ctx.p(c, "cell"), ctx.p(analysis.CONFIDENCE_MEANING[c], "cell")] for c in analysis.CONFIDENCE]
    half = BODY_W / 2 - 3 * mm
    pair = Table(
        [[grid(legend, [half * 0.62, half * 0.38]), grid(conf, [half * 0.28, half * 0.72])]],
        colWidths=[half + 6 * mm, half],
        renderCB=layout_events,
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    out += keep_with_next(ctx.p("How to read these terms (ICD 203)", "h3"), pair)
    out.append(
        ctx.p(
            "Likelihood says how probable the judgment is; confidence says how good the "
            "information and reasoning behind it are. The two are independent.",
            "small",
        )
    )
    return kept([heading], out)


def _evidence_ref(ctx: Ctx, e: analysis.Evidence) -> list[Run]:
    if e.ref_id is None:
        return []
    if e.kind == "item":
        return [Run(" "), *ctx.item_cite(e.ref_id)]
    if e.kind == "indicator":
        return [Run(" "), Run(f"[I{e.ref_id}]", link=ctx.indicator_link(e.ref_id))]
    if e.kind == "note":
        return [Run(" "), Run(f"[N{e.ref_id}]", link=f"note-{e.ref_id}" if e.ref_id in ctx.notes else None)]
    return [Run(f" [{e.kind} {e.ref_id}]")]


def ach(ctx: Ctx, m: analysis.Matrix) -> list[Flowable]:
    """Hypotheses, the ranking and the colour-coded matrix."""
    heading = ctx.heading(TITLES["ach"], 0, anchor="ach")
    if not m.hypotheses:
        return [heading, ctx.p("No hypotheses have been recorded.")]
    hrows = [
        [
            ctx.p([Run(f"H{i}", bold=True, anchor=f"h-{i}")], "cellb"),
            ctx.p(h.title, "cellb"),
            ctx.p(h.description or "-", "cell"),
        ]
        for i, h in enumerate(m.hypotheses, 1)
    ]
    out: list[Flowable] = kept(
        [heading, ctx.p("Hypotheses", "h3")],
        ctx.table(("", "Hypothesis", "Description"), hrows, fixed={0: 12 * mm}),
    )
    labels = {h.id: f"H{i}" for i, h in enumerate(m.hypotheses, 1)}
    rrows = [
        [
            ctx.p(str(s.rank), "cellb"),
            ctx.p(labels[s.hypothesis.id], "cell"),
            ctx.p(s.hypothesis.title, "cell"),
            ctx.p(f"{s.weighted:.2f}", "cell"),
            ctx.p(str(s.inconsistent), "cell"),
            ctx.p(str(s.consistent), "cell"),
            ctx.p(str(s.rated), "cell"),
        ]
        for s in m.scores
    ]
    out += kept(
        [ctx.p("Ranking", "h3")],
        ctx.table(("Rank", "", "Hypothesis", "Weighted inconsistency", "I / II", "C / CC", "Rated"), rrows),
    )
    n = len(m.hypotheses)
    fixed = 8 * mm + 15 * mm + 15 * mm
    hyp_w = max(11 * mm, min(18 * mm, (BODY_W - fixed - 55 * mm) / n))
    ev_w = BODY_W - fixed - hyp_w * n
    head = [ctx.p(x, "head") for x in ("#", "Evidence", "Cred.", "Rel.")] + [
        ctx.p(labels[h.id], "headc") for h in m.hypotheses
    ]
    rows: list[list[Any]] = [head]
    extra: list[tuple[Any, ...]] = []
    for r, e in enumerate(m.evidence, 1):
        row: list[object] = [
            ctx.p([Run(f"E{r}", anchor=f"e-{r}")], "cell"),
            ctx.p([Run(e.label), *_evidence_ref(ctx, e)], "cell"),
            ctx.p(e.credibility, "cell"),
            ctx.p(e.relevance, "cell"),
        ]
        for c, h in enumerate(m.hypotheses, 4):
            rating = m.rating(e.id, h.id) or ""
            row.append(ctx.p(rating or "-", "center_on_dark" if rating in ("CC", "II") else "center"))
            if rating:
                extra.append(("BACKGROUND", (c, r), (c, r), colors.HexColor(RATING_COLOURS[rating])))
        rows.append(row)
    score_row: list[object] = [
        ctx.p("", "cell"),
        ctx.p("Weighted inconsistency (lower = more likely)", "cellb"),
        ctx.p("", "cell"),
        ctx.p("", "cell"),
    ]
    by_id = {s.hypothesis.id: s for s in m.scores}
    score_row += [ctx.p(f"{by_id[h.id].weighted:.2f}", "headc") for h in m.hypotheses]
    rows.append(score_row)
    extra += [
        ("LINEABOVE", (0, len(rows) - 1), (-1, len(rows) - 1), 0.8, INK),
        ("ALIGN", (4, 0), (-1, -1), "CENTER"),
    ]
    matrix = grid(rows, [8 * mm, ev_w, 15 * mm, 15 * mm] + [hyp_w] * n, extra=extra, zebra=False)
    out.append(CondPageBreak(40 * mm))
    out += keep_with_next(ctx.p("Matrix", "h3"), matrix)
    out.append(Spacer(1, 2 * mm))
    out.append(
        ctx.p(
            "Ratings: CC very consistent, C consistent, N neutral, I inconsistent, II very inconsistent, "
            "NA not applicable, - not rated. Heuer's weighted inconsistency score (as in PARC ACH): each I "
            "counts 1 and each II counts 2, multiplied by the evidence's credibility and relevance weights "
            "(low 0.71, medium 1, high 1.41); consistent ratings add nothing, because evidence consistent "
            "with every hypothesis cannot tell them apart. The hypothesis with the least weighted "
            "inconsistency is the most likely; a small margin means the evidence does not separate them. "
            "An evidence row that stands for an item cites the exhibit showing it.",
            "small",
        )
    )
    return out


def statements_section(ctx: Ctx, statements: list[Statement]) -> list[Flowable]:
    """Assumptions, gaps, alternatives and indicators to watch: a part for each kind filled in."""
    if not statements:
        return []
    out: list[Flowable] = []
    first = True
    for kind in KINDS:
        mine = [s for s in statements if s.kind == kind]
        if not mine:
            continue
        rows = [
            [ctx.p([Run(f"{_STATEMENT_PREFIX[kind]}{n}", bold=True)], "cellb"), ctx.linked(s.text, "cell")]
            for n, s in enumerate(mine, 1)
        ]
        table = ctx.table(None, rows, fixed={0: 10 * mm}, zebra=False)
        heads: list[Flowable] = [ctx.heading(TITLES["statements"], 0, anchor="statements")] if first else []
        out += kept([*heads, ctx.heading(KIND_TITLES[kind], 1)], table)
        first = False
    return out
