# SPDX-License-Identifier: GPL-3.0-or-later
"""Appendix A: every item with its three hashes, its provenance and every custody entry about it.

This is where a short hash cited anywhere in the briefing is found in full, and where each item
says how it entered the case: from which path, why (the reason given at import), when by this
workstation's clock, by whom on which host, derived from which item and how, and which exhibits
show it (for a video: the exhibits of its frames).
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Spacer

from desktop.core.tags import describe_tag
from reports.layout import kept
from reports.safe_text import Run
from reports.sections.context import Ctx, short_time, size_text

TITLE = "Appendix A: Evidence items and chain of custody"


def _shown_in(ctx: Ctx, item_id: int) -> list[Run]:
    runs: list[Run] = []
    ex = ctx.plan.by_item.get(item_id) if "exhibits" in ctx.sections else None
    if ex is not None:
        runs.append(Run(f"Exhibit {ex.number}", link=ex.anchor))
        if ex.same_as is not None:
            runs += [Run(" (refers to "), Run(f"Exhibit {ex.same_as}", link=f"ex-{ex.same_as}"), Run(")")]
    frames = ctx.plan.of_parent.get(item_id, []) if "exhibits" in ctx.sections else []
    if frames:
        runs.append(Run(("; " if runs else "") + "its frames in "))
        for k, n in enumerate(frames):
            runs += ([Run(", ")] if k else []) + [Run(f"Exhibit {n}", link=f"ex-{n}")]
    return runs or [Run("-")]


def appendix_section(ctx: Ctx, custody_by_item: dict[int | None, list[dict[str, Any]]]) -> list[Flowable]:
    """Every item, in acquisition order."""
    out: list[Flowable] = [
        ctx.p(
            "Every item in the case, in acquisition order, with its three hashes, where it came from and "
            "every "
            "custody entry about it. Any short hash cited in this briefing is the start of a SHA-256 here; "
            "`casetrail verify` re-hashes the vault copy of each item.",
            "small",
        )
    ]
    for item in ctx.items.values():
        entries = custody_by_item.get(item.id, [])
        acquired = next((e for e in entries if e["action"] in ("acquired", "derived")), None)
        parent: list[Run] = [Run("-")]
        if item.parent_id is not None:
            parent = [*ctx.item_cite(item.parent_id), Run(f" ({item.derived_how})")]
        when = f"{short_time(item.acquired_at)} UTC (this workstation's clock) by {item.acquired_by}"
        if acquired is not None:
            when += f" on {acquired['host']} ({acquired['tool']})"
        pairs: list[tuple[str, object, bool]] = [
            (
                "Kind / MIME",
                f"{item.kind} / {item.mime}"
                + ("  (extension does not match content)" if item.ext_mismatch else ""),
                False,
            ),
            ("Size", size_text(item.size), False),
            ("SHA-256", item.sha256, True),
            ("SHA-1", item.sha1, True),
            ("MD5", item.md5, True),
            ("Derived from", parent, False),
            ("Source", item.source_path, True),
            ("Acquired", when, False),
        ]
        if acquired is not None and acquired.get("reason"):
            pairs.append(("Reason given", acquired["reason"], False))
        tags = ctx.item_tags.get(item.id, [])
        if tags:
            pairs.append(("Tags", "; ".join(describe_tag(t) for t in tags), False))
        pairs += [("Status", item.status, False), ("Shown in", _shown_in(ctx, item.id), False)]
        head = ctx.heading(f"Item {item.id}: {item.name}", 1, anchor=f"item-{item.id}")
        block: list[Flowable] = [ctx.kv(pairs, 28 * mm)]
        if entries:
            rows = [
                [
                    ctx.p(str(e["seq"]), "cell"),
                    ctx.p(short_time(e["at"]), "cell"),
                    ctx.p(e["action"], "cell"),
                    ctx.p(f"{e['examiner']} ({e['os_user']}@{e['host']})", "cell"),
                    ctx.p(e["result"], "cell"),
                    ctx.p(str(e["entry_hash"])[:16], "mono"),
                ]
                for e in entries
            ]
            block.append(Spacer(1, 1.5 * mm))
            block += ctx.table(
                ("Seq", "Time (UTC)", "Action", "Examiner", "Result", "Entry hash"),
                rows,
                fixed={0: 10 * mm, 5: 28 * mm},
                split_rows=True,
            )
        out += kept([head], block, follow=60 * mm)
        out.append(Spacer(1, 3 * mm))
    return [PageBreak(), *kept([ctx.heading(TITLE, 0, anchor="appendix")], out)]
