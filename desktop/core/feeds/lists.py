# SPDX-License-Identifier: GPL-3.0-or-later
"""CSV indicator lists: a header naming a value column, optionally a type and an actor column."""

from __future__ import annotations

import csv
import io
from typing import Any

from desktop.core.feeds import FeedError, ParsedFeed
from desktop.core.feeds.misp import MISP_TYPES
from desktop.core.indicators import TYPES, classify

VALUE_COLUMNS = ("value", "indicator", "ioc", "observable", "indicator_value")
_TYPE_COLUMNS = ("type", "indicator_type", "ioc_type")
_NAME_COLUMNS = ("actor", "threat_actor", "intrusion_set", "campaign", "attribution")


def parse(text: str, file_name: str) -> ParsedFeed:
    """Read a CSV list (delimiter ``,``, ``;``, tab or ``|``), one value per row.

    Raises:
        FeedError: empty, or no header names a value column.
    """
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise FeedError(f"{file_name} is empty")
    cols = [h.strip().lower().replace(" ", "_") for h in header]
    value_col = next((cols.index(c) for c in VALUE_COLUMNS if c in cols), None)
    if value_col is None:
        raise FeedError(f"{file_name}: cannot tell the format; a CSV list needs a header with a "
                        f"{'/'.join(VALUE_COLUMNS)} column, JSON must be a STIX bundle or MISP event, "
                        "and an ip2asn table has tab-separated start, end, AS number, country, name")
    type_col = next((cols.index(c) for c in _TYPE_COLUMNS if c in cols), None)
    name_col = next((cols.index(c) for c in _NAME_COLUMNS if c in cols), None)
    parsed = ParsedFeed("csv", file_name)
    acc = parsed.accounting
    for row in reader:
        if not row or value_col >= len(row) or not row[value_col].strip():
            if row and any(c.strip() for c in row):
                acc.skip("row", "no value in the value column")
            continue
        raw = row[value_col].strip()
        type_ = None
        if type_col is not None and type_col < len(row) and row[type_col].strip():
            declared = row[type_col].strip().lower()
            type_ = declared if declared in TYPES else None
            if type_ is None and declared in MISP_TYPES and MISP_TYPES[declared]:
                kind = MISP_TYPES[declared][0]
                type_ = ("cidr" if "/" in raw else "ipv6" if ":" in raw else "ipv4") if kind == "ip" else kind
        type_ = type_ or classify(raw)
        if type_ is None:
            acc.skip("row", "value of no known indicator type")
            continue
        actor = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        ctx = (actor, "threat-actor", file_name) if actor else (file_name, "feed", file_name)
        if parsed.add(type_, raw, ctx):
            acc.use("row")
        else:
            acc.skip("row", f"invalid {type_} value")
    return parsed
