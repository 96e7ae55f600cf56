# SPDX-License-Identifier: GPL-3.0-or-later
r"""File names are bytes: the exact name of a file, and the form it is shown and searched under.

A POSIX file name is any bytes but ``/`` and NUL, and evidence folders hold names that were never
UTF-8 (an old Windows archive unpacked on Linux, a crafted name). Python hands them over as text
with *surrogate escapes* (``b"\xff"`` becomes ``"\udcff"``), which SQLite, JSON and the custody
hash cannot hold: one such name used to abort a whole import. So acquisition splits every name
and source path it records (:func:`split`) into

- a **displayable form**, valid Unicode: the name decoded as UTF-8 with each undecodable byte
  written ``\xff`` (Python's ``backslashreplace``), the form the case, the window, the CLI and
  the briefing show; and
- the **exact bytes**, kept beside it (``items.name_bytes``, ``items.source_bytes``, and as hex in
  the custody entry) only when they differ from the displayable form's UTF-8, so nothing is lost.

Qt-free and pure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Name:
    r"""A name as recorded.

    Attributes:
        shown: valid Unicode, undecodable bytes as ``\xNN``.
        raw: the exact bytes, or None when ``shown`` encodes to them (valid UTF-8 names).
    """

    shown: str
    raw: bytes | None = None

    @property
    def raw_hex(self) -> str | None:
        """The exact bytes in hex, for JSON and custody (None for a valid UTF-8 name)."""
        return self.raw.hex() if self.raw is not None else None


def split(text: str) -> Name:
    """Split a name (or path) as the OS gave it into its displayable form and its exact bytes."""
    if text.isascii():
        return Name(text)  # ASCII is valid UTF-8 (and carries no escaped byte): no encoding needed
    try:
        text.encode("utf-8")
        return Name(text)  # valid Unicode: the common case, nothing to keep beside it
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(text)  # undoes surrogateescape: the bytes the file system holds
    except UnicodeEncodeError:  # a lone surrogate that was no escaped byte (a UTF-16 name)
        raw = text.encode("utf-8", "surrogatepass")
    return Name(raw.decode("utf-8", "backslashreplace"), raw)


def displayable(text: str) -> str:
    """Just the displayable form (for messages and ``--json`` strings that hold a path).

    Called on every string of every ``--json`` document (84,000 items' worth for a 50,000-message
    mailbox): ASCII text is returned as it is, without building a :class:`Name` for it, and
    ``split`` judges the rest (measured: most of the time the import of that mailbox spent
    printing its report).
    """
    return text if text.isascii() else split(text).shown
