# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain text files: indexed for search and scanned for indicators."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from desktop.core import limits
from desktop.ingest.plugin import Limits, PartWriter, Probe, Result
from desktop.ingest.scan import scan

MAX_TEXT = limits.INDEXED_TEXT  # index and scan at most this much of a text file


class TextAnalyser:
    """Anything libmagic calls text that no more specific analyser took."""

    name: ClassVar[str] = "text"
    limits: ClassVar[Limits] = Limits(timeout_s=120.0, memory_mb=2048)

    def accepts(self, probe: Probe) -> bool:
        """A text type by content."""
        return probe.kind == "text" or probe.mime.startswith("text/")

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Index the text and scan it."""
        with path.open("rb") as fh:
            text = fh.read(MAX_TEXT).decode("utf-8", errors="replace")
        occurrences = scan(text, "body", "text")
        result: Result = {"kind": "text", "texts": [{"part": "text", "text": text}],
                          "occurrences": occurrences,
                          "summary": f"text, {len(occurrences)} indicator occurrences"}
        if probe.size > MAX_TEXT:
            result["detail"] = {"bounded": {"index": {"chars": probe.size, "indexed": len(text)}}}
        return result


ANALYSER = TextAnalyser()
