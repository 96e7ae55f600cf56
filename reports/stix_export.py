# SPDX-License-Identifier: GPL-3.0-or-later
"""Export a case as a STIX 2.1 bundle for exchange: MISP, OpenCTI, TAXII peers.

The bundle passes the OASIS validator in its strict and its ``--interop`` mode (the STIX 2.1
interoperability profile: every object names its producer, ``indicator_types`` set, ATT&CK by
canonical id with its tactics). What it holds:

- the examiner as the producing ``identity`` (its own ``created_by_ref``, as the profile asks);
- per indicator an ``indicator`` (pattern, ``valid_from`` = when the case first recorded it,
  ``indicator_types`` = ``malicious-activity``/``attribution`` when it matched a feed actor,
  ``unknown`` when a warninglist flags it, else ``anomalous-activity``; free and machine tags as
  ``labels``) and a ``sighting`` of it (count = occurrences, first/last seen = the dates of the
  mails or items it was found in, ``where_sighted_refs`` = the examiner);
- ATT&CK tags as MITRE's own ``attack-pattern`` objects (MITRE's id, version, ``kill_chain_phases``,
  created by MITRE's identity), which the indicator ``indicates``;
- each match with a feed actor as a ``note`` on the indicator naming the actor and the feed path;
  an intrusion set (or campaign) the feed described well enough for the profile is also exported
  (the feed's id kept as an external reference) and the indicator ``indicates`` it;
- the key judgments as ``note`` objects (ICD 203 confidence on STIX's Low/Med/High scale) on the
  case's ``grouping`` and the matched actors;
- TLP 2.0 markings on every object (the strictest of the case's TLP and the indicator's TLP tag),
  referred to by the OASIS ids (``oasis-open/cti-stix-common-objects``, extension
  ``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``), which every consumer knows;
  the definitions themselves are not repeated in the bundle (the profile would ask them to name a
  producer, and the published objects name none);
- one ``grouping`` (context ``suspicious-activity``) for the case, referring to everything.

No ``observed-data`` or observables: the sighting of each indicator says when and how often it
was seen, and observables beside the indicators make MISP's importer (misp-stix) merge the two
into one attribute under a new id, dropping every sighting. Ids are deterministic (UUIDv4-shaped,
from the case id and what the object is about), so a re-export updates the same objects.
Selectors (handles, personas) have no STIX observable and are not exported; the result says how
many. Nothing is fetched from anywhere.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from desktop.core import custody, receipts, references, timestamps
from desktop.core.case import Case
from desktop.core.checkpoint import head_of
from desktop.core.indicators import normalise
from desktop.core.intel import Library
from desktop.core.tags import attack_techniques, attack_version
from desktop.core.verify import require_intact
from reports.atomic_write import write_atomic
from reports.sharing import ActorMatch, SharedIndicator, case_tlp, key_judgments, shared_indicators

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
        dt = timestamps.parse(candidate)  # the one reading of a time (a naive one is UTC)
        if dt is None:
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


# MITRE's own identity, as published in the ATT&CK bundles, with the one property the STIX 2.1
# interoperability profile adds: every producer identity names its own producer (itself).
MITRE_IDENTITY = {
    "type": "identity", "spec_version": "2.1", "id": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
    "created": "2017-06-01T00:00:00.000Z", "modified": "2017-06-01T00:00:00.000Z",
    "name": "The MITRE Corporation", "identity_class": "organization",
    "created_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
}
# ICD 203 confidence in a judgment → the STIX 2.1 "Low/Med/High" confidence scale (Appendix A).
CONFIDENCE = {"low": 15, "moderate": 50, "high": 85}
# What the interoperability profile requires of an actor object beyond its name.
_INTEROP_ACTOR_FACTS = {"intrusion-set": ("resource_level", "primary_motivation"), "campaign": ()}


def attack_pattern(technique: str) -> dict[str, Any] | None:
    """MITRE's canonical ``attack-pattern`` of a technique (its id, version and tactics), or None."""
    known = attack_techniques()["techniques"].get(technique)
    if not known or not known.get("stix_id") or not known.get("created"):
        return None
    return {
        "type": "attack-pattern", "spec_version": "2.1", "id": known["stix_id"],
        "created": known["created"], "modified": known.get("modified") or known["created"],
        "created_by_ref": MITRE_IDENTITY["id"], "name": str(known["name"]),
        # No URL: the validator asks for a hash with every URL, and the ID is what tools key on.
        "external_references": [{"source_name": "mitre-attack", "external_id": technique}],
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in known["tactics"]],
    }


def _indicator_types(ind: SharedIndicator) -> list[str]:
    if ind.actors:
        return ["malicious-activity", "attribution"]
    if ind.warninglists:
        return ["unknown"]
    return ["anomalous-activity"]


def build_bundle(case: Case, *, now: datetime | None = None, library: Library | None = None,
                 ) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Build the bundle of a case (pure: reads the case and the library, writes nothing).

    Returns:
        The bundle, counts of objects by type, and what was not exported (reason → count).
    """
    stamp = stix_time(timestamps.format_instant(now or timestamps.now()), "")
    case_id = str(case.meta.get("case_id", case.path.name))
    created = stix_time(case.meta.get("created_at"), stamp)
    level = case_tlp(case)
    case_marking = [TLP2_MARKING_IDS[level]]
    identity_id = _oid("identity", case_id, case.examiner)
    identity = {
        "type": "identity", "spec_version": "2.1", "id": identity_id, "created": created, "modified": created,
        "created_by_ref": identity_id, "name": case.examiner, "identity_class": "individual",
    }
    grouping_id = _oid("grouping", case_id, "case")
    objects: list[dict[str, Any]] = [identity]
    seen: set[str] = {identity_id}
    skipped: dict[str, int] = {}
    actor_ids: dict[tuple[str, str], str] = {}

    def add(obj: dict[str, Any]) -> None:
        if obj["id"] not in seen:
            seen.add(obj["id"])
            objects.append(obj)

    def skip(why: str) -> None:
        skipped[why] = skipped.get(why, 0) + 1

    def ours(kind: str, key: str, when: str, marking: list[str], **props: Any) -> dict[str, Any]:
        return {"type": kind, "spec_version": "2.1", "id": _oid(kind, case_id, key), "created": when,
                "modified": stamp, "created_by_ref": identity_id, **props, "object_marking_refs": marking}

    for ind in shared_indicators(case, library=library):
        made = observables(ind.type, ind.value) if _valid(ind.type, ind.value) else None
        if made is None:
            skip(f"{ind.type} indicators (no STIX observable)" if ind.type == "selector"
                 else f"{ind.type} values STIX cannot carry (invalid)")
            continue
        pattern, _scos = made
        marking = [TLP2_MARKING_IDS[ind.tlp]]
        seen_at = stix_time(ind.first_seen, stamp)
        key = f"{ind.type}|{ind.value}"
        described = f"{ind.type} seen in case '{case.title}' ({ind.occurrences} occurrences)"
        indicator = ours("indicator", key, seen_at, marking, name=ind.value, description=described,
                         indicator_types=_indicator_types(ind), pattern=pattern, pattern_type="stix",
                         pattern_version="2.1", valid_from=seen_at)
        if ind.tags:
            indicator["labels"] = list(ind.tags)
        add(indicator)
        dates = sorted(stix_time(s.seen_at, seen_at) for s in ind.sightings) or [seen_at]
        add(ours("sighting", key, seen_at, marking, first_seen=dates[0], last_seen=dates[-1],
                 count=max(ind.occurrences, 1), sighting_of_ref=indicator["id"],
                 where_sighted_refs=[identity_id],
                 description=f"seen in case '{case.title}' ({case_id}): {ind.where_found()}"))
        for tid in ind.attack:
            technique = attack_pattern(tid)
            if technique is None:
                skip(f"ATT&CK ids not in ATT&CK {attack_version()} (kept as labels)")
                continue
            add(MITRE_IDENTITY)
            add(technique)
            add(ours("relationship", f"{indicator['id']}|indicates|{technique['id']}", seen_at, marking,
                     relationship_type="indicates", source_ref=indicator["id"], target_ref=technique["id"]))
        for actor in ind.actors:
            refs = [indicator["id"]]
            actor_obj = _actor_object(actor, lambda k, key: ours(k, key, created, case_marking))
            if actor_obj is not None:
                add(actor_obj)
                actor_ids[(actor.kind, actor.name)] = actor_obj["id"]
                refs.append(actor_obj["id"])
                add(ours("relationship", f"{indicator['id']}|indicates|{actor_obj['id']}", seen_at, marking,
                         relationship_type="indicates", source_ref=indicator["id"],
                         target_ref=actor_obj["id"], description=f"matched in the feed {actor.detail}"))
            add(ours("note", f"match|{key}|{actor.kind}|{actor.name}|{actor.feed}", seen_at, marking,
                     abstract=f"Matches {actor.kind} {actor.name}",
                     content=f"The {ind.type} {ind.value} of this case matches {actor.kind} "
                             f"'{actor.name}' in the feed {actor.detail}.",
                     authors=[case.examiner], object_refs=refs))
    for judgment in key_judgments(case):
        add(ours("note", f"judgment|{judgment.id}", stix_time(judgment.created_at, created), case_marking,
                 abstract="Key judgment", content=f"{judgment.text} {judgment.statement()}",
                 authors=[judgment.created_by], confidence=CONFIDENCE[judgment.confidence],
                 object_refs=[grouping_id, *sorted(set(actor_ids.values()))]))
    grouping = {
        "type": "grouping", "spec_version": "2.1", "id": grouping_id,
        "created": created, "modified": stamp, "created_by_ref": identity_id,
        "name": case.title, "description": f"Casetrail case {case_id}, examiner {case.examiner}",
        "context": "suspicious-activity", "object_refs": [o["id"] for o in objects],
        "object_marking_refs": case_marking,
    }
    objects.append(grouping)
    bundle: dict[str, Any] = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    return bundle, counts, skipped


def _actor_object(actor: ActorMatch, make: Any) -> dict[str, Any] | None:
    """The intrusion set or campaign a feed matched, as this case refers to it, or None.

    Made only when the feed said what the STIX 2.1 interoperability profile requires of it (an
    intrusion set's resource level and primary motivation): Casetrail does not invent them. The
    feed's own object id is kept as an external reference. A threat actor (whose profile asks for
    far more) is exported as the note that names the match.
    """
    needed = _INTEROP_ACTOR_FACTS.get(actor.kind)
    if needed is None or any(actor.fact(f) is None for f in needed):
        return None
    obj: dict[str, Any] = make(actor.kind, f"{actor.kind}|{actor.name}")
    obj["name"] = actor.name
    obj["description"] = f"As described by the feed {actor.feed}."
    for fact in ("aliases", "resource_level", "primary_motivation", "secondary_motivations", "goals",
                 "first_seen", "last_seen", "objective"):
        value = actor.fact(fact)
        if value is not None:
            obj[fact] = list(value) if isinstance(value, tuple) else value
    if actor.fact("id"):
        obj["external_references"] = [{"source_name": actor.feed, "external_id": str(actor.fact("id")),
                                       "description": "the object's id in the feed that named it"}]
    return obj


def export_stix(case: Case, path: Path, receipt_file: Path | None = None) -> ExportResult:
    """Write the case's STIX 2.1 bundle atomically and record the export in custody."""
    references.ensure_snapshot(case)  # the matches exported are the case's own
    require_intact(case, "STIX export")
    bundle, counts, skipped = build_bundle(case)
    payload = (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    seq, head = head_of(case.db.conn)
    receipt = receipts.sign(case, seq, head, export="stix",
                            content_sha256=hashlib.sha256(payload).hexdigest())
    digest = write_atomic(path, payload)
    with case.transaction() as conn:
        stored = receipts.issue(conn, case, receipt)
        custody.append(conn, action="exported", examiner=case.examiner, source=str(path.resolve()),
                       sha256=digest, result="written",
                       detail={"format": "stix-2.1", "bundle_id": bundle["id"], "objects": counts,
                               "skipped": skipped, "checkpoint_id": stored.id})
    receipts.publish(stored, path, receipt_file)
    return ExportResult(str(path), digest, "STIX 2.1", counts, skipped)
