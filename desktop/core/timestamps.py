# SPDX-License-Identifier: GPL-3.0-or-later
"""The one form of a point in time in Casetrail: UTC instants, written with one precision.

A time that Casetrail writes (custody entries, hop and Date header times, media creation times,
analyst events) is **UTC, to the microsecond, with a ``Z``**: ``2024-03-11T09:13:55.500000Z``.
Fixed width, so the text of two such times sorts the way the instants do. A time read from a
case or from evidence may be in any ISO 8601 spelling (an offset, ``Z``, no zone, fewer fraction
digits, an older case's ``+00:00``): every comparison goes through :func:`parse` or
:func:`sort_key`, never through the text. Before this module, ``…07.500000Z`` sorted before
``…07Z`` in the timeline and the briefing, because ``.`` comes before ``Z``.

Reading rules (:func:`parse`):

- ISO 8601 / RFC 3339 with ``Z``, ``z`` or an offset; a time **without a zone is UTC** (what the
  case's own writers always meant; evidence times without a zone are recorded raw beside them).
- EXIF's ``YYYY:MM:DD HH:MM:SS`` (no zone by definition: read as UTC, and the caller says so).
- More than six fraction digits are cut to microseconds (Python's resolution), never rounded up
  into the next second.
- Anything else, including years evidence uses to mislead (0, 10000) and impossible dates, is
  ``None``: a time that cannot be read is left out, never guessed.

RFC 5322 mail dates are read by :func:`desktop.ingest.hops.parse_date` (it knows mail's
quirks) and written back through :func:`format_instant`.

Qt-free and pure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

_EXIF: Final = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\Z")
_LONG_FRACTION: Final = re.compile(r"([.,]\d{6})\d+")
# Unreadable values sort after every instant, in text order among themselves.
_UNREADABLE: Final = datetime.max.replace(tzinfo=UTC)


def now() -> datetime:
    """The current instant (aware, UTC)."""
    return datetime.now(UTC)


def format_instant(when: datetime) -> str:
    """The canonical text of an instant: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    A naive ``datetime`` is taken as UTC (the rule of :func:`parse`).
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # isoformat, not strftime: strftime's %Y does not pad years before 1000 on every platform.
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_text() -> str:
    """The canonical text of now: what a custody entry or an analyst change records."""
    return format_instant(now())


def parse(value: object) -> datetime | None:
    """Read a time from a case or from evidence as an aware UTC instant, or None (module rules)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s or len(s) > 64:
        return None
    exif = _EXIF.match(s)
    if exif:
        s = f"{exif[1]}-{exif[2]}-{exif[3]}T{exif[4]}"
    if s[-1] in "Zz":
        s = s[:-1] + "+00:00"
    s = _LONG_FRACTION.sub(r"\1", s, count=1)
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):  # an offset that pushes the instant out of range
        return None


def canonical(value: object) -> str | None:
    """The canonical text of a time read from anywhere (:func:`parse`), or None if unreadable."""
    when = parse(value)
    return None if when is None else format_instant(when)


def sort_key(value: object) -> tuple[datetime, str]:
    """Sort times as instants; unreadable ones after every readable one, by their text."""
    when = parse(value)
    return (when, "") if when is not None else (_UNREADABLE, str(value))


def human(value: object) -> str:
    """A time for a table: ``2024-03-11 09:13:55Z``, to the second (the full value stays in the case).

    An unreadable value is shown as it is, so nothing is hidden.
    """
    when = parse(value)
    if when is None:
        return "" if value is None else str(value)
    return when.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds") + "Z"
