# SPDX-License-Identifier: GPL-3.0-or-later
"""Videos: metadata, on-screen text by frame, kept frames (:mod:`desktop.ingest.video`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from desktop.ingest.kinds.ocr_engine import engine
from desktop.ingest.plugin import Limits, PartWriter, Probe, Result
from desktop.ingest.scan import ocr_occurrences


class VideoAnalyser:
    """A video by libmagic's type."""

    name: ClassVar[str] = "video"
    limits: ClassVar[Limits] = Limits(timeout_s=1800.0)

    def accepts(self, probe: Probe) -> bool:
        """A video type by content."""
        return probe.kind == "video"

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Read the video; frames that introduced an indicator become parts."""
        from desktop.ingest.video import analyse_video

        result = analyse_video(path, engine())
        info = result.to_dict()
        frames = info.pop("frames", [])
        lines: list[dict[str, Any]] = []
        for frame in frames:
            for line in frame.get("lines", []):
                lines.append({**line, "time_s": frame["time_s"], "frame_index": frame["frame_index"]})
        occurrences = ocr_occurrences(lines, "frame")
        for frame_index, time_s, png in result.kept_frames():
            parts.add(png, f"frame-{time_s:09.3f}s.png", "video frame",
                      {"time_s": time_s, "frame_index": frame_index})
        return {"kind": "video", "media": info, "ocr_lines": lines, "occurrences": occurrences,
                "parts": parts.parts,
                "summary": f"video {info.get('duration_s')} s, {len(frames)} frames read, "
                           f"{len(occurrences)} indicator occurrences, {len(parts.parts)} frames kept"}


ANALYSER = VideoAnalyser()
