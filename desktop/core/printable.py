# SPDX-License-Identifier: GPL-3.0-or-later
r"""Case text made safe to look at: every character that acts instead of showing is shown as an escape.

Evidence is written by the adversary. A file name, a subject or an OCR line may carry terminal
escape sequences (``\x1b[2K`` erases the line a ``verify`` printed), bidirectional overrides
(``invoice\u202egpj.exe`` reads as ``invoiceexe.jpg``), zero-width characters that split a word
the analyst searches for, line separators Qt breaks lines at, NULs that end a C string, and
bytes that were never UTF-8 (decoded with ``surrogateescape``, they arrive as lone surrogates).
:func:`visible` turns each of those into a visible, unambiguous escape and leaves every other
character — any script, any emoji — exactly as it is:

- C0 controls and DEL: ``\n``, ``\r``, ``\t`` by name, the others as ``\x1b``; C1 controls as
  ``\x9b``. With ``multiline=True``, newline and tab are kept (and ``\r\n`` becomes a newline).
- Format characters (Unicode category Cf: bidi embeddings, overrides and isolates, LRM/RLM, zero
  width space, word joiner, BOM, soft hyphen, the invisible "tag" characters) as ``\u202e``;
  zero-width (non-)joiners are kept, since Persian, Indic scripts and emoji need them.
- Line and paragraph separators (U+2028, U+2029) as ``\u2028``.
- A lone surrogate ``\udcXX`` (an undecodable byte kept by ``surrogateescape``) as the byte it
  stands for, ``\xXX``; any other lone surrogate as ``\udXXX``.

The backslash itself is not escaped: a Windows path must read as a Windows path. What is shown is
therefore for eyes, not for machines: ``--json`` and the case keep the exact text.

One function for the window (:mod:`desktop.ui.case_text`) and the terminal
(:mod:`desktop.cli.common`); Qt-free and pure.
"""

from __future__ import annotations

import functools
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_KEPT_FORMAT = frozenset({"\u200c", "\u200d"})  # ZWNJ, ZWJ: part of how scripts and emoji are written


@functools.lru_cache(maxsize=4096)
def _escape(ch: str) -> str | None:
    """The escape for one character, or None when it is shown as itself."""
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    category = unicodedata.category(ch)
    if (category == "Cf" and ch not in _KEPT_FORMAT) or category in ("Zl", "Zp", "Cs"):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return None


def needs_escape(text: str) -> bool:
    """Whether :func:`visible` would change ``text`` (a fast path for the common, clean case)."""
    if text.isascii():
        return not text.isprintable()
    return any(_escape(ch) is not None for ch in text)


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every character that acts instead of showing written as an escape.

    Args:
        text: case text (evidence or analyst text).
        multiline: keep newlines and tabs (a body, a note); single-line places (a table cell, a
            terminal line, a title) escape them too.
    """
    if not isinstance(text, str):
        text = str(text)
    if multiline:
        text = text.replace("\r\n", "\n")
    if not needs_escape(text):
        return text
    out = []
    for ch in text:
        if multiline and ch in "\n\t":
            out.append(ch)
            continue
        escaped = _escape(ch)
        out.append(ch if escaped is None else escaped)
    return "".join(out)
