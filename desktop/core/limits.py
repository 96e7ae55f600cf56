# SPDX-License-Identifier: GPL-3.0-or-later
"""How much of what is kept: the one place that bounds what analysis stores and what views are handed.

Evidence is never cut: the vault keeps every byte of every item. What is bounded here is what
the case *derives* from it — a body kept for display, the text fed to the full-text index, a
header value, the occurrences recorded for one item — so that a 60 MB message, a 10 MB subject or
a message of ten thousand ``Received:`` headers costs the writer, the window and the briefing a
bounded amount of memory and time. Whatever is cut says so: a value carries the marker
:func:`shorten` adds, and the analysis records what was cut (``detail["bounded"]``) so the window
and the briefing can tell the reader where the whole of it is.

This module holds numbers and two pure helpers; it never imports anything of the case.
"""

from __future__ import annotations

STORED_TEXT = 2 << 20  # characters of a body kept in the case for display (the vault keeps it all)
INDEXED_TEXT = 32 << 20  # characters of one item's texts indexed for search and searched for indicators
INDEX_PIECE = 1 << 20  # characters per full-text row: the index is fed one piece at a time
HEADER_VALUE = 16 << 10  # characters of one header value kept (a subject, a Received line)
HEADERS = 2000  # headers of one message kept, in order (the first ones: nearest the recipient)
HOPS = 400  # Received hops of one message kept: the half nearest each end of the chain
OCCURRENCES = 200_000  # occurrences recorded for one item
OCCURRENCES_PER_VALUE = 1000  # occurrences of one indicator value recorded for one item
INDICATOR_VALUE = 8 << 10  # characters of an indicator value (a URL); longer ones keep their hash
OCR_LINES = 100_000  # OCR lines recorded for one item
ANSWER_BYTES = 32 << 20  # one answer line from an analysis child; anything larger is spooled
INLINE_BYTES = 256 << 10  # a list in an answer larger than this goes to a spool file instead
SPOOL_BATCH = 5000  # records read from a spool file and written to the case at a time
VIEW_TEXT = 1 << 20  # characters of one text handed to a window view
CELL_TEXT = 2000  # characters of one value in a table cell (window and briefing)


def shorten(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters with a marker saying how much was left out.

    The marker is part of the returned text so that every place showing the value shows it;
    a value within the limit is returned unchanged.
    """
    if len(text) <= limit:
        return text
    return text[:limit] + cut_marker(len(text) - limit)


def bounded_value(value: str) -> str:
    """An indicator value within :data:`INDICATOR_VALUE`; a longer one keeps its own identity.

    Two different 10 MB URLs must stay two indicators, so the marker of a shortened value names
    the SHA-256 of the whole value.
    """
    if len(value) <= INDICATOR_VALUE:
        return value
    import hashlib

    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return (value[:INDICATOR_VALUE] + f" … [{len(value) - INDICATOR_VALUE:,} more characters; "
            f"SHA-256 of the whole value {digest}]")


def cut_marker(left_out: int) -> str:
    """The marker that ends a shortened value: ``… [1,234 more characters]``."""
    return f" … [{left_out:,} more characters]"
