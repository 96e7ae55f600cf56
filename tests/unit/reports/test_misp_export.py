# SPDX-License-Identifier: GPL-3.0-or-later
"""MISP event export: PyMISP loads it; types, categories, to_ids, tags, objects, sightings, notes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from desktop.core.case import Case
from desktop.core.intel import Library
from reports.misp_export import addresses, build_event, export_misp


def load(doc: dict[str, object]):  # type: ignore[no-untyped-def]
    from pymisp import MISPEvent

    event = MISPEvent()
    event.load(json.dumps(doc))
    return event


def with_feed(tmp_path: Path) -> None:
    feed = tmp_path / "partner.csv"
    feed.write_text("value,actor\n203.0.113.7,APT-Lantern\n", encoding="utf-8")
    with Library.open() as lib:
        lib.import_feed(feed)


def test_pymisp_loads_the_event_with_types_tags_objects_sightings(rich_case: Case, tmp_path: Path) -> None:
    with_feed(tmp_path)
    doc, counts, skipped = build_event(rich_case)
    event = load(doc)
    assert event.info == rich_case.title
    assert int(event.distribution) == 1  # the case is TLP:AMBER: this community only
    assert [t.name for t in event.tags] == ["tlp:amber"]
    by_value = {a.value: a for a in event.attributes}
    assert len(by_value) == counts["attributes"] == len(event.attributes)
    ip = by_value["203.0.113.7"]
    # A documentation address: on a warninglist, so not an IDS signature, and the comment says why.
    assert (ip.type, ip.category, ip.to_ids) == ("ip-dst", "Network activity", False)
    assert "on warninglists: " in ip.comment
    unlisted = [a for a in event.attributes if "warninglists" not in a.comment]
    assert unlisted
    assert all(a.to_ids == (a.type not in ("filename", "AS")) for a in unlisted)
    ip_tags = {t.name for t in ip.tags}
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in ip_tags
    assert 'misp-galaxy:threat-actor="APT-Lantern"' in ip_tags
    assert "tlp:amber" not in ip_tags  # the event's TLP already says it
    assert "matches threat-actor APT-Lantern (partner.csv" in ip.comment
    assert "seen " in ip.comment
    assert ip.sightings
    assert all(s.source.startswith("Casetrail case") for s in ip.sightings)
    assert sum(len(a.sightings) for a in event.attributes) == counts["sightings"]
    mail = next(o for o in event.objects if o.name == "email")
    relations = {(a.object_relation, a.value): a for a in mail.attributes}
    assert ("from", "billing@paper-lantern.example.com") in relations
    victim = relations[("to", "victim@corp.example")]
    assert victim.to_ids is False  # recipients are victims, never a signature
    files = [o for o in event.objects if o.name == "file"]
    assert files
    shot = files[0]
    relations = {a.object_relation for a in shot.attributes}
    assert relations >= {"filename", "md5", "sha1", "sha256", "size-in-bytes"}
    assert len(event.notes) == counts["notes"] == 2
    assert all(n.note.startswith("Key judgment: ") for n in event.notes)
    assert not skipped or all("no MISP attribute type" in why for why in skipped)


def test_reexport_is_the_same_event(rich_case: Case) -> None:
    a, _, _ = build_event(rich_case)
    b, _, _ = build_event(rich_case)
    ids = lambda d: [x["uuid"] for x in d["Event"]["Attribute"]]  # noqa: E731
    assert a["Event"]["uuid"] == b["Event"]["uuid"]
    assert ids(a) == ids(b)


def test_export_round_trips_through_intel_import(rich_case: Case, tmp_path: Path) -> None:
    with_feed(tmp_path)
    out = tmp_path / "case.misp.json"
    result = export_misp(rich_case, out)
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    entry = rich_case.custody()[-1]
    assert (entry["action"], entry["sha256"], entry["detail"]["format"]) == ("exported", result.sha256,
                                                                              "misp-event")
    event = load(json.loads(out.read_text(encoding="utf-8")))
    with Library.open() as lib:
        again = lib.import_feed(out)
        stored = {str(v) for (v,) in lib.conn.execute(
            "SELECT e.value FROM feed_entries e JOIN contexts c ON c.id = e.context_id WHERE c.feed_id = ?",
            (again.feed_id,))}
    assert again.format == "misp"
    assert again.name == rich_case.title
    assert "APT-Lantern" in again.actors  # the galaxy tag names the actor again
    assert {a.value for a in event.attributes} <= stored


def test_stored_address_lists() -> None:
    assert addresses("{'name': 'A', 'addr': 'a@x.example'}, {'name': '', 'addr': 'b@y.example'}") == [
        "a@x.example", "b@y.example"]
    assert addresses("a@x.example, b@y.example") == ["a@x.example", "b@y.example"]
    assert addresses(None) == []
