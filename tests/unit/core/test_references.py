# SPDX-License-Identifier: GPL-3.0-or-later
"""Intelligence is evidence: matches come from reference items of the case (issue 11)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.core import references
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.correlate import indicators_with_matches
from desktop.core.findings import mark_analysed, record_occurrences
from desktop.core.intel import Library
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case

IP = "5.79.70.1"


def _table(path: Path, provider: str) -> Path:
    path.write_text(f"5.79.64.0\t5.79.127.255\t60781\tNL\t{provider}\n1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n")
    return path


@pytest.fixture
def intel_case(case: Case, tmp_path: Path) -> Case:
    src = tmp_path / "note.txt"
    src.write_text(f"seen {IP}\n")
    item = run_to_end(import_paths(case, [src])).acquired[0].item
    with case.transaction() as conn:
        record_occurrences(conn, item.id, [{"type": "ipv4", "value": IP, "source": "body", "where": "body"}])
        mark_analysed(conn, examiner=case.examiner, item_id=item.id, sha256=item.sha256, kind="text")
    feed = tmp_path / "partner.csv"
    feed.write_text(f"value,actor\n{IP},SANDSTORM-7\n")
    with Library.open() as lib:
        lib.import_feed(feed)
        lib.import_feed(_table(tmp_path / "ip2asn-a.tsv", "LEASEWEB-NL-AMS-01 Netherlands"))
    return case


def _ip_row(case: Case) -> dict[str, object]:
    return next(r for r in indicators_with_matches(case) if r["value"] == IP)


def test_snapshot_acquires_the_feeds_and_binds_the_matches(intel_case: Case, tmp_path: Path) -> None:
    report = references.refresh(intel_case)
    assert len(report.references) == 2
    refs = [i for i in intel_case.items() if i.derived_how == references.HOW]
    assert {r.name for r in refs} == {"partner.csv", "ip2asn-a.tsv"}
    assert all(r.status == "acquired" for r in refs)
    row = _ip_row(intel_case)
    assert row["asn"] == {"number": 60781, "name": "LEASEWEB-NL-AMS-01 Netherlands", "country": "NL"}
    feed = next(m for m in row["matches"] if m["source"] == "feed")  # type: ignore[union-attr]
    assert feed["name"] == "SANDSTORM-7"
    ref = next(r for r in refs if r.name == "partner.csv")
    assert f"reference item {ref.id}, SHA-256 {ref.sha256}" in feed["detail"]
    assert run_to_end(verify_case(intel_case)).ok
    # A changed table imported later does not change what this case states ...
    with Library.open() as lib:
        lib.import_feed(_table(tmp_path / "ip2asn-b.tsv", "OTHER-PROVIDER"), replace=True)
    assert _ip_row(intel_case)["asn"]["name"] == "LEASEWEB-NL-AMS-01 Netherlands"  # type: ignore[index]
    # ... until the analyst refreshes the snapshot, which is recorded.
    again = references.refresh(intel_case, reason="new ip2asn table")
    assert _ip_row(intel_case)["asn"]["name"] == "OTHER-PROVIDER"  # type: ignore[index]
    last = intel_case.custody()[-1]
    assert last["detail"]["what"] == "intelligence snapshot"
    assert last["reason"] == "new ip2asn table"
    assert last["seq"] == again.custody_seq
    assert run_to_end(verify_case(intel_case)).ok


def test_an_edited_snapshot_is_named(intel_case: Case) -> None:
    references.refresh(intel_case)
    conn = sqlite3.connect(intel_case.path / "case.sqlite", isolation_level=None)
    conn.execute("UPDATE intel_asn SET name = 'SOMEONE ELSE'")
    conn.close()
    found = run_to_end(verify_case(intel_case, record=False)).findings()
    assert any("intel snapshot" in f and "changed behind the application's back" in f for f in found), found


def test_the_package_carries_the_references(intel_case: Case, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.core import keys
    from reports.package import export_package, import_package

    out = tmp_path / "p.zip"
    export_package(intel_case, out)  # takes the first snapshot itself
    before = _ip_row(intel_case)
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "fresh-workstation"))
    import zipfile

    with zipfile.ZipFile(out) as zf:
        (tmp_path / "key.json").write_bytes(zf.read("examiner-key.json"))
    keys.trust_key(tmp_path / "key.json")
    with import_package(out, tmp_path / "copy.casetrail") as copy:
        assert not (tmp_path / "fresh-workstation" / "library.sqlite").exists()
        after = _ip_row(copy)
        assert after["asn"] == before["asn"]
        assert [m for m in after["matches"] if m["source"] == "feed"] == \
            [m for m in before["matches"] if m["source"] == "feed"]  # type: ignore[union-attr]
