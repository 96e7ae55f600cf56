# SPDX-License-Identifier: GPL-3.0-or-later
"""``casetrail intel import``, ``tag``, ``indicators --json`` matches/asn and ``export`` end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.case import Case
from desktop.core.intel import index_case

CORPORA = (Path(__file__).resolve().parents[2] / "../shared/corpora").resolve()


def _casetrail() -> str:
    found = shutil.which("casetrail", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("no casetrail console script next to this Python; run pip install -e . first")
    return found


CT = _casetrail()


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))  # the in-process index_case uses the same library

    def go(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, CASETRAIL_HOME=str(home))
        p = subprocess.run([CT, *args], capture_output=True, text=True, env=env, timeout=180, check=False)
        assert p.returncode == code, f"exit {p.returncode}: {p.stderr}"
        assert "Traceback" not in p.stderr
        return p

    return go


def test_intel_tag_indicators_export(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "old.txt").write_text("Beacon to 203.0.113.10 and shared-c2-7.net\n")
    (ev / "new.txt").write_text("Login from 203.0.113.10, also 10.0.0.5 and fresh-lure-7.net\n")
    old, new = tmp_path / "old.casetrail", tmp_path / "new.casetrail"
    run("new", str(old), "--title", "Operation Old Harbour", "--examiner", "A")
    run("import", str(old), str(ev / "old.txt"))
    run("new", str(new), "--title", "New wave", "--examiner", "B", "--tlp", "green")
    run("import", str(new), str(ev / "new.txt"))
    with Case.open(old, read_only=True) as c:
        assert index_case(c) >= 2

    feed = tmp_path / "partner.csv"
    feed.write_text("value,actor\n203.0.113.10,Sandworm\n")
    table = tmp_path / "ip2asn-v4.tsv"
    table.write_text("203.0.113.0\t203.0.113.255\t64500\tNL\tEXAMPLE-HOSTING\n")
    out = json.loads(run("intel", "import", str(feed), str(table), "--json").stdout)["imported"]
    assert [r["format"] for r in out] == ["csv", "ip2asn"]
    assert out[0]["actors"] == ["Sandworm"]
    assert not out[0]["already_imported"]
    again = run("intel", "import", str(feed)).stdout
    assert "already imported" in again

    lines = run("tag", str(new), "--indicator", "203.0.113[.]10", "TLP:AMBER", "T1566", "wave-3").stdout
    assert "added tlp:amber (TLP:AMBER)" in lines
    assert "T1566 Phishing" in lines
    assert "removed wave-3" in run("tag", str(new), "--indicator", "203.0.113.10", "--", "-wave-3").stdout
    bad = run("tag", str(new), "--indicator", "203.0.113.10", "tlp:purple", code=2)
    assert bad.stderr.startswith("casetrail: unknown TLP level")

    rows = json.loads(run("indicators", str(new), "--json").stdout)
    ip = next(r for r in rows if r["value"] == "203.0.113.10")
    assert ip["tags"] == ["tlp:amber", "T1566"]
    assert ip["asn"] == {"number": 64500, "name": "EXAMPLE-HOSTING", "country": "NL"}
    sources = {(m["source"], m["name"]) for m in ip["matches"]}
    assert ("feed", "Sandworm") in sources
    assert ("case", "Operation Old Harbour") in sources
    private = next(r for r in rows if r["value"] == "10.0.0.5")
    assert any(m["source"] == "warninglist" for m in private["matches"])
    assert all(set(m) == {"source", "name", "detail"} for r in rows for m in r["matches"])

    stix_out = tmp_path / "new.stix.json"
    assert "wrote STIX 2.1 export" in run("export", str(new), "--stix", str(stix_out)).stdout
    from stix2validator import ValidationOptions, validate_file

    assert validate_file(str(stix_out), ValidationOptions(version="2.1")).is_valid
    csv_out = tmp_path / "new.csv"
    assert "wrote CSV export" in run("export", str(new), "--csv", str(csv_out)).stdout
    assert "Sandworm" in csv_out.read_text()
    misp_out = tmp_path / "new.misp.json"
    assert "wrote MISP event export" in run("export", str(new), "--misp", str(misp_out)).stdout
    from pymisp import MISPEvent

    event = MISPEvent()
    event.load_file(str(misp_out))
    ip_attr = next(a for a in event.attributes if a.value == "203.0.113.10")
    assert 'misp-galaxy:threat-actor="Sandworm"' in {t.name for t in ip_attr.tags}
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in {t.name for t in ip_attr.tags}
    custody = json.loads(run("custody", str(new), "--json").stdout)
    assert [e["action"] for e in custody].count("exported") == 3
    assert [e["action"] for e in custody].count("tagged") == 4


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora ({CORPORA}) are absent")
def test_intel_import_oasis_and_misp_corpora(run) -> None:  # type: ignore[no-untyped-def]
    feeds = [CORPORA / "stix" / "apt1.json", CORPORA / "stix" / "poisonivy.json",
             CORPORA / "misp-events" / "long_event.json"]
    out = json.loads(run("intel", "import", *map(str, feeds), "--json").stdout)["imported"]
    assert [r["format"] for r in out] == ["stix", "stix", "misp"]
    assert "APT1" in out[0]["actors"]
    assert "admin@338" in out[1]["actors"]
    not_a_feed = run("intel", "import", str(CORPORA / "misp-events" / "sighting.json"), code=1)
    assert "neither a STIX bundle nor a MISP event" in not_a_feed.stderr


def test_intel_import_goes_on_past_a_bad_file_and_asks_before_replacing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = Path(__file__).resolve().parents[1] / "data" / "feeds"
    bad = tmp_path / "broken.json"
    bad.write_text("{broken")
    p = run("intel", "import", str(data / "attack-slice.json"), str(bad),
            str(data / "circl-osint-event.json"), "--json", code=1)
    doc = json.loads(p.stdout)  # one document, although a file failed
    assert [r["name"] for r in doc["imported"]][1].startswith("OSINT - New SLUB Backdoor")
    assert doc["failed"] == [{"path": str(bad), "error": "broken.json looks like JSON but cannot be parsed: "
                              "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}]
    text = run("intel", "import", str(bad), str(data / "stix20-observed-data.json"), code=1)
    assert "stix, 11 indicator values, attributed to Charming Kitten" in text.stdout
    assert "not used: " in text.stdout
    assert "broken.json: not imported" in text.stderr

    old = tmp_path / "old.tsv"
    old.write_text("".join(f"10.{i}.0.0\t10.{i}.255.255\t{64500 + i}\tNL\tAS-{i}\n" for i in range(20)))
    new = tmp_path / "new.tsv"
    new.write_text("10.0.0.0\t10.0.255.255\t64500\tNL\tAS-0\n10.1.0.0\t10.1.255.255\t65001\tDE\tOTHER\n"
                   "192.0.2.0\t192.0.2.255\t64999\tFR\tNEW\n")
    run("intel", "import", str(old))
    refused = run("intel", "import", str(new), "--json", code=1)
    failed = json.loads(refused.stdout)["failed"][0]
    assert failed["replace"] == {"versions": [4], "old_feeds": ["old.tsv"], "new_feed": "new.tsv",
                                 "old_ranges": 20, "new_ranges": 3, "added": 1, "removed": 18, "changed": 1}
    said = run("intel", "import", str(new), code=1).stderr  # no terminal: no question, nothing changed
    assert "20 ranges) by 3 ranges: 1 added, 18 removed, 1 with another owner" in said
    assert "--replace" in said
    done = run("intel", "import", str(new), "--replace").stdout
    assert "replaced: the IPv4 ip2asn table (old.tsv, 20 ranges)" in done
