# SPDX-License-Identifier: GPL-3.0-or-later
"""ip2asn range tables (iptoasn.com): ``start end AS country description``, tab-separated.

Both published layouts are read: dotted/colon addresses (``ip2asn-v4.tsv``, ``ip2asn-v6.tsv``,
``ip2asn-combined.tsv``) and the integer layout (``ip2asn-v4-u32.tsv``), whose start and end are
IPv4 addresses as unsigned 32-bit numbers. Rows of AS 0 (not routed) are counted, not stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from desktop.core.feeds import Accounting, FeedError
from desktop.core.ip import Address
from desktop.core.ip import parse as parse_ip

_ROW_RE = re.compile(r"[0-9a-fA-F.:]+\t[0-9a-fA-F.:]+\t\d+\t")

@dataclass(frozen=True)
class Range:
    """One routed range: first and last address, AS number, country code and AS description."""

    first: Address
    last: Address
    asn: int
    country: str
    name: str


@dataclass
class Table:
    """A parsed table: its ranges, the IP versions they cover, and the accounting of its rows."""

    ranges: list[Range] = field(default_factory=list)
    versions: set[int] = field(default_factory=set)
    layout: str = "dotted"
    accounting: Accounting = field(default_factory=Accounting)


def looks_like(text: str) -> bool:
    """Whether the first data line is an ip2asn row."""
    first = next((line for line in text.splitlines() if line.strip() and not line.startswith("#")), "")
    return bool(_ROW_RE.match(first))


def _address(text: str) -> tuple[Address, bool]:
    """An address from either layout; True when it was written as an integer (u32)."""
    text = text.strip()
    if text.isdigit():
        number = int(text)
        if number >= 2**32:
            raise ValueError(f"{text} is beyond the IPv4 range of the u32 layout")
        return ipaddress.IPv4Address(number), True
    addr = parse_ip(text)  # the one reading of an address (desktop.core.ip)
    if addr is None:
        raise ValueError(f"not an IP address: {text!r}")
    return addr, False


def parse(text: str, file_name: str) -> Table:
    """Read every row of a table.

    Raises:
        FeedError: a line is not an ip2asn row (naming the line), or mixes IPv4 and IPv6.
    """
    table = Table()
    integer = False
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            (first, u1), (last, u2) = _address(parts[0]), _address(parts[1])
            asn = int(parts[2])
        except (ValueError, IndexError) as exc:
            raise FeedError(f"{file_name} line {n} is not an ip2asn row: {line[:80]!r}") from exc
        integer = integer or u1 or u2
        if first.version != last.version:
            raise FeedError(f"{file_name} line {n} mixes IPv4 and IPv6 addresses")
        if int(last) < int(first):
            raise FeedError(f"{file_name} line {n}: the range ends before it starts")
        if asn == 0:
            table.accounting.skip("range", "not routed (AS 0)")
            continue
        table.versions.add(first.version)
        country = parts[3].strip() if len(parts) > 3 else ""
        name = parts[4].strip() if len(parts) > 4 else ""
        table.ranges.append(Range(first, last, asn, "" if country == "None" else country, name))
        table.accounting.use("range")
    table.layout = "u32" if integer else "dotted"
    return table
