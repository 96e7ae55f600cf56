# SPDX-License-Identifier: GPL-3.0-or-later
"""Export a case's indicators as a STIX 2.1 bundle a partner's platform can import.

What the bundle holds, per indicator: an ``indicator`` with a STIX pattern (``valid_from`` = when
the case first saw it), the observable(s) as SCOs, an ``observed-data`` over them and a
``sighting`` that says "seen in this case, N times" (``where_sighted_refs`` = the examiner's
``identity``). Free and machine tags become ``labels``; TLP tags (or the case's TLP) become the
TLP 2.0 marking definitions; ATT&CK tags become ``attack-pattern`` objects the indicator
``indicates``. One ``grouping`` (context ``suspicious-activity``) names the case and refers to
everything.

TLP 2.0: the ``stix2`` library only has TLP 1.0 constants. The TLP 2.0 marking definitions are
published by OASIS (repository ``oasis-open/cti-stix-common-objects``, with the extension
definition ``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``); they are copied below
with their fixed ids, so every consumer recognises them.

Ids are deterministic (UUIDv5): SCOs as the STIX 2.1 specification defines, other objects from
the case id and the indicator, so exporting the same case twice yields the same objects (with a
newer ``modified``). Selectors (handles, personas) have no STIX observable and are not exported;
the result says how many. Nothing is fetched from anywhere.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from desktop.core.case import Case
from desktop.core.indicators import normalise
from desktop.core.tags import TagError, all_tags, attack_techniques, parse_tag
from reports.atomic_write import write_atomic

# STIX 2.1 §2.9: the namespace for deterministic SCO identifiers.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# Our own namespace for the other objects (UUIDv5 over case id + what the object is about).
CASETRAIL_NAMESPACE = uuid.UUID("6f1d8c2e-4b8f-5a55-9a61-3b1f5c0d2a77")
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKING_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")


def tlp2_marking(level: str) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking definition object of a level, as published."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKING_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: str
    sha256: str
    format: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the terminal."""
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        line = f"wrote {self.format} export {self.path} ({counts}); sha256 {self.sha256}"
        if self.skipped:
            line += "; not exported: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        return line


def stix_time(text: str | None, fallback: str) -> str:
    """A STIX timestamp (UTC, millisecond precision, ``Z``) from our ISO 8601 strings."""
    for candidate in (text, fallback):
        if not candidate:
            continue
        try:
            dt = datetime.fromisoformat(candidate.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            continue
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    raise ValueError(f"no usable timestamp in {text!r} or {fallback!r}")


def _canonical(obj: dict[str, Any]) -> str:
    # RFC 8785 canonical JSON for the simple string/int objects SCO ids are made from.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sco(type_: str, props: dict[str, Any], contributing: tuple[str, ...]) -> dict[str, Any]:
    """A STIX 2.1 cyber-observable with its deterministic id (spec §2.9)."""
    basis = {k: props[k] for k in contributing if k in props}
    sco_id = f"{type_}--{uuid.uuid5(SCO_NAMESPACE, _canonical(basis))}"
    return {"type": type_, "spec_version": "2.1", "id": sco_id, **props}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_HASH_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}


def observables(type_: str, value: str) -> tuple[str, list[dict[str, Any]]] | None:
    """The STIX pattern and SCOs of one indicator, or None when STIX has no observable for it."""
    if type_ in ("ipv4", "ipv6", "cidr"):
        kind = "ipv6-addr" if ":" in value else "ipv4-addr"
        return f"[{kind}:value = {_quote(value)}]", [sco(kind, {"value": value}, ("value",))]
    simple = {"domain": "domain-name", "url": "url", "email": "email-addr"}
    if type_ in simple:
        kind = simple[type_]
        return f"[{kind}:value = {_quote(value)}]", [sco(kind, {"value": value}, ("value",))]
    if type_ in _HASH_NAMES:
        algo = _HASH_NAMES[type_]
        key = algo if algo == "MD5" else f"'{algo}'"
        return (f"[file:hashes.{key} = {_quote(value)}]",
                [sco("file", {"hashes": {algo: value}}, ("hashes", "name", "parent_directory_ref"))])
    if type_ == "file_name":
        return f"[file:name = {_quote(value)}]", [sco("file", {"name": value}, ("hashes", "name"))]
    if type_ == "file_path":
        sep = max(value.rfind("\\"), value.rfind("/"))
        folder, name = (value[:sep] or value[:1], value[sep + 1:]) if sep >= 0 else ("", value)
        if not folder:
            return f"[file:name = {_quote(name)}]", [sco("file", {"name": name}, ("hashes", "name"))]
        directory = sco("directory", {"path": folder}, ("path",))
        if not name:
            return f"[directory:path = {_quote(folder)}]", [directory]
        file_ = sco("file", {"name": name, "parent_directory_ref": directory["id"]},
                    ("hashes", "name", "parent_directory_ref"))
        return (f"[file:name = {_quote(name)} AND file:parent_directory_ref.path = {_quote(folder)}]",
                [file_, directory])
    if type_ == "asn":
        number = int(value.upper().removeprefix("AS"))
        return (f"[autonomous-system:number = {number}]",
                [sco("autonomous-system", {"number": number}, ("number",))])
    return None


def _valid(type_: str, value: str) -> bool:
    """Whether a stored value is a valid instance of its type (the validator checks host names).

    Values are normalised when found, but a case may hold an analyst's odd entry; such a value
    is reported as not exported rather than producing a bundle partners' tools reject.
    """
    if type_ in ("file_name", "file_path", "selector"):
        return True
    try:
        return normalise(type_, value) == value or type_ in ("url",)
    except (ValueError, UnicodeError):
        return False


def _oid(kind: str, case_id: str, key: str) -> str:
    """A UUIDv4-shaped id derived from what the object is about.

    STIX 2.1 asks for UUIDv4 on SDOs and SROs (the validator warns on v5); taking the 122 free
    bits from a hash keeps the form while making a re-export of the same case reuse the ids.
    """
    digest = hashlib.sha256(f"{CASETRAIL_NAMESPACE}|{case_id}|{kind}|{key}".encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def build_bundle(case: Case, *, now: datetime | None = None,
                 ) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Build the bundle of a case (pure: reads the case, writes nothing).

    Returns:
        The bundle, counts of objects by type, and what was not exported (reason → count).
    """
    conn = case.db.conn
    stamp = stix_time((now or datetime.now(UTC)).isoformat(), "")
    case_id = str(case.meta.get("case_id", case.path.name))
    created = stix_time(case.meta.get("created_at"), stamp)
    case_tlp = str(case.meta.get("tlp", "amber")).lower()
    if case_tlp not in TLP2_MARKING_IDS:
        case_tlp = "amber"
    identity = {
        "type": "identity", "spec_version": "2.1", "id": _oid("identity", case_id, case.examiner),
        "created": created, "modified": created, "name": case.examiner, "identity_class": "individual",
    }
    objects: list[dict[str, Any]] = [identity]
    seen: set[str] = {identity["id"]}
    used_tlp: set[str] = {case_tlp}
    skipped: dict[str, int] = {}
    tags = all_tags(conn, "indicator")
    occ = {int(i): (int(n), str(first or "")) for i, n, first in conn.execute(
        "SELECT indicator_id, count(*), min(i.acquired_at) FROM occurrences o "
        "JOIN items i ON i.id = o.item_id GROUP BY indicator_id")}
    techniques = attack_techniques()["techniques"]
    rows = conn.execute("SELECT id, type, value, first_seen FROM indicators ORDER BY type, value").fetchall()

    def add(obj: dict[str, Any]) -> None:
        if obj["id"] not in seen:
            seen.add(obj["id"])
            objects.append(obj)

    for ind_id, type_, value, first_seen in rows:
        made = observables(type_, value) if _valid(type_, value) else None
        if made is None:
            why = (f"{type_} indicators (no STIX observable)" if type_ == "selector"
                   else f"{type_} values STIX cannot carry (invalid)")
            skipped[why] = skipped.get(why, 0) + 1
            continue
        pattern, scos = made
        labels: list[str] = []
        tlp = case_tlp
        attack_ids: list[str] = []
        for text in tags.get(int(ind_id), []):
            try:
                tag = parse_tag(text)
            except TagError:
                labels.append(text)
                continue
            if tag.kind == "tlp":
                # The strictest TLP tag on the indicator wins over the case's level.
                tlp = tag.predicate if tlp == case_tlp else max(tlp, tag.predicate, key=_TLP_ORDER.index)
            else:
                labels.append(tag.text)
                if tag.kind == "attack":
                    attack_ids.append(tag.predicate)
        used_tlp.add(tlp)
        marking = [TLP2_MARKING_IDS[tlp]]
        seen_at = stix_time(first_seen, stamp)
        count, _first_item = occ.get(int(ind_id), (0, ""))
        for s in scos:
            add({**s, "object_marking_refs": marking})
        indicator: dict[str, Any] = {
            "type": "indicator", "spec_version": "2.1", "id": _oid("indicator", case_id, f"{type_}|{value}"),
            "created": seen_at, "modified": stamp, "created_by_ref": identity["id"],
            "name": value, "description": f"{type_} seen in case '{case.title}' ({count} occurrences)",
            "pattern": pattern, "pattern_type": "stix", "pattern_version": "2.1", "valid_from": seen_at,
            "object_marking_refs": marking,
        }
        if labels:
            indicator["labels"] = labels
        add(indicator)
        observed = {
            "type": "observed-data", "spec_version": "2.1",
            "id": _oid("observed-data", case_id, f"{type_}|{value}"),
            "created": seen_at, "modified": stamp, "created_by_ref": identity["id"],
            "first_observed": seen_at, "last_observed": seen_at, "number_observed": max(count, 1),
            "object_refs": [s["id"] for s in scos], "object_marking_refs": marking,
        }
        add(observed)
        add({
            "type": "sighting", "spec_version": "2.1", "id": _oid("sighting", case_id, f"{type_}|{value}"),
            "created": seen_at, "modified": stamp, "created_by_ref": identity["id"],
            "first_seen": seen_at, "last_seen": seen_at, "count": max(count, 1),
            "sighting_of_ref": indicator["id"], "observed_data_refs": [observed["id"]],
            "where_sighted_refs": [identity["id"]],
            "description": f"seen in case '{case.title}' ({case_id})", "object_marking_refs": marking,
        })
        for tid in attack_ids:
            known = techniques.get(tid)
            # No URL: the validator asks for a hash with every URL, and the ID is what tools key on.
            ref: dict[str, Any] = {"source_name": "mitre-attack", "external_id": tid}
            pattern_obj = {
                "type": "attack-pattern", "spec_version": "2.1", "id": _oid("attack-pattern", case_id, tid),
                "created": created, "modified": created, "created_by_ref": identity["id"],
                "name": str(known["name"]) if known else tid, "external_references": [ref],
                "object_marking_refs": [TLP2_MARKING_IDS[case_tlp]],
            }
            add(pattern_obj)
            add({
                "type": "relationship", "spec_version": "2.1",
                "id": _oid("relationship", case_id, f"{indicator['id']}|indicates|{pattern_obj['id']}"),
                "created": seen_at, "modified": stamp, "created_by_ref": identity["id"],
                "relationship_type": "indicates", "source_ref": indicator["id"],
                "target_ref": pattern_obj["id"],
                "object_marking_refs": marking,
            })
    grouping = {
        "type": "grouping", "spec_version": "2.1", "id": _oid("grouping", case_id, "case"),
        "created": created, "modified": stamp, "created_by_ref": identity["id"],
        "name": case.title, "description": f"Casetrail case {case_id}, examiner {case.examiner}",
        "context": "suspicious-activity", "object_refs": [o["id"] for o in objects],
        "object_marking_refs": [TLP2_MARKING_IDS[case_tlp]],
    }
    objects.append(grouping)
    markings = [tlp2_marking(level) for level in _TLP_ORDER if level in used_tlp]
    all_objects = markings + objects
    bundle: dict[str, Any] = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": all_objects}
    counts: dict[str, int] = {}
    for obj in all_objects:
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    return bundle, counts, skipped


def export_stix(case: Case, path: Path) -> ExportResult:
    """Write the case's STIX 2.1 bundle atomically and record the export in custody."""
    bundle, counts, skipped = build_bundle(case)
    data = (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    digest = write_atomic(path, data)
    case.record("exported", source=str(path.resolve()), sha256=digest, result="written",
                detail={"format": "stix-2.1", "bundle_id": bundle["id"], "objects": counts,
                        "skipped": skipped})
    return ExportResult(str(path), digest, "STIX 2.1", counts, skipped)
