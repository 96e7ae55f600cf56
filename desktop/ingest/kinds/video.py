# SPDX-License-Identifier: GPL-3.0-or-later
"""Videos: metadata, on-screen text by frame, kept frames (:mod:`desktop.ingest.video`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from desktop.ingest.kinds.ocr_engine import engine
from desktop.ingest.plugin import Limits, PartWriter, Probe, Result


class VideoAnalyser:
    """A video by libmagic's type."""

    name: ClassVar[str] = "video"
    limits: ClassVar[Limits] = Limits(timeout_s=1800.0)

    def accepts(self, probe: Probe) -> bool:
        """A video type by content."""
        return probe.kind == "video"

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Read the video; the frames occurrences cite and the enhanced images they rest on are parts.

        Indicators come from the settled screen text (``screen_text``), not from every line read: a
        line being typed shows every prefix of its value, and one frame can misread what others
        read right.
        """
        from desktop.ingest.screen_text import occurrence_record
        from desktop.ingest.video import analyse_video

        result = analyse_video(path, engine())
        info = result.to_dict()
        frames = info.pop("frames", [])
        lines: list[dict[str, Any]] = []
        for frame in frames:
            for line in frame.get("lines", []):
                lines.append({**line, "time_s": frame["time_s"], "frame_index": frame["frame_index"]})
        occurrences = [occurrence_record(o) for o in result.occurrences]
        for frame_index, time_s, png in result.kept_frames():
            parts.add(png, f"frame-{time_s:09.3f}s.png", "video frame",
                      {"time_s": time_s, "frame_index": frame_index})
        for number, image in enumerate(result.enhanced, 1):
            parts.add(image.png, f"enhanced-{image.time_s:09.3f}s-{number}.png", "enhanced image",
                      image.detail())
        certain = sum(1 for o in occurrences if o["status"] == "certain")
        return {"kind": "video", "media": info, "ocr_lines": lines, "occurrences": occurrences,
                "parts": parts.parts,
                "summary": f"video {info.get('duration_s')} s, {len(frames)} frames read, "
                           f"{len(occurrences)} indicator occurrences ({certain} certain), "
                           f"{len(parts.parts)} frames and enhanced images kept"}


ANALYSER = VideoAnalyser()
