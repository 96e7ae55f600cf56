# SPDX-License-Identifier: GPL-3.0-or-later
"""STIX 2.0 and 2.1 feeds: indicator patterns, observables, and who is behind them.

Values come from three places: ``indicator`` patterns (comparisons with ``=`` or ``IN``, read
observation by observation so that a file's name and folder compared in one observation become
one file path), cyber-observable objects (2.1 top-level SCOs), and the objects embedded in STIX 2.0
``observed-data``. Each value is attributed by following relationships to the intrusion set,
threat actor or campaign behind it (see :func:`_Walker.contexts`).

Hash algorithm names are compared the way the specification's vocabulary intends, not byte for
byte: ``MD5``, ``md5``, ``'SHA-256'``, ``SHA256`` all name the same algorithm (the OASIS APT1
report writes ``file:hashes.md5``).

Every object is accounted for: used (it gave a value, named a match, or lay on the path from a
value to its actor), or counted as not used with a reason specific to its type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from desktop.core.feeds import ACTOR_TYPES, Context, FeedError, ParsedFeed, schemeless_url
from desktop.core.indicators import classify

_STIX_ID_RE = re.compile(r"[a-z0-9-]+--[0-9a-fA-F-]{36}\Z")
# Moves from a node towards who is behind it. Forward: the node is the relationship's source.
_FORWARD = ("indicates", "attributed-to")
_REVERSE = ("consists-of", "based-on", "communicates-with", "beacons-to", "exfiltrates-to", "object_refs",
            "uses", "hosts", "controls", "resolves-to", "related-to", "derived-from", "duplicate-of")
_FOLLOWED = frozenset(_FORWARD + _REVERSE)
_MAX_DEPTH = 4
# Comparisons whose value is an indicator Casetrail keeps: (object type, property path) → kind.
_PATHS: dict[tuple[str, str], str] = {
    ("ipv4-addr", "value"): "ip", ("ipv6-addr", "value"): "ip",
    ("domain-name", "value"): "domain", ("url", "value"): "url", ("email-addr", "value"): "email",
    ("email-message", "from_ref.value"): "email", ("email-message", "sender_ref.value"): "email",
    ("email-message", "to_refs[*].value"): "email", ("email-message", "cc_refs[*].value"): "email",
    ("email-message", "bcc_refs[*].value"): "email",
    ("file", "name"): "file_name", ("directory", "path"): "file_path",
    ("autonomous-system", "number"): "asn",
    ("network-traffic", "dst_ref.value"): "ip?", ("network-traffic", "src_ref.value"): "ip?",
}
# Observable objects with one value property: type → (property, kind).
_SCO_VALUE: dict[str, tuple[str, str]] = {
    "ipv4-addr": ("value", "ip"), "ipv6-addr": ("value", "ip"), "domain-name": ("value", "domain"),
    "url": ("value", "url"), "email-addr": ("value", "email"), "autonomous-system": ("number", "asn"),
    "directory": ("path", "file_path"),
}
# Observables whose values are carried by the objects they refer to.
_SCO_BY_REFS = {"email-message": "its addresses are counted as email-addr objects",
                "network-traffic": "its addresses are counted as ipv4-addr/ipv6-addr objects"}
_SCO_TYPES = frozenset({*_SCO_VALUE, "file", "email-message", "network-traffic", "artifact", "mutex",
                        "process", "software", "user-account", "windows-registry-key",
                        "x509-certificate", "mac-addr"})
_NOT_VALUES = {
    "identity": "an author, organisation or target, not an indicator value",
    "marking-definition": "a statement marking (copyright, terms), not an indicator value",
    "attack-pattern": "an ATT&CK technique, not an indicator value",
    "course-of-action": "a mitigation, not an indicator value",
    "vulnerability": "a vulnerability, not an indicator value",
    "location": "a location, not an indicator value",
    "sighting": "a sighting (who saw a value, when); sightings are not imported",
    "opinion": "an analyst's opinion; not imported",
    "note": "an analyst's note; not imported",
    "language-content": "translations are not imported",
    "extension-definition": "a schema extension definition, not an indicator value",
}


def _hash_kind(algo: str) -> str | None:
    """``md5`` / ``sha1`` / ``sha256`` for any spelling of the algorithm name, else None."""
    key = re.sub(r"[^a-z0-9]", "", algo.lower())
    return {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}.get(key)


def is_stix(doc: Any) -> bool:
    """A bundle, a single STIX object, or a non-empty JSON list of STIX objects."""
    if isinstance(doc, dict) and doc.get("type") == "bundle" and isinstance(doc.get("objects"), list):
        return True
    if isinstance(doc, list):
        return bool(doc) and all(_is_object(o) for o in doc)
    return _is_object(doc)


def _is_object(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("type"), str) and bool(
        _STIX_ID_RE.match(str(doc.get("id", ""))))


def as_bundle(doc: Any) -> dict[str, Any]:
    """A bundle, a single STIX object or a JSON list of them, as a bundle."""
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        return doc
    return {"type": "bundle", "objects": doc if isinstance(doc, list) else [doc]}


# -- patterns ---------------------------------------------------------------------------------


def _path_key(path: list[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not isinstance(part, str) or part == "*":  # stix2patterns' sentinel for a [*] index
            out += "[*]"
        else:
            out += ("." if out else "") + part
    return out


_LITERAL_RE = re.compile(r"'(?:[^'\\]|\\.)*'|[^,()\s]+")


def _literal(text: str) -> str:
    r"""Value of a STIX pattern literal: ``'a\\'b'`` → ``a'b``; numbers stay as written."""
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _literals(op: str, literal: str) -> list[str]:
    """The values of a comparison: one, or each member of an ``IN (...)`` list.

    Commas inside quoted strings belong to the value, so the list is read literal by literal.
    """
    if op == "IN":
        return [_literal(m.group(0)) for m in _LITERAL_RE.finditer(literal)]
    return [_literal(literal)]


def observations(pattern: str) -> list[str]:
    """The top-level ``[...]`` observation expressions of a pattern, quotes respected."""
    out: list[str] = []
    depth, start, quoted, escaped = 0, 0, False, False
    for i, ch in enumerate(pattern):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "'":
                quoted = False
        elif ch == "'":
            quoted = True
        elif ch == "[":
            depth += 1
            if depth == 1:
                start = i
        elif ch == "]" and depth:
            depth -= 1
            if depth == 0:
                out.append(pattern[start:i + 1])
    return out


def _join_path(folder: str, name: str) -> str:
    windows = "\\" in folder or bool(re.match(r"[A-Za-z]:\Z", folder))
    sep = "\\" if windows else "/"
    return folder.rstrip(sep) + sep + name


@dataclass
class PatternValues:
    """What a pattern holds: its values and the comparisons it has that are not values."""

    values: list[tuple[str, str]] = field(default_factory=list)
    not_values: list[str] = field(default_factory=list)


def pattern_values(pattern: str, version: str) -> PatternValues:
    """Observable values compared with ``=`` or ``IN`` in a STIX pattern, observation by observation.

    Raises:
        Exception: stix2patterns' own (untyped) errors when the pattern does not parse.
    """
    inspect = _inspector(version)
    inspect(pattern)  # the whole pattern must be valid, not only its pieces
    out = PatternValues()
    for obs in observations(pattern):
        comparisons = inspect(obs)
        for obj_type, items in comparisons.items():
            names: list[str] = []
            folders: list[str] = []
            for path, op, literal in items:
                key = _path_key(path)
                kind = _PATHS.get((obj_type, key))
                if kind is None and obj_type == "file" and len(path) == 2 and path[0] == "hashes":
                    kind = _hash_kind(str(path[1]))
                if obj_type == "file" and key == "parent_directory_ref.path" and op == "=":
                    folders.append(_literal(literal))
                    continue
                if kind is None or op not in ("=", "IN"):
                    out.not_values.append(f"{op} on {obj_type}:{key}" if kind is not None
                                          else f"{obj_type}:{key} is not an indicator value")
                    continue
                for value in _literals(op, literal):
                    if kind == "file_name":
                        names.append(value)
                    else:
                        out.values.append(_typed(kind, value))
            if len(folders) == 1 and len(names) == 1:
                out.values.append(("file_path", _join_path(folders[0], names[0])))
            else:
                out.values += [("file_name", n) for n in names]
                out.values += [("file_path", f) for f in folders]
    return out


def _inspector(version: str) -> Callable[[str], dict[str, list[tuple[list[Any], str, str]]]]:
    if version == "2.0":
        from stix2patterns.v20.pattern import Pattern as Pattern20

        return lambda text: dict(Pattern20(text).inspect().comparisons)
    from stix2patterns.v21.pattern import Pattern as Pattern21

    return lambda text: dict(Pattern21(text).inspect().comparisons)


def _typed(kind: str, value: str) -> tuple[str, str]:
    """The type and value of an observable value of a kind (schemeless URLs read as meant)."""
    if kind == "url" and "://" not in value:
        return schemeless_url(value)
    return _kind_type(kind, value), value


def _kind_type(kind: str, value: str) -> str:
    if kind == "ip":
        return "cidr" if "/" in value else "ipv6" if ":" in value else "ipv4"
    if kind == "ip?":
        return classify(value) or "domain"
    return kind


# -- observables ------------------------------------------------------------------------------


def sco_values(obj: dict[str, Any], resolve: Callable[[Any], dict[str, Any] | None]) -> list[tuple[str, str]]:
    """The indicator values of one cyber-observable; ``resolve`` finds the object a ``*_ref`` names."""
    kind = str(obj.get("type"))
    if kind in _SCO_VALUE:
        prop, what = _SCO_VALUE[kind]
        return [_typed(what, str(obj[prop]))] if obj.get(prop) is not None else []
    if kind != "file":
        return []
    out: list[tuple[str, str]] = []
    hashes = obj.get("hashes")
    for algo, digest in (hashes.items() if isinstance(hashes, dict) else ()):
        t = _hash_kind(str(algo))
        if t:
            out.append((t, str(digest)))
    if obj.get("name"):
        parent = resolve(obj.get("parent_directory_ref")) if obj.get("parent_directory_ref") else None
        if parent and parent.get("path"):
            out.append(("file_path", _join_path(str(parent["path"]), str(obj["name"]))))
        else:
            out.append(("file_name", str(obj["name"])))
    return out


def _refs(obj: dict[str, Any]) -> list[Any]:
    """Every ``*_ref`` / ``*_refs`` value of an object (its links to other objects)."""
    out: list[Any] = []
    for key, value in obj.items():
        if key.endswith("_ref") and key != "created_by_ref":
            out.append(value)
        elif key.endswith("_refs") and key not in ("object_marking_refs",) and isinstance(value, list):
            out += value
    return out


# -- attribution ------------------------------------------------------------------------------

Step = tuple[str, str, str, str]  # (source, relationship type, target, relationship object id or "")


class _Walker:
    """Follows relationships from a value's object to the actor behind it, remembering what it used."""

    def __init__(self, objects: dict[str, dict[str, Any]], feed_name: Callable[[], str]) -> None:
        self.objects = objects
        self.feed_name = feed_name
        self.out_edges: dict[str, list[tuple[str, str, str]]] = {}
        self.in_edges: dict[str, list[tuple[str, str, str]]] = {}
        self.touched: set[str] = set()
        for obj in objects.values():
            if obj["type"] == "relationship":
                src, rel, tgt = (str(obj.get(k, ""))
                                 for k in ("source_ref", "relationship_type", "target_ref"))
                if src in objects and tgt in objects:
                    self.out_edges.setdefault(src, []).append((rel, tgt, obj["id"]))
                    self.in_edges.setdefault(tgt, []).append((rel, src, obj["id"]))
            elif obj["type"] == "observed-data" or obj["type"] in _SCO_TYPES:
                for ref in _refs(obj):
                    if isinstance(ref, str) and ref in objects:
                        self.in_edges.setdefault(ref, []).append(("object_refs", obj["id"], ""))

    def _label(self, oid: str) -> str:
        obj = self.objects[oid]
        name = obj.get("name") or obj.get("value") or obj["id"]
        return f"{obj['type']} '{name}'"

    def contexts(self, start: str) -> list[Context]:
        """Who is behind ``start``: actors in reach, else the nearest malware/tool, else the feed.

        Forward ``indicates``/``attributed-to``; backwards the links in :data:`_REVERSE`. Once an
        actor is reached only ``attributed-to`` is followed further, so an indicator of one
        campaign is not credited to every campaign using the same malware.
        """
        objects = self.objects
        paths: dict[str, list[Step]] = {start: []}
        frontier = [start]
        actors: dict[str, list[Step]] = {}
        fallback: tuple[str, list[Step]] | None = None
        for _depth in range(_MAX_DEPTH):
            nxt: list[str] = []
            only_attribution = bool(actors)
            for node in frontier:
                node_type = objects[node]["type"]
                moves: list[tuple[str, str, str, bool]] = []
                for rel, other, via in self.out_edges.get(node, []):
                    if rel in _FORWARD and (not only_attribution or rel == "attributed-to"):
                        moves.append((rel, other, via, True))
                for rel, other, via in self.in_edges.get(node, []):
                    if only_attribution or node_type in ACTOR_TYPES:
                        if rel == "attributed-to" and objects[other]["type"] in ACTOR_TYPES:
                            moves.append((rel, other, via, False))
                    elif rel in _REVERSE:
                        moves.append((rel, other, via, False))
                for rel, other, via, forward in moves:
                    if other in paths:
                        continue
                    step = (node, rel, other, via) if forward else (other, rel, node, via)
                    paths[other] = [*paths[node], step]
                    other_type = objects[other]["type"]
                    if other_type in ACTOR_TYPES:
                        actors[other] = paths[other]
                    elif fallback is None and other_type in ("malware", "tool", "infrastructure"):
                        fallback = (other, paths[other])
                    nxt.append(other)
            frontier = nxt
            if not frontier:
                break
        if actors:
            return [self._context(a, p) for a, p in actors.items()]
        if fallback is not None:
            return [self._context(*fallback)]
        return [(self.feed_name(), "feed", self._label(start))]

    def _context(self, node: str, steps: list[Step]) -> Context:
        for s, _rel, t, via in steps:
            self.touched.update((s, t, via) if via else (s, t))
        path = "; ".join(f"{self._label(s)} {rel} {self._label(t)}" for s, rel, t, _ in steps)
        return (str(self.objects[node].get("name", node)), self.objects[node]["type"], path)


# -- the feed ---------------------------------------------------------------------------------


def _version_of(doc: dict[str, Any]) -> str:
    if doc.get("spec_version") == "2.0":
        return "2.0"
    objects = [o for o in doc.get("objects", []) if isinstance(o, dict)]
    if doc.get("spec_version") is None and objects and not any("spec_version" in o for o in objects):
        return "2.0"  # STIX 2.1 requires spec_version on every SDO/SRO; 2.0 objects have none
    return "2.1"


def parse(doc: dict[str, Any], file_name: str) -> ParsedFeed:
    """Read a STIX bundle into values with their actors, accounting for every object.

    Raises:
        FeedError: the bundle has no list of objects (found by fuzzing: it was a KeyError).
    """
    import stix2
    import stix2.exceptions

    if not isinstance(doc.get("objects"), list):
        raise FeedError(f"{file_name} is a STIX bundle without a list of objects")
    version = _version_of(doc)
    parsed = ParsedFeed("stix", file_name, detail={"bundle_id": doc.get("id"), "spec_version": version})
    acc = parsed.accounting
    objects: dict[str, dict[str, Any]] = {}
    for obj in doc["objects"]:
        if not isinstance(obj, dict) or "id" not in obj or "type" not in obj:
            acc.skip("(no type)", "objects without an id or type")
            continue
        try:
            # Validation only (types, required properties, timestamps); we keep the dicts, which
            # are faster to walk. allow_custom: partners' bundles carry x_ properties and types.
            stix2.parse(obj, allow_custom=True, version=str(obj.get("spec_version") or version))
        except (stix2.exceptions.STIXError, ValueError, TypeError) as exc:
            acc.skip(str(obj["type"]), f"invalid ({type(exc).__name__})")
            continue
        objects[str(obj["id"])] = obj
    reports = [o for o in objects.values() if o["type"] in ("report", "grouping") and o.get("name")]
    named_by = reports[0]["id"] if len(reports) == 1 else None
    if named_by:
        parsed.name = str(reports[0]["name"])
    walker = _Walker(objects, lambda: parsed.name)
    gave: set[str] = set()

    def store(oid: str, values: list[tuple[str, str]]) -> None:
        if not values:
            return
        contexts = walker.contexts(oid)
        for type_, value in values:
            for ctx in contexts:
                if parsed.add(type_, value, ctx):
                    gave.add(oid)

    counted: set[str] = set()  # objects already counted as not used, with their own reason
    for oid, obj in objects.items():
        kind = obj["type"]
        if kind == "indicator" and not _indicator(parsed, obj, version, store):
            counted.add(oid)
        elif kind in _SCO_TYPES:
            store(oid, sco_values(obj, lambda ref: objects.get(ref) if isinstance(ref, str) else None))
        elif kind == "observed-data" and isinstance(obj.get("objects"), dict):
            _embedded(parsed, obj, store)
    parsed.detail["objects"] = len(objects)
    actors = {str(o["name"]): _actor_facts(o) for o in objects.values()
              if o["type"] in ACTOR_TYPES and o.get("name") and str(o["name"]) in parsed.actors}
    if actors:
        parsed.detail["actors"] = actors
    tlp = sorted({str(o.get("name")) for o in objects.values() if o["type"] == "marking-definition"
                  and str(o.get("name", "")).upper().startswith("TLP:")})
    if tlp:
        parsed.detail["markings"] = tlp
    for oid, obj in objects.items():
        if obj["type"] == "observed-data" and set(obj.get("object_refs") or ()) & gave:
            gave.add(oid)  # STIX 2.1: it groups observables that gave values
    for oid, obj in objects.items():
        if oid not in counted:
            _account(parsed, obj, oid in gave or oid in walker.touched or oid == named_by, objects)
    return parsed


_ACTOR_FACTS = ("aliases", "resource_level", "primary_motivation", "secondary_motivations", "sophistication",
                "roles", "threat_actor_types", "goals", "first_seen", "last_seen", "objective")


def _actor_facts(obj: dict[str, Any]) -> dict[str, Any]:
    """What a feed says about an actor, kept so an export can say it again (with the feed's id)."""
    return {"type": obj["type"], "id": obj["id"], **{k: obj[k] for k in _ACTOR_FACTS if k in obj}}


def _indicator(parsed: ParsedFeed, obj: dict[str, Any],
               version: str, store: Callable[[str, list[tuple[str, str]]], None]) -> bool:
    """Store an indicator's values; False when it was counted as not used (with its reason)."""
    acc = parsed.accounting
    if obj.get("pattern_type", "stix") != "stix" or not obj.get("pattern"):
        acc.skip("indicator", f"{obj.get('pattern_type')} pattern (only STIX patterns are read)")
        return False
    try:
        found = pattern_values(str(obj["pattern"]), str(obj.get("spec_version") or version))
    except Exception:  # stix2patterns raises its own, untyped errors
        acc.skip("indicator", "pattern cannot be parsed")
        return False
    for why in found.not_values:
        acc.skip("pattern comparison", why)
    if not found.values:
        acc.skip("indicator", "its pattern compares no value Casetrail keeps")
        return False
    store(str(obj["id"]), found.values)
    return True


def _embedded(parsed: ParsedFeed, obj: dict[str, Any],
              store: Callable[[str, list[tuple[str, str]]], None]) -> None:
    """STIX 2.0 observed-data: observables embedded under keys, ``*_ref`` naming those keys."""
    embedded: dict[str, Any] = obj["objects"]

    def resolve(ref: Any) -> dict[str, Any] | None:
        found = embedded.get(str(ref))
        return found if isinstance(found, dict) else None

    values: list[tuple[str, str]] = []
    for inner in embedded.values():
        if not isinstance(inner, dict):
            parsed.accounting.skip("(no type)", "embedded observables that are not objects")
            continue
        kind = str(inner.get("type", "?"))
        mine = sco_values(inner, resolve)
        if mine:
            parsed.accounting.use(f"{kind} in observed-data")
        elif kind in _SCO_BY_REFS:
            parsed.accounting.skip(f"{kind} in observed-data", _SCO_BY_REFS[kind])
        elif kind == "directory":
            parsed.accounting.use(f"{kind} in observed-data")
        else:
            parsed.accounting.skip(f"{kind} in observed-data", "no value Casetrail keeps")
        values += mine
    store(str(obj["id"]), values)


def _account(parsed: ParsedFeed, obj: dict[str, Any], used: bool, objects: dict[str, dict[str, Any]]) -> None:
    acc = parsed.accounting
    kind = str(obj["type"])
    if used:
        acc.use(kind)
    elif kind == "marking-definition" and str(obj.get("name", "")).upper().startswith("TLP:"):
        acc.use(kind)  # recorded as the feed's handling in its detail
    elif kind in _NOT_VALUES:
        acc.skip(kind, _NOT_VALUES[kind])
    elif kind == "relationship":
        rel = str(obj.get("relationship_type", ""))
        if str(obj.get("source_ref")) not in objects or str(obj.get("target_ref")) not in objects:
            acc.skip(kind, "refers to an object not in the feed")
        elif rel not in _FOLLOWED:
            acc.skip(kind, f"'{rel}' is not followed to an actor")
        else:
            acc.skip(kind, "lies on no path from a value to an actor")
    elif kind in ("report", "grouping"):
        acc.skip(kind, "a container; its objects are counted one by one")
    elif kind == "indicator":
        acc.skip(kind, "every value of its pattern is invalid")
    elif kind == "observed-data":
        acc.skip(kind, "refers to no observable with a value Casetrail keeps")
    elif kind in _SCO_BY_REFS:
        acc.skip(kind, _SCO_BY_REFS[kind])
    elif kind in _SCO_TYPES:
        acc.skip(kind, "no value Casetrail keeps, or an invalid one")
    elif kind in (*ACTOR_TYPES, "malware", "tool", "infrastructure"):
        acc.skip(kind, "no value in the feed leads to it")
    elif kind.startswith("x-"):
        acc.skip(kind, "a custom object type")
    else:
        acc.skip(kind, "not an indicator value")
