# SPDX-License-Identifier: GPL-3.0-or-later
"""The timeline, with where every time comes from.

A time in evidence is a claim by whoever wrote it: a message's Date header is the sender's
clock, a Received header is each relay's clock, a video's ``creation_time`` is whatever the
software that wrote the file put there — an attacker's choice. Only the custody entries are
this workstation's own clock. So every row says which clock it is, and the times the evidence
states about itself carry a dagger and the caveat, most of all a wall-clock time worked out
from a video's own ``creation_time`` plus an offset into it.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from desktop.core import analysis
from reports.layout import kept
from reports.safe_text import Run
from reports.sections.context import Ctx, keep_units, short_time

TITLE = "Timeline"
DAGGER = "\u2020"
# Event source → (which clock, whether the evidence states it about itself).
CLOCKS = {
    "email": ("sender's Date header", True),
    "hop": ("relay's Received header", True),
    "media": ("file metadata", True),
    "ocr": ("file metadata + offset", True),
    "custody": ("this workstation (custody)", False),
    "analyst": ("entered by the analyst", False),
}
CAVEAT = (
    f"{DAGGER} The evidence states this time about itself: a message's Date header is set by "
    "its sender, each Received header by the relay that added it (only the servers of the "
    "receiving organisation are trustworthy), and a file's metadata (a video's creation_time, "
    "an image's EXIF date) by whatever software wrote it, which an attacker controls. A time "
    "on screen in a video is that metadata plus the offset into the video: no better than the "
    "metadata. None of these was checked against an independent clock. Times marked "
    "\u201cthis workstation\u201d are the acquisition clock of the examiner's workstation."
)


def clock_of(source: str) -> tuple[str, bool]:
    """Which clock a timeline source is, and whether it carries the caveat."""
    return CLOCKS.get(source, (source, True))


def timeline_section(ctx: Ctx) -> list[Flowable]:
    """Every dated event, with its clock."""
    heading = ctx.heading(TITLE, 0, anchor="timeline")
    events = analysis.timeline(ctx.case, custody_events="grouped")
    if not events:
        return []
    intro = [
        ctx.p(
            "Times are UTC. Sources: message Date headers, Received hops, media creation times, "
            "first on-screen sightings of indicators in videos, the chain of custody (runs of the "
            "same action grouped) and events the analyst added.",
            "small",
        ),
        ctx.p(CAVEAT, "note"),
    ]
    rows = []
    for e in events:
        clock, claimed = clock_of(e.source)
        when = short_time(e.at) + (f" {DAGGER}" if claimed else "")
        ref: list[Run] = [Run(e.ref)]
        if e.item_id is not None:
            ref += [Run("\n"), *ctx.item_cite(e.item_id)]
        rows.append(
            [
                ctx.p(when, "cell"),
                ctx.p(clock, "cell"),
                ctx.p(
                    [Run(keep_units(e.title), bold=True), Run("\n" + e.detail if e.detail else "")], "cell"
                ),
                ctx.p(ref, "cell"),
            ]
        )
    table = ctx.table(
        ("Time (UTC)", "Clock", "Event", "Reference"), rows, fixed={0: 31 * mm}, split_rows=True
    )
    return kept([heading, *intro], table)
