# SPDX-License-Identifier: GPL-3.0-or-later
"""Analysis results in bounded pieces: large lists go from the child to the writer through files.

An analysis of a 60 MB message or a video with a hundred thousand OCR lines must not travel as
one JSON line that the writer holds, parses and records in one piece (measured before this
module: a 60 MB plain-text message made the main process peak at 848 MiB). So in the child,
:func:`spill` moves every list of a result that is larger than :data:`limits.INLINE_BYTES`
(occurrences, OCR lines, texts to index) into a JSON-lines file of the job's scratch folder and
leaves its name in ``result["spooled"]``; texts are cut into index pieces first
(:func:`index_pieces`). In the writer, :func:`records` reads a list back
:data:`limits.SPOOL_BATCH` records at a time, whether it stayed inline or was spooled, so the
writer's memory is bounded by one batch whatever the child found.

The scratch folder is the job's own (``case/work/<job>``): it is removed with the job, and a
crash leaves it for the next opening of the case to remove (:meth:`desktop.core.case.Case.recover`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, cast

from desktop.core import limits
from desktop.ingest.plugin import Result, TextPart

SPOOLED_KEYS = ("occurrences", "ocr_lines", "texts")


def index_pieces(texts: list[TextPart], budget: int = limits.INDEXED_TEXT) -> tuple[list[TextPart], int]:
    """Cut texts into full-text pieces of at most :data:`limits.INDEX_PIECE` characters.

    Returns:
        The pieces, in order, and how many characters were left out because the item's texts
        are longer than ``budget`` altogether (0 when everything is indexed).
    """
    pieces: list[TextPart] = []
    left_out = 0
    for text in texts:
        body = text["text"]
        keep = body[:max(0, budget)]
        left_out += len(body) - len(keep)
        budget -= len(keep)
        for start in range(0, len(keep), limits.INDEX_PIECE):
            pieces.append({"part": text["part"], "text": keep[start:start + limits.INDEX_PIECE]})
    return pieces, left_out


def spill(result: Result, folder: Path) -> Result:
    """In the child: move the large lists of ``result`` into JSON-lines files under ``folder``.

    A list that serialises to at most :data:`limits.INLINE_BYTES` stays inline (most messages:
    writing a file per message would cost more than it saves).
    """
    out: dict[str, Any] = dict(result)
    spooled: dict[str, str] = {}
    for key in SPOOLED_KEYS:
        values = out.get(key)
        if not values:
            continue
        lines: list[str] = []
        size = 0
        handle = None
        try:
            for value in values:
                line = json.dumps(value, ensure_ascii=False, default=str)
                if handle is not None:
                    handle.write(line + "\n")
                    continue
                lines.append(line)
                size += len(line)
                if size > limits.INLINE_BYTES:
                    folder.mkdir(parents=True, exist_ok=True)
                    handle = (folder / f"{key}.jsonl").open("w", encoding="utf-8")
                    handle.write("\n".join(lines) + "\n")
                    lines = []
        finally:
            if handle is not None:
                handle.close()
        if handle is not None:
            spooled[key] = f"{key}.jsonl"
            out[key] = []
    if spooled:
        out["spooled"] = spooled
    return cast(Result, out)


def records(result: dict[str, Any], key: str, folder: Path) -> Iterator[list[dict[str, Any]]]:
    """In the writer: the records of one list of a result, :data:`limits.SPOOL_BATCH` at a time."""
    inline = result.get(key) or []
    for start in range(0, len(inline), limits.SPOOL_BATCH):
        yield list(inline[start:start + limits.SPOOL_BATCH])
    name = (result.get("spooled") or {}).get(key)
    if not name:
        return
    path = folder / Path(str(name)).name  # only ever a file of the job's own scratch folder
    with path.open(encoding="utf-8") as fh:
        while batch := [json.loads(line) for line in islice(fh, limits.SPOOL_BATCH) if line.strip()]:
            yield batch


def has_records(result: dict[str, Any], key: str) -> bool:
    """Whether a result holds any record of ``key``, inline or spooled."""
    return bool(result.get(key)) or bool((result.get("spooled") or {}).get(key))
