# SPDX-License-Identifier: GPL-3.0-or-later
"""Dispatch one analysis job to the analyser for its kind; runs inside the sandbox child.

A job names a vault blob (never the original file), the item's name and libmagic MIME type, and
a scratch folder. The answer is plain JSON: what the item is (``kind``), its findings
(``email``, ``media``, ``ocr_lines``, ``occurrences``, ``texts``) and ``parts`` — files written to
the scratch folder that the parent acquires as derived items (attachments, mbox messages, frames).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.indicators import extract

MAX_TEXT = 20 << 20  # index and scan at most this much of a text file
_SKIP_HEADERS = ("dkim-signature", "x-google-dkim-signature", "arc-seal", "arc-message-signature",
                 "content-type", "content-transfer-encoding", "mime-version", "content-disposition")
_ENGINE: Any = None


def analyse(job: dict[str, Any]) -> dict[str, Any]:
    """Analyse one item; raise with a readable message when it cannot be analysed."""
    path = Path(job["path"])
    out = Path(job["outdir"])
    mime, name, kind = job.get("mime", ""), job.get("name", ""), job.get("kind", "file")
    with path.open("rb") as fh:
        head = fh.read(8192)
    from desktop.ingest.email import sniff_mail  # keep worker start-up light

    form = sniff_mail(head, mime, name)
    if form == "mbox":
        return _mbox(path, out)
    if form in ("eml", "msg"):
        return _email(path, out, form)
    if kind == "image" and job.get("derived_how") == "video frame":
        # A kept frame was read when its video was analysed; OCR-ing it again adds nothing.
        return {"kind": "image", "summary": "video frame, read with its video"}
    if kind == "image":
        return _image(path, out)
    if kind == "video":
        return _video(path, out)
    if kind == "text" or mime.startswith("text/"):
        return _text(path)
    return {"kind": kind, "summary": f"no analyser for {mime or 'this type'}; nothing extracted"}


def _occurrence(found: Any, source: str, where: str, **extra: Any) -> dict[str, Any]:
    return {"type": found.type, "value": found.value, "raw": found.raw, "source": source,
            "where": where, **extra}


def _scan(text: str, source: str, where: str, *, offsets: bool = True, ocr: bool = False,
          **extra: Any) -> list[dict[str, Any]]:
    return [_occurrence(f, source, where, **({"offset": f.start} if offsets else {}), **extra)
            for f in extract(text, ocr=ocr)]


def _write_part(out: Path, index: int, data: bytes) -> str:
    out.mkdir(parents=True, exist_ok=True)
    name = f"part-{index:05d}"
    (out / name).write_bytes(data)
    return name


def _email(path: Path, out: Path, form: str) -> dict[str, Any]:
    from desktop.ingest.email import parse_eml, parse_msg

    data = path.read_bytes()
    parsed = parse_eml(data) if form == "eml" else parse_msg(data)
    info = parsed.to_dict()
    occurrences: list[dict[str, Any]] = []
    headers = info.get("headers") or []
    received_total = sum(1 for n, _ in headers if n.lower() == "received")
    received_seen = 0
    for name, value in headers:
        low = name.lower()
        if low in _SKIP_HEADERS or low.startswith(("arc-", "x-ms-exchange-crosstenant")):
            continue
        if low in ("message-id", "in-reply-to", "references"):
            # A message id looks like an address but names no mailbox: only its domain counts.
            occurrences += [o for o in _scan(str(value), "header", name, offsets=False)
                            if o["type"] != "email"]
            continue
        where = name
        if low == "received":
            # Received headers are prepended: the first one seen is the hop nearest the recipient.
            where = f"Received (hop {received_total - received_seen} of {received_total})"
            received_seen += 1
        occurrences += _scan(str(value), "header", where, offsets=False)
    for sig in info.get("dkim_signatures") or []:
        if sig.get("d"):
            occurrences += _scan(str(sig["d"]), "header", "DKIM-Signature d=", offsets=False)
    if parsed.text_body:
        occurrences += _scan(parsed.text_body[:MAX_TEXT], "body", "text body")
    if parsed.html_body:
        occurrences += _scan(parsed.html_body[:MAX_TEXT], "body", "HTML body")
    parts = []
    for index, att in enumerate(parsed.attachments):
        part_name = att.name or (f"attached-message-{index + 1}.eml" if att.is_message
                                 else f"attachment-{index + 1}")
        parts.append({"file": _write_part(out, index, att.data), "name": part_name,
                      "how": "attached message" if att.is_message else "attachment",
                      "detail": {"content_type": att.content_type, "disposition": att.disposition,
                                 "content_id": att.content_id, "raw_name": att.raw_name}})
        occurrences += [_occurrence(f, "attachment", f"attachment {index + 1} name")
                        for f in extract(part_name) if f.type in ("file_name", "domain", "url")]
    info.pop("attachments", None)
    return {"kind": "email", "email": info, "occurrences": occurrences, "parts": parts,
            "summary": f"{form} message, {len(info.get('hops') or [])} hops, "
                       f"{len(parts)} attachments, {len(occurrences)} indicator occurrences"}


def _mbox(path: Path, out: Path) -> dict[str, Any]:
    from desktop.ingest.email import split_mbox

    data = path.read_bytes()
    parts = []
    for index, (start, end) in enumerate(split_mbox(data)):
        parts.append({"file": _write_part(out, index, data[start:end]),
                      "name": f"message-{index + 1:05d}.eml", "how": "mbox message",
                      "detail": {"offset": start, "length": end - start}})
    return {"kind": "email", "parts": parts, "summary": f"mbox with {len(parts)} messages"}


def _text(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        text = fh.read(MAX_TEXT).decode("utf-8", errors="replace")
    occurrences = _scan(text, "body", "text")
    return {"kind": "text", "texts": [{"part": "text", "text": text}], "occurrences": occurrences,
            "summary": f"text, {len(occurrences)} indicator occurrences"}


def _engine() -> Any:
    global _ENGINE  # one OCR engine per child, loaded on first use
    if _ENGINE is None:
        from desktop.ingest.ocr import OcrEngine

        _ENGINE = OcrEngine()
    return _ENGINE


def _ocr_findings(lines: list[dict[str, Any]], where_prefix: str) -> list[dict[str, Any]]:
    occurrences = []
    for line in lines:
        time_s = line.get("time_s")
        where = f"{where_prefix} at {time_s:.2f} s" if time_s is not None else where_prefix
        extra: dict[str, Any] = {"bbox": list(line["box"]), "confidence": line.get("confidence")}
        if time_s is not None:
            extra["time_s"] = time_s
        if line.get("frame_index") is not None:
            extra["frame_index"] = line["frame_index"]
        occurrences += _scan(line["text"], "ocr", where, offsets=False, ocr=True, **extra)
    return occurrences


def _image(path: Path, out: Path) -> dict[str, Any]:
    from desktop.ingest.image import analyse_image

    result = analyse_image(path, _engine())
    info = result.to_dict()
    lines = [dict(line) for line in info.pop("lines", [])]
    occurrences = _ocr_findings(lines, "image")
    return {"kind": "image", "media": info, "ocr_lines": lines, "occurrences": occurrences,
            "summary": f"image {info.get('width')}x{info.get('height')}, {len(lines)} OCR lines, "
                       f"{len(occurrences)} indicator occurrences"}


def _video(path: Path, out: Path) -> dict[str, Any]:
    from desktop.ingest.video import analyse_video

    result = analyse_video(path, _engine())
    info = result.to_dict()
    frames = info.pop("frames", [])
    lines: list[dict[str, Any]] = []
    for frame in frames:
        for line in frame.get("lines", []):
            lines.append({**line, "time_s": frame["time_s"], "frame_index": frame["frame_index"]})
    occurrences = _ocr_findings(lines, "frame")
    parts = []
    for index, (frame_index, time_s, png) in enumerate(result.kept_frames()):
        parts.append({"file": _write_part(out, index, png), "name": f"frame-{time_s:09.3f}s.png",
                      "how": "video frame", "detail": {"time_s": time_s, "frame_index": frame_index}})
    return {"kind": "video", "media": info, "ocr_lines": lines, "occurrences": occurrences,
            "parts": parts, "summary": f"video {info.get('duration_s')} s, {len(frames)} frames read, "
                                       f"{len(occurrences)} indicator occurrences, {len(parts)} frames kept"}
