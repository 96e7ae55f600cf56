# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands on the workstation library: importing intelligence feeds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.cli import references
from desktop.cli.common import EXIT_FOUND, EXIT_OK, AddCommand, Parser, emit, shown, usage


def _confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; no terminal means no."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def cmd_intel(args: argparse.Namespace) -> int:
    """Import intelligence feeds into the workstation library, going on past a bad file."""
    from desktop.core.intel import FeedFailure, FeedImport, Library, ReplaceRefusedError

    imported: list[FeedImport] = []
    failed: list[FeedFailure] = []
    with Library.open() as lib:
        for result in lib.import_feeds([Path(p) for p in args.feeds], replace=args.replace):
            if isinstance(result, FeedFailure) and result.change is not None and not args.json and \
                    _confirm(f"casetrail: {shown(result.change.summary())}. Replace it?"):
                try:
                    result = lib.import_feed(Path(result.path), replace=True)
                except ReplaceRefusedError as exc:  # the table changed while we asked
                    result = FeedFailure(result.path, str(exc), exc.change)
            if isinstance(result, FeedImport):
                imported.append(result)
                if not args.json:
                    print(shown(result.summary()))
            else:
                failed.append(result)
                if not args.json:
                    print(f"casetrail: {shown(result.summary())}", file=sys.stderr)
    if args.json:
        emit({"imported": [r.to_json() for r in imported], "failed": [f.to_json() for f in failed]})
    return EXIT_FOUND if failed else EXIT_OK


def register(add: AddCommand) -> None:
    """Add ``intel`` and its subcommands to the parser."""
    intel = add("intel", lambda a: usage("intel needs a subcommand: import or pull"),
                "the workstation library")
    intel_sub = intel.add_subparsers(dest="intel_command", parser_class=Parser)
    references.register_refresh(intel_sub)  # intel refresh CASE (issue 11)
    sp = intel_sub.add_parser("import", help="import STIX 2.x, MISP JSON, CSV or ip2asn TSV feeds")
    sp.set_defaults(fn=cmd_intel)
    sp.add_argument("feeds", nargs="+", metavar="FEED")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--replace", action="store_true",
                    help="let an ip2asn table replace a different table of the same IP version")
    from desktop.cli.taxii import add_pull_arguments

    add_pull_arguments(intel_sub.add_parser(
        "pull", help="pull a TAXII 2.1 collection into the library (uses the network)"))
