# SPDX-License-Identifier: GPL-3.0-or-later
"""STIX for exchange: interop profile, matched intrusion sets, judgments, and the way into MISP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.core.case import Case
from desktop.core.findings import mark_analysed, record_occurrences
from desktop.core.intel import Library
from desktop.core.tags import apply_tags
from reports.stix_export import TLP2_MARKING_IDS, build_bundle, export_stix

CORPORA = (Path(__file__).resolve().parents[3] / "../shared/corpora").resolve()
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora ({CORPORA}) are absent")


def validate_interop(bundle: dict[str, Any]) -> None:
    from stix2validator import ValidationOptions, validate_instance

    result = validate_instance(bundle, ValidationOptions(version="2.1", strict=True, interop=True))
    assert result.is_valid, [str(e) for e in result.errors]
    assert not result.warnings, [str(w) for w in result.warnings]


@pytest.fixture
def matched(rich_case: Case) -> Case:
    """The rich case, holding two APT1 values (the OASIS report imported as a feed) and a tag."""
    with Library.open() as lib:
        lib.import_feed(CORPORA / "stix" / "apt1.json")
    item = rich_case.items()[0].id
    with rich_case.transaction() as conn:
        record_occurrences(conn, item, [{"type": "domain", "value": v, "source": "body", "where": "body"}
                                        for v in ("arrowservice.net", "comrepair.net")])
        # findings bound to custody (issue 11): an export verifies the case first
        mark_analysed(conn, examiner=rich_case.examiner, item_id=item, sha256=rich_case.items()[0].sha256,
                      kind=rich_case.items()[0].kind)
    apply_tags(rich_case, indicator="arrowservice.net", tags=["T1566.001", "wave-3", "tlp:red"])
    return rich_case


def objects(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle["objects"] if o["type"] == kind]


@needs_corpora
def test_matched_intrusion_sets_and_judgments_are_exported(matched: Case) -> None:
    bundle, counts, _ = build_bundle(matched)
    validate_interop(bundle)
    apt1 = next(o for o in objects(bundle, "intrusion-set") if o["name"] == "APT1")
    assert (apt1["resource_level"], apt1["primary_motivation"]) == ("government", "organizational-gain")
    assert apt1["external_references"][0]["source_name"] == "apt1.json"
    ind = next(o for o in objects(bundle, "indicator") if o["name"] == "arrowservice.net")
    assert ind["indicator_types"] == ["malicious-activity", "attribution"]
    assert any(r["source_ref"] == ind["id"] and r["target_ref"] == apt1["id"]
               for r in objects(bundle, "relationship"))
    notes = objects(bundle, "note")
    match = next(n for n in notes
                 if n["abstract"] == "Matches intrusion-set APT1" and ind["id"] in n["object_refs"])
    assert "apt1.json" in match["content"]
    judgments = [n for n in notes if n["abstract"] == "Key judgment"]
    assert len(judgments) == 2
    grouping = objects(bundle, "grouping")[0]
    assert all(grouping["id"] in n["object_refs"] and apt1["id"] in n["object_refs"] for n in judgments)
    assert {n["confidence"] for n in judgments} <= {15, 50, 85}
    assert counts["sighting"] == counts["indicator"]


@needs_corpora
def test_round_trip_through_misp_stix_keeps_tags_and_sightings(matched: Case, tmp_path: Path) -> None:
    """Export → misp-stix (what MISP's STIX 2 import runs) → PyMISP event."""
    from misp_stix_converter import ExternalSTIX2toMISPParser
    from misp_stix_converter.tools.stix2_loading_helpers import load_stix2_file

    out = tmp_path / "case.stix.json"
    result = export_stix(matched, out)
    counts = result.counts
    parser = ExternalSTIX2toMISPParser()
    parser.load_stix_bundle(load_stix2_file(out))
    parser.parse_stix_bundle(single_event=True, galaxies_as_tags=True)
    event = parser.misp_event
    assert event.info == matched.title
    assert "tlp:amber" in {t.name for t in event.tags}  # the case's TLP
    by_value = {a.value: a for a in event.attributes}
    assert len(event.attributes) == counts["indicator"]
    assert sum(len(a.sightings) for a in event.attributes) == counts["sighting"]  # every sighting kept
    assert all(a.sightings for a in event.attributes)
    tags = {t.name for t in by_value["arrowservice.net"].tags}
    assert "tlp:red" in tags  # the indicator's stricter TLP
    assert 'misp-galaxy:attack-pattern="Spearphishing Attachment"' in tags  # ATT&CK, by MITRE's object
    assert any("APT1" in t for t in tags)  # the matched intrusion set
    assert any(n.note.startswith("The domain arrowservice.net") for n in by_value["arrowservice.net"].notes)
    assert len(event.notes) == 2  # the key judgments
    ip = by_value["203.0.113.7"]
    assert "tlp:amber" in {t.name for t in ip.tags} | {t.name for t in event.tags}


def test_indicator_tlp_is_the_stricter_one(rich_case: Case) -> None:
    bundle, _, _ = build_bundle(rich_case)
    for obj in objects(bundle, "indicator"):
        assert obj["object_marking_refs"][0] in TLP2_MARKING_IDS.values()
