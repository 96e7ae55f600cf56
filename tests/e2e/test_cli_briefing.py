# SPDX-License-Identifier: GPL-3.0-or-later
"""``casetrail brief`` options and the analyst's briefing content, driven through the installed CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from test_cli import CT

from desktop.resources import resource_path


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CASETRAIL_HOME=str(home))
    return subprocess.run([CT, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def ok(home: Path, *args: str) -> str:
    p = run(home, *args)
    assert p.returncode == 0, f"{args}: {p.stderr}"
    return p.stdout


def text_of(pdf: Path) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return " ".join(" ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).split())
    finally:
        doc.close()


@pytest.fixture(scope="module")
def briefed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A case made from the demo's forwarded message, with intelligence and an earlier RED case."""
    root = tmp_path_factory.mktemp("cli-brief")
    home = root / "home"
    ok(
        home,
        "intel",
        "import",
        str(resource_path("demo", "intel/partner-report.stix.json")),
        str(resource_path("demo", "intel/ip2asn-demo.tsv")),
    )
    mail = resource_path("demo", "forwarded-message.eml")
    earlier = root / "earlier.casetrail"
    ok(home, "new", str(earlier), "--title", "Operation Nightjar (red)", "--examiner", "B", "--tlp", "red")
    ok(home, "import", str(earlier), str(mail), "--reason", "an earlier case")
    case = root / "now.casetrail"
    ok(home, "new", str(case), "--title", "Voter threats", "--examiner", "Dana Analyst", "--tlp", "amber")
    ok(home, "import", str(case), str(mail), "--reason", "forwarded by a county office")
    return home, case, root


def test_findings_are_listed_and_decided(briefed: tuple[Path, Path, Path]) -> None:
    home, case, _root = briefed
    found = json.loads(ok(home, "findings", "list", str(case), "--json"))
    ip = next(f for f in found if f["key"] == "indicator:ipv4:185.141.63.120")
    assert ip["status"] == "draft"
    assert "SANDSTORM-7" in ip["text"]
    assert "Operation Nightjar" not in json.dumps(found)  # a RED case, above this AMBER case
    assert ok(home, "findings", "accept", str(case), f"KF{ip['number']}").endswith(": accepted\n")
    out = ok(home, "findings", "add", str(case), "The relay hides the origin [item 1].", "--item", "1")
    assert out.startswith("analyst:")
    bad = run(home, "findings", "accept", str(case), "KF99")
    assert bad.returncode == 2
    assert "no key finding" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_analyst_content_commands(briefed: tuple[Path, Path, Path]) -> None:
    home, case, _root = briefed
    ok(home, "statements", "add", str(case), "gap", "No records from the relay's operator.")
    assert json.loads(ok(home, "statements", "list", str(case), "--json"))[0]["kind"] == "gap"
    ok(
        home,
        "distribution",
        "add",
        str(case),
        "Task force",
        "--organisation",
        "State board",
        "--note",
        "copy 1",
    )
    info = json.loads(
        ok(
            home,
            "briefing-info",
            str(case),
            "--poc-name",
            "Dana Analyst",
            "--poc-contact",
            "dana@cert.example",
            "--json",
        )
    )
    assert info["poc_name"] == "Dana Analyst"
    assert info["declaration_is_standard"]
    digest = hashlib.sha256(
        resource_path("demo", "intel/partner-report.stix.json").read_bytes()
    ).hexdigest()
    ok(home, "grade", str(case), digest, "B2", "--name", "Partner report")
    bad = run(home, "grade", str(case), digest, "Q7")
    assert bad.returncode == 2
    assert "Admiralty" in bad.stderr


def test_brief_with_redaction_sections_and_other_cases(briefed: tuple[Path, Path, Path]) -> None:
    home, case, root = briefed
    red = root / "red.pdf"
    ok(home, "brief", str(case), "-o", str(red), "--tlp", "red")
    text = text_of(red)
    assert "recipient@partner.example.org" in text.replace("[@]", "@").replace("[.]", ".")
    assert (
        "Operation Nightjar" in text
    )  # within its own marking (an AMBER briefing leaves it out: unit tests)
    assert "No records from the relay's operator." in text
    assert "Task force" in text
    assert "B2: source usually reliable" in text
    small = root / "small.pdf"
    out = ok(
        home,
        "brief",
        str(case),
        "-o",
        str(small),
        "--tlp",
        "red",
        "--redact",
        "recipients",
        "--redact",
        "value:Task force",
        "--sections",
        "findings,bluf,indicators,exhibits",
        "--no-other-cases",
    )
    assert "wrote briefing" in out
    text = text_of(small)
    flat = text.replace("[@]", "@").replace("[.]", ".")
    assert "recipient@partner.example.org" not in flat
    assert "REDACTED" in text
    assert "Task force" not in text
    assert "Operation Nightjar" not in text
    assert "Key findings" in text
    assert "Timeline" not in text
    assert "Appendix A: Evidence" not in text
    last = json.loads(ok(home, "custody", str(case), "--json"))[-1]
    assert last["action"] == "exported"
    detail = last["detail"] if isinstance(last["detail"], dict) else json.loads(last["detail"])
    assert detail["redacted_roles"] == ["recipients"]
    assert detail["sections"] == sorted(["findings", "bluf", "indicators", "exhibits"])
    bad = run(home, "brief", str(case), "-o", str(root / "x.pdf"), "--sections", "gossip")
    assert bad.returncode == 2
    assert "unknown briefing section" in bad.stderr


def test_the_cli_lists_the_briefing_sections() -> None:
    from desktop.cli import exports
    from reports.briefing import SECTIONS

    assert exports._SECTIONS == SECTIONS
