# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands on the workstation library: importing intelligence feeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import EXIT_OK, AddCommand, Parser, emit, usage


def cmd_intel(args: argparse.Namespace) -> int:
    """Import intelligence feeds into the workstation library."""
    from desktop.core.intel import Library

    with Library.open() as lib:
        results = [lib.import_feed(Path(p)) for p in args.feeds]
    if args.json:
        emit([r.to_json() for r in results])
    else:
        for r in results:
            print(r.summary())
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add ``intel`` and its subcommands to the parser."""
    intel = add("intel", lambda a: usage("intel needs a subcommand: import"), "the workstation library")
    intel_sub = intel.add_subparsers(dest="intel_command", parser_class=Parser)
    sp = intel_sub.add_parser("import", help="import STIX 2.1, MISP JSON, CSV or ip2asn TSV feeds")
    sp.set_defaults(fn=cmd_intel)
    sp.add_argument("feeds", nargs="+", metavar="FEED")
    sp.add_argument("--json", action="store_true")
