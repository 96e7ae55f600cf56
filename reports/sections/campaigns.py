# SPDX-License-Identifier: GPL-3.0-or-later
"""Campaigns: groups of the case's messages that belong together (issue 13's grouping).

Each campaign: its size and dates, what grouped it, what it keeps constant (sender, sending
infrastructure, attachments, the normalised template), what varies (subjects, recipients) and
a histogram of when it was sent. Its messages are cited with their exhibits and short hashes.
The grouping itself is :mod:`desktop.core.campaigns`; this module only lays it out.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from desktop.core import campaigns, timestamps
from desktop.core.indicators import defang
from reports.layout import kept
from reports.safe_text import Run
from reports.sections.context import BODY_W, Ctx, short_time

TITLE = "Campaigns"
_MAX_CITED = 30  # messages cited per campaign; the rest are counted


def campaigns_section(
    ctx: Ctx, found: list[campaigns.Campaign], tags: dict[str, list[str]]
) -> list[Flowable]:
    """Each campaign: its size and dates, what it keeps constant, what varies, when it was sent."""
    if not found:
        return []
    out: list[Flowable] = [
        ctx.p(
            f"{len(found)} group{'s' if len(found) != 1 else ''} of messages that belong together: bodies "
            "near-identical once names, numbers and URLs are set aside (MinHash over word 3-shingles), the "
            "same attachment, or shared sending infrastructure. The grouping is deterministic and recorded "
            "in the chain of custody.",
            "small",
        )
    ]
    for c in found:
        infra = c.constant.get("infrastructure") or {}
        messages: list[Run] = []
        for k, item_id in enumerate(c.items[:_MAX_CITED]):
            messages += ([Run(" ")] if k else []) + ctx.item_cite(item_id)
        if len(c.items) > _MAX_CITED:
            messages.append(Run(f" and {len(c.items) - _MAX_CITED} more"))
        pairs: list[tuple[str, object, bool]] = [
            ("First sent", short_time(c.first_seen) if c.first_seen else "unknown", False),
            ("Last sent", short_time(c.last_seen) if c.last_seen else "unknown", False),
            ("Grouped by", ", ".join(f"{k} ({v})" for k, v in c.links.items()), False),
            ("Messages", messages, False),
        ]
        if tags.get(c.id):
            pairs.append(("Tags", ", ".join(tags[c.id]), False))
        if c.constant.get("sender"):
            pairs.append(("Sender (constant)", defang(str(c.constant["sender"]), "email"), True))
        for key, value in infra.items():
            kind = {
                "origin_ip": "ipv4",
                "helo": "domain",
                "message_id_domain": "domain",
                "dkim_d": "domain",
            }.get(key)
            shown = defang(str(value), kind) if kind else str(value)
            pairs.append((f"{campaigns.INFRA_LABELS.get(key, key)} (constant)", shown, True))
        for att in c.constant.get("attachments") or []:
            pairs.append(("Attachment (constant)", f"{att['name']}  SHA-256 {att['sha256']}", True))
        for key in ("subjects", "recipients"):
            values = c.varying.get(key) or []
            if values:
                shown = "; ".join(str(v) for v in values[:6]) + (
                    f"; … ({len(values)} in all)" if len(values) > 6 else ""
                )
                pairs.append((f"{key.capitalize()} (varying)", shown, key == "recipients"))
        block: list[Flowable] = [ctx.kv(pairs, key_w=42 * mm)]
        if c.constant.get("template"):
            block.append(
                ctx.p(
                    [Run("Template (normalised): ", bold=True), Run(str(c.constant["template"])[:400])],
                    "small",
                )
            )
        bins = c.varying.get("send_time_histogram") or []
        if len(bins) > 1:
            top = max(b["count"] for b in bins) or 1
            width = _parse_utc(bins[0]["to"]) - _parse_utc(bins[0]["from"])
            rows = [
                [
                    ctx.p(short_time(b["from"]), "cell"),
                    ctx.p(str(b["count"]), "cell"),
                    ctx.p("\u2588" * max(1, round(30 * b["count"] / top)), "cell"),
                ]
                for b in bins
                if b["count"]  # empty periods are left out
            ]
            block += ctx.table(
                (f"Sent in the {_span(width)} from (UTC)", "Messages", ""),
                rows,
                widths=(58 * mm, 20 * mm, BODY_W - 78 * mm),
            )
        kinds = sorted({i["type"] for i in c.indicators})
        block.append(
            ctx.p(
                f"{len(c.indicators)} indicators in its messages ({', '.join(kinds)}); see the indicator "
                "table.",
                "small",
            )
        )
        out += kept([ctx.heading(f"Campaign {c.id}: {len(c.items)} messages", 1)], block)
    return kept([ctx.heading(TITLE, 0, anchor="campaigns")], out)


def _parse_utc(text: str) -> float:
    when = timestamps.parse(text)  # the one reading of a time (desktop.core.timestamps)
    if when is None:
        raise ValueError(f"not a time: {text!r}")
    return when.timestamp()


def _span(seconds: float) -> str:
    """A duration as a reader says it: ``2 h 30 min``, ``45 min``, ``3 days``."""
    minutes = round(seconds / 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes / (24 * 60):.1f} days"
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min" if hours and mins else f"{hours} h" if hours else f"{max(1, mins)} min"
