# SPDX-License-Identifier: GPL-3.0-or-later
"""Indicator occurrences from text, in the shape every analyser returns (:class:`Occurrence`).

One place turns extracted indicators into occurrences with their source and position, so that a
header, a body, a text file and an OCR line are all described the same way.
"""

from __future__ import annotations

from typing import Any, cast

from desktop.core.indicators import Found, extract
from desktop.ingest.plugin import Occurrence


def occurrence(found: Found, source: str, where: str, **extra: Any) -> Occurrence:
    """One occurrence of an extracted indicator."""
    return cast(Occurrence, {"type": found.type, "value": found.value, "raw": found.raw,
                             "source": source, "where": where, **extra})


def scan(text: str, source: str, where: str, *, offsets: bool = True, ocr: bool = False,
         **extra: Any) -> list[Occurrence]:
    """Every indicator in ``text`` as an occurrence (with its character offset unless told not to)."""
    return [occurrence(f, source, where, **({"offset": f.start} if offsets else {}), **extra)
            for f in extract(text, ocr=ocr)]


def ocr_occurrences(lines: list[dict[str, Any]], where_prefix: str) -> list[Occurrence]:
    """Indicators in OCR lines, each with its box, confidence and (for video) frame time."""
    out: list[Occurrence] = []
    for line in lines:
        time_s = line.get("time_s")
        where = f"{where_prefix} at {time_s:.2f} s" if time_s is not None else where_prefix
        extra: dict[str, Any] = {"bbox": list(line["box"]), "confidence": line.get("confidence")}
        if time_s is not None:
            extra["time_s"] = time_s
        if line.get("frame_index") is not None:
            extra["frame_index"] = line["frame_index"]
        out += scan(line["text"], "ocr", where, offsets=False, ocr=True, **extra)
    return out
