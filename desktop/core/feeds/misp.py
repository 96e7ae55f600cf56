# SPDX-License-Identifier: GPL-3.0-or-later
"""MISP event JSON feeds: attributes (also inside objects), actors from galaxies and tags.

Accepted shapes: ``{"Event": …}``, ``{"response": [...]}``, a list of either, and a bare event
(what MISP's own tests, PyMISP's ``to_json()`` and some exports write). An event with no
attributes at all is still an event: it imports with no values and says so.

Accounting is per MISP attribute type (``link attribute``: not an indicator type), per object
template, and for the event's tags, galaxies and sightings.
"""

from __future__ import annotations

import re
from typing import Any

from desktop.core.feeds import ParsedFeed, schemeless_url

# MISP attribute type → the Casetrail kinds of its ``|``-separated parts.
MISP_TYPES: dict[str, tuple[str, ...]] = {
    "ip-src": ("ip",), "ip-dst": ("ip",), "ip-src|port": ("ip",), "ip-dst|port": ("ip",),
    "domain": ("domain",), "hostname": ("domain",), "hostname|port": ("domain",),
    "domain|ip": ("domain", "ip"),
    "url": ("url",), "link": (),
    "email": ("email",), "email-src": ("email",), "email-dst": ("email",), "email-reply-to": ("email",),
    "whois-registrant-email": ("email",), "target-email": ("email",),
    "md5": ("md5",), "sha1": ("sha1",), "sha256": ("sha256",),
    "filename|md5": ("file_name", "md5"), "filename|sha1": ("file_name", "sha1"),
    "filename|sha256": ("file_name", "sha256"), "filename": ("file_name",), "AS": ("asn",),
}
ACTOR_GALAXIES = {"threat-actor": "threat-actor", "mitre-intrusion-set": "intrusion-set",
                  "mitre-enterprise-attack-intrusion-set": "intrusion-set",
                  "microsoft-activity-group": "intrusion-set", "360net": "threat-actor"}
_GALAXY_TAG_RE = re.compile(r'misp-galaxy:([a-z0-9-]+)="(.+)"\Z')
_EVENT_KEYS = ("uuid", "date", "threat_level_id", "analysis", "Orgc", "Attribute", "Object", "Tag",
               "published", "distribution")


def _is_event(entry: Any) -> bool:
    """A bare event: a dict with ``info`` (or attributes/objects) and event properties."""
    if not isinstance(entry, dict):
        return False
    if isinstance(entry.get("Attribute"), list) or isinstance(entry.get("Object"), list):
        return True
    return "info" in entry and any(k in entry for k in _EVENT_KEYS)


def events_of(doc: Any) -> list[dict[str, Any]]:
    """The MISP events a JSON document holds (none: it is not a MISP event file)."""
    items = doc.get("response", doc) if isinstance(doc, dict) else doc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return []
    events = []
    for entry in items:
        if isinstance(entry, dict) and isinstance(entry.get("Event"), dict):
            events.append(entry["Event"])
        elif _is_event(entry):
            events.append(entry)
    return events


def what_else(doc: Any) -> str:
    """What a JSON document that is no feed looks like, when that can be told (for the error)."""
    if isinstance(doc, dict):
        if "GalaxyCluster" in doc:
            return "it is a MISP galaxy definition"
        if {"type", "value"} <= doc.keys() and "timestamp" in doc:
            return "it is a single MISP attribute or sighting, not an event"
        if "predicates" in doc and "namespace" in doc:
            return "it is a MISP taxonomy"
        if "list" in doc and "matching_attributes" in doc:
            return "it is a MISP warninglist"
    return ""


def _actors(holder: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, kind) of actors named by an event's or attribute's galaxies and galaxy tags."""
    found: dict[str, str] = {}
    for galaxy in holder.get("Galaxy") or []:
        kind = ACTOR_GALAXIES.get(str(galaxy.get("type", "")))
        if kind:
            for cluster in galaxy.get("GalaxyCluster") or []:
                if cluster.get("value"):
                    found[str(cluster["value"])] = kind
    for tag in holder.get("Tag") or []:
        m = _GALAXY_TAG_RE.match(str(tag.get("name", "")))
        if m and m.group(1) in ACTOR_GALAXIES:
            found.setdefault(m.group(2), ACTOR_GALAXIES[m.group(1)])
    return sorted(found.items())


def _account_tags(parsed: ParsedFeed, holder: dict[str, Any], where: str) -> None:
    acc = parsed.accounting
    for tag in holder.get("Tag") or []:
        name = str(tag.get("name", "")) if isinstance(tag, dict) else ""
        m = _GALAXY_TAG_RE.match(name)
        if m and m.group(1) in ACTOR_GALAXIES:
            acc.use(f"{where} tag")
        elif name:
            acc.use(f"{where} tag")  # kept in the feed's detail (TLP, taxonomies, free tags)
            parsed.detail.setdefault("tags", [])
            if name not in parsed.detail["tags"]:
                parsed.detail["tags"].append(name)
        else:
            acc.skip(f"{where} tag", "a tag without a name")
    for galaxy in holder.get("Galaxy") or []:
        kind = str(galaxy.get("type", "")) if isinstance(galaxy, dict) else ""
        clusters = len(galaxy.get("GalaxyCluster") or []) if isinstance(galaxy, dict) else 0
        if kind in ACTOR_GALAXIES:
            acc.use("galaxy cluster", clusters)
        else:
            acc.skip("galaxy cluster", f"galaxy '{kind}' names no actor", clusters)


def parse(events: list[dict[str, Any]], file_name: str) -> ParsedFeed:
    """Read MISP events into values with their actors, accounting for every attribute."""
    parsed = ParsedFeed("misp", file_name)
    acc = parsed.accounting
    if len(events) == 1 and events[0].get("info"):
        parsed.name = str(events[0]["info"])
    parsed.detail = {"events": [str(e.get("uuid", "")) for e in events]}
    for event in events:
        info = str(event.get("info", "")) or file_name
        where = f"MISP event '{info}' ({event.get('uuid', 'no uuid')})"
        _account_tags(parsed, event, "event")
        event_actors = _actors(event)
        attributes: list[tuple[Any, str | None]] = [(a, None) for a in event.get("Attribute") or []]
        for obj in event.get("Object") or []:
            if not isinstance(obj, dict):
                continue
            inner = obj.get("Attribute") or []
            attributes += [(a, str(obj.get("name", "object"))) for a in inner]
        used_objects: dict[str, int] = {}
        for obj in event.get("Object") or []:
            if isinstance(obj, dict):
                used_objects.setdefault(str(obj.get("name", "object")), 0)
        if attributes:
            acc.use("event")
        else:
            acc.skip("event", "holds no attributes (its tags and galaxies are counted on their own)")
        for attr, in_object in attributes:
            if not isinstance(attr, dict):
                acc.skip("attribute", "not an object")
                continue
            if _attribute(parsed, attr, event_actors, info, where) and in_object is not None:
                used_objects[in_object] += 1
            _account_tags(parsed, attr, "attribute")
            sightings = attr.get("Sighting") or []
            if sightings:
                acc.skip("sighting", "another organisation's sighting; sightings are not imported",
                         len(sightings))
        for obj in event.get("Object") or []:
            if isinstance(obj, dict):
                name = str(obj.get("name", "object"))
                if any(_gives_value(a) for a in obj.get("Attribute") or [] if isinstance(a, dict)):
                    acc.use(f"{name} object")
                else:
                    acc.skip(f"{name} object", "no attribute of an indicator type")
        for report in event.get("EventReport") or []:
            acc.skip("event report", "a free-text report; not imported", 1 if report else 0)
    return parsed


def _gives_value(attr: dict[str, Any]) -> bool:
    return bool(MISP_TYPES.get(str(attr.get("type", ""))))


def _attribute(parsed: ParsedFeed, attr: dict[str, Any], event_actors: list[tuple[str, str]],
               info: str, where: str) -> bool:
    mtype = str(attr.get("type", ""))
    kinds = MISP_TYPES.get(mtype)
    kind_name = f"{mtype or '?'} attribute"
    if not kinds:
        parsed.accounting.skip(kind_name, "not an indicator type Casetrail keeps")
        return False
    actors = _actors(attr) or event_actors
    contexts = [(name, kind, f"{where}, galaxy {kind}") for name, kind in actors] or [(info, "event", where)]
    parts = str(attr.get("value", "")).split("|")
    stored = False
    for kind, part in zip(kinds, parts, strict=False):
        value = parts[0] if mtype.endswith("|port") and kind == "ip" else part
        value = value.strip()
        type_ = _kind_type(kind, value)
        if kind == "file_name" and ("\\" in value or "/" in value):
            type_ = "file_path"
        if kind == "url" and "://" not in value:
            type_, value = schemeless_url(value)
        for ctx in contexts:
            stored = parsed.add(type_, value, ctx) or stored
    if stored:
        parsed.accounting.use(kind_name)
    else:
        parsed.accounting.skip(kind_name, "invalid value")
    return stored


def _kind_type(kind: str, value: str) -> str:
    if kind == "ip":
        return "cidr" if "/" in value else "ipv6" if ":" in value else "ipv4"
    return kind
