# SPDX-License-Identifier: GPL-3.0-or-later
"""Handling, distribution and contact; the examiner's declaration and signature block.

The handling block says what the marking allows, whom to ask (point of contact) and who holds a
copy (distribution list); a part the analyst left empty is left out, except the marking itself.
The declaration is the analyst's own text, or the standard one (said so) when they wrote none;
the signature block under it names the examiner, role, organisation, the date of the case state,
and the key that signed the checkpoint, with a line for a handwritten signature on paper.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from desktop.core.dissemination import Recipient
from reports.layout import kept
from reports.safe_text import SANS, Run
from reports.sections.context import BODY_W, INK, Ctx
from reports.tagging import layout_events

HANDLING = "Handling, distribution and contact"
DECLARATION = "Examiner's declaration"


def handling_section(
    ctx: Ctx, tlp_meaning: str, settings: dict[str, str], recipients: list[Recipient]
) -> list[Flowable]:
    """The marking's meaning, the point of contact and the distribution list."""
    out: list[Flowable] = [ctx.p([Run(f"TLP:{ctx.tlp.upper()}. ", bold=True), tlp_meaning], "small")]
    poc = [settings.get(k, "") for k in ("poc_name", "poc_role", "poc_contact")]
    if any(poc):
        pairs = [
            (label, value, mono)
            for label, value, mono in (
                ("Point of contact", poc[0], False),
                ("Role", poc[1], False),
                ("Contact", poc[2], True),
            )
            if value
        ]
        out += [Spacer(1, 2 * mm), ctx.kv(pairs, 34 * mm)]
    if recipients:
        rows = [
            [
                ctx.p(str(n), "cell"),
                ctx.p(r.recipient, "cell"),
                ctx.p(r.organisation or "-", "cell"),
                ctx.p(r.note or "-", "cell"),
            ]
            for n, r in enumerate(recipients, 1)
        ]
        out += kept(
            [ctx.p("Distribution list", "h3")],
            ctx.table(("#", "Recipient", "Organisation", "Note"), rows, fixed={0: 8 * mm}),
        )
    return kept([ctx.heading(HANDLING, 1, anchor="handling")], out)


def declaration_section(
    ctx: Ctx, text: str, written: bool, settings: dict[str, str], as_of: str, key_id: str
) -> list[Flowable]:
    """The declaration and the signature block."""
    examiner = str(ctx.case.meta.get("examiner", ctx.case.examiner))
    out: list[Flowable] = [ctx.linked(text, "body")]
    if not written:
        out.append(
            ctx.p("(The standard declaration: the examiner has not written one of their own.)", "note")
        )
    pairs: list[tuple[str, object, bool]] = [("Examiner", examiner, False)]
    for label, key in (("Role", "examiner_role"), ("Organisation", "examiner_organisation")):
        if settings.get(key):
            pairs.append((label, settings[key], False))
    pairs += [
        ("Date", f"{as_of[:10]} (the state of the case this briefing shows)", False),
        ("Signing key", f"{key_id} (Ed25519; Appendix B)", True),
        (
            "PDF signature",
            "the examiner's document-signing certificate (RSA-3072), which the key above vouches "
            "for; the signed receipt in this file names it",
            False,
        ),
    ]
    sign = Table(
        [[ctx.p("Signature", "cellb"), ctx.p("", "cell")]],
        colWidths=[28 * mm, 80 * mm],
        rowHeights=[16 * mm],
        hAlign="LEFT",
        renderCB=layout_events,
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), SANS),
                ("LINEBELOW", (1, 0), (1, 0), 0.6, INK),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ]
        ),
    )
    out += [Spacer(1, 3 * mm), ctx.kv(pairs, 28 * mm, total=BODY_W * 0.75), Spacer(1, 2 * mm), sign]
    return kept([ctx.heading(DECLARATION, 0, anchor="declaration")], out, follow=80 * mm)
