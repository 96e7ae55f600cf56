# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands that write something to carry away: the briefing, exports, and case packages."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.cli.common import EXIT_OK, AddCommand, examiner, open_case, shown
from desktop.core.case import TLP_LEVELS

# The briefing's section names, listed in --help without importing reportlab at start-up.
_SECTIONS = ("findings", "bluf", "judgments", "ach", "statements", "indicators", "campaigns", "exhibits",
             "timeline", "notes", "methodology", "declaration", "appendix")


def brief_options(args: argparse.Namespace) -> Any:
    """The :class:`reports.briefing.BriefingOptions` a ``brief`` command line asks for."""
    from desktop.core.redaction import parse_redactions
    from reports.briefing import BriefingOptions

    roles, values = parse_redactions(args.redact or [])
    sections = None
    if args.sections:
        sections = frozenset(s.strip().lower() for s in args.sections.split(",") if s.strip())
    return BriefingOptions(tlp=args.tlp, sections=sections, redact=values, redact_roles=frozenset(roles),
                           other_cases=not args.no_other_cases,
                           despite_discrepancies=args.despite_discrepancies,
                           receipt_file=Path(args.receipt) if args.receipt else None)


def cmd_brief(args: argparse.Namespace) -> int:
    """Write the PDF attribution briefing."""
    from reports.briefing import write_briefing

    options = brief_options(args)
    with open_case(args.case, write=True) as case:
        result = write_briefing(case, Path(args.output), options)
    print(shown(result.summary()))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Export the case as a STIX 2.1 bundle, a MISP event, a CSV of indicators, or a case package."""
    result: Any
    receipt = Path(args.receipt) if args.receipt else None
    with open_case(args.case, write=True) as case:
        if args.stix:
            from reports.stix_export import export_stix

            result = export_stix(case, Path(args.stix), receipt)
        elif args.csv:
            from reports.csv_export import export_csv

            result = export_csv(case, Path(args.csv), receipt)
        elif args.misp:
            from reports.misp_export import export_misp

            result = export_misp(case, Path(args.misp), receipt)
        else:
            from reports.package import export_package

            result = export_package(case, Path(args.package), receipt)
    print(shown(result.summary()))
    return EXIT_OK


def cmd_import_package(args: argparse.Namespace) -> int:
    """Verify a case package and unpack it as a new case, recording the transfer in custody."""
    from reports.package import import_package

    case = import_package(Path(args.package), Path(args.case), examiner=examiner())
    with case:
        print(f"imported case \u201c{shown(case.title)}\u201d at {shown(case.path)}: {len(case.items())} "
              "items; the signed "
              f"manifest, every hash, the custody chain and the case state verified")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the export commands to the parser."""
    sp = add("brief", cmd_brief, "write the PDF attribution briefing")
    sp.add_argument("case")
    sp.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    sp.add_argument("--tlp", choices=TLP_LEVELS, help="marking (default: the case's TLP)")
    sp.add_argument("--despite-discrepancies", action="store_true",
                    help="brief a case that fails verification: every page says so in red")
    sp.add_argument("--receipt", metavar="FILE.json", help="also write the signed receipt to carry away")
    sp.add_argument("--redact", action="append", metavar="VALUE|ROLE",
                    help="black out a value everywhere (repeatable; what is tagged above --tlp must be); "
                         "the roles `recipients` and `victims` black out every address a message was sent "
                         "to, and what the analyst tagged `victim`; `value:TEXT` is the literal TEXT")
    sp.add_argument("--sections", metavar="LIST",
                    help="comma-separated sections to include (default: all): " + ", ".join(_SECTIONS))
    sp.add_argument("--no-other-cases", action="store_true",
                    help="name no other case of this workstation (by default only those whose marking is "
                         "no stricter than the briefing's)")

    sp = add("export", cmd_export, "export a STIX 2.1 bundle, a MISP event, a CSV, or a case package")
    sp.add_argument("case")
    fmt = sp.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--stix", metavar="FILE")
    fmt.add_argument("--csv", metavar="FILE")
    fmt.add_argument("--misp", metavar="FILE", help="a MISP event (JSON) to import into MISP")
    fmt.add_argument("--package", metavar="FILE.zip")
    sp.add_argument("--receipt", metavar="FILE.json", help="also write the signed receipt to carry away")

    sp = add("import-package", cmd_import_package, "verify a case package and unpack it as a new case")
    sp.add_argument("package", metavar="PACKAGE.zip")
    sp.add_argument("case", metavar="CASE")
