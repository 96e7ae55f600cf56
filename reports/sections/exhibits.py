# SPDX-License-Identifier: GPL-3.0-or-later
"""Exhibits: kept frames and screenshots with their OCR boxes, and messages with their headers.

Each exhibit says what it shows and how to check it: the item and its SHA-256, the item it was
derived from (the video, the message it was attached to — an exhibit of its own when it has
one), for a frame its index and its offset in the video (the stream's own time line, not a
clock), the decoder, and for each OCR hit the indicator's id, what the engine read and its
confidence. The picture, its caption and its table stay on one page. A message exhibit lists
its attachments with their hashes and the exhibits that show them. An item whose bytes were
already shown (same SHA-256, from another parent) refers to that exhibit instead of repeating it.

Images are decoded by Pillow from the vault (format allow-list, pixel limit) and handed to
reportlab as re-encoded in-memory JPEGs, never by path.
"""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Sequence
from typing import Any

from PIL import Image as PILImage
from PIL import ImageDraw
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from desktop.core import hop_numbers
from desktop.core.case import Item
from desktop.core.findings import email_of
from desktop.core.indicators import defang
from reports.exhibit_image import Hit, draw_hits
from reports.layout import PictureBlock, kept
from reports.safe_text import Run, plain
from reports.sections.context import (
    BODY_W,
    SHORT_HASH,
    Ctx,
    Exhibit,
    OcrHit,
    join_words,
    seconds,
    short_size,
    short_time,
    size_text,
)

TITLE = "Exhibits"
_IMAGE_FORMATS = ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]
_MAX_PIXELS = 40_000_000  # above this an exhibit is not drawn (the item is still listed)
_EXHIBIT_PX = 1400  # longest side of an exhibit image in the PDF: ~200 dpi at full width
_IMAGE_MAX_H = 84 * mm  # two exhibits of a 16:9 frame fit on a page
_IMAGE_MIN_H = 50 * mm
_ADDR_REPR = re.compile(r"\{[^{}]*\}")


def open_image(ctx: Ctx, item: Item) -> PILImage.Image | str:
    """Decode an image from the vault with limits; return it or why it cannot be shown."""
    path = ctx.case.vault.blob_path(item.sha256)
    try:
        with PILImage.open(path, formats=_IMAGE_FORMATS) as im:
            if im.width * im.height > _MAX_PIXELS:
                return f"not drawn: {im.width}x{im.height} pixels is above the exhibit limit"
            im.seek(0)
            return im.convert("RGB")
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as exc:
        return f"not drawn: the image cannot be decoded ({type(exc).__name__})"


def _crop(im: PILImage.Image, hits: Sequence[OcrHit]) -> tuple[PILImage.Image, int, int]:
    """Crop a screenshot to its OCR hits with some context; return the crop and its offset."""
    xs = [h.bbox[0] for h in hits] + [h.bbox[0] + h.bbox[2] for h in hits]
    ys = [h.bbox[1] for h in hits] + [h.bbox[1] + h.bbox[3] for h in hits]
    margin_x = max(80.0, 0.15 * im.width)
    margin_y = max(60.0, 0.15 * im.height)
    left, top = max(0, int(min(xs) - margin_x)), max(0, int(min(ys) - margin_y))
    right, bottom = min(im.width, int(max(xs) + margin_x)), min(im.height, int(max(ys) + margin_y))
    if right <= left or bottom <= top:
        return im, 0, 0
    return im.crop((left, top, right, bottom)), left, top


def _shows(ctx: Ctx, item: Item) -> Flowable:
    """The caption line naming the item an exhibit shows, with its type, size and SHA-256."""
    return ctx.p(
        [
            Run("Shows ", bold=True),
            Run(f"item {item.id} "),
            Run(item.name),
            Run(f" ({item.mime}, {short_size(item.size)}) SHA-256 "),
            Run(item.sha256, mono=True),
        ],
        "small",
    )


def _parent_runs(ctx: Ctx, item: Item) -> list[Run]:
    parent = ctx.items.get(item.parent_id) if item.parent_id else None
    if parent is None:
        return []
    runs = [
        Run("From ", bold=True),
        Run(f"item {parent.id} "),
        Run(parent.name),
        Run("  SHA-256 "),
        Run(parent.sha256, mono=True),
    ]
    grand = ctx.items.get(parent.parent_id) if parent.parent_id else None
    if grand is not None and parent.derived_how == "attachment":
        runs += [Run(", attached to "), *ctx.item_cite(grand.id)]
        subject = ctx.subjects.get(grand.id)
        if subject:
            runs.append(Run(f" (message \u201c{subject}\u201d)"))
    return runs


def _decoder(ctx: Ctx, video_id: int | None) -> str:
    media = ctx.media.get(video_id or -1) or {}
    streams = [s for s in media.get("streams") or [] if isinstance(s, dict) and s.get("type") == "video"]
    codec = streams[0].get("codec_long") or streams[0].get("codec") if streams else None
    container = media.get("container_long") or media.get("container")
    parts = [f"{codec} video" if codec else "", f"in a {container} container" if container else ""]
    what = " ".join(p for p in parts if p)
    return f"decoded by FFmpeg{' from ' + what if what else ''}."


def _hit_table(ctx: Ctx, hits: Sequence[OcrHit]) -> list[Flowable]:
    rows = []
    for n, h in enumerate(hits, 1):
        t, v = ctx.values[h.indicator_id]
        rows.append(
            [
                ctx.p(str(n), "cellb"),
                ctx.p([Run(f"I{h.indicator_id}", link=ctx.indicator_link(h.indicator_id))], "cell"),
                ctx.p([Run(defang(v, t), mono=True), Run(f"\n{t}")], "cell"),
                ctx.p(h.raw or v, "mono"),
                ctx.p(reading_runs(ctx, h), "cell"),
            ]
        )
    return ctx.table(
        ("Box", "Id", "Indicator, type", "Read as", "Reading: status, confidence, reads"),
        rows,
        fixed={0: 9 * mm, 1: 11 * mm, 4: 36 * mm},
    )


def reading_runs(ctx: Ctx, h: OcrHit) -> list[Run]:
    """How sure a reading is (issue 14): ``certain, 1.00``; a doubt in bold, with its alternatives.

    Certain means the reads agreed or one read scored every character high; an uncertain reading
    is a possible misread, shown but never the ground of a finding; an enhanced one was read on
    an enhanced variant of the picture (an item of its own, cited), not on the original pixels.
    """
    conf = f", {h.confidence:.2f}" if h.confidence is not None else ""
    status = {"certain": "certain", "enhanced": "enhanced image"}.get(h.status, "uncertain")
    out = [Run(status + conf, bold=h.status != "certain")]
    if h.reads and h.reads > 1:
        out.append(Run(f"\n{h.agree or 0} of {h.reads} reads agree"))
    if h.alternatives:
        out += [Run("\nor: "), Run(", ".join(h.alternatives[:3]), mono=True)]
    if h.status == "enhanced" and h.enhanced_item_id is not None:
        out += [Run("\non "), *ctx.item_cite(h.enhanced_item_id)]
    return out


def visual_exhibit(ctx: Ctx, ex: Exhibit, drawn: int) -> tuple[list[Flowable], bool]:
    """A frame or screenshot exhibit; returns its flowables and whether an image was drawn."""
    item = ex.item
    hits = ctx.plan.hits.get(item.id, [])
    parent = ctx.items.get(item.parent_id) if item.parent_id else None
    if ex.kind == "frame":
        time_s, frame_index = ctx.frames.get(item.id, (None, None))
        what = (f"frame at {seconds(time_s)} of " if time_s is not None else "frame of ") + (
            parent.name if parent else "a video"
        )
    else:
        what = f"image {item.name}"
    if ex.same_as is not None:
        what += f", same content as Exhibit {ex.same_as}"
    head = ctx.heading(f"Exhibit {ex.number}: {what}", 1, anchor=ex.anchor)
    caption: list[Flowable] = [_shows(ctx, item)]
    if parent is not None:
        caption.append(ctx.p(_parent_runs(ctx, item), "small"))
    if ex.kind == "frame":
        time_s, frame_index = ctx.frames.get(item.id, (None, None))
        where = (f"Frame {frame_index}, " if frame_index is not None else "") + (
            f"{seconds(time_s)} into the video" if time_s is not None else ""
        )
        caption.append(
            ctx.p(
                f"{where} (the video's own time line, not a clock time); {_decoder(ctx, item.parent_id)}",
                "small",
            )
        )
    if ex.same_as is not None:
        first = ctx.plan.exhibits[ex.same_as - 1]
        caption.append(
            ctx.p(
                [
                    Run("Its bytes are identical (same SHA-256) to "),
                    Run(f"item {first.item.id}"),
                    Run(" in "),
                    Run(f"Exhibit {first.number}", link=first.anchor),
                    Run(", where it is shown; it is not shown again."),
                ],
                "small",
            )
        )
        return [*kept([head], caption), Spacer(1, 3 * mm)], False
    table = _hit_table(ctx, hits)
    im = open_image(ctx, item)
    if isinstance(im, str):
        return [
            *kept([head, *caption], [ctx.p(im, "small"), Spacer(1, 2 * mm), *table]),
            Spacer(1, 4 * mm),
        ], False
    if drawn >= ctx.max_exhibits:
        note = ctx.p(
            f"Not drawn: more than {ctx.max_exhibits} image exhibits; see the item in the case.", "small"
        )
        return [*kept([head, *caption], [note, Spacer(1, 2 * mm), *table]), Spacer(1, 4 * mm)], False
    black_out(im, redacted_lines(ctx, item))
    offset = (0, 0)
    if ex.kind == "image":
        im, *off = _crop(im, hits)
        offset = (off[0], off[1])
    scale = 1.0
    if max(im.size) > _EXHIBIT_PX:
        width = im.width
        im = im.copy()
        im.thumbnail((_EXHIBIT_PX, _EXHIBIT_PX), PILImage.Resampling.LANCZOS)
        scale = im.width / width
    boxes = [
        Hit(
            (h.bbox[0] - offset[0]) * scale,
            (h.bbox[1] - offset[1]) * scale,
            h.bbox[2] * scale,
            h.bbox[3] * scale,
            n,
            ctx.redact.hides(h.raw or "") or ctx.redact.hides(ctx.values[h.indicator_id][1]),
        )
        for n, h in enumerate(hits, 1)
    ]
    obstacles = [
        ((x - offset[0]) * scale, (y - offset[1]) * scale, w * scale, h * scale)
        for x, y, w, h in _ocr_lines(ctx, item)
    ]
    # Labels are sized for a picture of middling height: it prints between _IMAGE_MIN_H and full size.
    mid_h = (_IMAGE_MIN_H + min(_IMAGE_MAX_H, BODY_W * im.height / im.width)) / 2
    draw_hits(im, boxes, mid_h * im.width / im.height, obstacles=obstacles)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90, subsampling=0, optimize=False)
    block = PictureBlock(
        [head, *caption, Spacer(1, 2 * mm)],
        (buf, im.width, im.height),
        [Spacer(1, 2 * mm), *table],
        max_w=BODY_W,
        max_h=_IMAGE_MAX_H,
        min_h=_IMAGE_MIN_H,
        alt=picture_alt(ctx, ex, what, hits, boxes),
    )
    return [block, Spacer(1, 4 * mm)], True


def picture_alt(ctx: Ctx, ex: Exhibit, what: str, hits: Sequence[OcrHit], boxes: Sequence[Hit]) -> str:
    """The alternative text of an exhibit's picture (the tagged PDF's ``/Alt``).

    What the picture is, its hash, and what each numbered box marks, as the table below it
    prints it (defanged, redacted values blacked out), so a reader who cannot see the picture
    learns what a sighted reader sees on it.
    """
    item = ex.item
    text = f"Exhibit {ex.number}: {what}, SHA-256 {item.sha256[:SHORT_HASH]}."
    if not hits:
        return plain(text + " No OCR box is drawn on it.", ctx.redact)
    marks = []
    for n, (h, box) in enumerate(zip(hits, boxes, strict=True), 1):
        t, v = ctx.values.get(h.indicator_id, ("", ""))
        marks.append(f"box {n}: {defang(v, t)} ({t}){', blacked out' if box.hidden else ''}")
    text += (
        f" Red numbered boxes outline the {len(hits)} OCR reading{'s' if len(hits) != 1 else ''} "
        "of the table below: " + "; ".join(marks) + "."
    )
    return plain(text, ctx.redact)


def redacted_lines(ctx: Ctx, item: Item) -> list[tuple[float, float, float, float]]:
    """Every OCR line on the picture whose text holds a redacted value (``x, y, w, h``).

    A kept frame shows every line still on the screen, not only the ones first read in it: a
    value redacted from the text must not stay readable in a line typed seconds earlier. So a
    frame takes every line read anywhere in its video (a line that has since scrolled away
    blacks out whatever took its place: more is hidden, never less), a picture its own lines.
    Text the OCR engine did not read at all cannot be found this way; the redaction note on the
    cover says so.
    """
    if not ctx.redact:
        return []
    owners = [item.id]
    if item.derived_how == "video frame" and item.parent_id is not None:
        owners.append(item.parent_id)
    marks = ",".join("?" * len(owners))
    rows = ctx.case.db.conn.execute(
        f"SELECT text, x, y, w, h FROM ocr_lines WHERE item_id IN ({marks})",  # noqa: S608 - placeholders
        owners,
    )
    return [(float(x), float(y), float(w), float(h)) for text, x, y, w, h in rows if ctx.redact.hides(text)]


_BLANK = 8  # grey levels: a region whose pixels differ less than this holds no text, not even faint


def black_out(im: PILImage.Image, boxes: Sequence[tuple[float, float, float, float]]) -> None:
    """Fill each box (and a margin as wide as a stroke of its text) black, in place.

    A box where the picture is blank (the line is typed only later in the video) is left as it
    is: there is nothing to hide there yet, and a bar would suggest there was. Anything else in
    the box — the value, a part of it being typed, whatever scrolled into its place — is covered.
    """
    draw = ImageDraw.Draw(im)
    grey = im.convert("L")
    for x, y, w, h in boxes:
        pad = max(2.0, h * 0.15)
        rect = (max(0.0, x - pad), max(0.0, y - pad), min(im.width, x + w + pad), min(im.height, y + h + pad))
        if rect[2] <= rect[0] or rect[3] <= rect[1]:
            continue
        region = grey.crop((int(rect[0]), int(rect[1]), int(rect[2]), int(rect[3])))
        if not region.width or not region.height or _spread(region) < _BLANK:
            continue
        draw.rectangle(rect, fill=(0, 0, 0))


def _spread(grey: PILImage.Image) -> int:
    """How far apart the darkest and the lightest pixel of a greyscale region are."""
    extrema = grey.getextrema()
    low, high = (extrema[0], extrema[1]) if isinstance(extrema[0], int | float) else (0, 255)
    return int(high) - int(low)


def _ocr_lines(ctx: Ctx, item: Item) -> list[tuple[float, float, float, float]]:
    """Every OCR line of the picture (not only the hits): where labels should not cover text."""
    conn = ctx.case.db.conn
    if item.derived_how == "video frame" and item.parent_id is not None:
        t, _fi = ctx.frames.get(item.id, (None, None))
        if t is None:
            return []
        rows = conn.execute(
            "SELECT x, y, w, h FROM ocr_lines WHERE item_id = ? AND abs(time_s - ?) < 0.0005",
            (item.parent_id, t),
        )
    else:
        rows = conn.execute("SELECT x, y, w, h FROM ocr_lines WHERE item_id = ?", (item.id,))
    return [(float(x), float(y), float(w), float(h)) for x, y, w, h in rows]


# -- messages --------------------------------------------------------------------------------


def addresses(value: object) -> str:
    """Addresses as a reader writes them: ``Name <addr>``, one per line.

    Accepts the analyser's list of ``{"name", "addr"}``, and the text older cases stored (a
    Python rendering of that list), which is read with :func:`ast.literal_eval` — literals only,
    never code.
    """
    entries: list[Any] = []
    if isinstance(value, list):
        entries = value
    elif isinstance(value, str) and value.strip():
        found = _ADDR_REPR.findall(value)
        if not found:
            return value
        for chunk in found[:500]:
            try:
                entries.append(ast.literal_eval(chunk))
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return value
    out = []
    for e in entries:
        if isinstance(e, dict):
            name, addr = str(e.get("name") or "").strip(), str(e.get("addr") or "").strip()
            out.append(f"{name} <{addr}>" if name and addr else name or addr)
        else:
            out.append(str(e))
    return "\n".join(o for o in out if o)


def flag_lines(flags: object) -> str:
    """The analyser's flags as sentences, one per line (never a Python rendering)."""
    out = []
    for f in flags if isinstance(flags, list) else []:
        if isinstance(f, dict):
            out.append(str(f.get("message") or f.get("code") or ""))
        else:
            out.append(str(f))
    return "\n".join(o for o in out if o)


def _hop_rows(ctx: Ctx, hops: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for hop in hops:
        src = "\n".join(str(x) for x in (hop.get("from_host"), hop.get("from_rdns"), hop.get("from_ip")) if x)
        delay = seconds(hop["delay_s"], 0) if isinstance(hop.get("delay_s"), int | float) else ""
        number = hop_numbers.number(int(hop.get("idx") or 0))  # hop 1 is the first server reached
        mark = "\n(origin)" if hop.get("is_origin") else ""
        rows.append(
            [
                ctx.p(f"{number}{mark}", "cell"),
                ctx.p(src or "-", "mono"),
                ctx.p(hop.get("by_host") or "-", "mono"),
                ctx.p(hop.get("protocol") or "-", "cell"),
                ctx.p(short_time(hop.get("time_utc") or hop.get("time_raw") or "-"), "cell"),
                ctx.p(delay, "cell"),
            ]
        )
    return rows


def _attachment_rows(ctx: Ctx, item: Item) -> list[list[Any]]:
    rows = []
    for child in sorted(
        (i for i in ctx.items.values() if i.parent_id == item.id and i.derived_how == "attachment"),
        key=lambda i: i.id,
    ):
        shown = ctx.plan.shown_by(child.id)
        frames = ctx.plan.of_parent.get(child.id, [])
        where: list[Run] = []
        if shown is not None:
            where = [Run(f"Exhibit {shown.number}", link=shown.anchor)]
        elif frames:
            where = [Run("frames in ")]
            for k, n in enumerate(frames):
                where += ([Run(", ")] if k else []) + [Run(f"Exhibit {n}", link=f"ex-{n}")]
        else:
            where = [
                Run(f"item {child.id}", link=f"item-{child.id}" if "appendix" in ctx.sections else None),
                Run(" (Appendix A)"),
            ]
        rows.append(
            [
                ctx.p(
                    [
                        Run(f"item {child.id}", bold=True),
                        Run(f"\n{child.name}\n{child.mime}, {size_text(child.size)}"),
                    ],
                    "cell",
                ),
                [ctx.p(child.sha256, "mono"), ctx.p([Run("Shown in ", bold=True), *where], "cell")],
            ]
        )
    return rows


def message_exhibit(ctx: Ctx, ex: Exhibit) -> list[Flowable]:
    """A message: its header fields as text, its attachments, its Received chain."""
    item = ex.item
    mail = email_of(ctx.case.db.conn, item.id) or {}
    subject = mail.get("subject")
    head = ctx.heading(f"Exhibit {ex.number}: message {subject or item.name}", 1, anchor=ex.anchor)
    caption = _shows(ctx, item)
    if ex.same_as is not None:
        first = ctx.plan.exhibits[ex.same_as - 1]
        note = ctx.p(
            [
                Run("Its bytes are identical (same SHA-256) to the message in "),
                Run(f"Exhibit {first.number}", link=first.anchor),
                Run("; it is not shown again."),
            ],
            "small",
        )
        return [*kept([head], [caption, note]), Spacer(1, 3 * mm)]
    found = mail.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    auth = ", ".join(f"{k.upper()} {mail.get(k)}" for k in ("spf", "dkim", "dmarc") if mail.get(k))
    date = mail.get("date_raw") or ""
    if mail.get("date_utc"):
        date += f"\n= {short_time(mail['date_utc'])} UTC"
    pairs: list[tuple[str, object, bool]] = []
    from_name, from_addr = mail.get("from_name") or "", mail.get("from_addr") or ""
    if from_addr or from_name:
        pairs.append(
            (
                "From",
                f"{from_name} <{from_addr}>" if from_name and from_addr else from_addr or from_name,
                True,
            )
        )
    for label, key, column in (
        ("Sender", "sender", "sender"),
        ("Reply-To", "reply_to", "reply_to"),
        ("To", "to", "to_addrs"),
        ("Cc", "cc", "cc_addrs"),
    ):
        value = addresses(detail.get(key) if isinstance(detail.get(key), list) else mail.get(column))
        if value:
            pairs.append((label, value, True))
    for label, key, mono in (
        ("Return-Path", "return_path", True),
        ("Subject", "subject", False),
        ("Message-ID", "message_id", True),
        ("X-Mailer", "x_mailer", False),
        ("User-Agent", "user_agent", False),
        ("Origin IP", "origin_ip", True),
        ("Origin host", "origin_host", True),
    ):
        if mail.get(key):
            pairs.append((label, mail[key], mono))
    if date:
        pairs.append(("Date \u2020 (sender's clock)", date, False))
    if auth:
        pairs.append(("Authentication (receiving server)", auth, False))
    flags = flag_lines(mail.get("flags"))
    if flags:
        pairs.append(("Flags", flags, False))
    out: list[Flowable] = kept([head, caption], [ctx.kv(pairs, 36 * mm)])
    attachments = _attachment_rows(ctx, item)
    if attachments:
        out += kept(
            [ctx.p("Attachments", "h3")],
            ctx.table(
                ("Attachment", "SHA-256, and the exhibits that show it"),
                attachments,
                widths=(BODY_W - 110 * mm, 110 * mm),
            ),
        )
    hops = mail.get("hops") or []
    if hops:
        out += kept(
            [
                ctx.p(
                    "Received chain (hop 1 is the first server the message reached; times are each "
                    "relay's own clock, UTC)",
                    "h3",
                )
            ],
            ctx.table(
                ("Hop", "From (host / rDNS / IP)", "By", "Protocol", "Time (UTC)", "Delay"),
                _hop_rows(ctx, hops),
            ),
        )
    out.append(Spacer(1, 4 * mm))
    return out


def exhibits_section(ctx: Ctx) -> list[Flowable]:
    """Every exhibit of the plan, in number order."""
    heading = ctx.heading(TITLE, 0, anchor="exhibits")
    if not ctx.plan.exhibits:
        return [
            heading,
            ctx.p("This case has no exhibits yet: no OCR hits on frames or screenshots and no messages."),
        ]
    kinds = {e.kind for e in ctx.plan.exhibits}
    parts = [
        k
        for k, v in (
            ("kept video frames", "frame"),
            ("screenshots and pictures", "image"),
            ("messages", "message"),
        )
        if v in kinds
    ]
    intro = ctx.p(
        f"{len(ctx.plan.exhibits)} exhibits: {join_words(parts)}. Boxes on a picture are the lines "
        "the OCR engine reported, numbered as in the table under it; one box can hold several "
        "indicators. \u2020 A time a message or file states about itself (set by its sender or "
        "author, not verified).",
        "small",
    )
    out: list[Flowable] = []
    drawn = 0
    for ex in ctx.plan.exhibits:
        if ex.kind == "message":
            out += message_exhibit(ctx, ex)
        else:
            block, was_drawn = visual_exhibit(ctx, ex, drawn)
            drawn += was_drawn
            out += block
    return kept([heading, intro], out)
