# SPDX-License-Identifier: GPL-3.0-or-later
"""What a case shares with partners' platforms: one reading of the case for every exchange format.

The MISP event export, the STIX bundle and the TAXII push all say the same things about a case:
its indicators with their tags, where and how often they were seen, which feed actors they
matched, whether a warninglist flags them, the case's TLP, and the analyst's key judgments. This
module reads them once, into frozen dataclasses, so that the formats differ only in how they
write them. It only reads (the case and the workstation library); it never writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from desktop.core import analysis, timestamps
from desktop.core.case import Case
from desktop.core.correlate import correlate
from desktop.core.feeds import ACTOR_TYPES
from desktop.core.intel import Library
from desktop.core.tags import TagError, all_tags, parse_tag

TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")


@dataclass(frozen=True)
class ActorMatch:
    """A feed's actor, intrusion set or campaign an indicator matched.

    Attributes:
        name: the actor's name as the feed writes it.
        kind: ``intrusion-set``, ``threat-actor`` or ``campaign``.
        detail: the feed file and the relationship path that led to it.
        feed: the feed's file name.
        facts: what a STIX feed said about the actor (its id, aliases, resource level,
            motivation ...), empty when the feed said nothing beyond the name.
    """

    name: str
    kind: str
    detail: str
    feed: str = ""
    facts: tuple[tuple[str, Any], ...] = ()

    def fact(self, key: str) -> Any:
        """One of :attr:`facts`, or None."""
        return dict(self.facts).get(key)


@dataclass(frozen=True)
class Sighting:
    """One item of the case an indicator was seen in: when, and where in it.

    ``seen_at`` is the date of the email the item is (or is attached to), else when the item was
    acquired: the time the value was observed in the wild, as well as the case can tell.
    """

    item_id: int
    item_name: str
    seen_at: str
    sources: tuple[str, ...]
    wheres: tuple[str, ...]


@dataclass(frozen=True)
class SharedIndicator:
    """One indicator as every exchange format shares it.

    Attributes:
        id: the indicator's id in the case.
        type: Casetrail's type (``ipv4``, ``domain``, ``file_path`` ...).
        value: the normalised value.
        first_seen: when the case first recorded it (ISO 8601).
        tlp: the strictest of the case's TLP and the indicator's TLP tags.
        tags: every other tag, as typed (ATT&CK, machine and free tags).
        attack: the ATT&CK technique IDs among the tags.
        occurrences: how many times it was found (all items).
        sightings: the items it was found in.
        actors: the feed actors it matched.
        warninglists: names of the warninglists that flag it (a likely false positive).
    """

    id: int
    type: str
    value: str
    first_seen: str
    tlp: str
    tags: tuple[str, ...]
    attack: tuple[str, ...]
    occurrences: int
    sightings: tuple[Sighting, ...]
    actors: tuple[ActorMatch, ...]
    warninglists: tuple[str, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Where in the evidence it was found (header, body, ocr ...), each once."""
        return tuple(dict.fromkeys(s for sight in self.sightings for s in sight.sources))

    def where_found(self, limit: int = 3) -> str:
        """A short "where found" sentence: items and places, the first few."""
        parts = [f"{', '.join(s.sources)} of item {s.item_id} '{s.item_name}'"
                 + (f" ({', '.join(s.wheres[:2])})" if s.wheres else "") for s in self.sightings[:limit]]
        more = len(self.sightings) - limit
        return "; ".join(parts) + (f" and {more} more items" if more > 0 else "")


def _items_seen_at(case: Case) -> dict[int, tuple[str, str]]:
    """Item id → (name, when it was seen: its email's date, else its acquisition)."""
    conn = case.db.conn
    mail = {int(i): str(d) for i, d in
            conn.execute("SELECT item_id, date_utc FROM emails WHERE date_utc IS NOT NULL")}
    rows = {int(i): (str(n), str(at), p) for i, n, at, p in
            conn.execute("SELECT id, name, acquired_at, parent_id FROM items")}
    out: dict[int, tuple[str, str]] = {}
    for item, (name, acquired, _parent) in rows.items():
        node: int | None = item
        when = acquired
        for _ in range(16):  # an attachment of an attachment of a message, ...
            if node is None:
                break
            if node in mail:
                when = mail[node]
                break
            parent = rows.get(node, ("", "", None))[2]
            node = int(parent) if parent is not None else None
        out[item] = (name, when)
    return out


def case_tlp(case: Case) -> str:
    """The case's TLP 2.0 level (``amber`` when the case holds none we know)."""
    level = str(case.meta.get("tlp", "amber")).lower()
    return level if level in TLP_ORDER else "amber"


def stricter(a: str, b: str) -> str:
    """The stricter of two TLP levels."""
    return max(a, b, key=TLP_ORDER.index)


def shared_indicators(case: Case, *, library: Library | None = None) -> list[SharedIndicator]:
    """Every indicator of the case with what the exchange formats say about it, by type and value."""
    conn = case.db.conn
    tags = all_tags(conn, "indicator")
    level = case_tlp(case)
    items = _items_seen_at(case)
    seen: dict[int, dict[int, tuple[list[str], list[str]]]] = {}
    counts: dict[int, int] = {}
    for ind_id, item_id, source, where in conn.execute(
            "SELECT indicator_id, item_id, source, where_ FROM occurrences "
            "ORDER BY indicator_id, item_id, id"):
        counts[int(ind_id)] = counts.get(int(ind_id), 0) + 1
        srcs, wheres = seen.setdefault(int(ind_id), {}).setdefault(int(item_id), ([], []))
        if source not in srcs:
            srcs.append(str(source))
        if where and where not in wheres:
            wheres.append(str(where))
    corr = correlate(case, library=library)
    facts = _actor_facts(library)
    out: list[SharedIndicator] = []
    for ind_id, type_, value, first_seen in conn.execute(
            "SELECT id, type, value, first_seen FROM indicators ORDER BY type, value"):
        tlp, others, attack = level, [], []
        for text in tags.get(int(ind_id), []):
            try:
                tag = parse_tag(text)
            except TagError:
                others.append(text)
                continue
            if tag.kind == "tlp":
                tlp = stricter(tlp, tag.predicate)
            else:
                others.append(tag.text)
                if tag.kind == "attack":
                    attack.append(tag.predicate)
        c = corr.get(int(ind_id))
        matches = c.matches if c else ()
        actors = tuple(dict.fromkeys(_actor(m.name, m.kind, m.detail, facts) for m in matches
                                     if m.source == "feed" and m.kind in ACTOR_TYPES))
        warn = tuple(dict.fromkeys(m.name for m in matches if m.source == "warninglist"))
        sightings = tuple(Sighting(item, *items.get(item, ("?", "")), tuple(s), tuple(w))
                          for item, (s, w) in seen.get(int(ind_id), {}).items())
        out.append(SharedIndicator(int(ind_id), str(type_), str(value), str(first_seen), tlp, tuple(others),
                                   tuple(attack), counts.get(int(ind_id), 0), sightings, actors, warn))
    return out


def _actor_facts(library: Library | None) -> dict[tuple[str, str], dict[str, Any]]:
    """``(feed file name, actor name)`` → what the feed said about the actor (kept at import)."""
    lib = library or Library.open_existing()
    if lib is None:
        return {}
    try:
        rows = lib.conn.execute("SELECT file_name, detail FROM feeds WHERE format = 'stix'").fetchall()
    finally:
        if library is None:
            lib.close()
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for file_name, detail in rows:
        try:
            actors = json.loads(detail or "{}").get("actors") or {}
        except ValueError:
            continue
        for name, found in actors.items():
            if isinstance(found, dict):
                out[(str(file_name), str(name))] = found
    return out


def _actor(name: str, kind: str, detail: str, facts: dict[tuple[str, str], dict[str, Any]]) -> ActorMatch:
    feed = detail.split(": ", 1)[0]
    found = facts.get((feed, name), {})
    kept = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(found.items())
                 if isinstance(v, str | int | float | list))
    return ActorMatch(name, kind, detail, feed, kept)


def key_judgments(case: Case) -> list[analysis.Judgment]:
    """The case's key judgments, in the analyst's order."""
    return analysis.list_judgments(case)


def epoch(text: str | None) -> int | None:
    """Seconds since 1970 of an ISO 8601 time (MISP's sighting dates), or None."""
    when = timestamps.parse(text)  # the one reading of a time (desktop.core.timestamps)
    return None if when is None else int(when.timestamp())
