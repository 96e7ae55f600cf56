# SPDX-License-Identifier: GPL-3.0-or-later
"""Correlation: what is already known about each indicator of a case.

For every indicator this module lists its matches — other items of this case, other cases on the
workstation, imported feeds (with the actor, intrusion set or campaign they indicate), the MISP
warninglists — and, for IP addresses, the ASN / provider / country from the imported ip2asn table.
It only reads: the case, the workstation library and the shipped warninglists; results are small
frozen dataclasses that the CLI prints and the window shows.

Speed: the feed and case lookups are one indexed join each in the library (see
:meth:`desktop.core.intel.Library.match`), so a case of 10,000 indicators against a library of a
million feed entries costs about what the bare join costs (``tests/bench/correlate_speed.py``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from desktop.core import references, warninglists
from desktop.core.case import Case
from desktop.core.findings import decode_warnings, list_indicators
from desktop.core.intel import AsnRecord, FeedHit, Library
from desktop.core.ip import network, parse_host
from desktop.core.tags import all_tags

SOURCES = ("case", "feed", "warninglist")


@dataclass(frozen=True)
class Match:
    """One thing an indicator matched.

    Attributes:
        source: ``case`` (this or another case), ``feed`` or ``warninglist``.
        name: what a reader needs first: the case title, the actor / intrusion set / campaign
            (or the feed's name when the feed attributes nothing), the warninglist's name.
        detail: where: items and date of the case, feed file and relationship path, list description.
        kind: finer grain for filters: ``this-case``, ``other-case``, the STIX type of the actor
            (``intrusion-set``, ``threat-actor``, ``campaign``, ``malware``), ``feed``, ``event``,
            or the warninglist id.
        ref: what the match points at, for code that must decide whether it may be shown: the
            other case's id for ``other-case``; empty otherwise.
    """

    source: str
    name: str
    detail: str
    kind: str = ""
    ref: str = ""

    def to_json(self) -> dict[str, str]:
        """The contract shape ``{source, name, detail}``."""
        return {"source": self.source, "name": self.name, "detail": self.detail}


@dataclass(frozen=True)
class Correlation:
    """Everything known about one indicator.

    Attributes:
        indicator_id: the indicator's id in the case.
        type: its type.
        value: its normalised value.
        items: ids of the items of this case it occurs in.
        matches: the matches, this case first, then other cases, feeds, warninglists.
        asn: the ip2asn record for an IP address, if a table is imported and covers it.
    """

    indicator_id: int
    type: str
    value: str
    items: tuple[int, ...]
    matches: tuple[Match, ...]
    asn: AsnRecord | None = None

    @property
    def warninglisted(self) -> bool:
        """On at least one warninglist (shown, never hidden)."""
        return any(m.source == "warninglist" for m in self.matches)

    @property
    def seen_before(self) -> bool:
        """Matched another case or a feed: the question an analyst asks first."""
        return any(m.source == "feed" or m.kind == "other-case" for m in self.matches)


def _feed_match(hit: FeedHit) -> Match:
    if hit.kind == "feed":
        return Match("feed", hit.feed_name, f"{hit.file_name}: {hit.path}", "feed")
    return Match("feed", hit.name, f"{hit.file_name}: {hit.path}", hit.kind)


class _Networks:
    """Feed CIDR entries, probed per prefix length: exact and O(distinct prefix lengths)."""

    def __init__(self, entries: list[tuple[str, FeedHit]]) -> None:
        self._by_prefix: dict[tuple[int, int], dict[int, list[FeedHit]]] = {}
        for value, hit in entries:
            try:
                net = network(value)
            except ValueError:
                continue
            key = (net.version, net.prefixlen)
            self._by_prefix.setdefault(key, {}).setdefault(int(net.network_address), []).append(hit)

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def containing(self, address: str) -> list[FeedHit]:
        if not self._by_prefix:
            return []
        addr = parse_host(address)
        if addr is None:
            return []
        bits = 32 if addr.version == 4 else 128
        out: list[FeedHit] = []
        for (version, prefix), nets in self._by_prefix.items():
            if version == addr.version:
                masked = int(addr) & ~((1 << (bits - prefix)) - 1)
                out += nets.get(masked, [])
        return out


def correlate(case: Case, *, type_: str | None = None, library: Library | None = None,
              use_library: bool = True, conn: sqlite3.Connection | None = None) -> dict[int, Correlation]:
    """Correlate every indicator of a case (or those of one type).

    Args:
        case: the case (only its metadata and, unless ``conn`` is given, its connection are used).
        type_: only indicators of this type.
        library: an open workstation library; by default the existing one is opened (none is
            created by merely reading).
        use_library: False to skip other cases, feeds and ASN (this case and warninglists only).
        conn: a connection to read the case through, e.g. a window's reader on another thread.

    Returns:
        ``indicator id → Correlation``.
    """
    db = conn or case.db.conn
    sql = "SELECT id, type, value, warnings FROM indicators"
    args: tuple[Any, ...] = ()
    if type_:
        sql += " WHERE type = ?"
        args = (type_,)
    rows = db.execute(sql, args).fetchall()
    indicators: list[tuple[int, str, str]] = [(i, t, v) for i, t, v, _w in rows]
    # Hits were stored when each indicator was recorded; only older rows are checked here.
    listed = {i: decode_warnings(w) for i, _t, _v, w in rows if w is not None and w != "[]"}
    unchecked = [(i, t, v) for i, t, v, w in rows if w is None]
    if unchecked:
        listed.update(warninglists.shipped().check_many(unchecked))
    occurrence_items: dict[int, list[int]] = {}
    certain_items: dict[int, list[int]] = {}
    for ind, item, certain in db.execute(
            "SELECT indicator_id, item_id, MAX(NOT (source = 'ocr' AND COALESCE(status, 'uncertain') = "
            "'uncertain')) FROM occurrences GROUP BY indicator_id, item_id ORDER BY 1, 2"):
        occurrence_items.setdefault(ind, []).append(item)
        if certain:
            certain_items.setdefault(ind, []).append(item)
    items = {ind: tuple(ids) for ind, ids in occurrence_items.items()}
    found: dict[int, list[Match]] = {}
    title = case.title
    # An uncertain OCR reading (a possible misread) does not tie items together.
    for ind_id, mine in certain_items.items():
        if len(mine) > 1:
            found[ind_id] = [Match("case", f"{title} (this case)",
                                   f"items {', '.join(map(str, mine))} of this case", "this-case")]
    asn: dict[int, AsnRecord] = {}
    if use_library and library is None and references.has_snapshot(db):
        # The case's own snapshot, with the reference item each match came from (issue 11): the
        # workstation library of today does not change what an earlier case states.
        snap, snap_asn = references.snapshot(db)
        for m in snap:
            if m.source == "feed":
                detail = f"{m.detail} (reference item {m.reference_item_id}, SHA-256 {m.reference_sha256})"
                found.setdefault(m.indicator_id, []).append(Match("feed", m.name, detail, m.kind))
            else:
                found.setdefault(m.indicator_id, []).append(Match("case", m.name, m.detail, m.kind))
        asn = {i: AsnRecord(n, name, country) for i, (n, name, country, _ref, _sha) in snap_asn.items()}
        use_library = False
    own = library is None and use_library
    lib = Library.open_existing() if own else library
    try:
        if lib is not None and use_library:
            feed_hits, case_hits = lib.match(indicators, exclude_case=case.meta.get("case_id"))
            for ch in case_hits:
                detail = f"created {ch.created_at[:10]}; items {ch.items.replace(',', ', ')}"
                found.setdefault(ch.key, []).append(Match("case", ch.title, detail, "other-case", ch.case_id))
            for fh in feed_hits:
                found.setdefault(fh.key, []).append(_feed_match(fh))
            ips = [(ind_id, v) for ind_id, t, v in indicators if t in ("ipv4", "ipv6")]
            networks = _Networks(lib.feed_networks())
            if networks:
                for ind_id, v in ips:
                    for h in networks.containing(v):
                        found.setdefault(ind_id, []).append(_feed_match(h))
            asn = lib.asn_lookup(ips)
    finally:
        if own and lib is not None:
            lib.close()
    out: dict[int, Correlation] = {}
    none: tuple[int, ...] = ()
    for ind_id, t, v in indicators:
        matches = found.get(ind_id)
        hits = listed.get(ind_id)
        if hits:
            matches = (matches or []) + [Match("warninglist", h.name, h.description, h.list_id) for h in hits]
        out[ind_id] = Correlation(ind_id, t, v, items.get(ind_id, none),
                                  tuple(dict.fromkeys(matches)) if matches else (), asn.get(ind_id))
    return out


def indicators_with_matches(case: Case, type_: str | None = None, *, library: Library | None = None,
                            use_library: bool = True) -> list[dict[str, Any]]:
    """The ``indicators --json`` document: occurrences plus ``tags``, ``matches`` and ``asn``."""
    conn = case.db.conn
    rows = list_indicators(conn, type_)
    ids = {(str(t), str(v)): int(i) for i, t, v in conn.execute("SELECT id, type, value FROM indicators")}
    tags = all_tags(conn, "indicator")
    corr = correlate(case, type_=type_, library=library, use_library=use_library)
    for row in rows:
        ind_id = ids[(row["type"], row["value"])]
        row["tags"] = tags.get(ind_id, [])
        c = corr.get(ind_id)
        row["matches"] = [m.to_json() for m in c.matches] if c else []
        if row.get("uncertain"):
            # a match of a possible misread is shown, never as a certain one
            for match in row["matches"]:
                match["detail"] = f"uncertain OCR reading; {match['detail']}"
        if c is not None and c.asn is not None:
            row["asn"] = c.asn.to_json()
    return rows
