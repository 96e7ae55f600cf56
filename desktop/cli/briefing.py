# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands on what the analyst puts in a briefing besides the assessment.

``findings`` (review the machine-drafted key findings: accept, edit, reject, reset, or add one's
own), ``statements`` (assumptions, intelligence gaps, alternative explanations, indicators to
watch), ``distribution`` (who holds a copy), ``briefing-info`` (point of contact, examiner's
role and organisation, declaration) and ``grade`` (a source's Admiralty grade). Each change is
a core function that records itself in custody; these commands only parse and print.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from desktop.cli.common import EXIT_OK, AddCommand, Parser, emit, open_case, usage
from desktop.core.errors import CasetrailError

if TYPE_CHECKING:
    from desktop.core.key_findings import KeyFinding


def shown(text: object) -> str:
    r"""Case text for a terminal: control and format characters as ``\uXXXX``, never obeyed."""
    out = []
    for ch in str(text):
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"):
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


# -- key findings ----------------------------------------------------------------------------


def _pick(findings: Sequence[KeyFinding], which: str) -> KeyFinding:
    """A finding by its number in the list (``KF2`` or ``2``) or by its key."""
    tag = which.strip()
    number = tag[2:] if tag.upper().startswith("KF") else tag
    if number.isdigit() and 1 <= int(number) <= len(findings):
        return findings[int(number) - 1]
    for f in findings:
        if f.key == tag:
            return f
    raise CasetrailError(f"no key finding {which!r}; `casetrail findings list CASE` numbers them KF1, KF2 …")


def cmd_findings_list(args: argparse.Namespace) -> int:
    """List the key findings as the briefing would print them, with their status."""
    from desktop.core.key_findings import case_findings

    with open_case(args.case, write=False) as case:
        _drafts, found = case_findings(case, use_library=not args.no_library)
    if args.json:
        emit([{"number": n, **asdict(f), "items": list(f.items), "indicator_ids": list(f.indicator_ids)}
              for n, f in enumerate(found, 1)])
        return EXIT_OK
    for n, f in enumerate(found, 1):
        print(f"KF{n}\t{f.status}\t{f.key}")
        print(f"\t{shown(f.text)}")
    return EXIT_OK


def _decide(args: argparse.Namespace, status: str) -> int:
    from desktop.core.key_findings import case_findings, decide, forget, update_finding

    with open_case(args.case, write=True) as case:
        drafts, found = case_findings(case, use_library=not args.no_library)
        key = _pick(found, args.finding).key
        if status == "reset":
            forget(case, key)
            print(f"{key}: the analyst's decision removed; the finding is machine-drafted again")
            return EXIT_OK
        if key.startswith("analyst:"):
            if status != "edited":
                raise CasetrailError(f"{key} is the analyst's own finding: edit it, or remove it with reset")
            update_finding(case, int(key[8:]), args.text)
            print(f"{key}: edited")
            return EXIT_OK
        draft = next((d for d in drafts if d.key == key), None)
        if draft is None:
            raise CasetrailError(f"{key} is no longer drafted by the tool; reset it to remove the decision")
        decide(case, draft, status, getattr(args, "text", None))
    print(f"{key}: {status}")
    return EXIT_OK


def cmd_findings_add(args: argparse.Namespace) -> int:
    """Write a key finding of the analyst's own."""
    from desktop.core.key_findings import add_finding

    with open_case(args.case, write=True) as case:
        d = add_finding(case, args.text, items=args.item or [], indicators=args.indicator or [])
    print(f"analyst:{d.id}: added")
    return EXIT_OK


# -- statements, distribution, settings, grades ------------------------------------------------


def cmd_statements(args: argparse.Namespace) -> int:
    """List, add, edit or delete the analyst's statements."""
    from desktop.core import statements as st

    write = args.statements_command != "list"
    with open_case(args.case, write=write) as case:
        if args.statements_command == "add":
            s = st.add_statement(case, args.kind, args.text)
            print(f"statement {s.id} ({s.kind}) added")
        elif args.statements_command == "edit":
            s = st.update_statement(case, args.id, args.text)
            print(f"statement {s.id} ({s.kind}) edited")
        elif args.statements_command == "delete":
            st.delete_statement(case, args.id)
            print(f"statement {args.id} deleted")
        else:
            rows = st.list_statements(case)
            if args.json:
                emit([asdict(s) for s in rows])
            for s in [] if args.json else rows:
                print(f"{s.id}\t{s.kind}\t{shown(s.text)}")
    return EXIT_OK


def cmd_distribution(args: argparse.Namespace) -> int:
    """List, add or remove recipients of the briefing."""
    from desktop.core import dissemination as ds

    write = args.distribution_command != "list"
    with open_case(args.case, write=write) as case:
        if args.distribution_command == "add":
            r = ds.add_recipient(case, args.recipient, args.organisation or "", args.note or "")
            print(f"recipient {r.id} added: {shown(r.recipient)}")
        elif args.distribution_command == "remove":
            ds.remove_recipient(case, args.id)
            print(f"recipient {args.id} removed")
        else:
            rows = ds.distribution(case)
            if args.json:
                emit([asdict(r) for r in rows])
            for r in [] if args.json else rows:
                print(f"{r.id}\t{shown(r.recipient)}\t{shown(r.organisation)}\t{shown(r.note)}")
    return EXIT_OK


_SETTING_FLAGS = ("poc_name", "poc_role", "poc_contact", "examiner_role", "examiner_organisation",
                  "declaration")


def cmd_briefing_info(args: argparse.Namespace) -> int:
    """Set the point of contact, the examiner's role and organisation, the declaration; print them."""
    from desktop.core import dissemination as ds

    changes = {k: getattr(args, k) for k in _SETTING_FLAGS if getattr(args, k) is not None}
    with open_case(args.case, write=bool(changes)) as case:
        for key, value in changes.items():
            ds.set_setting(case, key, value)
        values = ds.settings(case)
        text, written = ds.declaration(case, values)
    if args.json:
        emit({**{k: values.get(k) for k in _SETTING_FLAGS}, "declaration_printed": text,
              "declaration_is_standard": not written})
        return EXIT_OK
    for key in _SETTING_FLAGS:
        if key != "declaration":
            print(f"{ds.SETTING_LABELS[key]}: {shown(values.get(key, '(not set)'))}")
    print(f"{ds.SETTING_LABELS['declaration']}{'' if written else ' (the standard one)'}: {shown(text)}")
    return EXIT_OK


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade an intelligence source on the Admiralty scale, or list the grades."""
    from desktop.core import grading

    with open_case(args.case, write=args.sha256 is not None) as case:
        if args.sha256 is not None:
            if args.code is None:
                return usage("grade needs a code such as B2 after the SHA-256 (or \"\" to remove the grade)")
            g = grading.grade_source(case, args.sha256, args.name or "", args.code, args.note or "")
            done = f"graded {g.reliability}{g.credibility}" if args.code else "grade removed"
            print(f"{g.sha256}: {done}")
            return EXIT_OK
        grades = grading.analyst_grades(case)
    if args.json:
        emit([asdict(g) for g in grades.values()])
        return EXIT_OK
    for g in grades.values():
        print(f"{g.sha256}\t{g.reliability}{g.credibility}\t{shown(g.name)}\t{shown(g.note)}")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add ``findings``, ``statements``, ``distribution``, ``briefing-info`` and ``grade``."""
    fp = add("findings",
             lambda a: usage("findings needs a subcommand: list, accept, edit, reject, reset or add"),
             "review the key findings the briefing leads with")
    fsub = fp.add_subparsers(dest="findings_command", parser_class=Parser)
    sp: argparse.ArgumentParser = fsub.add_parser(
        "list", help="the key findings, numbered KF1, KF2 … as the briefing prints them")
    sp.set_defaults(fn=cmd_findings_list)
    sp.add_argument("case")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--no-library", action="store_true", help="draft without the workstation library")
    for name, status, help_ in (("accept", "accepted", "accept a machine-drafted finding as it is"),
                                ("reject", "rejected", "leave a machine-drafted finding out of the briefing"),
                                ("reset", "reset", "remove the analyst's decision (or own finding)"),
                                ("edit", "edited", "replace a finding's text with the analyst's")):
        sp = fsub.add_parser(name, help=help_)
        sp.set_defaults(fn=lambda a, s=status: _decide(a, s))
        sp.add_argument("case")
        sp.add_argument("finding", metavar="KF|KEY", help="its number (KF2 or 2) or its key")
        if name == "edit":
            sp.add_argument("text")
        sp.add_argument("--no-library", action="store_true", help=argparse.SUPPRESS)
    sp = fsub.add_parser("add", help="write a key finding of the analyst's own")
    sp.set_defaults(fn=cmd_findings_add)
    sp.add_argument("case")
    sp.add_argument("text", help="the sentence; [item 6] and [indicator 12] become links to the evidence")
    sp.add_argument("--item", type=int, action="append", help="an item it rests on (repeatable)")
    sp.add_argument("--indicator", type=int, action="append", help="an indicator it is about (repeatable)")

    stp = add("statements", lambda a: usage("statements needs a subcommand: list, add, edit or delete"),
              "assumptions, intelligence gaps, alternative explanations and indicators to watch")
    ssub = stp.add_subparsers(dest="statements_command", parser_class=Parser)
    sp = ssub.add_parser("list", help="every statement")
    sp.add_argument("case")
    sp.add_argument("--json", action="store_true")
    sp = ssub.add_parser("add", help="add a statement")
    sp.add_argument("case")
    sp.add_argument("kind", choices=("assumption", "gap", "alternative", "watch"))
    sp.add_argument("text")
    sp = ssub.add_parser("edit", help="replace a statement's text")
    sp.add_argument("case")
    sp.add_argument("id", type=int)
    sp.add_argument("text")
    sp = ssub.add_parser("delete", help="delete a statement")
    sp.add_argument("case")
    sp.add_argument("id", type=int)
    for p in ssub.choices.values():
        p.set_defaults(fn=cmd_statements)

    dp = add("distribution", lambda a: usage("distribution needs a subcommand: list, add or remove"),
             "who holds a copy of the briefing")
    dsub = dp.add_subparsers(dest="distribution_command", parser_class=Parser)
    sp = dsub.add_parser("list", help="the distribution list")
    sp.add_argument("case")
    sp.add_argument("--json", action="store_true")
    sp = dsub.add_parser("add", help="add a recipient")
    sp.add_argument("case")
    sp.add_argument("recipient")
    sp.add_argument("--organisation")
    sp.add_argument("--note", help="e.g. copy 2 of 3, by hand")
    sp = dsub.add_parser("remove", help="remove a recipient")
    sp.add_argument("case")
    sp.add_argument("id", type=int)
    for p in dsub.choices.values():
        p.set_defaults(fn=cmd_distribution)

    sp = add("briefing-info", cmd_briefing_info,
             "point of contact, examiner's role and organisation, and the declaration (set or show)")
    sp.add_argument("case")
    for key in _SETTING_FLAGS:
        sp.add_argument(f"--{key.replace('_', '-')}", dest=key, metavar="TEXT", help="\"\" removes it")
    sp.add_argument("--json", action="store_true")

    sp = add("grade", cmd_grade,
             "grade an intelligence source on the Admiralty scale (A-F, 1-6), or list grades")
    sp.add_argument("case")
    sp.add_argument("sha256", nargs="?", help="the source file's SHA-256 (as `casetrail intel` printed it)")
    sp.add_argument("code", nargs="?", help="e.g. B2; \"\" removes the grade")
    sp.add_argument("--name", help="what the source is called")
    sp.add_argument("--note", help="why")
    sp.add_argument("--json", action="store_true")
