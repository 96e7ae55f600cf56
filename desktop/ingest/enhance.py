# SPDX-License-Identifier: GPL-3.0-or-later
"""Enhancing a region the analyst marked: variants made, read, and kept as derived items with recipes.

What the attackers blurred or what a bad encoder left faint may still be legible after contrast
normalisation, sharpening and upscaling. This module makes those variants of a region of a frame
(or of a screenshot), reads each, and records every variant as an item of its own, derived from the
evidence, with its recipe in the custody entry: an enhanced image is never presented as the
original pixels, and an opposing expert can repeat each step from the recipe alone.

Decoding and OCR of evidence run in a child process (``python -m desktop.ingest.enhance``) with a
memory limit and a timeout, like every other decoder (``frames``); the parent only acquires the PNG
bytes our own code wrote and records the readings. Never imports Qt.

Child command line::

    python -m desktop.ingest.enhance BLOB_PATH (TIME_S | --image) X Y W H
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop.core.case import Case, Item
    from desktop.core.progress import Task

CHILD_MEMORY_MB = 3072
CHILD_TIMEOUT_S = 120.0
HOW = "enhanced image"


@dataclass(frozen=True)
class Variant:
    """One enhanced variant of a marked region and what was read on it.

    Attributes:
        recipe: the steps applied to the original pixels, in words.
        lines: ``(text, confidence)`` of each line read on the variant.
        item_id: the derived item the variant was acquired as (0 before it is acquired).
    """

    recipe: str
    lines: tuple[tuple[str, float], ...]
    item_id: int = 0


@dataclass
class EnhanceOutcome:
    """What enhancing one region produced.

    Attributes:
        item_id: the item (video or image) the region was marked on.
        time_s: the frame time, for a video.
        box: the region, ``(x, y, w, h)`` in upright picture pixels.
        original_lines: what was read on the original pixels of the region.
        variants: the enhanced variants, each acquired as an item.
        indicators: ``(type, value)`` of the indicators recorded from the variants (status enhanced).
    """

    item_id: int
    time_s: float | None
    box: tuple[int, int, int, int]
    original_lines: tuple[tuple[str, float], ...] = ()
    variants: list[Variant] = field(default_factory=list)
    indicators: list[tuple[str, str]] = field(default_factory=list)


# ------------------------------------------------------------------------------------- the child


def _variants_of(rgb: Any) -> list[tuple[str, Any]]:
    """RGB variants of a region: the enhance steps of the screen reader, on every line at once."""
    import numpy as np

    from desktop.ingest.screen_reader import enhance_variants

    luma = np.asarray(0.299 * rgb[:, :, 0] + 0.587 * rgb[:, :, 1] + 0.114 * rgb[:, :, 2], dtype=np.uint8)
    out: list[tuple[str, Any]] = []
    for recipe, image, _scale in enhance_variants(luma):
        out.append((f"luma (BT.601), {recipe}", np.repeat(image[:, :, None], 3, axis=2)))
    return out


def enhance_pixels(rgb: Any, engine: Any) -> dict[str, Any]:
    """Reads a region and its enhanced variants; the child's answer (PNG bytes base64-encoded)."""
    from PIL import Image

    def lines(image: Any) -> list[list[Any]]:
        return [[line.text, round(line.confidence, 4)] for line in engine.read(image)]

    answer: dict[str, Any] = {"original": lines(rgb), "variants": []}
    for recipe, image in _variants_of(rgb):
        buffer = io.BytesIO()
        Image.fromarray(image[:, :, 0], mode="L").save(buffer, format="PNG")
        answer["variants"].append({"recipe": recipe, "lines": lines(image),
                                   "png": base64.b64encode(buffer.getvalue()).decode("ascii")})
    return answer


def main(argv: list[str]) -> int:
    """Entry point of the child: decode, crop, enhance, read; JSON on standard output."""
    from desktop.ingest import frames

    frames._limit_memory(int(os.environ.get("CASETRAIL_ENHANCE_MEMORY_MB", CHILD_MEMORY_MB)))
    try:
        path, when, *box = argv
        x, y, w, h = (int(v) for v in box)
        png = frames.render_image(path) if when == "--image" else frames.render_frame(path, float(when))
        import numpy as np
        from PIL import Image

        with Image.open(io.BytesIO(png)) as picture:
            rgb = np.asarray(picture.convert("RGB"))
        crop = rgb[max(0, y):max(0, y) + max(1, h), max(0, x):max(0, x) + max(1, w)]
        if crop.size == 0:
            raise frames.RenderError("the region lies outside the picture")
        from desktop.ingest.ocr import OcrEngine

        answer = enhance_pixels(np.ascontiguousarray(crop), OcrEngine())
    except (frames.RenderError, ValueError, MemoryError) as exc:
        sys.stderr.write(f"{'ran out of memory' if isinstance(exc, MemoryError) else exc}\n")
        return 2
    sys.stdout.write(json.dumps(answer))
    return 0


# ------------------------------------------------------------------------------------ the parent


def _run_child(args: list[str], timeout_s: float) -> dict[str, Any]:
    from desktop.ingest.frames import RenderError

    env = dict(os.environ, CASETRAIL_SANDBOX="1")
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "desktop.ingest.enhance", *args],
            capture_output=True, timeout=timeout_s, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"enhancing took longer than {timeout_s:.0f} s and was stopped") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(reason[-1] if reason else f"the enhancer exited with status {done.returncode}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def enhance_region(case: Case, item: Item, time_s: float | None, box: tuple[int, int, int, int],
                   *, timeout_s: float = CHILD_TIMEOUT_S) -> Task[EnhanceOutcome]:
    """Enhance a region the analyst marked, acquire every variant, record what they show.

    Each variant becomes an item derived from ``item`` (``enhanced image``) whose custody entry holds
    the recipe, the region and the frame time; every indicator read on a variant is recorded as an
    OCR occurrence with status ``enhanced`` that names its variant, all in one transaction with a
    custody note of the analyst's request.

    Raises:
        frames.RenderError: the picture could not be decoded or read.
    """
    from desktop.core import custody, findings, state
    from desktop.core.acquire import acquire_derived
    from desktop.core.indicators import extract
    from desktop.core.progress import Progress

    yield Progress("enhancing the region in a separate process")
    path = case.vault.blob_path(item.sha256)
    x, y, w, h = box
    when = "--image" if time_s is None else f"{float(time_s):.6f}"
    answer = _run_child([str(path), when, str(x), str(y), str(w), str(h)], timeout_s)
    outcome = EnhanceOutcome(item.id, time_s, box,
                             tuple((str(t), float(c)) for t, c in answer.get("original", [])))
    at = f" at {time_s:.2f} s" if time_s is not None else ""
    yield Progress("recording the enhanced images")
    occurrences: list[dict[str, Any]] = []
    for number, variant in enumerate(answer.get("variants", []), 1):
        lines = tuple((str(t), float(c)) for t, c in variant.get("lines", []))
        detail = {"recipe": variant["recipe"], "time_s": time_s, "box": list(box),
                  "marked_by": case.examiner, "read_as": [t for t, _ in lines], "enhanced": True}
        stamp = f"-{time_s:09.3f}s" if time_s is not None else ""
        name = f"enhanced-region-{item.id}{stamp}-{number}.png"
        acquired = acquire_derived(case, item, name, base64.b64decode(variant["png"]), HOW, detail)
        outcome.variants.append(Variant(variant["recipe"], lines, acquired.item.id))
        for text, confidence in lines:
            for found in extract(text, ocr=True):
                occurrences.append({
                    "type": found.type, "value": found.value, "raw": found.raw, "source": "ocr",
                    "where": f"enhanced image of a region marked by the analyst{at} ({variant['recipe']})",
                    "bbox": list(box), "confidence": confidence, "status": "enhanced", "frames_agree": 1,
                    "reads": 1, "recipe": variant["recipe"], "enhanced_item_id": acquired.item.id,
                    **({"time_s": round(time_s, 3)} if time_s is not None else {})})
                outcome.indicators.append((found.type, found.value))
    with case.transaction() as conn:
        findings.record_occurrences(conn, item.id, occurrences)
        # the item's findings changed: the entry binds their new digest (issue 11's replay)
        digest = state.findings_digests(conn, [item.id])[item.id]
        custody.append(conn, action="note", examiner=case.examiner, item_id=item.id,
                       result="region enhanced at the analyst's request",
                       detail={"what": "enhanced a marked region", "findings_sha256": digest,
                               "time_s": time_s, "box": list(box),
                               "variants": [{"item_id": v.item_id, "recipe": v.recipe,
                                             "read_as": [t for t, _ in v.lines]} for v in outcome.variants],
                               "indicators": [list(k) for k in dict.fromkeys(outcome.indicators)]})
    outcome.indicators = list(dict.fromkeys(outcome.indicators))
    return outcome


def variant_png(case: Case, item_id: int) -> bytes:
    """The PNG bytes of an enhanced image item (our own PNG, read from the vault)."""
    item = case.item(item_id)
    if item is None or item.derived_how != HOW:
        raise ValueError(f"item {item_id} is not an enhanced image")
    return Path(case.vault.blob_path(item.sha256)).read_bytes()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
