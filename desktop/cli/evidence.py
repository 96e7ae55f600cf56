# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands on the evidence itself: create a case, import, analyse, list items, verify, custody."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.cli.common import EXIT_FOUND, EXIT_OK, AddCommand, drive, emit, examiner, open_case, shown
from desktop.core import custody
from desktop.core.case import TLP_LEVELS, Case

# The acquisition, the analysers and verification are imported by the commands that use them:
# every run of ``casetrail`` builds the whole parser, and a script calling ``items`` hundreds of
# times should not load the analysers each time.
if TYPE_CHECKING:
    from desktop.core.acquire import Acquired


def cmd_new(args: argparse.Namespace) -> int:
    """Create a case."""
    case = Case.create(Path(args.case), title=args.title, examiner=args.examiner, tlp=args.tlp)
    print(f"created case \u201c{shown(case.title)}\u201d at {shown(case.path)} (TLP:{args.tlp.upper()}, "
          f"examiner {shown(case.examiner)})")
    case.close()
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Acquire files and folders into a case, then analyse what was acquired."""
    from desktop.core.acquire import import_paths
    from desktop.ingest.pipeline import import_and_analyse

    with open_case(args.case, write=True) as case:
        task = (import_paths(case, [Path(p) for p in args.paths], args.reason or "") if args.no_analyse
                else import_and_analyse(case, [Path(p) for p in args.paths], args.reason or ""))
        report = drive(task, show=sys.stderr.isatty() and not args.json)
        ids = [a.item.id for a in report.acquired] + report.derived
        first = {a.item.id: a for a in report.acquired}
        if args.json:
            # streamed (see emit): the items are read and written a chunk at a time
            emit({
                "imported": ({**item.to_json(),
                              "new_item": first[item.id].new_item if item.id in first else True,
                              "blob_existed": first[item.id].blob_existed if item.id in first else False}
                             for item in case.items_with_ids(ids)),
                "failed": [{"path": p, "error": e} for p, e in report.failed],
                "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
            })
        else:
            _print_imported(case, ids, first)
    for path, why in report.skipped:
        print(f"casetrail: skipped {shown(path)}: {shown(why)}", file=sys.stderr)
    for _path, err in report.failed:
        print(f"casetrail: not acquired: {shown(err)}", file=sys.stderr)
    if report.failed and report.failure_record:
        print(f"casetrail: the files not acquired are {shown(report.failure_record)}", file=sys.stderr)
    for item_id, why in report.analysis_failed:
        print(f"casetrail: item {item_id} acquired, but analysis failed: {shown(why)}", file=sys.stderr)
    for item_id, note in report.notes:
        print(f"casetrail: item {item_id}: {shown(note)}", file=sys.stderr)
    return EXIT_FOUND if report.failed else EXIT_OK


def _print_imported(case: Case, ids: list[int], first: dict[int, Acquired]) -> None:
    """One line an imported item, read a chunk at a time."""
    for item in case.items_with_ids(ids):
        a = first.get(item.id)
        note = ""
        if a is not None and not a.new_item:
            note = "  (already in case: re-acquisition recorded)"
        elif a is not None and a.blob_existed:
            note = "  (identical content already in vault: stored once)"
        elif item.parent_id is not None:
            note = f"  (derived from item {item.parent_id}: {shown(item.derived_how)})"
        if item.same_as is not None:
            note += f"  (same content as item {item.same_as}: analysis shared)"
        print(f"{item.id}\t{item.sha256}\t{shown(item.mime)}\t{shown(item.status)}\t"
              f"{shown(item.name)}{note}")


def cmd_analyse(args: argparse.Namespace) -> int:
    """Analyse items again (all, or the ones named), e.g. after a newer analyser is installed."""
    from desktop.ingest.pipeline import analyse_items, pending

    with open_case(args.case, write=True) as case:
        ids = args.item or ([i.id for i in case.items() if i.derived_how != "intelligence reference"]
                            if args.all else pending(case))
        report = drive(analyse_items(case, ids), show=False)
    print(f"analysed {len(report.analysed)} items, {len(report.failed)} failed, "
          f"{len(report.derived)} new derived items")
    for item_id, why in report.failed:
        print(f"casetrail: item {item_id}: analysis failed: {shown(why)}", file=sys.stderr)
    for item_id, note in report.notes:
        print(f"casetrail: item {item_id}: {shown(note)}", file=sys.stderr)
    return EXIT_FOUND if report.failed else EXIT_OK


def cmd_items(args: argparse.Namespace) -> int:
    """List the items of a case."""
    with open_case(args.case, write=False) as case:
        items = case.items()
    if args.json:
        emit([i.to_json() for i in items])
        return EXIT_OK
    for i in items:
        parent = f"<{i.parent_id}" if i.parent_id else ""
        flag = "  EXTENSION MISMATCH" if i.ext_mismatch else ""
        if i.same_as is not None:
            flag += f"  (same content as item {i.same_as}: analysis shared)"
        print(f"{i.id}{parent}\t{i.kind}\t{i.size}\t{shown(i.mime)}\t{i.sha256}\t{shown(i.status)}\t"
              f"{shown(i.name)}{flag}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-hash the vault, recompute the custody chain and replay the case state against it."""
    from desktop.core.verify import verify_case

    case = Case.open(Path(args.case), examiner=examiner(), read_only=args.no_record)
    with case:
        if case.read_only and not args.no_record:
            print(f"casetrail: {shown(case.read_only_reason)}; the result will not be recorded in custody",
                  file=sys.stderr)
        against = Path(args.against) if args.against else None
        report = drive(verify_case(case, record=not args.no_record, against=against), show=False)
        names = {i.id: i.name for i in case.items()}
    if args.json:
        emit(report.to_json())
    else:
        for item_id, status in sorted(report.items.items()):
            if status != "ok":
                hurt = report.damage.get(item_id)
                where = (f"\tchunks {', '.join(map(str, hurt['damaged_chunks']))} of "
                         f"{hurt['chunk_size'] >> 20} MiB changed" if hurt else "")
                print(f"{status.upper()}\titem {item_id}\t{shown(names.get(item_id, ''))}{where}")
        chain = report.chain
        if chain and not chain.ok:
            print(f"CUSTODY BROKEN\tfirst bad entry {chain.first_bad_seq}: {shown(chain.reason)}")
        for problem in report.problems + (report.replay.problems if report.replay else []):
            print(f"PROBLEM\t{shown(problem)}")
        for cp_id, key in sorted(report.signers.items()):
            print(f"CHECKPOINT\t{cp_id}\tsigned by key {shown(key)}")
        print(shown(report.summary()))
    if report.record_error:
        print(f"casetrail: the result above could not be recorded in custody: {shown(report.record_error)}",
              file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FOUND


def cmd_custody(args: argparse.Namespace) -> int:
    """Print the chain of custody."""
    with open_case(args.case, write=False) as case:
        if args.json:
            # Exactly the objects that are hashed, plus entry_hash (docs/verification.md).
            emit(custody.hashed_entries(case.db.conn))
            return EXIT_OK
        entries = case.custody()
    for e in entries:
        item = f"item {e['item_id']}" if e["item_id"] is not None else "case"
        print(f"{e['seq']}\t{shown(e['at'])}\t{shown(e['action'])}\t{item}\t{shown(e['examiner'])}@"
              f"{shown(e['host'])}\t{shown(e['result'])}\t{shown((e['sha256'] or '')[:16])}\t"
              f"{shown(e['entry_hash'][:16])}")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the evidence commands to the parser."""
    sp = add("new", cmd_new, "create a case folder")
    sp.add_argument("case")
    sp.add_argument("--title", required=True)
    sp.add_argument("--examiner", required=True)
    sp.add_argument("--tlp", choices=TLP_LEVELS, default="amber")

    sp = add("import", cmd_import, "acquire files or folders into a case")
    sp.add_argument("case")
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp.add_argument("--reason", help="why (authority, request) — recorded in custody")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--no-analyse", action="store_true", help="only acquire; analyse later")

    sp = add("analyse", cmd_analyse, "analyse items not analysed yet (or again, with --all/--item)")
    sp.add_argument("case")
    sp.add_argument("--item", type=int, action="append", help="an item id (repeatable)")
    sp.add_argument("--all", action="store_true", help="every item, again")

    for name, fn, help_ in (("items", cmd_items, "list the evidence items"),
                            ("verify", cmd_verify, "re-hash the vault, check the custody chain, replay the "
                                                   "case state"),
                            ("custody", cmd_custody, "print the chain of custody")):
        sp = add(name, fn, help_)
        sp.add_argument("case")
        sp.add_argument("--json", action="store_true")
        if name == "verify":
            sp.add_argument("--no-record", action="store_true",
                            help="open read-only and append nothing (an expert's check of a copy)")
            sp.add_argument("--against", metavar="RECEIPT.json|BRIEFING.pdf",
                            help="prove the case still contains the chain this receipt or briefing saw")
