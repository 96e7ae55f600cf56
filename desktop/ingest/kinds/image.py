# SPDX-License-Identifier: GPL-3.0-or-later
"""Screenshots and photos: metadata, EXIF and on-screen text (:mod:`desktop.ingest.image`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from desktop.ingest.kinds.ocr_engine import engine
from desktop.ingest.plugin import Limits, PartWriter, Probe, Result
from desktop.ingest.scan import ocr_occurrences


class ImageAnalyser:
    """An image by libmagic's type; a frame kept from a video is not read twice."""

    name: ClassVar[str] = "image"
    limits: ClassVar[Limits] = Limits(timeout_s=300.0)

    def accepts(self, probe: Probe) -> bool:
        """An image type by content."""
        return probe.kind == "image"

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Read the image and OCR it."""
        if probe.derived_how == "video frame":
            # A kept frame was read when its video was analysed; OCR-ing it again adds nothing.
            return {"kind": "image", "summary": "video frame, read with its video"}
        from desktop.ingest.image import analyse_image

        result = analyse_image(path, engine())
        info = result.to_dict()
        lines = [dict(line) for line in info.pop("lines", [])]
        occurrences = ocr_occurrences(lines, "image")
        return {"kind": "image", "media": info, "ocr_lines": lines, "occurrences": occurrences,
                "summary": f"image {info.get('width')}x{info.get('height')}, {len(lines)} OCR lines, "
                           f"{len(occurrences)} indicator occurrences"}


ANALYSER = ImageAnalyser()
