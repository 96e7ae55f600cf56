# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailboxes in mbox format: each message becomes a derived item with its exact bytes.

The analysis child reads the file in pieces and names each message as it is cut, by its offset
and length in the mailbox, so a mailbox of any size is split in bounded memory
(:func:`desktop.ingest.email.iter_mbox`); the writer acquires each message straight from the
mailbox's vault copy, with no scratch copy of 50,000 files in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from desktop.ingest.plugin import Limits, PartWriter, Probe, Result


class MboxAnalyser:
    """An mbox file (a ``From `` line followed by a header block)."""

    name: ClassVar[str] = "mbox"
    limits: ClassVar[Limits] = Limits(timeout_s=3600.0, memory_mb=2048)

    def accepts(self, probe: Probe) -> bool:
        """The first line is an mbox separator followed by a header line."""
        return probe.mail_form == "mbox"

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Cut the mailbox into messages, each a part."""
        from desktop.ingest.email import iter_mbox

        with path.open("rb") as fh:
            for index, (start, message) in enumerate(iter_mbox(fh)):
                parts.add_slice(start, len(message), f"message-{index + 1:05d}.eml", "mbox message",
                                {"offset": start, "length": len(message)})
        return {"kind": "email", "parts": parts.parts, "summary": f"mbox with {len(parts.parts)} messages"}


ANALYSER = MboxAnalyser()
