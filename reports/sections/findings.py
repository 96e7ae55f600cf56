# SPDX-License-Identifier: GPL-3.0-or-later
"""Page 1: the key findings, each with the exhibits and short hashes that prove it.

What the evidence shows comes before what the analyst concludes from it: the findings lead the
first page, above the bottom line. A finding the tool drafted and the analyst has not reviewed
says so in its own line, in another colour; one the analyst accepted or edited says who and when.
The references in a finding's text (``[item 7]``) print as ``[Exhibit 1 · 1f6d4923]``: the
exhibit number links to the exhibit, and the eight hex digits are the start of the SHA-256 of
the item it shows, which Appendix A prints in full.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from desktop.core.citations import refs_in
from desktop.core.key_findings import KeyFinding
from reports.layout import keep_with_next
from reports.safe_text import SANS, Run
from reports.sections.context import ACCENT, BODY_W, DRAFT_COLOUR, MUTED, RULE, Ctx, grid
from reports.tagging import layout_events

TITLE = "Key findings"


def key_findings(ctx: Ctx, findings: list[KeyFinding]) -> list[Flowable]:
    """The key findings block of page 1."""
    heading = ctx.heading(TITLE, 0, anchor="findings")
    if not findings:
        return [
            heading,
            ctx.p(
                "No strong finding was drafted and the analyst wrote none: no indicator of this case "
                "matches an imported feed or an earlier case, and none was read both on screen and in a "
                "message.",
                "small",
            ),
            Spacer(1, 3 * mm),
        ]
    drafted = sum(f.status == "draft" for f in findings)
    intro = (
        "What the evidence shows. Each citation gives the exhibit (a link) and the first "
        "eight hex digits of the SHA-256 of the item it shows; Appendix A has every hash in full."
    )
    if drafted:
        intro += (
            f" {drafted} of these {len(findings)} findings were drafted by Casetrail from the "
            "case's correlations and are not yet reviewed by the analyst; they are marked so."
        )
    rows = []
    for n, f in enumerate(findings, 1):
        cell: list[Flowable] = [ctx.linked(f.text, "finding")]
        cited = {r.number for r in refs_in(f.text) if r.kind == "item"}
        extra = [i for i in f.items if i not in cited]
        if extra:
            runs: list[Run] = [Run("Rests on ", bold=True)]
            for k, item_id in enumerate(extra):
                runs += ([Run(" ")] if k else []) + ctx.item_cite(item_id)
            cell.append(ctx.p(runs, "small"))
        cell.append(
            ctx.p(
                [
                    Run(
                        _status_line(f),
                        colour=DRAFT_COLOUR if f.status == "draft" else MUTED,
                        bold=f.status == "draft",
                    )
                ],
                "note",
            )
        )
        rows.append([ctx.p([Run(f"KF{n}", bold=True, anchor=f"kf-{n}")], "cellb"), cell])
    table = grid(
        rows,
        [12 * mm, BODY_W - 12 * mm],
        header=False,
        zebra=False,
        extra=[
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ],
    )
    return [*keep_with_next(heading, ctx.p(intro, "small"), table), Spacer(1, 4 * mm)]


def _status_line(f: KeyFinding) -> str:
    if f.status == "draft":
        return (
            "MACHINE-DRAFTED: written by Casetrail from the case's correlations; "
            "not yet reviewed by the analyst."
        )
    when = f" on {f.decided_at[:10]}" if f.decided_at else ""
    line = {
        "accepted": f"Drafted by Casetrail; accepted by {f.decided_by}{when}.",
        "edited": f"Drafted by Casetrail; edited by {f.decided_by}{when}.",
        "analyst": f"Written by {f.decided_by}{when}.",
    }[f.status]
    if f.draft_changed:
        line += " The tool's draft has changed since (new evidence or intelligence): worth a second look."
    return line


def boxed(flowables: list[Flowable]) -> Table:
    """A shaded box with an accent rule on its left, as the bottom line is set."""
    return Table(
        [[flowables]],
        colWidths=[BODY_W],
        renderCB=layout_events,
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#EEF3F9")),
                ("LINEBEFORE", (0, 0), (0, -1), 3, ACCENT),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        ),
    )
