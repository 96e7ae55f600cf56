"""The ``casetrail`` command: a thin layer over the core, stable for scripts (DESIGN §7).

Every command prints what it did (or one JSON document with ``--json``) on stdout, errors as one
sentence on stderr, and exits 0 on success, 1 when it found a discrepancy or could not finish
everything, 2 when it could not start (bad usage, not a case). A traceback is a bug.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from desktop import __version__
from desktop.core.acquire import import_paths
from desktop.core.case import TLP_LEVELS, Case
from desktop.core.correlate import indicators_with_matches
from desktop.core.errors import CasetrailError, SchemaUpgradeNeeded
from desktop.core.findings import search_text
from desktop.core.indicators import TYPES, defang
from desktop.core.progress import Progress, Task, run_to_end
from desktop.core.verify import verify_case
from desktop.ingest.pipeline import analyse_items, import_and_analyse, pending

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
_LARGE = 64 << 20  # files above this get a progress line on a terminal


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"casetrail: {message} (see `casetrail --help`)\n")


def _examiner() -> str | None:
    return os.environ.get("CASETRAIL_EXAMINER") or None


def _open(path: str, *, write: bool) -> Case:
    try:
        case = Case.open(Path(path), examiner=_examiner(), read_only=not write)
    except SchemaUpgradeNeeded:
        # A case from an older Casetrail: upgrade it once (forward-only migrations under the
        # writer lock), then open it as asked.
        Case.open(Path(path), examiner=_examiner()).close()
        case = Case.open(Path(path), examiner=_examiner(), read_only=not write)
    if write and case.read_only:
        case.close()
        raise CasetrailError(f"cannot write to {path}: {case.read_only_reason}")
    for line in case.recovery:
        print(f"casetrail: recovered after an interrupted run: {line}", file=sys.stderr)
    return case


def _emit(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _drive(task: Task[Any], show: bool) -> Any:
    """Run a task, drawing a progress line on stderr for large files when it is a terminal."""
    if not show:
        return run_to_end(task)
    shown = False
    while True:
        try:
            tick: Progress = next(task)
        except StopIteration as stop:
            if shown:
                sys.stderr.write("\r\033[K")
            return stop.value
        if tick.total >= _LARGE and tick.done < tick.total:
            pct = 100 * tick.done // tick.total
            sys.stderr.write(f"\r\033[K{tick.label[:40]}  {pct:3d}%  "
                             f"{tick.done / 2**30:.2f} / {tick.total / 2**30:.2f} GiB")
            sys.stderr.flush()
            shown = True


def cmd_new(args: argparse.Namespace) -> int:
    """Create a case."""
    case = Case.create(Path(args.case), title=args.title, examiner=args.examiner, tlp=args.tlp)
    print(f"created case {case.title!r} at {case.path} (TLP:{args.tlp.upper()}, examiner {case.examiner})")
    case.close()
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Acquire files and folders into a case, then analyse what was acquired."""
    with _open(args.case, write=True) as case:
        task = (import_paths(case, [Path(p) for p in args.paths], args.reason or "") if args.no_analyse
                else import_and_analyse(case, [Path(p) for p in args.paths], args.reason or ""))
        report = _drive(task, show=sys.stderr.isatty() and not args.json)
        ids = [a.item.id for a in report.acquired] + report.derived
        items = {i.id: i for i in case.items()}
    first = {a.item.id: a for a in report.acquired}
    if args.json:
        _emit({
            "imported": [{**items[i].to_json(), "new_item": first[i].new_item if i in first else True,
                          "blob_existed": first[i].blob_existed if i in first else False}
                         for i in ids if i in items],
            "failed": [{"path": p, "error": e} for p, e in report.failed],
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
        })
    else:
        for i in ids:
            item, a = items[i], first.get(i)
            note = ""
            if a is not None and not a.new_item:
                note = "  (already in case: re-acquisition recorded)"
            elif a is not None and a.blob_existed:
                note = "  (identical content already in vault: stored once)"
            elif item.parent_id is not None:
                note = f"  (derived from item {item.parent_id}: {item.derived_how})"
            print(f"{item.id}\t{item.sha256}\t{item.mime}\t{item.status}\t{item.name}{note}")
    for path, why in report.skipped:
        print(f"casetrail: skipped {path}: {why}", file=sys.stderr)
    for _path, err in report.failed:
        print(f"casetrail: not acquired: {err}", file=sys.stderr)
    for item_id, why in report.analysis_failed:
        print(f"casetrail: item {item_id} acquired, but analysis failed: {why}", file=sys.stderr)
    return EXIT_FOUND if report.failed else EXIT_OK


def cmd_analyse(args: argparse.Namespace) -> int:
    """Analyse items again (all, or the ones named), e.g. after a newer analyser is installed."""
    with _open(args.case, write=True) as case:
        ids = args.item or ([i.id for i in case.items()] if args.all else pending(case))
        report = _drive(analyse_items(case, ids), show=False)
    print(f"analysed {len(report.analysed)} items, {len(report.failed)} failed, "
          f"{len(report.derived)} new derived items")
    for item_id, why in report.failed:
        print(f"casetrail: item {item_id}: analysis failed: {why}", file=sys.stderr)
    return EXIT_FOUND if report.failed else EXIT_OK


def cmd_indicators(args: argparse.Namespace) -> int:
    """List the indicators found in a case, with every occurrence."""
    if args.type and args.type not in TYPES:
        raise CasetrailError(f"unknown indicator type {args.type!r}; use one of {', '.join(TYPES)}")
    with _open(args.case, write=False) as case:
        rows = indicators_with_matches(case, args.type)
    if args.json:
        _emit(rows)
        return EXIT_OK
    for r in rows:
        sources = sorted({o["source"] for o in r["occurrences"]})
        items = sorted({o["item_id"] for o in r["occurrences"]})
        shown = defang(r["value"], r["type"]) if args.defang else r["value"]
        print(f"{r['type']}\t{shown}\t{len(r['occurrences'])}x\t{','.join(sources)}\t"
              f"items {','.join(map(str, items))}")
    return EXIT_OK


def cmd_items(args: argparse.Namespace) -> int:
    """List the items of a case."""
    with _open(args.case, write=False) as case:
        items = case.items()
    if args.json:
        _emit([i.to_json() for i in items])
        return EXIT_OK
    for i in items:
        parent = f"<{i.parent_id}" if i.parent_id else ""
        flag = "  EXTENSION MISMATCH" if i.ext_mismatch else ""
        print(f"{i.id}{parent}\t{i.kind}\t{i.size}\t{i.mime}\t{i.sha256}\t{i.status}\t{i.name}{flag}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-hash the vault and recompute the custody chain."""
    case = Case.open(Path(args.case), examiner=_examiner())
    with case:
        if case.read_only:
            print(f"casetrail: {case.read_only_reason}; the result will not be recorded in custody",
                  file=sys.stderr)
        report = _drive(verify_case(case), show=False)
        names = {i.id: i.name for i in case.items()}
    if args.json:
        _emit(report.to_json())
    else:
        for item_id, status in sorted(report.items.items()):
            if status != "ok":
                hurt = report.damage.get(item_id)
                where = (f"\tchunks {', '.join(map(str, hurt['damaged_chunks']))} of "
                         f"{hurt['chunk_size'] >> 20} MiB changed" if hurt else "")
                print(f"{status.upper()}\titem {item_id}\t{names.get(item_id, '')}{where}")
        chain = report.chain
        if chain and not chain.ok:
            print(f"CUSTODY BROKEN\tfirst bad entry {chain.first_bad_seq}: {chain.reason}")
        for problem in report.problems:
            print(f"PROBLEM\t{problem}")
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_FOUND


def cmd_custody(args: argparse.Namespace) -> int:
    """Print the chain of custody."""
    with _open(args.case, write=False) as case:
        entries = case.custody()
    if args.json:
        _emit(entries)
        return EXIT_OK
    for e in entries:
        item = f"item {e['item_id']}" if e["item_id"] is not None else "case"
        print(f"{e['seq']}\t{e['at']}\t{e['action']}\t{item}\t{e['examiner']}@{e['host']}\t"
              f"{e['result']}\t{(e['sha256'] or '')[:16]}\t{e['entry_hash'][:16]}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """Search the text of the case: mail bodies and subjects, text files, OCR of images and video."""
    with _open(args.case, write=False) as case:
        hits = search_text(case.db.conn, " ".join(args.words))
        names = {i.id: i.name for i in case.items()}
    if args.json:
        _emit([{"item_id": h.item_id, "name": names.get(h.item_id, ""), "part": h.part,
                "snippet": h.snippet} for h in hits])
        return EXIT_OK
    for h in hits:
        print(f"{h.item_id}\t{h.part}\t{names.get(h.item_id, '')}\t{' '.join(h.snippet.split())}")
    return EXIT_OK


def cmd_tag(args: argparse.Namespace) -> int:
    """Add tags to an indicator or an item (``-`` prefix removes one)."""
    from desktop.core.tags import apply_tags

    with _open(args.case, write=True) as case:
        changes = apply_tags(case, indicator=args.indicator, item_id=args.item, tags=args.tags)
    for line in changes:
        print(line)
    return EXIT_OK


def cmd_intel(args: argparse.Namespace) -> int:
    """Import intelligence feeds into the workstation library."""
    from desktop.core.intel import Library

    with Library.open() as lib:
        results = [lib.import_feed(Path(p)) for p in args.feeds]
    if args.json:
        _emit([r.to_json() for r in results])
    else:
        for r in results:
            print(r.summary())
    return EXIT_OK


def cmd_brief(args: argparse.Namespace) -> int:
    """Write the PDF attribution briefing."""
    from reports.briefing import BriefingOptions, write_briefing

    with _open(args.case, write=True) as case:
        result = write_briefing(case, Path(args.output), BriefingOptions(tlp=args.tlp))
    print(result.summary())
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Export the case as a STIX 2.1 bundle, a CSV of indicators, or a case package."""
    result: Any
    with _open(args.case, write=True) as case:
        if args.stix:
            from reports.stix_export import export_stix

            result = export_stix(case, Path(args.stix))
        elif args.csv:
            from reports.csv_export import export_csv

            result = export_csv(case, Path(args.csv))
        else:
            from reports.package import export_package

            result = export_package(case, Path(args.package))
    print(result.summary())
    return EXIT_OK


def cmd_import_package(args: argparse.Namespace) -> int:
    """Verify a case package and unpack it as a new case, recording the transfer in custody."""
    from reports.package import import_package

    case = import_package(Path(args.package), Path(args.case), examiner=_examiner())
    with case:
        print(f"imported case {case.title!r} at {case.path}: {len(case.items())} items, every hash "
              f"verified against the package manifest and the signed checkpoint")
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the window."""
    from desktop.ui.app import run_app

    return run_app(Path(args.case) if args.case else None)


def _usage(message: str) -> int:
    raise CasetrailError(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole command."""
    p = _Parser(prog="casetrail", description="Offline evidence and attribution for threat analysts.")
    p.add_argument("--version", action="version", version=f"casetrail {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

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

    sp = add("indicators", cmd_indicators, "list indicators with where each was found")
    sp.add_argument("case")
    sp.add_argument("--type", help=f"only one type: {', '.join(TYPES)}")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--defang", action="store_true", help="print values defanged (hxxp, [.])")

    for name, fn, help_ in (("items", cmd_items, "list the evidence items"),
                            ("verify", cmd_verify, "re-hash the vault and check the custody chain"),
                            ("custody", cmd_custody, "print the chain of custody")):
        sp = add(name, fn, help_)
        sp.add_argument("case")
        sp.add_argument("--json", action="store_true")

    sp = add("search", cmd_search, "search mail bodies, text files and OCR text")
    sp.add_argument("case")
    sp.add_argument("words", nargs="+", metavar="WORD")
    sp.add_argument("--json", action="store_true")

    sp = add("tag", cmd_tag, "tag an indicator or an item (TLP, ATT&CK, free or machine tags)")
    sp.add_argument("case")
    target = sp.add_mutually_exclusive_group(required=True)
    target.add_argument("--indicator", metavar="VALUE")
    target.add_argument("--item", type=int, metavar="ID")
    sp.add_argument("tags", nargs="+", metavar="TAG")

    intel = add("intel", lambda a: _usage("intel needs a subcommand: import"), "the workstation library")
    intel_sub = intel.add_subparsers(dest="intel_command", parser_class=_Parser)
    sp = intel_sub.add_parser("import", help="import STIX 2.1, MISP JSON, CSV or ip2asn TSV feeds")
    sp.set_defaults(fn=cmd_intel)
    sp.add_argument("feeds", nargs="+", metavar="FEED")
    sp.add_argument("--json", action="store_true")

    sp = add("brief", cmd_brief, "write the PDF attribution briefing")
    sp.add_argument("case")
    sp.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    sp.add_argument("--tlp", choices=TLP_LEVELS, help="marking (default: the case's TLP)")

    sp = add("export", cmd_export, "export a STIX 2.1 bundle, a CSV, or a case package")
    sp.add_argument("case")
    fmt = sp.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--stix", metavar="FILE")
    fmt.add_argument("--csv", metavar="FILE")
    fmt.add_argument("--package", metavar="FILE.zip")

    sp = add("import-package", cmd_import_package, "verify a case package and unpack it as a new case")
    sp.add_argument("package", metavar="PACKAGE.zip")
    sp.add_argument("case", metavar="CASE")

    sp = add("gui", cmd_gui, "open the window (the default with no arguments)")
    sp.add_argument("case", nargs="?")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``casetrail`` console script."""
    args = build_parser().parse_args(argv)
    if not getattr(args, "fn", None):
        args = build_parser().parse_args(["gui"])
    try:
        return int(args.fn(args))
    except CasetrailError as exc:
        print(f"casetrail: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours, and nothing to say to it.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return EXIT_OK
    except KeyboardInterrupt:
        print("casetrail: interrupted; everything recorded so far is kept", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one sentence, never a traceback
        print(f"casetrail: internal error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
