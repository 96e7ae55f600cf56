# SPDX-License-Identifier: GPL-3.0-or-later
"""Methodology and sources: how the evidence was handled, by which tools, from which sources.

A peer who wants to reproduce a finding needs the tools and their versions, how video was
decoded and text read (and how sure the OCR engine was), how each file came into the case and
why, and which intelligence the matches came from — with each source's SHA-256 and its grade on
the Admiralty scale. Each part is printed only when the case has something for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from desktop.about import build_info
from desktop.core import references
from desktop.core.key_findings import KeyFinding
from reports.layout import kept
from reports.safe_text import Run
from reports.sections.context import Ctx, OcrHit, join_words, seconds, short_time
from reports.sections.sources import IntelSource, Sources

TITLE = "Methodology and sources"


def software_rows() -> list[tuple[str, str]]:
    """The software that handled the evidence and made this briefing: the ``--version`` block."""
    info = build_info()
    return [(label, "\n".join(info.ocr_models) if label == "OCR models" and info.ocr_models else value)
            for label, value in info.rows()]


def _custody_tools(ctx: Ctx) -> list[tuple[str, str]]:
    """Which tool versions acted on the evidence, as the custody log records them."""
    actions: dict[str, Counter[str]] = {}
    for tool, action in ctx.case.db.conn.execute("SELECT tool, action FROM custody ORDER BY seq"):
        actions.setdefault(str(tool), Counter())[str(action)] += 1
    return [(tool, ", ".join(f"{a} {n}" for a, n in sorted(c.items()))) for tool, c in actions.items()]


def _videos(ctx: Ctx) -> list[list[Any]]:
    rows = []
    for item in ctx.items.values():
        media = ctx.media.get(item.id)
        if item.kind != "video" or media is None:
            continue
        streams = [s for s in media.get("streams") or [] if isinstance(s, dict) and s.get("type") == "video"]
        codec = (streams[0].get("codec_long") or streams[0].get("codec")) if streams else None
        kept_frames = sum(
            1 for i in ctx.items.values() if i.parent_id == item.id and i.derived_how == "video frame"
        )
        duration = media.get("duration_s")
        rows.append(
            [
                ctx.p([*ctx.item_cite(item.id), Run(f" {item.name}")], "cell"),
                ctx.p(
                    f"{media.get('container_long') or media.get('container') or '-'}\n{codec or '-'}", "cell"
                ),
                ctx.p(seconds(duration, 1) if isinstance(duration, int | float) else "-", "cell"),
                ctx.p(str(kept_frames), "cell"),
                ctx.p(f"{media.get('creation_time')} \u2020" if media.get("creation_time") else "-", "cell"),
                ctx.p(str(media.get("encoder") or "-"), "cell"),
            ]
        )
    return rows


def _acquisitions(ctx: Ctx) -> list[list[Any]]:
    """Each top-level item: where it came from, why, when and by whom (derived items follow their parent)."""
    reasons: dict[int, tuple[str, str, str, str]] = {}
    for item_id, reason, at, examiner, host in ctx.case.db.conn.execute(
        "SELECT item_id, reason, at, examiner, host FROM custody WHERE action = 'acquired' AND item_id IS "
        "NOT NULL "
        "ORDER BY seq"
    ):
        reasons.setdefault(int(item_id), (str(reason or ""), str(at), str(examiner), str(host)))
    rows = []
    for item in ctx.items.values():
        if item.parent_id is not None or item.derived_how == references.HOW:
            continue  # intelligence references are listed with the sources
        reason, at, examiner, host = reasons.get(item.id, ("", item.acquired_at, item.acquired_by, ""))
        derived = sum(1 for i in ctx.items.values() if i.parent_id == item.id)
        rows.append(
            [
                ctx.p([*ctx.item_cite(item.id)], "cell"),
                ctx.p(item.source_path, "mono"),
                ctx.p(reason or "(no reason given)", "cell"),
                ctx.p(f"{short_time(at)}\n{examiner}" + (f" on {host}" if host else ""), "cell"),
                ctx.p(str(derived) if derived else "-", "cell"),
            ]
        )
    return rows


def _source_rows(ctx: Ctx, sources: list[IntelSource]) -> list[list[Any]]:
    rows = []
    for s in sources:
        grade = s.grade.describe() + f"\n({s.grade.basis})" if s.grade else "not graded"
        rows.append(
            [
                ctx.p([Run(s.name, bold=True),
                       Run((f"\n{s.file_name}" if s.file_name != s.name else "") + f"\n{s.format}"
                           + (f", {s.entries} entries" if s.entries else "")),
                       *([Run("\nin the case as "), *ctx.item_cite(s.item_id)] if s.item_id else [])],
                      "cell"),
                ctx.p(s.sha256, "mono"),
                ctx.p(short_time(s.imported_at), "cell"),
                ctx.p(grade, "cell"),
            ]
        )
    return rows


def methodology_section(
    ctx: Ctx, sources: Sources, findings: list[KeyFinding], hidden_cases: int, no_other_cases: bool
) -> list[Flowable]:
    """How the evidence was handled and where the intelligence came from."""
    heading = ctx.heading(TITLE, 0, anchor="methodology")
    out: list[Flowable] = [
        ctx.p(
            "Every file was copied into the case's write-once vault while its SHA-256, SHA-1 and MD5 were "
            "computed in the same read; the copy was read back and hashed again before it was recorded. "
            "Analysis read the vault copy, never the original, in a separate process: messages were parsed "
            "(headers, the Received chain, bodies, attachments, which became items of their own), videos "
            "were "
            "decoded and frames sampled at scene changes and at a fixed interval, and text in frames and "
            "screenshots was read by OCR; the frames that show an indicator were kept as items. Indicators "
            "were extracted, normalised and looked up in this case, in imported intelligence and in the "
            "warninglists shipped with Casetrail. Every step is an entry in the chain of custody.",
            "body",
        )
    ]
    drafted = [f for f in findings if f.status != "analyst"]
    if drafted:
        out.append(
            ctx.p(
                "Key findings were drafted by Casetrail from those correlations: one sentence for each "
                "indicator that matches imported intelligence or an earlier case, or that was read both on "
                "screen and in a message's headers, naming every item it was seen in; the analyst accepts, "
                "edits or rejects each draft, and that decision is recorded in custody.",
                "body",
            )
        )
    acq = _acquisitions(ctx)
    if acq:
        out += kept(
            [ctx.heading("Evidence: where each item came from", 1)],
            ctx.table(
                ("Item", "Source path", "Reason given", "Acquired (this workstation)", "Derived items"),
                acq,
                split_rows=True,
            ),
        )
    videos = _videos(ctx)
    if videos:
        out += kept(
            [
                ctx.heading("Video decoding", 1),
                ctx.p(
                    "Frame times in exhibits are offsets into the video's own time line. \u2020 The "
                    "creation time is "
                    "the file's own metadata: set by whatever software wrote the file, so an attacker's "
                    "choice.",
                    "small",
                ),
            ],
            ctx.table(
                ("Video", "Container, codec", "Duration", "Frames kept", "Creation time", "Encoder"), videos
            ),
        )
    hits = [h for hs in ctx.plan.hits.values() for h in hs]
    if hits:
        out += [ctx.heading("Text recognition (OCR)", 1), ctx.p(ocr_summary(hits), "body")]
    used = list(sources.used.values())
    if used or sources.asn_tables:
        rows = _source_rows(ctx, used + sources.asn_tables)
        out += kept(
            [
                ctx.heading("Intelligence sources", 1),
                ctx.p(
                    "Every imported source a match or an ASN in this briefing comes from, with the SHA-256 "
                    "of the "
                    "file as imported and its grade on the Admiralty scale (source reliability A\u2013F, "
                    "information credibility 1\u20136), given by the analyst or taken from the source's own "
                    "markings.",
                    "small",
                ),
            ],
            ctx.table(("Source", "SHA-256", "Imported", "Grade"), rows, fixed={1: 58 * mm}),
        )
    if no_other_cases:
        out.append(
            ctx.p("Other cases on this workstation are left out of this briefing on request.", "small")
        )
    elif hidden_cases:
        out.append(
            ctx.p(
                f"{hidden_cases} match{'es' if hidden_cases > 1 else ''} with other cases on this "
                "workstation are not printed: the marking of those cases is stricter than this "
                "briefing's, or cannot be read.",
                "small",
            )
        )
    tools = _custody_tools(ctx)
    out += kept(
        [
            ctx.heading("Tools", 1),
            ctx.p("Recorded in the chain of custody (the tool that made each entry):", "small"),
        ],
        ctx.table(("Tool", "Entries"), [[ctx.p(t, "cell"), ctx.p(a, "cell")] for t, a in tools]),
    )
    out.append(ctx.p("Appendix B ends with the software that produced this briefing: the versions of "
                     "Casetrail, Python, SQLite, libmagic, FFmpeg and the OCR engine and models.", "small"))
    out.append(Spacer(1, 6 * mm))
    return kept([heading], out)


def ocr_summary(hits: Sequence[OcrHit]) -> str:
    """What the OCR readings on the exhibits are worth, counted by status (issue 14)."""
    count = {k: sum(h.status == k for h in hits) for k in ("certain", "uncertain", "enhanced")}
    low = sum(h.confidence is not None and h.confidence < 0.8 for h in hits)
    return (
        f"{len(hits)} indicator readings on the exhibits come from OCR, read by "
        f"{build_info().ocr_engine} (the models and their SHA-256 are in Appendix B). "
        f"{count['certain']} are certain: two reads from different frames agreed, or one read scored "
        "every character high with no confusable character in doubt. "
        f"{count['uncertain']} are uncertain (a possible misread: shown, never the ground of a key "
        f"finding or a link between items) and {count['enhanced']} were read on an enhanced image (an "
        "item of its own, never presented as the original pixels). A frame's exhibit gives its index "
        "and offset in the video; its table gives, per box, what the engine read, the status and the "
        f"confidence it reported (0 to 1). {low} readings are below 0.80 and deserve a look at the "
        "picture. "
        "An OCR reading is weaker evidence than a parsed header: the picture in the exhibit is what the "
        "reading rests on."
    )


def describe_sources(sources: Sources) -> str:
    """One line naming the sources, for the cover."""
    names = [s.name for s in sources.used.values()] + [s.name for s in sources.asn_tables]
    return join_words(names)
