# SPDX-License-Identifier: GPL-3.0-or-later
"""The indicator table: each indicator with its id, where it was seen, what it matches.

Every indicator has a stable id (``I6``: its id in the case) that analyst text and ACH rows
refer to, and a link target. "Where seen" lists the most decisive places first (on screen in a
video, then parsed headers, then on screen in an image, then bodies) with the exhibit that shows
each and its short hash, so no decisive sighting hides behind "and 5 more". A feed match prints
the actor, the source file with the start of its SHA-256, and the relationship path; other cases
appear only when the briefing may name them (see :mod:`desktop.core.markings`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from desktop.core.correlate import Correlation
from desktop.core.indicators import defang
from desktop.core.tags import describe_tag
from reports import bounds
from reports.layout import kept
from reports.safe_text import Run
from reports.sections.context import SHORT_HASH, Ctx, seconds
from reports.sections.sources import Sources, path_of

TITLE = "Indicators"
MAX_PLACES = 8  # groups of sightings listed per indicator; the rest are counted
MAX_TIMES = 6  # frame times listed per video
_RANK = {"header": 1, "ocr": 2, "attachment": 3, "metadata": 4, "body": 5, "analyst": 6}


@dataclass(frozen=True)
class Occurrence:
    """Where an indicator was read (one row of ``occurrences``)."""

    item_id: int
    source: str
    where: str
    time_s: float | None
    frame_item_id: int | None
    status: str | None = None  # an OCR reading's: certain, uncertain or enhanced (issue 14)


def occurrences(ctx: Ctx) -> dict[int, list[Occurrence]]:
    """Every occurrence by indicator id, in a stable order."""
    out: dict[int, list[Occurrence]] = defaultdict(list)
    for ind, item, source, where, t, frame, status in ctx.case.db.conn.execute(
        "SELECT indicator_id, item_id, source, where_, time_s, frame_item_id, status FROM occurrences "
        "ORDER BY indicator_id, item_id, COALESCE(time_s, 0), COALESCE(offset, 0), id"
    ):
        out[int(ind)].append(
            Occurrence(
                int(item),
                str(source),
                str(where),
                None if t is None else float(t),
                None if frame is None else int(frame),
                # readings from before statuses existed were never checked across frames
                (status or "uncertain") if source == "ocr" else None,
            )
        )
    return out


def reading_note(occs: Sequence[Occurrence]) -> str:
    """How an OCR-only indicator was read, so that no misread reads as a finding (issue 14).

    An indicator whose every occurrence is an uncertain OCR reading is marked uncertain; one read
    only on enhanced images says so: an enhanced image is never presented as the original pixels.
    """
    if occs and all(o.status == "uncertain" for o in occs):
        return "uncertain OCR reading"
    if occs and all(o.status == "enhanced" for o in occs):
        return "read on an enhanced image"
    return ""


def _status_note(group: Sequence[Occurrence]) -> str:
    """A place's OCR readings that are not certain, said after its citation."""
    if all(o.status == "uncertain" for o in group):
        return " (uncertain reading)"
    if all(o.status == "enhanced" for o in group):
        return " (enhanced image)"
    return ""


def seen_runs(ctx: Ctx, occs: Sequence[Occurrence]) -> list[Run]:
    """Where an indicator was seen, most decisive first, each place citing what shows it."""
    groups: dict[tuple[int, str], list[Occurrence]] = defaultdict(list)
    for o in occs:
        groups[(o.item_id, o.source)].append(o)

    def rank(key: tuple[int, str]) -> tuple[int, int]:
        video = key[1] == "ocr" and any(o.time_s is not None for o in groups[key])
        return (0 if video else _RANK.get(key[1], 9)), key[0]

    keys = sorted(groups, key=rank)
    runs: list[Run] = []
    for n, key in enumerate(keys[:MAX_PLACES]):
        item_id, source = key
        group = groups[key]
        if n:
            runs.append(Run("\n"))
        timed = [o for o in group if o.time_s is not None]
        if source == "ocr" and timed:
            runs.append(Run("on screen at ", bold=True))
            seen: set[float] = set()
            shown = 0
            for o in timed:
                t = float(o.time_s or 0.0)
                if t in seen:
                    continue
                seen.add(t)
                if shown == MAX_TIMES:
                    runs.append(Run(f" and {len({x.time_s for x in timed}) - MAX_TIMES} more times"))
                    break
                runs.append(Run(("; " if shown else "") + f"{seconds(t)} "))
                runs += ctx.item_cite(o.frame_item_id if o.frame_item_id is not None else item_id)
                shown += 1
            runs += [Run(" of "), *ctx.item_cite(item_id), Run(_status_note(group))]
            continue
        label = {
            "ocr": "on screen in",
            "header": "header",
            "body": "body of",
            "attachment": "attachment data of",
            "metadata": "metadata of",
            "analyst": "marked by the analyst on",
        }.get(source, source)
        if source == "header":
            label = "header " + ", ".join(dict.fromkeys(o.where for o in group)) + " of"
        elif source == "body" and not ctx.plan.by_item.get(item_id):
            label = "text of"
        runs += [Run(label + " ", bold=True), *ctx.item_cite(item_id)]
        if source == "ocr":
            runs.append(Run(_status_note(group)))
    if len(keys) > MAX_PLACES:
        rest = keys[MAX_PLACES:]
        runs.append(
            Run(
                f"\nand {len(rest)} more places in items "
                f"{', '.join(str(i) for i in sorted({k[0] for k in rest}))}"
            )
        )
    return runs


def match_runs(ctx: Ctx, c: Correlation, sources: Sources) -> list[Run]:
    """What an indicator matches: feeds (actor, file, SHA-256, path), earlier cases, warninglists."""
    runs: list[Run] = []
    for m in c.matches:
        if m.kind == "this-case":
            continue  # the "where seen" column already lists every item of this case
        if runs:
            runs.append(Run("\n"))
        if m.source == "feed":
            src = sources.for_match(m)
            runs.append(Run(bounds.bound_text(str(m.name), bounds.NAME_CHARS), bold=True))
            if m.kind and m.kind != "feed":
                runs.append(Run(f" ({m.kind.replace('-', ' ')})"))
            file_name = m.detail.split(": ", 1)[0]
            runs.append(Run(f"\nin {file_name}"))
            if src is not None:
                runs.append(Run(f" \u00b7 SHA-256 {src.sha256[:16]}", mono=True))
            runs.append(Run(f"\npath: {path_of(m)}"))
        elif m.kind == "other-case":
            runs += [Run("earlier case ", bold=True), Run(bounds.bound_text(str(m.name), bounds.NAME_CHARS)),
                     Run(f" ({m.detail})")]
        else:
            runs += [Run("warninglist ", bold=True), Run(m.name)]
    return runs or [Run("-")]


def weight(c: Correlation) -> int:
    """Where an indicator sorts: intelligence matches, earlier cases, the rest, warninglisted."""
    if any(m.source == "feed" for m in c.matches):
        return 0
    if any(m.kind == "other-case" for m in c.matches):
        return 1
    return 3 if any(m.source == "warninglist" for m in c.matches) else 2


def indicator_table(ctx: Ctx, corr: dict[int, Correlation], sources: Sources) -> list[Flowable]:
    """The indicators section."""
    heading = ctx.heading(TITLE, 0, anchor="indicators")
    occs = occurrences(ctx)
    order = sorted(
        (i for i in corr if occs.get(i)), key=lambda i: (weight(corr[i]), corr[i].type, corr[i].value)
    )
    if not order:
        return [heading, ctx.p("No indicators were found in this case.")]
    intro = ctx.p(
        f"{len(order)} indicators, defanged (hxxp, [.]) so that none is a live link, those that match "
        "imported intelligence first, then those seen in an earlier case, then the rest, and last "
        "those only a warninglist knows (common, rarely telling); by type and value within each. "
        "Each has a stable id (I6 is indicator 6 of the case) that the assessment refers to. Where seen "
        "lists the most decisive places first, each with the exhibit that shows it and the "
        f"first {SHORT_HASH} hex digits of its SHA-256; matches are imported intelligence "
        "(actor, source file and its SHA-256, the relationship path), earlier cases this "
        "briefing may name, and warninglists.",
        "small",
    )
    rows = []
    for ind_id in order:
        c = corr[ind_id]
        ident = [Run(defang(c.value, c.type), mono=True), Run(f"\n{c.type}")]
        note = reading_note(occs[ind_id])
        if note:
            ident.append(Run(f"\n{note}", bold=True))
        if c.asn is not None:
            ident.append(
                Run(f"\nAS{c.asn.number} {c.asn.name}" + (f", {c.asn.country}" if c.asn.country else ""))
            )
        tags = sorted(set(ctx.tags.get(ind_id, [])))
        if tags:
            ident.append(Run("\n" + "; ".join(describe_tag(t) for t in tags)))
        rows.append(
            [
                ctx.p([Run(f"I{ind_id}", bold=True, anchor=f"ind-{ind_id}")], "cellb"),
                ctx.p(ident, "cell"),
                ctx.p(seen_runs(ctx, occs[ind_id]), "cell"),
                ctx.p(match_runs(ctx, c, sources), "cell"),
            ]
        )
    table = ctx.table(
        ("Id", "Indicator (type, ASN, tags)", "Where seen", "Matches"),
        rows,
        fixed={0: 11 * mm, 1: 50 * mm, 2: 60 * mm},
        split_rows=True,
    )
    return kept([heading, intro], table)
