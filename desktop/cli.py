"""The ``casetrail`` command: a thin layer over the core, stable for scripts (DESIGN §7).

Every command prints what it did (or one JSON document with ``--json``) on stdout, errors as one
sentence on stderr, and exits 0 on success, 1 when it found a discrepancy or could not finish
everything, 2 when it could not start (bad usage, not a case). A traceback is a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from desktop import __version__
from desktop.core.acquire import import_paths
from desktop.core.case import TLP_LEVELS, Case
from desktop.core.errors import CasetrailError
from desktop.core.progress import Progress, Task, run_to_end
from desktop.core.verify import verify_case

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
_LARGE = 64 << 20  # files above this get a progress line on a terminal


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"casetrail: {message} (see `casetrail --help`)\n")


def _examiner() -> str | None:
    return os.environ.get("CASETRAIL_EXAMINER") or None


def _open(path: str, *, write: bool) -> Case:
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
    """Acquire files and folders into a case."""
    with _open(args.case, write=True) as case:
        report = _drive(import_paths(case, [Path(p) for p in args.paths], args.reason or ""),
                        show=sys.stderr.isatty() and not args.json)
    if args.json:
        _emit({
            "imported": [{**a.item.to_json(), "new_item": a.new_item, "blob_existed": a.blob_existed}
                         for a in report.acquired],
            "failed": [{"path": p, "error": e} for p, e in report.failed],
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
        })
    else:
        for a in report.acquired:
            note = "" if a.new_item else "  (already in case: re-acquisition recorded)"
            if a.new_item and a.blob_existed:
                note = "  (identical content already in vault: stored once)"
            print(f"{a.item.id}\t{a.item.sha256}\t{a.item.mime}\t{a.item.name}{note}")
    for path, why in report.skipped:
        print(f"casetrail: skipped {path}: {why}", file=sys.stderr)
    for _path, err in report.failed:
        print(f"casetrail: not acquired: {err}", file=sys.stderr)
    return EXIT_FOUND if report.failed else EXIT_OK


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
                print(f"{status.upper()}\titem {item_id}\t{names.get(item_id, '')}")
        chain = report.chain
        if chain and not chain.ok:
            print(f"CUSTODY BROKEN\tfirst bad entry {chain.first_bad_seq}: {chain.reason}")
        for problem in report.problems:
            print(f"PROBLEM\t{problem}")
        good = sum(1 for s in report.items.values() if s == "ok")
        print(f"{'intact' if report.ok else 'DISCREPANCIES FOUND'}: {good}/{len(report.items)} items ok, "
              f"custody chain of {chain.length if chain else 0} entries "
              f"{'ok' if report.custody_ok else 'BROKEN'}")
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


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the window."""
    from desktop.ui.app import run_app

    return run_app(Path(args.case) if args.case else None)


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

    for name, fn, help_ in (("items", cmd_items, "list the evidence items"),
                            ("verify", cmd_verify, "re-hash the vault and check the custody chain"),
                            ("custody", cmd_custody, "print the chain of custody")):
        sp = add(name, fn, help_)
        sp.add_argument("case")
        sp.add_argument("--json", action="store_true")

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
    except KeyboardInterrupt:
        print("casetrail: interrupted; everything recorded so far is kept", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one sentence, never a traceback
        print(f"casetrail: internal error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
