# SPDX-License-Identifier: GPL-3.0-or-later
"""STIX 2.1 and CSV exports: OASIS validator, TLP 2.0 markings, sightings, custody, atomic files."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.findings import mark_analysed, record_occurrences
from desktop.core.intel import Library
from desktop.core.progress import run_to_end
from desktop.core.tags import apply_tags
from reports.csv_export import export_csv
from reports.stix_export import TLP2_MARKING_IDS, build_bundle, export_stix, observables

CORPORA = (Path(__file__).resolve().parents[3] / "../shared/corpora").resolve()

PAIRS = [("ipv4", "203.0.113.10"), ("ipv6", "2001:db8::1"), ("cidr", "198.51.100.0/24"),
         ("domain", "evil-lure-7.net"), ("url", "http://evil-lure-7.net/a?b='c'"),
         ("email", "boss@evil-lure-7.net"), ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
         ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"), ("sha256", "ab" * 32),
         ("file_name", "invoice.pdf.exe"), ("file_path", r"C:\Users\x\AppData\evil.exe"),
         ("file_path", "/tmp/.x/run.sh"), ("asn", "AS64500"), ("selector", "@handle"),
         ("domain", "=cmd|calc.example.com")]


@pytest.fixture
def case(tmp_path: Path) -> Iterator[Case]:
    c = Case.create(tmp_path / "x.casetrail", title="Export test", examiner="A. Examiner", tlp="green")
    src = tmp_path / "ev.txt"
    src.write_text("evidence\n")
    item_id = run_to_end(import_paths(c, [src], "test")).acquired[0].item.id
    with c.transaction() as conn:
        record_occurrences(conn, item_id, [{"type": t, "value": v, "source": "body", "where": "body"}
                                           for t, v in PAIRS])
        mark_analysed(conn, examiner=c.examiner, item_id=item_id, sha256=c.item(item_id).sha256,  # type: ignore[union-attr]
                      kind="text")
    apply_tags(c, indicator="203.0.113.10", tags=["TLP:AMBER+STRICT", "T1566.001", "wave-3",
                                                   'admiralty-scale:source-reliability="b"'])
    try:
        yield c
    finally:
        c.close()


def validate(bundle: dict[str, object]) -> None:
    """The OASIS validator, strict and in the interoperability profile: no error, no warning."""
    from stix2validator import ValidationOptions, validate_instance

    for interop in (False, True):
        result = validate_instance(bundle, ValidationOptions(version="2.1", strict=True, interop=interop))
        assert result.is_valid, [str(e) for e in result.errors]
        assert not result.warnings, [str(w) for w in result.warnings]


def test_bundle_passes_the_oasis_validator_strict_and_interop(case: Case) -> None:
    bundle, counts, skipped = build_bundle(case)
    validate(bundle)
    assert counts["indicator"] == len(PAIRS) - 2
    assert counts["sighting"] == counts["indicator"]
    assert "observed-data" not in counts
    assert counts["grouping"] == 1
    assert counts["identity"] == 2  # the examiner, and MITRE (the producer of the ATT&CK technique)
    objs = bundle["objects"]  # type: ignore[index]
    assert all("created_by_ref" in o for o in objs)
    assert all(o["indicator_types"] for o in objs if o["type"] == "indicator")
    assert skipped == {"selector indicators (no STIX observable)": 1,
                       "domain values STIX cannot carry (invalid)": 1}


def test_tlp2_markings_labels_attack_patterns(case: Case) -> None:
    bundle, _, _ = build_bundle(case)
    objs = {o["id"]: o for o in bundle["objects"]}  # type: ignore[attr-defined]
    assert not [o for o in objs.values() if o["type"] == "marking-definition"]  # known by their OASIS ids
    assert TLP2_MARKING_IDS["amber+strict"] == "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    ind = next(o for o in objs.values() if o["type"] == "indicator" and o["name"] == "203.0.113.10")
    assert ind["pattern"] == "[ipv4-addr:value = '203.0.113.10']"
    assert ind["object_marking_refs"] == [TLP2_MARKING_IDS["amber+strict"]]
    assert ind["labels"] == ["T1566.001", "wave-3", 'admiralty-scale:source-reliability="b"']
    assert ind["indicator_types"] == ["unknown"]  # a documentation address: on a warninglist
    other = next(o for o in objs.values() if o["type"] == "indicator" and o["name"] == "evil-lure-7.net")
    assert other["object_marking_refs"] == [TLP2_MARKING_IDS["green"]]
    assert other["indicator_types"] == ["anomalous-activity"]
    rel = next(o for o in objs.values() if o["type"] == "relationship")
    assert rel["source_ref"] == ind["id"]
    technique = objs[rel["target_ref"]]
    # MITRE's own object: canonical id and version, its tactic, created by MITRE.
    assert technique["id"] == "attack-pattern--2e34237d-8574-43f6-aace-ae2915de8597"
    assert technique["name"] == "Spearphishing Attachment"
    phases = [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]
    assert technique["kill_chain_phases"] == phases
    assert technique["external_references"] == [{"source_name": "mitre-attack", "external_id": "T1566.001"}]
    assert objs[technique["created_by_ref"]]["name"] == "The MITRE Corporation"
    sighting = next(o for o in objs.values() if o["type"] == "sighting" and o["sighting_of_ref"] == ind["id"])
    assert objs[sighting["where_sighted_refs"][0]]["name"] == "A. Examiner"
    grouping = next(o for o in objs.values() if o["type"] == "grouping")
    assert grouping["name"] == "Export test"
    assert ind["id"] in grouping["object_refs"]


def test_patterns_escape_quotes_and_backslashes() -> None:
    pattern, _ = observables("url", "http://x.net/a?b='c'")  # type: ignore[misc]
    assert pattern == r"[url:value = 'http://x.net/a?b=\'c\'']"
    pattern, scos = observables("file_path", r"C:\Users\x\evil.exe")  # type: ignore[misc]
    assert pattern == r"[file:name = 'evil.exe' AND file:parent_directory_ref.path = 'C:\\Users\\x']"
    assert [s["type"] for s in scos] == ["file", "directory"]


def test_sco_ids_are_the_deterministic_ids_stix2_computes() -> None:
    import stix2

    classes = {"ipv4-addr": stix2.IPv4Address, "ipv6-addr": stix2.IPv6Address,
               "domain-name": stix2.DomainName, "url": stix2.URL, "email-addr": stix2.EmailAddress,
               "file": stix2.File,
               "autonomous-system": stix2.AutonomousSystem, "directory": stix2.Directory}
    for type_, value in PAIRS:
        made = observables(type_, value)
        if made is None:
            continue
        for sco in made[1]:
            props = {k: v for k, v in sco.items() if k not in ("id", "type", "spec_version")}
            assert classes[sco["type"]](**props).id == sco["id"], (type_, value)


def test_reexport_keeps_object_ids(case: Case) -> None:
    a, _, _ = build_bundle(case)
    b, _, _ = build_bundle(case)
    assert [o["id"] for o in a["objects"]] == [o["id"] for o in b["objects"]]  # type: ignore[index]


def test_export_file_is_valid_and_recorded_in_custody(case: Case, tmp_path: Path) -> None:
    from stix2validator import ValidationOptions, validate_file

    out = tmp_path / "case.stix.json"
    result = export_stix(case, out)
    assert validate_file(str(out), ValidationOptions(version="2.1")).is_valid
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert result.sha256 == digest
    assert digest in result.summary()
    entry = case.custody()[-1]
    assert (entry["action"], entry["sha256"], entry["detail"]["format"]) == ("exported", digest, "stix-2.1")
    assert not list(tmp_path.glob(".case.stix.json.*"))  # no temp file left


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora ({CORPORA}) are absent")
@pytest.mark.parametrize("name", ["apt1.json", "poisonivy.json"])
def test_round_trip_oasis_report_through_a_case(name: str, tmp_path: Path) -> None:
    """Import an OASIS report as a feed, hold its values in a case, export, validate, re-import."""
    with Library.open() as lib:
        lib.import_feed(CORPORA / "stix" / name)
        values = lib.conn.execute("SELECT type, value FROM feed_entries").fetchall()
    c = Case.create(tmp_path / "r.casetrail", title=f"Round trip {name}", examiner="B")
    try:
        src = tmp_path / "ev.txt"
        src.write_text("x\n")
        item_id = run_to_end(import_paths(c, [src], "t")).acquired[0].item.id
        with c.transaction() as conn:
            record_occurrences(conn, item_id, [{"type": t, "value": v, "source": "analyst", "where": "feed"}
                                               for t, v in values])
            mark_analysed(conn, examiner=c.examiner, item_id=item_id, sha256=c.item(item_id).sha256,  # type: ignore[union-attr]
                          kind="text")
        out = tmp_path / "out.json"
        export_stix(c, out)
        validate(json.loads(out.read_text()))
        with Library.open() as lib:
            again = lib.import_feed(out)
        assert again.format == "stix"
        assert again.entries == len(set(values))
    finally:
        c.close()


def test_csv_export(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "case.csv"
    result = export_csv(case, out)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(PAIRS) == result.counts["indicators"]
    ip = next(r for r in rows if r["value"] == "203.0.113.10")
    assert ip["defanged"] == "203[.]0[.]113[.]10"
    assert ip["tags"] == 'tlp:amber+strict | T1566.001 | wave-3 | admiralty-scale:source-reliability="b"'
    assert ip["occurrences"] == "1"
    assert ip["sources"] == "body"
    assert ip["first_seen"]
    private = next(r for r in rows if r["value"] == "198.51.100.0/24")
    assert "warninglist" in private["matches"] or private["matches"] == ""
    formula = next(r for r in rows if r["type"] == "domain" and "cmd" in r["value"])
    assert formula["value"].startswith("'=")  # never a live spreadsheet formula
    entry = case.custody()[-1]
    assert (entry["action"], entry["sha256"]) == ("exported", hashlib.sha256(out.read_bytes()).hexdigest())
