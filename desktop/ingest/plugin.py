# SPDX-License-Identifier: GPL-3.0-or-later
"""The analyser protocol: what an evidence kind must say about itself, and what it hands back.

An analyser is one module under :mod:`desktop.ingest.kinds`, listed once in
:mod:`desktop.ingest.registry`. It declares which content it accepts (from a :class:`Probe`: the
first bytes, libmagic's type, the item's kind — never the name alone, which is a claim), its
:class:`Limits`, and turns one vault blob into a :class:`Result`. Derived files (attachments,
messages of a mailbox, kept frames) are written through a :class:`PartWriter` as they are found,
so a large container never has to be held in memory.

This module only defines shapes. It never touches the case, the vault or Qt; analysers run in
the sandbox child and return plain JSON-serialisable data.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NotRequired, Protocol, TypedDict

HEAD_BYTES = 8192  # what a probe reads: enough for every magic number and a mail header block


class Occurrence(TypedDict):
    """One place an indicator was read (``desktop.core.findings.record_occurrences`` stores it)."""

    type: str
    value: str
    source: str
    where: str
    raw: NotRequired[str]
    offset: NotRequired[int]
    time_s: NotRequired[float]
    bbox: NotRequired[list[int]]
    confidence: NotRequired[float | None]
    frame_index: NotRequired[int]
    frame_item_id: NotRequired[int | None]
    # OCR readings (issue 14, desktop.ingest.screen_text): how sure, and what they rest on
    status: NotRequired[str]
    frames_agree: NotRequired[int]
    reads: NotRequired[int]
    alternatives: NotRequired[list[str]]
    doubt: NotRequired[str]  # why an uncertain reading is uncertain, in words
    frame_time_s: NotRequired[float | None]
    recipe: NotRequired[str]
    enhanced_key: NotRequired[list[Any]]
    enhanced_item_id: NotRequired[int | None]


class Part(TypedDict):
    """A derived file written to the scratch folder, which the parent acquires as an item.

    Attributes:
        file: its name inside the scratch folder; "" for a slice of the item itself.
        name: the derived item's name.
        how: how it was derived (``attachment``, ``mbox message``, ``video frame`` …).
        detail: facts for its custody entry (offsets, folder path, how it was rebuilt).
        offset, length: for a slice (``file`` ""), which bytes of the item it is.
    """

    file: str
    name: str
    how: str
    detail: dict[str, Any]
    offset: NotRequired[int]
    length: NotRequired[int]


class TextPart(TypedDict):
    """A text to index for full-text search."""

    part: str
    text: str


class OcrLineRecord(TypedDict):
    """One OCR line as stored (``ocr_lines``): text, confidence, box, and for video its frame."""

    text: str
    confidence: float
    box: list[int]
    time_s: NotRequired[float | None]
    frame_index: NotRequired[int | None]


class Result(TypedDict):
    """What an analyser found in one item.

    Attributes:
        kind: what the item is (refines the kind guessed at acquisition).
        summary: one line for the custody entry.
        email: a parsed message (``ParsedEmail.to_dict()``), stored in ``emails``/``hops``.
        media: image or video metadata, stored in ``media``.
        ocr_lines: every line read on screen.
        occurrences: indicators with where they were read.
        texts: further texts to index.
        parts: derived files to acquire.
        detail: facts about the analysis itself for its custody entry (e.g. a store's password flag).
        notes: sentences the examiner must read now (shown by the CLI and the window).
        magic: libmagic's description of the content, added by the child when the item lacks it.
        spooled: lists moved to files of the job's scratch folder because they were large
            (key → file name; see :mod:`desktop.ingest.spool`).
    """

    kind: str
    summary: str
    email: NotRequired[dict[str, Any]]
    media: NotRequired[dict[str, Any]]
    ocr_lines: NotRequired[list[dict[str, Any]]]
    occurrences: NotRequired[list[Occurrence]]
    texts: NotRequired[list[TextPart]]
    parts: NotRequired[list[Part]]
    detail: NotRequired[dict[str, Any]]
    notes: NotRequired[list[str]]
    magic: NotRequired[str]
    spooled: NotRequired[dict[str, str]]


@dataclass(frozen=True)
class Probe:
    """What an analyser may look at to decide whether it accepts an item.

    Attributes:
        head: the first :data:`HEAD_BYTES` bytes of the content.
        mime: libmagic's MIME type.
        kind: the kind given at acquisition (``email``, ``image``, ``video``, ``text``, ``file`` …).
        name: the item's name (a claim, not evidence: decide by content).
        derived_how: how the item was derived from its parent, or None.
        size: the content's length in bytes.
    """

    head: bytes
    mime: str
    kind: str
    name: str
    derived_how: str | None
    size: int

    @functools.cached_property
    def mail_form(self) -> str | None:
        """``eml``, ``msg``, ``mbox`` or None, sniffed once (several analysers ask)."""
        from desktop.ingest.email import sniff_mail

        return sniff_mail(self.head, self.mime, self.name)

    @classmethod
    def of_file(cls, path: Path, *, mime: str, kind: str, name: str, derived_how: str | None) -> Probe:
        """Probe a file on disk (a vault blob)."""
        fd = os.open(path, os.O_RDONLY)
        try:
            head = os.read(fd, HEAD_BYTES)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        return cls(head, mime, kind, name, derived_how, size)


@dataclass(frozen=True)
class Limits:
    """What an analyser may use per item; the sandbox enforces both.

    Attributes:
        timeout_s: wall-clock seconds before the child is killed and the item marked failed.
        memory_mb: address space the child may hold while it runs this analyser.
    """

    timeout_s: float
    memory_mb: int = 4096


@dataclass
class PartWriter:
    """Writes derived files into the job's scratch folder as an analyser finds them.

    Args:
        folder: the scratch folder (created on the first part).
    """

    folder: Path
    parts: list[Part] = field(default_factory=list)

    def add(self, data: bytes, name: str, how: str, detail: dict[str, Any] | None = None) -> Part:
        """Write one derived file and remember it; returns its :class:`Part`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        file = f"part-{len(self.parts):06d}"
        (self.folder / file).write_bytes(data)
        part: Part = {"file": file, "name": name, "how": how, "detail": dict(detail or {})}
        self.parts.append(part)
        return part

    def add_slice(self, offset: int, length: int, name: str, how: str,
                  detail: dict[str, Any] | None = None) -> Part:
        """Name bytes of the item itself as a derived file (a message of a mailbox): nothing is written.

        The writer reads them from the item's vault copy when it acquires the part.
        """
        part: Part = {"file": "", "name": name, "how": how, "detail": dict(detail or {}),
                      "offset": offset, "length": length}
        self.parts.append(part)
        return part


class Analyser(Protocol):
    """One evidence kind. Implementations are stateless singletons listed in the registry.

    Attributes:
        name: a stable identifier, sent to the child and recorded in custody.
        limits: the per-item limits for this kind.
    """

    name: ClassVar[str]
    limits: ClassVar[Limits]

    def accepts(self, probe: Probe) -> bool:
        """Say whether this analyser reads the item (by content; the first that accepts wins)."""
        ...

    def analyse(self, path: Path, probe: Probe, parts: PartWriter) -> Result:
        """Analyse the blob at ``path``; raise with a readable sentence when it cannot."""
        ...
