# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo case: a small, realistic case built from ``resources/demo/`` for first runs and tours.

``python -m desktop.demo --headless`` builds the case (once; later runs reuse it), verifies it,
writes the demo briefing PDF and prints where everything is; ``--launch`` opens it in the window
and verifies it there, when there is a display.

The demo retells the story Casetrail comes from with fictional data: a threatening email carrying
a video of the sender's screen, whose on-screen IP address, paths and file names match a partner's
STIX report about an earlier intrusion and a Dutch hosting provider in an ip2asn table; three
hypotheses weighed in an ACH matrix; key judgments; and the briefing that cites every exhibit.

This module must stay importable without Qt: PySide6 is imported only inside :func:`launch`, so
the headless path works on a server with no display libraries at all.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop.core import analysis, dissemination, grading, key_findings, statements
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.home import workstation_home
from desktop.core.intel import Library, ReplaceRefusedError
from desktop.core.progress import run_to_end
from desktop.core.tags import apply_tags, resolve_indicator
from desktop.core.verify import VerifyReport, verify_case
from desktop.ingest.pipeline import import_and_analyse
from desktop.resources import resource_path
from desktop.runlog import start_run_log
from reports.briefing import BriefingOptions, write_briefing

DEMO_TITLE = "Demo - Proud Boys emails"
DEMO_EXAMINER = "Demo Analyst"
DEMO_TLP = "amber"
DEMO_REASON = "demo case built by `python -m desktop.demo` from the bundled sample files"
DEMO_FILES = ("threat-email.eml", "forwarded-message.eml", "analyst-note.txt",
              "terminal-screenshot.png", "flyer.jpg")
DEMO_FEEDS = ("intel/partner-report.stix.json", "intel/ip2asn-demo.tsv")


def demo_case_path() -> Path:
    """Return where the demo case lives (whether or not it has been built yet)."""
    return workstation_home() / "demo" / f"{DEMO_TITLE}.casetrail"


def demo_sources() -> list[Path]:
    """Return the bundled demo files, in import order.

    Raises:
        CasetrailError: a bundled file is missing (a broken installation).
    """
    paths = [resource_path("demo", name) for name in DEMO_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CasetrailError(f"the demo files are missing from this installation: {', '.join(missing)}")
    return paths


def build_demo() -> tuple[Path, bool]:
    """Build the demo case if it does not exist yet.

    The case is built in a sibling folder and renamed into place only when complete, so an
    interrupted build never leaves a half-filled demo that later runs would reuse.

    Returns:
        The case folder and whether it was built now (False: an existing one was reused).
    """
    final = demo_case_path()
    if final.exists():
        return final, False
    sources = demo_sources()
    building = final.with_name(f"{final.name}.building-{os.getpid()}")
    if building.exists():  # our own leftover from a crashed build with a recycled pid
        shutil.rmtree(building)
    with Library.open() as library:
        for feed in DEMO_FEEDS:
            # The demo never replaces an analyst's own ip2asn table by its toy one.
            with contextlib.suppress(ReplaceRefusedError):
                library.import_feed(resource_path("demo", feed))
    with Case.create(building, title=DEMO_TITLE, examiner=DEMO_EXAMINER, tlp=DEMO_TLP) as case:
        report = run_to_end(import_and_analyse(case, sources, DEMO_REASON))
        if not report.failed:
            assess(case)
    if report.failed:
        problems = "; ".join(err for _path, err in report.failed)
        raise CasetrailError(f"the demo case could not be built: {problems}")
    building.rename(final)
    return final, True


def assess(case: Case) -> None:
    """Record the analyst's side of the demo: tags, hypotheses, ACH ratings, judgments, an event."""
    for value, tags in (("185.141.63.120", ["tlp:amber", "attack-pattern:T1583.003", "infra:vps"]),
                        ("pb-notices-demo.com", ["tlp:amber", "attack-pattern:T1566"]),
                        ("voters_FL.xlsx", ["tlp:red"])):
        with contextlib.suppress(CasetrailError):  # an indicator the OCR missed is not fatal
            apply_tags(case, indicator=value, tags=tags)
    state = analysis.add_hypothesis(case, "State-linked operators (SANDSTORM-7)",
                                    "The operators seen in the partner's earlier intrusion.")
    flag = analysis.add_hypothesis(case, "False flag by another actor",
                                   "Someone posing as a known group to mislead attribution.")
    named = analysis.add_hypothesis(case, "The group named in the From line",
                                    "The domestic group the emails claim to come from.")
    conn = case.db.conn
    ip = next((i for i, _t, _v in resolve_indicator(conn, "185.141.63.120")), None)
    threat = next((i.id for i in case.items() if i.kind == "email" and i.parent_id is None), None)
    # Each row points at what it rests on, so the briefing cites its exhibit (one hop).
    ratings = (
        ("Video shows 185.141.63.120, a VPS at a Dutch hosting provider", "high", "high",
         ("CC", "I", "II"), _frame_showing(case, "185.141.63.120")),
        ("185.141.63.120 is in the partner's report on SANDSTORM-7", "high", "high", ("CC", "N", "I"),
         ("indicator", ip)),
        ("Received chain: origin 185.141.63.120; SPF softfail, DMARC fail", "high", "medium",
         ("C", "C", "I"), ("item", threat)),
        ("Operator left voters_FL.xlsx and Windows paths on screen", "medium", "medium", ("C", "I", "N"),
         _frame_showing(case, "C:\\Users\\operator\\Desktop\\emails\\voters_AK.xlsx")),
        ("From line names the group", "low", "medium", ("N", "C", "C"), ("item", threat)),
    )
    for label, credibility, relevance, marks, (kind, ref) in ratings:
        ev = analysis.add_evidence(case, label, kind=kind if ref is not None else "other", ref_id=ref,
                                   credibility=credibility, relevance=relevance)
        for hyp, mark in zip((state, flag, named), marks, strict=True):
            analysis.set_rating(case, ev.id, hyp.id, mark)
    analysis.add_judgment(case, "The threatening emails were sent by the state-linked operators "
                          "tracked as SANDSTORM-7 [E1] [E2].", confidence="moderate",
                          likelihood="very likely")
    analysis.add_judgment(case, "The emails are not a false flag: the operators exposed their own "
                          "infrastructure in the video they sent [E1] [E4].", confidence="moderate",
                          likelihood="likely")
    analysis.add_event(case, "2020-10-20T15:30:00Z", "First victim report received",
                       "A county election office forwarded the message to the analysts.")
    brief_content(case)


def _frame_showing(case: Case, value: str) -> tuple[str, int | None]:
    """The kept frame an indicator was first read on (an evidence row's reference), if any."""
    row = case.db.conn.execute(
        "SELECT o.frame_item_id FROM occurrences o JOIN indicators i ON i.id = o.indicator_id "
        "WHERE i.value = ? AND o.frame_item_id IS NOT NULL ORDER BY o.time_s, o.id LIMIT 1",
        (value,),
    ).fetchone()
    return "item", None if row is None else int(row[0])


def brief_content(case: Case) -> None:
    """The analyst's side of the demo briefing: statements, distribution, contact, grades, findings."""
    ip = next((f"[indicator {i}]" for i, _t, _v in resolve_indicator(case.db.conn, "185.141.63.120")), "")
    video = next((i.id for i in case.items() if i.kind == "video"), None)
    video_ref = f" [item {video}]" if video is not None else ""
    for kind, text in (
        ("assumption", f"The video attached to the message{video_ref} is the sender's own screen recording, "
                       "not a clip taken from elsewhere."),
        ("assumption", f"The partner's report is right that SANDSTORM-7 used 185.141.63.120 {ip}."),
        ("gap", "No records from the hosting provider: who rented the server when the emails were sent "
                "is not known."),
        ("alternative", "A false flag [H2]: another actor using SANDSTORM-7's server. Less likely, because "
                        "the operator's own video shows the server's address and tooling [E1] [E4]."),
        ("watch", "The hosting provider's records name a customer for 185.141.63.120 in October 2020 "
                  "who is not linked to SANDSTORM-7."),
    ):
        statements.add_statement(case, kind, text)
    dissemination.add_recipient(case, "Election security task force", "State Board of Elections",
                                "copy 1 of 2, by hand")
    dissemination.add_recipient(case, "Partner CERT liaison", "Partner CERT (fictional)",
                                "copy 2 of 2, encrypted")
    for key, value in (("poc_name", DEMO_EXAMINER), ("poc_role", "Threat intelligence analyst"),
                       ("poc_contact", "analyst@cert.example.org"), ("examiner_role", "Senior analyst"),
                       ("examiner_organisation", "Demo CERT (fictional)")):
        dissemination.set_setting(case, key, value)
    report = resource_path("demo", DEMO_FEEDS[0])
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    grading.grade_source(case, digest, "Partner report on SANDSTORM-7", "B2",
                         "a partner with a good record; not yet confirmed by a second source")
    drafts, _found = key_findings.case_findings(case)
    for draft in drafts[:1]:  # the analyst has reviewed the first finding; the others stay drafts
        key_findings.decide(case, draft, "accepted")


def verify_demo(path: Path) -> VerifyReport:
    """Verify the demo case (recorded in its custody when it is not open elsewhere)."""
    with Case.open(path) as case:
        return run_to_end(verify_case(case))


def has_display() -> bool:
    """Whether a window can be shown (:func:`desktop.ui.display_check.display_problem`)."""
    return _display_problem() is None


def _display_problem() -> str | None:
    from desktop.ui.display_check import display_problem  # Qt-free, like this module's top

    return display_problem()


def write_demo_briefing(path: Path, *, despite_discrepancies: bool = False) -> Path:
    """Write the demo briefing PDF into the case's exports folder and return its path.

    The file name tagged TLP:RED is redacted, so the TLP:AMBER briefing prints nothing above its
    marking (the cover says what was redacted, and custody records it). A demo case that fails
    verification is briefed only with ``despite_discrepancies``, and then every page says so.
    """
    out = path / "exports" / "demo-briefing.pdf"
    with Case.open(path) as case:
        result = write_briefing(case, out, BriefingOptions(redact=["voters_FL.xlsx"],
                                                           despite_discrepancies=despite_discrepancies))
    print(result.summary())
    return out


def headless() -> int:
    """Build (or reuse) and verify the demo case, write its briefing, and say where they are."""
    path, built = build_demo()
    print(f"demo case {'built' if built else 'reused'}: {path}")
    report = verify_demo(path)
    print(report.summary())
    pdf = write_demo_briefing(path, despite_discrepancies=not report.ok)
    print(f"demo briefing: {pdf}")
    print(f"open the case in the window later with: casetrail gui '{path}'")
    return 0 if report.ok else 1


def launch() -> int:
    """Open the window on the demo case, or run headless when there is no display."""
    problem = _display_problem()
    if problem is not None:
        print(f"casetrail demo: no display is available ({problem}); running the demo headless "
              "instead")
        return headless()
    path, _built = build_demo()
    from desktop.ui.app import run_app  # Qt only on this path: see the module docstring

    return run_app(path, verify_on_open=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m desktop.demo``."""
    parser = argparse.ArgumentParser(prog="python -m desktop.demo",
                                     description="Build and open the Casetrail demo case.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--launch", action="store_true", help="open the demo case in the window (default)")
    mode.add_argument("--headless", action="store_true", help="build and verify it without a window")
    args = parser.parse_args(argv)
    start_run_log()
    try:
        return headless() if args.headless else launch()
    except CasetrailError as exc:
        print(f"casetrail demo: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
