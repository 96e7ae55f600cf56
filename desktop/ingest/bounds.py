# SPDX-License-Identifier: GPL-3.0-or-later
"""Bound what one analysis hands back, in the child, before it leaves for the writer.

Every analyser's :class:`~desktop.ingest.plugin.Result` passes through :func:`bound_result`:
bodies kept for display are cut to :data:`limits.STORED_TEXT`, every other string of a parsed
message to :data:`limits.HEADER_VALUE`, a message's headers and Received hops to a bounded
number, occurrences to a bounded number per indicator value and per item, OCR lines to a
bounded number, and texts for the full-text index to :data:`limits.INDEXED_TEXT`. What was cut
is recorded in ``detail["bounded"]`` (the item's custody entry) and said in one note for the
examiner; indicators are always extracted from the whole parsed value first, so cutting what is
*kept* never hides an indicator that was *found*.

The evidence itself is never cut: the vault holds every byte, and the notes say so.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from desktop.core import limits
from desktop.ingest.plugin import Occurrence, Result, TextPart
from desktop.ingest.spool import index_pieces

_BODIES = ("text_body", "html_body")
_LIST_ITEMS = 1000  # entries of a list inside a parsed message (recipients, flags, defects)


def bound_result(result: Result) -> Result:
    """Return ``result`` with everything it keeps bounded, and what was cut recorded."""
    out: dict[str, Any] = dict(result)
    cut: dict[str, Any] = dict((out.get("detail") or {}).get("bounded") or {})  # what the analyser cut
    if out.get("email"):
        out["email"] = _bound_email(dict(out["email"]), cut)
    if out.get("occurrences"):
        out["occurrences"] = _bound_occurrences(out["occurrences"], cut)
    lines = out.get("ocr_lines") or []
    if len(lines) > limits.OCR_LINES:
        cut["ocr_lines"] = {"found": len(lines), "kept": limits.OCR_LINES}
        out["ocr_lines"] = lines[:limits.OCR_LINES]
    if out.get("texts"):
        texts = cast(list[TextPart], out["texts"])
        total = sum(len(t["text"]) for t in texts)
        out["texts"], left_out = index_pieces(texts)
        if left_out:
            cut["index"] = {"chars": total, "indexed": total - left_out}
    if cut:
        detail = dict(out.get("detail") or {})
        detail["bounded"] = cut
        out["detail"] = detail
        out["notes"] = [*(out.get("notes") or []), describe(cut)]
    return cast(Result, out)


def describe(cut: dict[str, Any]) -> str:
    """One sentence for the examiner on what an analysis kept of an oversized item."""
    said: list[str] = []
    for body in _BODIES:
        if body in cut:
            kind = "text" if body == "text_body" else "HTML"
            said.append(f"its {kind} body has {cut[body]['chars']:,} characters, of which the first "
                        f"{cut[body]['kept']:,} are kept for display")
    if "index" in cut:
        said.append(f"{cut['index']['indexed']:,} of its {cut['index']['chars']:,} characters of text "
                    "are indexed for search and searched for indicators")
    if "headers" in cut:
        said.append(f"{cut['headers']['kept']:,} of its {cut['headers']['found']:,} headers are kept")
    if "hops" in cut:
        said.append(f"{cut['hops']['kept']:,} of its {cut['hops']['found']:,} Received hops are kept "
                    "(those nearest the origin and the recipient)")
    if "values" in cut:
        said.append(f"{cut['values']} header values longer than {limits.HEADER_VALUE:,} characters "
                    "are shortened")
    if "occurrences" in cut:
        said.append(f"{cut['occurrences']['kept']:,} of {cut['occurrences']['found']:,} indicator "
                    "occurrences are recorded (every indicator found is recorded at least once)")
    if "ocr_lines" in cut:
        said.append(f"{cut['ocr_lines']['kept']:,} of its {cut['ocr_lines']['found']:,} OCR lines are kept")
    return ("this item is larger than the case keeps in full: " + "; ".join(said)
            + "; the item itself is kept whole in the vault")


def _bound_email(mail: dict[str, Any], cut: dict[str, Any]) -> dict[str, Any]:
    for body in _BODIES:
        text = mail.get(body)
        if isinstance(text, str) and len(text) > limits.STORED_TEXT:
            cut[body] = {"chars": len(text), "kept": limits.STORED_TEXT}
            mail[body] = text[:limits.STORED_TEXT]
    headers = mail.get("headers") or []
    if len(headers) > limits.HEADERS:
        cut["headers"] = {"found": len(headers), "kept": limits.HEADERS}
        mail["headers"] = headers[:limits.HEADERS]
    hops = mail.get("hops") or []
    if len(hops) > limits.HOPS:
        # The hops nearest the origin say where the message came from; those nearest the
        # recipient are the ones its own organisation wrote. Their indexes are kept as they were.
        half = limits.HOPS // 2
        cut["hops"] = {"found": len(hops), "kept": limits.HOPS}
        mail["hops"] = hops[:half] + hops[-half:]
    shortened = [0]
    for key, value in list(mail.items()):
        if key in ("headers", "hops"):  # counted above; their entries are bounded here
            mail[key] = [_bound_value(entry, shortened) for entry in value or []]
        elif key not in _BODIES:
            mail[key] = _bound_value(value, shortened)
    if shortened[0]:
        cut["values"] = shortened[0]
    return mail


def _bound_value(value: Any, shortened: list[int]) -> Any:
    if isinstance(value, str):
        if len(value) > limits.HEADER_VALUE:
            shortened[0] += 1
            return limits.shorten(value, limits.HEADER_VALUE)
        return value
    if isinstance(value, list | tuple):
        return [_bound_value(v, shortened) for v in value[:_LIST_ITEMS]]
    if isinstance(value, dict):
        return {k: _bound_value(v, shortened) for k, v in value.items()}
    return value


def _bound_occurrences(occurrences: list[Occurrence], cut: dict[str, Any]) -> list[Occurrence]:
    """Keep at most so many occurrences per indicator value and per item; every value at least once."""
    seen: Counter[tuple[str, str]] = Counter()
    kept: list[Occurrence] = []
    for occ in occurrences:
        if len(occ["value"]) > limits.INDICATOR_VALUE or len(occ.get("raw") or "") > limits.INDICATOR_VALUE:
            occ = cast(Occurrence, {**occ, "value": limits.bounded_value(occ["value"])})
            if "raw" in occ:
                occ["raw"] = limits.bounded_value(occ["raw"])
        if len(occ["where"]) > limits.CELL_TEXT:
            occ = cast(Occurrence, {**occ, "where": limits.shorten(occ["where"], limits.CELL_TEXT)})
        key = (occ["type"], occ["value"])
        seen[key] += 1
        if seen[key] <= limits.OCCURRENCES_PER_VALUE:
            kept.append(occ)
    if len(kept) > limits.OCCURRENCES:
        firsts: set[tuple[str, str]] = set()
        first: list[Occurrence] = []
        rest: list[Occurrence] = []
        for occ in kept:
            key = (occ["type"], occ["value"])
            (rest if key in firsts else first).append(occ)
            firsts.add(key)
        kept = first + rest[:max(0, limits.OCCURRENCES - len(first))]
    if len(kept) < len(occurrences):
        cut["occurrences"] = {"found": len(occurrences), "kept": len(kept)}
    return kept
