# SPDX-License-Identifier: GPL-3.0-or-later
"""``taxii push`` and ``intel pull`` against medallion (the OASIS TAXII 2.1 server) on loopback."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.case import Case
from desktop.core.findings import mark_analysed, record_occurrences
from desktop.core.tags import apply_tags

HERE = Path(__file__).resolve().parent
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
PARTNER = "52892447-4d7e-4f70-b94d-d7f22742ff63"
USER, PASSWORD = "analyst", "loopback-only-s3cret"


def _casetrail() -> str:
    found = shutil.which("casetrail", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("no casetrail console script next to this Python; run pip install -e . first")
    return found


def _server_data(path: Path) -> None:
    """One writable collection, and a read-only one holding a partner's two objects."""
    partner = json.loads((HERE.parent / "data" / "feeds" / "attack-slice.json").read_text(encoding="utf-8"))
    indicator = {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--0f3a6a5e-3a44-4a8e-9d0e-5b8b7c2f4d11",
        "created": "2026-11-02T08:00:00.000Z", "modified": "2026-11-02T08:00:00.000Z",
        "created_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5", "name": "APT1 lure domain",
        "indicator_types": ["malicious-activity"],
        "pattern": "[domain-name:value = 'partner-lure.example.com']",
        "pattern_type": "stix", "valid_from": "2026-11-02T08:00:00Z"}
    relationship = {
        "type": "relationship", "spec_version": "2.1",
        "id": "relationship--6d1b2c3e-7f40-4b5a-8c9d-0e1f2a3b4c5d",
        "created": "2026-11-02T08:00:00.000Z", "modified": "2026-11-02T08:00:00.000Z",
        "relationship_type": "indicates", "source_ref": indicator["id"],
        "target_ref": "intrusion-set--6a2e693f-24e5-451a-9f88-b36a108e5662"}
    partner_objects = [*partner["objects"], indicator, relationship]
    manifest = [{"id": o["id"], "date_added": "2026-11-02T08:00:00.000000Z",
                 "version": o.get("modified", o.get("created", "2026-11-02T08:00:00.000Z")),
                 "media_type": "application/stix+json;version=2.1"} for o in partner_objects]
    collections = [
        {"id": COLLECTION, "title": "Team sharing", "description": "read and write", "can_read": True,
         "can_write": True, "media_types": ["application/stix+json;version=2.1"], "objects": [],
         "manifest": []},
        {"id": PARTNER, "title": "Partner reports", "description": "read only", "can_read": True,
         "can_write": False, "media_types": ["application/stix+json;version=2.1"], "objects": partner_objects,
         "manifest": manifest},
    ]
    data = {"/discovery": {"title": "Casetrail test server", "description": "loopback", "contact": "none",
                           "default": "http://127.0.0.1/api1/", "api_roots": ["http://127.0.0.1/api1/"]},
            "api1": {"information": {"title": "api1", "description": "test root",
                                     "versions": ["application/taxii+json;version=2.1"],
                                     "max_content_length": 104857600},
                     "status": [], "collections": collections}}
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def taxii_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Medallion with its memory backend on a free loopback port, stopped after these tests."""
    data = tmp_path_factory.mktemp("taxii") / "taxii-data.json"
    _server_data(data)
    proc = subprocess.Popen([sys.executable, str(HERE / "taxii_server.py"), str(data), USER, PASSWORD],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            pytest.fail(f"medallion did not start (exit {proc.poll()})")
        yield f"http://127.0.0.1:{int(line)}/api1/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    ct = _casetrail()

    def go(*args: str, code: int = 0, home: str = "home", password: str | None = PASSWORD,
           ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, CASETRAIL_HOME=str(tmp_path / home))
        env.pop("CASETRAIL_TAXII_PASSWORD", None)
        if password is not None:
            env["CASETRAIL_TAXII_PASSWORD"] = password
        p = subprocess.run([ct, *args], capture_output=True, text=True, env=env, timeout=180, check=False,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == code, f"exit {p.returncode}: {p.stderr}"
        assert "Traceback" not in p.stderr
        return p

    return go


def _case(root: Path) -> Path:
    """A case with 30 indicators (so the bundle is more than one page of the server), tagged."""
    path = root / "shared.casetrail"
    src = root / "ev.txt"
    src.write_text("evidence\n")
    from desktop.core.acquire import import_paths
    from desktop.core.progress import run_to_end

    with Case.create(path, title="Operation Loopback", examiner="T. Analyst", tlp="amber") as case:
        item = run_to_end(import_paths(case, [src], "test")).acquired[0].item.id
        values = [("domain", f"lure-{i}.evil-loopback.net") for i in range(28)]
        values += [("ipv4", "198.18.7.7"), ("url", "http://lure-0.evil-loopback.net/a.php")]
        with case.transaction() as conn:
            record_occurrences(conn, item, [{"type": t, "value": v, "source": "body", "where": "body"}
                                            for t, v in values])
            # findings bound to custody (issue 11): a push verifies the case first
            mark_analysed(conn, examiner=case.examiner, item_id=item, sha256=case.items()[0].sha256,
                          kind="text")
        apply_tags(case, indicator="lure-1.evil-loopback.net", tags=["T1566.001", "wave-3"])
        apply_tags(case, indicator="lure-2.evil-loopback.net", tags=["tlp:red"])
    return path


def test_push_and_pull_round_trip_the_case(run, taxii_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = _case(tmp_path)
    pushed = run("taxii", "push", str(case), taxii_url, "--collection", COLLECTION, "--user", USER).stdout
    assert f"to {taxii_url}collections/{COLLECTION}/" in pushed
    assert "withheld" in pushed  # the TLP:RED indicator and its sighting stay home
    with Case.open(case, read_only=True) as c:
        entry = c.custody()[-1]
        sent = c.path / "exports" / entry["detail"]["envelope"]
        envelope = json.loads(sent.read_text(encoding="utf-8"))
        import hashlib

        assert entry["sha256"] == hashlib.sha256(sent.read_bytes()).hexdigest()  # what was sent, hashed
        assert (entry["action"], entry["detail"]["format"], entry["detail"]["failed"]) == (
            "exported", "taxii-2.1", 0)
        assert entry["detail"]["succeeded"] == len(envelope["objects"]) > 50
        everything = json.dumps(c.custody()) + c.path.joinpath("case.sqlite").read_bytes().decode("latin-1")
        assert PASSWORD not in everything  # credentials are never stored in the case
        assert entry["detail"]["authenticated"] is True
    names = {o.get("name") for o in envelope["objects"] if o["type"] == "indicator"}
    assert "lure-2.evil-loopback.net" not in names
    assert len(names) == 29

    pulled = run("intel", "pull", taxii_url, "--collection", COLLECTION, "--user", USER, home="other").stdout
    assert f"pulled {len(envelope['objects'])} STIX objects" in pulled
    assert "stix, 29 indicator values" in pulled
    kept = next((tmp_path / "other" / "pulled").glob("taxii-*.json"))
    received = {o["id"]: o for o in json.loads(kept.read_text(encoding="utf-8"))["objects"]}
    for obj in envelope["objects"]:  # every object arrives as it was sent: tags, sightings and all
        assert received[obj["id"]] == obj
    tagged = next(o for o in received.values() if o.get("name") == "lure-1.evil-loopback.net")
    assert tagged["labels"] == ["T1566.001", "wave-3"]
    sightings = [o for o in received.values()
                 if o["type"] == "sighting" and o["sighting_of_ref"] == tagged["id"]]
    assert len(sightings) == 1
    assert "already imported" in run("intel", "pull", taxii_url, "--collection", COLLECTION, "--user", USER,
                                     home="other").stdout


def test_pull_a_partner_collection_and_refusals(run, taxii_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = run("intel", "pull", taxii_url, "--collection", PARTNER, "--user", USER).stdout
    assert "attributed to APT1" in out
    bad = run("intel", "pull", taxii_url, "--collection", PARTNER, "--user", USER, password="wrong", code=2)  # noqa: S106
    assert "answered 401" in bad.stderr
    no_password = run("taxii", "push", str(tmp_path / "none.casetrail"), taxii_url, "--collection", PARTNER,
                      "--user", USER, password=None, code=2)
    assert "CASETRAIL_TAXII_PASSWORD" in no_password.stderr
    # In process, what needs no second command line: refusals, recorded like successes.
    from reports.taxii import Credentials, TaxiiError, push_case

    case = _case(tmp_path)
    with Case.open(case) as c:
        with pytest.raises(TaxiiError, match="does not let this user do that"):
            push_case(c, taxii_url, PARTNER, Credentials(USER, PASSWORD))  # a read-only collection
        assert c.custody()[-1]["result"].startswith("push failed")  # a failed push is recorded too
        with pytest.raises(TaxiiError, match="plain http to another machine"):
            push_case(c, "http://203.0.113.9/api1/", COLLECTION, Credentials())
        with pytest.raises(TaxiiError, match="carries a user name or password"):
            push_case(c, f"https://{USER}:{PASSWORD}@taxii.example/api1/", COLLECTION, Credentials())
