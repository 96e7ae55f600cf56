# SPDX-License-Identifier: GPL-3.0-or-later
"""Screenshots and photos: metadata, EXIF and on-screen text (:mod:`desktop.ingest.image`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from desktop.ingest.kinds.ocr_engine import engine
from desktop.ingest.plugin import Limits, PartWriter, Probe, Result


class ImageAnalyser:
    """An image by libmagic's type; a frame kept from a video is not read twice."""

    name: ClassVar[str] = "image"
    limits: ClassVar[Limits] = Limits(timeout_s=300.0)

    def accepts(self, probe: Probe) -> bool:
        """An image type by content."""
        return probe.kind == "image"

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Read the image and OCR it; weak lines are also read enhanced (kept as parts)."""
        if probe.derived_how in ("video frame", "enhanced image"):
            # A kept frame (or an enhanced image of a line) was read when its video or screenshot
            # was analysed; OCR-ing it again adds nothing.
            source = "its video" if probe.derived_how == "video frame" else "the picture it enhances"
            return {"kind": "image", "summary": f"{probe.derived_how}, read with {source}"}
        from desktop.ingest.image import analyse_image
        from desktop.ingest.screen_text import occurrence_record

        result = analyse_image(path, engine())
        info = result.to_dict()
        lines = [dict(line) for line in info.pop("lines", [])]
        occurrences = []
        for occ in result.occurrences:
            record = occurrence_record(occ)
            # a screenshot has no frame times: a still image
            record.pop("time_s", None)
            record.pop("frame_index", None)
            record.pop("frame_time_s", None)
            record.pop("enhanced_key", None)
            enhanced = occ.status == "enhanced"
            record["where"] = f"enhanced image of a line ({occ.enhanced})" if enhanced else (
                "image (uncertain reading)" if occ.status == "uncertain" else "image")
            if enhanced:
                record["enhanced_key"] = [0, list(occ.box), occ.enhanced]
            occurrences.append(record)
        for number, image in enumerate(result.enhanced, 1):
            detail = {k: v for k, v in image.items() if k != "png"} | {"frame_index": 0, "enhanced": True}
            parts.add(image["png"], f"enhanced-line-{number}.png", "enhanced image", detail)
        return {"kind": "image", "media": info, "ocr_lines": lines, "occurrences": occurrences,
                "parts": parts.parts,
                "summary": f"image {info.get('width')}x{info.get('height')}, {len(lines)} OCR lines, "
                           f"{len(occurrences)} indicator occurrences"}


ANALYSER = ImageAnalyser()
