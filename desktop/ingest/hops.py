# SPDX-License-Identifier: GPL-3.0-or-later
"""The Received chain of an email, parsed into hops ordered from the origin to the recipient.

Every MTA prepends one ``Received`` header, so the header order is recipient → origin; this module
reverses it. It understands the formats seen in real mail (Postfix, Exim, sendmail, qmail, Exchange
"with Microsoft SMTP Server", Gmail "by 2002:a05:… with SMTP id", ``[IPv6:…]`` literals) by splitting
each header into the RFC 5321 clauses (``from``, ``by``, ``via``, ``with``, ``id``, ``for``) plus their
comments, never by one big regular expression per vendor, so an unknown vendor still yields what it
shares with the others.

Forensic rules kept here:
- Every time is compared as a full timezone-aware instant. A negative or more-than-a-day delay is
  *flagged* on the hop (``negative_delay``, ``long_delay``), never wrapped, clamped or dropped: a hop
  out of order is evidence (a forged header or a wrong clock), not noise.
- Anything before the topmost header the receiving organisation wrote can be forged by the sender;
  this module reports what the headers claim and leaves trust decisions to the analyst.

Addresses are read by :mod:`desktop.core.ip` (one reading everywhere), times written by
:mod:`desktop.core.timestamps`, hops numbered by :mod:`desktop.core.hop_numbers`.

Pure: takes header strings, returns data. Never imports Qt, never resolves names or touches a network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from desktop.core import timestamps
from desktop.core.ip import address_class
from desktop.core.ip import canonical as canonical_ip
from desktop.core.ip import is_public as is_public_ip

LONG_DELAY_S = 86_400  # a hop that took more than a day is worth an analyst's look

_KEYWORDS = frozenset({"from", "by", "via", "with", "id", "for"})
_BRACKET_IP = re.compile(r"\[([^\]\s]*)\]")
_HELO = re.compile(r"(?:\bhelo=|\bHELO\s+)([^\s)]+)", re.IGNORECASE)
_COMMENT = re.compile(r"\([^()]*\)")
_TOKEN = re.compile(r"\s+|[()]|[^\s()]+")


@dataclass(frozen=True)
class Hop:
    """One relay step of a message, as its ``Received`` header claims it.

    Attributes:
        index: position in the chain, 0 = closest to the origin (shown as hop 1: see
            :mod:`desktop.core.hop_numbers`).
        from_host: the name the sending side announced (HELO/EHLO), as recorded.
        from_rdns: the reverse-DNS name the receiving MTA recorded for the sender, if any.
        from_ip: the sending IP address (canonical form), if recorded.
        by_host: the receiving server's name.
        by_ip: the receiving server's IP, when it recorded one (Exchange does).
        protocol: the ``with`` clause (``ESMTPS``, ``Microsoft SMTP Server``, ``HTTPS`` …).
        id: the receiving server's queue id.
        for_addr: the envelope recipient, when recorded.
        time_utc: the hop's timestamp in the canonical form of :mod:`desktop.core.timestamps`, or
            None when missing or unreadable.
        time_raw: the date text as written after the last ``;``.
        delay_s: seconds since the previous hop's timestamp; None when either one is missing.
        flags: short codes an analyst should look at (``negative_delay``, ``long_delay`` …).
        raw: the whole header, unfolded, for display.
    """

    index: int
    from_host: str | None
    from_rdns: str | None
    from_ip: str | None
    by_host: str | None
    by_ip: str | None
    protocol: str | None
    id: str | None
    for_addr: str | None
    time_utc: str | None
    time_raw: str | None
    delay_s: float | None
    flags: list[str] = field(default_factory=list)
    raw: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the hop as plain JSON-serialisable data.

        ``dataclasses.asdict`` gives the same, deep-copying each value on the way: it was a
        twentieth of the analysis child's time a message.
        """
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["flags"] = list(self.flags)
        return out


def parse_date(text: str | None) -> datetime | None:
    """Parse an RFC 5322 date into an aware UTC datetime, or None when it cannot be read.

    A date without a zone (or with ``-0000``, "UTC but local zone unknown") is taken as UTC: it is
    the only reading RFC 5322 allows, and the raw text is always kept beside the result.
    """
    if not text:
        return None
    text = _COMMENT.sub(" ", text)
    text = text.split("(", 1)[0].strip()  # an unterminated "(PST" trailer
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 or 9999 shifted out of range
        return None


def _split_date(value: str) -> tuple[str, str | None]:
    """Split a Received value at its last ``;`` outside comments (the date follows it)."""
    cut = value.rfind(";")
    while cut >= 0:
        tail = value[cut + 1 :]
        if tail.count(")") <= tail.count("("):  # an extra ")" after it: the ";" sits in a comment
            return value[:cut], tail.strip() or None
        cut = value.rfind(";", 0, cut)
    return value, None


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Cut clause text into words and comments: ``(text, is_comment)``, nesting respected."""
    out: list[tuple[str, bool]] = []
    depth = 0
    comment: list[str] = []
    for match in _TOKEN.finditer(text):
        piece = match.group(0)
        if piece == "(":
            if depth:
                comment.append(piece)
            depth += 1
        elif piece == ")" and depth:
            depth -= 1
            if depth:
                comment.append(piece)
            else:
                out.append(("".join(comment).strip(), True))
                comment = []
        elif depth:
            comment.append(piece)
        elif not piece.isspace() and piece != ")":
            out.append((piece, False))
    if depth:  # an unterminated comment still holds text worth reading
        out.append(("".join(comment).strip(), True))
    return out


def _clauses(text: str) -> dict[str, tuple[list[str], list[str]]]:
    """Group tokens under the RFC 5321 keyword they follow.

    A repeated keyword stays inside the clause it appears in (IBM gateways write
    "… prosecuted for <a> from <b>").
    """
    clauses: dict[str, tuple[list[str], list[str]]] = {}
    current: tuple[list[str], list[str]] = ([], [])  # text before any keyword (qmail comments)
    for token, is_comment in _tokens(text):
        if is_comment:
            current[1].append(token)
            continue
        key = token.lower()
        if key in _KEYWORDS and key not in clauses:
            current = ([], [])
            clauses[key] = current
        else:
            current[0].append(token)
    return clauses


def _ip_in_comment(comment: str) -> str | None:
    """Find the IP a comment records: ``[1.2.3.4]``, ``[IPv6:…]`` or a bare address."""
    for match in _BRACKET_IP.finditer(comment):
        ip = canonical_ip(match.group(1))
        if ip:
            return ip
    first = comment.split(None, 1)[0] if comment.strip() else ""
    return canonical_ip(first.rstrip(",;")) if first else None


def _rdns_in_comment(comment: str) -> str | None:
    """Return the host name before the bracketed IP (Postfix ``(rdns [ip])``), if any."""
    if "[" not in comment:
        return None
    first = comment.split(None, 1)[0]
    if first.startswith("[") or "=" in first or "@" in first or first.lower() in ("unknown", "<unknown>"):
        return None
    if canonical_ip(first):
        return None
    return first.rstrip(".") or None


def _parse_from(words: list[str], comments: list[str]) -> tuple[str | None, str | None, str | None]:
    """Return (HELO name, reverse-DNS name, IP) from a ``from`` clause."""
    word = words[0] if words else None
    helo = rdns = ip = None
    for comment in comments:
        helo_match = _HELO.search(comment)
        if helo_match and helo is None:
            helo = helo_match.group(1)
        comment = _HELO.sub(" ", comment).strip()  # a HELO "[127.0.0.1]" is a claim, not the peer
        found = _ip_in_comment(comment) if comment else None
        if found and ip is None:
            ip = found
            rdns = _rdns_in_comment(comment)
    word_ip = canonical_ip(word) if word else None
    if ip is None:
        ip = word_ip
    if helo is not None:
        # qmail and Exim put the reverse name first and the HELO in a comment.
        if rdns is None and word and not word_ip and word.lower() != "unknown":
            rdns = word
        return helo, rdns, ip
    return word, rdns, ip


def parse_received(value: str) -> dict[str, Any]:
    """Parse one unfolded Received header into the fields of a :class:`Hop` (without index/delay)."""
    text, date_text = _split_date(value)
    clauses = _clauses(text)
    from_host = from_rdns = from_ip = None
    if "from" in clauses:
        from_host, from_rdns, from_ip = _parse_from(*clauses["from"])
    by_host = by_ip = None
    if "by" in clauses:
        words, comments = clauses["by"]
        by_host = words[0] if words else None
        by_ip = canonical_ip(by_host) if by_host else None
        for comment in comments:
            by_ip = by_ip or _ip_in_comment(comment)
    protocol = None
    if "with" in clauses:
        words = clauses["with"][0]
        if any(w.lower() == "tls" for w in words):  # Exim appends "tls <cipher>" to the protocol
            words = words[: [w.lower() for w in words].index("tls")]
        protocol = " ".join(words) or None
    queue_id = for_addr = None
    if "id" in clauses and clauses["id"][0]:
        queue_id = clauses["id"][0][0].strip(";<>") or None
    if "for" in clauses and clauses["for"][0]:
        for_addr = clauses["for"][0][0].strip(";<>") or None
    return {
        "from_host": from_host or None,
        "from_rdns": from_rdns,
        "from_ip": from_ip,
        "by_host": by_host,
        "by_ip": by_ip,
        "protocol": protocol,
        "id": queue_id,
        "for_addr": for_addr,
        "time_raw": date_text,
    }


def build_hops(received: list[str]) -> list[Hop]:
    """Turn Received header values (in header order, newest first) into hops, oldest first.

    Args:
        received: the unfolded, decoded values of every ``Received`` header, top to bottom.

    Returns:
        One :class:`Hop` per header, ``index`` 0 nearest the origin, with delays and flags.
    """
    hops: list[Hop] = []
    previous: datetime | None = None
    for index, value in enumerate(reversed(received)):
        fields = parse_received(value)
        when = parse_date(fields["time_raw"])
        flags: list[str] = []
        if fields["time_raw"] is None:
            flags.append("no_time")
        elif when is None:
            flags.append("unreadable_time")
        cls = address_class(fields["from_ip"])
        if cls is not None and cls != "public":
            flags.append(range_flag(cls))
        delay = None
        if when is not None and previous is not None:
            delay = (when - previous).total_seconds()
            if delay < 0:
                flags.append("negative_delay")
            elif delay > LONG_DELAY_S:
                flags.append("long_delay")
        previous = when
        time_utc = timestamps.format_instant(when) if when else None
        hops.append(Hop(index=index, time_utc=time_utc, delay_s=delay, flags=flags, raw=value, **fields))
    return hops


def range_flag(address_class: str) -> str:
    """The hop flag for a sending address outside the public Internet (``documentation_ip`` …).

    One flag per class of :mod:`desktop.core.ip`, so a TEST-NET address is not called private.
    """
    return f"{address_class.replace('-', '_')}_ip"


def find_origin(hops: list[Hop]) -> Hop | None:
    """Return the hop nearest the origin whose sending IP is public.

    Rule: walk from the oldest hop towards the recipient and take the first ``from_ip`` that is
    globally routable (see :func:`is_public_ip`). Hops between internal hosts (``127.0.0.1``,
    RFC 1918, Exchange's ``::1``) are skipped because they say nothing about who sent the mail.
    Caveat for the analyst: headers below the recipient's own servers can be forged, so the origin
    is what the chain *claims*; the briefing shows every hop for that reason.
    """
    for hop in hops:
        if is_public_ip(hop.from_ip):
            return hop
    return None
