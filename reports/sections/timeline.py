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

import re

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from desktop.core import analysis, hop_numbers
from desktop.core.indicators import defang
from reports.layout import kept
from reports.safe_text import Run
from reports.sections.context import Ctx, keep_units, seconds, short_time
from reports.sections.indicators import Occurrence, occurrences

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
    hops = _hop_counts(ctx)
    occs = occurrences(ctx) if any(e.source == "ocr" for e in events) else {}
    for e in events:
        clock, claimed = clock_of(e.source)
        when = short_time(e.at) + (f" {DAGGER}" if claimed else "")
        if e.source == "ocr" and e.indicator_id is not None and e.item_id is not None:
            event, ref = _sighting(ctx, e, occs.get(e.indicator_id, []))
        else:
            title = e.title
            if e.source == "hop" and e.hop_index is not None and e.item_id in hops:
                # With the total, as the exhibits and the key findings say it (hop 1 of 2).
                label = hop_numbers.label(e.hop_index, hops[e.item_id])
                title = re.sub(r"^Received hop \d+", f"Received {label}", title)
            event = [Run(keep_units(title), bold=True), Run("\n" + e.detail if e.detail else "")]
            # What a reader checks: the exhibit; the chain's own numbers for custody entries.
            ref = [Run(e.ref)] if e.source in ("custody", "analyst") or e.item_id is None else []
            if e.item_id is not None:
                ref += [Run("\n")] * bool(ref) + ctx.item_cite(e.item_id)
        rows.append([ctx.p(when, "cell"), ctx.p(clock, "cell"), ctx.p(event, "cell"), ctx.p(ref, "cell")])
    table = ctx.table(
        ("Time (UTC)", "Clock", "Event", "Reference"), rows, fixed={0: 31 * mm}, split_rows=True
    )
    return kept([heading, *intro], table)


def _hop_counts(ctx: Ctx) -> dict[int, int]:
    """Per message: how many hops its Received chain has."""
    return {
        int(item): int(n)
        for item, n in ctx.case.db.conn.execute("SELECT item_id, COUNT(*) FROM hops GROUP BY item_id")
    }


def _sighting(ctx: Ctx, e: analysis.Event, occs: list[Occurrence]) -> tuple[list[Run], list[Run]]:
    """A first on-screen sighting: the indicator (defanged, its id) and the frame that shows it.

    The reference is the kept frame read at that offset — the exhibit where a reader sees the
    value — and the video; a reading in doubt says so, as everywhere else.
    """
    if e.indicator_id is None or e.item_id is None:  # the caller checked; for the type checker
        return [Run(e.title)], []
    typ, value = ctx.values.get(e.indicator_id, ("", ""))
    first = next(
        (
            o
            for o in occs
            if o.item_id == e.item_id
            and o.source == "ocr"
            and o.time_s is not None
            and e.offset_s is not None
            and abs(o.time_s - e.offset_s) < 0.0005
        ),
        None,
    )
    video = ctx.items.get(e.item_id)
    event = [
        Run(f"{typ} first seen on screen at {seconds(e.offset_s or 0.0)}", bold=True),
        Run("\n"),
        Run(defang(value, typ), mono=True),
        Run(" "),
        Run(f"[I{e.indicator_id}]", link=ctx.indicator_link(e.indicator_id)),
        Run(f" in {video.name if video else 'the video'}"),
    ]
    if first is not None and first.status == "uncertain":
        event.append(Run(" (uncertain OCR reading)"))
    elif first is not None and first.status == "enhanced":
        event.append(Run(" (read on an enhanced image)"))
    ref: list[Run] = []
    if first is not None and first.frame_item_id is not None:
        ref += [*ctx.item_cite(first.frame_item_id), Run(" of ")]
    ref += ctx.item_cite(e.item_id)
    return event, ref
