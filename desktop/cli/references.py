# SPDX-License-Identifier: GPL-3.0-or-later
"""``casetrail intel refresh CASE``: take a new intelligence snapshot of a case (issue 11)."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli.common import EXIT_OK, emit, open_case, shown


def cmd_refresh(args: argparse.Namespace) -> int:
    """Acquire the feeds that match as reference items and store the matches in the case."""
    from desktop.core.references import refresh

    with open_case(args.case, write=True) as case:
        report = refresh(case, reason=args.reason or "analyst refresh")
    if args.json:
        emit({"references": report.references, "matches": report.matches, "asn": report.asn,
              "unavailable": report.unavailable, "custody_seq": report.custody_seq})
    else:
        print(shown(report.summary()))
    return EXIT_OK


def register_refresh(intel_sub: Any) -> None:
    """Add ``refresh`` to the ``intel`` subcommands."""
    sp = intel_sub.add_parser("refresh", help="snapshot what the library says about a case's indicators "
                                             "(the feeds become reference items of the case)")
    sp.set_defaults(fn=cmd_refresh)
    sp.add_argument("case")
    sp.add_argument("--reason", help="why the snapshot is taken again (recorded)")
    sp.add_argument("--json", action="store_true")
