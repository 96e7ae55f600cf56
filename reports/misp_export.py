# SPDX-License-Identifier: GPL-3.0-or-later
"""Export a case as one MISP event (JSON), for the team's MISP (``casetrail export CASE --misp FILE``).

The event is built with PyMISP's own data model (``MISPEvent``, ``MISPObject`` and the MISP object
templates PyMISP ships), so types, categories and object relations are MISP's, not a copy of them.
Nothing is sent anywhere: the file is written, and the analyst imports it into MISP (Events →
Import from → MISP JSON, or ``PyMISP.add_event``).

What the event holds:

- **Attributes**, one per indicator, in MISP's type for it (``ip-src`` for an address found only in
  mail headers, else ``ip-dst``; ``email-src``/``email-dst``/``email-reply-to`` by the header it was
  found in; ``filename`` for file names and paths; ``AS``; hashes; ``domain``; ``url``) and MISP's
  default category for the type. ``to_ids`` is MISP's default for the type, and off for a value a
  warninglist flags (said in the comment). The comment says where the value was found and which
  feed actors it matched; ``first_seen`` is when the case first recorded it.
- **Tags**: a TLP tag when the indicator's TLP is stricter than the case's; ATT&CK techniques as the
  ``mitre-attack-pattern`` galaxy tag MISP keys on (``misp-galaxy:mitre-attack-pattern="Phishing -
  T1566"``); matched intrusion sets and threat actors as ``misp-galaxy:threat-actor="…"``; free and
  machine tags as typed. The event carries the case's TLP tag.
- **Sightings**: one per item the indicator was found in (source: the case), dated by the mail's
  date when the item is (or is attached to) an email, else by its acquisition.
- **Objects**: an ``email`` object per message (addresses, subject, message id, mailer, date, origin
  IP, attachment names) and a ``file`` object per other file (names, hashes, size, MIME type; video
  frames are left out), the email ``contains`` its attachments.
- **Notes** (MISP analyst data): the key judgments with their likelihood and confidence.
- **Distribution** from the case's TLP: RED and AMBER+STRICT → your organisation only, AMBER → this
  community only, GREEN → connected communities, CLEAR → all communities.

Identifiers are UUIDv5 over the case id and what the object is about, so a re-export updates the
same event in MISP instead of creating another.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

from desktop.core import custody, receipts, references
from desktop.core.case import Case
from desktop.core.checkpoint import head_of
from desktop.core.tags import TagError, parse_tag, technique_name
from desktop.core.verify import require_intact
from reports.atomic_write import write_atomic
from reports.sharing import SharedIndicator, case_tlp, epoch, key_judgments, shared_indicators
from reports.stix_export import ExportResult

CASETRAIL_MISP_NAMESPACE = uuid.UUID("3c1a9b52-7c0e-5d8e-9f3a-2b6f1e4d7a90")
DISTRIBUTION = {"red": 0, "amber+strict": 0, "amber": 1, "green": 2, "clear": 3}
_SIMPLE = {"domain": "domain", "url": "url", "md5": "md5", "sha1": "sha1", "sha256": "sha256",
           "file_name": "filename", "file_path": "filename", "asn": "AS", "cidr": "ip-dst"}


def _uuid(case_id: str, key: str) -> str:
    return str(uuid.uuid5(CASETRAIL_MISP_NAMESPACE, f"{case_id}|{key}"))


def misp_type(ind: SharedIndicator) -> str | None:
    """The MISP attribute type of an indicator (None: MISP has none for it, e.g. a selector)."""
    if ind.type in ("ipv4", "ipv6"):
        return "ip-src" if ind.sources == ("header",) else "ip-dst"
    if ind.type == "email":
        wheres = {w.lower() for s in ind.sightings for w in s.wheres}
        if any("reply-to" in w for w in wheres):
            return "email-reply-to"
        if any(w.startswith(("from", "sender", "return-path")) for w in wheres):
            return "email-src"
        if wheres and all(w.startswith(("to", "cc", "bcc", "delivered-to")) for w in wheres):
            return "email-dst"
        return "email"
    return _SIMPLE.get(ind.type)


def attack_galaxy_tag(technique: str) -> str:
    """The MISP galaxy tag of an ATT&CK technique: ``misp-galaxy:mitre-attack-pattern="Name - T1566"``."""
    name = technique_name(technique)
    return f'misp-galaxy:mitre-attack-pattern="{name} - {technique}"' if name else f"mitre-attack:{technique}"


def _comment(ind: SharedIndicator) -> str:
    times = "once" if ind.occurrences == 1 else f"{ind.occurrences} times"
    parts = [f"seen {times} in this case: {ind.where_found()}"]
    for actor in ind.actors:
        parts.append(f"matches {actor.kind} {actor.name} ({actor.detail})")
    if ind.warninglists:
        parts.append(f"on warninglists: {', '.join(ind.warninglists)} (to_ids off)")
    return "; ".join(parts)


def build_event(case: Case) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Build the MISP event of a case (pure: reads the case and the library, writes nothing).

    Returns:
        ``{"Event": …}``, counts of what it holds, and what was not exported (reason → count).
    """
    from pymisp import MISPAttribute, MISPEvent

    case_id = str(case.meta.get("case_id", case.path.name))
    level = case_tlp(case)
    event = MISPEvent()
    event.uuid = _uuid(case_id, "event")
    event.info = case.title
    created = str(case.meta.get("created_at", ""))[:10]
    if created:
        event.set_date(created)
    event.distribution = DISTRIBUTION[level]
    event.threat_level_id = 4  # undefined: the case says what it found, not how grave it is
    event.analysis = 1  # ongoing
    event.add_tag(f"tlp:{level}")
    counts = {"attributes": 0, "objects": 0, "sightings": 0, "tags": 1, "notes": 0}
    skipped: dict[str, int] = {}
    for ind in shared_indicators(case):
        mtype = misp_type(ind)
        if mtype is None:
            why = f"{ind.type} indicators (no MISP attribute type)"
            skipped[why] = skipped.get(why, 0) + 1
            continue
        attr = event.add_attribute(mtype, ind.value, uuid=_uuid(case_id, f"{ind.type}|{ind.value}"),
                                   comment=_comment(ind), first_seen=ind.first_seen, distribution=5)
        if not isinstance(attr, MISPAttribute):  # a list only when given a list of values
            raise TypeError("PyMISP made several attributes of one value")
        if ind.warninglists:
            attr.to_ids = False
        tags = [f"tlp:{ind.tlp}"] if ind.tlp != level else []
        for text in ind.tags:
            try:
                parsed = parse_tag(text)
            except TagError:
                tags.append(text)
                continue
            tags.append(attack_galaxy_tag(parsed.predicate) if parsed.kind == "attack" else text)
        tags += [f'misp-galaxy:threat-actor="{a.name}"' for a in ind.actors if a.kind != "campaign"]
        for tag in dict.fromkeys(tags):
            attr.add_tag(tag)
            counts["tags"] += 1
        for sight in ind.sightings:
            attr.add_sighting({"type": "0", "source": f"Casetrail case '{case.title}'",
                               "date_sighting": epoch(sight.seen_at) or 0,
                               "uuid": _uuid(case_id, f"sighting|{ind.type}|{ind.value}|{sight.item_id}")})
            counts["sightings"] += 1
        counts["attributes"] += 1
    counts["objects"] = _add_objects(case, event, case_id)
    for judgment in key_judgments(case):
        event.add_note(note=f"Key judgment: {judgment.text} — {judgment.statement()}", language="en",
                       authors=judgment.created_by, uuid=_uuid(case_id, f"judgment|{judgment.id}"))
        counts["notes"] += 1
    return {"Event": json.loads(event.to_json())}, counts, skipped


_ADDR_RE = re.compile(r"'addr': '((?:[^'\\]|\\.)*)'")


def addresses(stored: object) -> list[str]:
    """The addresses of a stored address list: ``{'name': …, 'addr': …}, …`` or ``a@b, c@d``."""
    text = str(stored or "")
    found = _ADDR_RE.findall(text)
    if found or "'addr':" in text:
        return [a for a in found if a]
    return [a.strip() for a in text.split(",") if a.strip()]


def _add_objects(case: Case, event: Any, case_id: str) -> int:
    """An ``email`` object per message, a ``file`` object per other file; emails contain attachments."""
    from pymisp import MISPObject

    conn = case.db.conn
    mails = {int(r[0]): r for r in conn.execute(
        "SELECT item_id, from_addr, from_name, to_addrs, cc_addrs, reply_to, return_path, subject, "
        "message_id, x_mailer, user_agent, date_utc, origin_ip FROM emails")}
    made: dict[int, Any] = {}
    children: dict[int, list[tuple[int, str]]] = {}
    for item in case.items():
        if item.parent_id is not None:
            children.setdefault(item.parent_id, []).append((item.id, item.name))
        if item.kind == "frame" or (item.derived_how or "").startswith("frame"):
            continue
        if item.id in mails:
            obj = MISPObject("email", standalone=False)
            _, from_addr, from_name, to, cc, reply_to, return_path, subject, mid, mailer, agent, date, ip = \
                mails[item.id]
            replies = (("reply-to", a) for a in addresses(reply_to))
            for relation, value in (("from", from_addr), ("from-display-name", from_name), *replies,
                                    ("return-path", return_path),
                                    ("subject", subject), ("message-id", mid), ("x-mailer", mailer),
                                    ("user-agent", agent), ("send-date", date), ("received-header-ip", ip)):
                if value:
                    obj.add_attribute(relation, value=str(value))
            for relation, value in (("to", to), ("cc", cc)):
                for address in addresses(value):
                    # Recipients are the victims: never an IDS signature.
                    obj.add_attribute(relation, value=address, to_ids=False)
        else:
            obj = MISPObject("file", standalone=False)
            obj.add_attribute("filename", value=item.name)
            for relation, value in (("md5", item.md5), ("sha1", item.sha1), ("sha256", item.sha256)):
                obj.add_attribute(relation, value=value)
            obj.add_attribute("size-in-bytes", value=item.size, to_ids=False)
            if item.mime:
                obj.add_attribute("mimetype", value=item.mime, to_ids=False)
        obj.uuid = _uuid(case_id, f"item|{item.sha256}|{item.id}")
        obj.comment = f"evidence item {item.id} of the case, acquired {item.acquired_at}"
        made[item.id] = obj
    for item_id, obj in made.items():
        if obj.name == "email":
            for child_id, child_name in children.get(item_id, []):
                obj.add_attribute("attachment", value=child_name, to_ids=False)
                if child_id in made:
                    obj.add_reference(made[child_id].uuid, "contains")
        event.add_object(obj)
    return len(made)


def export_misp(case: Case, path: Path, receipt_file: Path | None = None) -> ExportResult:
    """Write the case's MISP event atomically and record the export (and its receipt) in custody.

    Fails closed (issue 11): a case that fails verification is not exported.
    """
    references.ensure_snapshot(case)  # the matches exported are the case's own
    require_intact(case, "MISP export")
    doc, counts, skipped = build_event(case)
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    seq, head = head_of(case.db.conn)
    receipt = receipts.sign(case, seq, head, export="misp", content_sha256=hashlib.sha256(data).hexdigest())
    digest = write_atomic(path, data)
    with case.transaction() as conn:
        stored = receipts.issue(conn, case, receipt)
        custody.append(conn, action="exported", examiner=case.examiner, source=str(path.resolve()),
                       sha256=digest, result="written",
                       detail={"format": "misp-event", "event_uuid": doc["Event"]["uuid"], "counts": counts,
                               "skipped": skipped, "checkpoint_id": stored.id})
    receipts.publish(stored, path, receipt_file)
    return ExportResult(str(path), digest, "MISP event", counts, skipped)
