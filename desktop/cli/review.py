# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands on what the analysis found: indicators, full-text search, tags."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, AddCommand, emit, open_case, shown
from desktop.core.errors import CasetrailError
from desktop.core.indicators import TYPES, defang


def cmd_indicators(args: argparse.Namespace) -> int:
    """List the indicators found in a case, with every occurrence."""
    from desktop.core.correlate import indicators_with_matches  # see desktop.cli.evidence

    if args.type and args.type not in TYPES:
        raise CasetrailError(f"unknown indicator type {args.type!r}; use one of {', '.join(TYPES)}")
    with open_case(args.case, write=False) as case:
        rows = indicators_with_matches(case, args.type)
    if args.json:
        emit(rows)
        return EXIT_OK
    for r in rows:
        sources = sorted({o["source"] for o in r["occurrences"]})
        items = sorted({o["item_id"] for o in r["occurrences"]})
        value = defang(r["value"], r["type"]) if args.defang else r["value"]
        mark = "	uncertain OCR reading" if r.get("uncertain") else ""
        print(f"{r['type']}	{shown(value)}	{len(r['occurrences'])}x	{shown(','.join(sources))}	"
              f"items {','.join(map(str, items))}{mark}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """Search the text of the case: mail bodies and subjects, text files, OCR of images and video."""
    from desktop.core.findings import search_text

    with open_case(args.case, write=False) as case:
        hits = search_text(case.db.conn, " ".join(args.words))
        names = {i.id: i.name for i in case.items()}
    if args.json:
        emit([{"item_id": h.item_id, "name": names.get(h.item_id, ""), "part": h.part,
                "snippet": h.snippet} for h in hits])
        return EXIT_OK
    for h in hits:
        snippet = " ".join(h.snippet.split())
        print(f"{h.item_id}\t{h.part}\t{shown(names.get(h.item_id, ''))}\t{shown(snippet)}")
    return EXIT_OK


def cmd_tag(args: argparse.Namespace) -> int:
    """Add tags to an indicator or an item (``-`` prefix removes one)."""
    from desktop.core.tags import apply_tags

    with open_case(args.case, write=True) as case:
        if args.campaign:
            from desktop.core.campaigns import tag_campaign

            changes = tag_campaign(case, args.campaign, args.tags)
        else:
            changes = apply_tags(case, indicator=args.indicator, item_id=args.item, tags=args.tags)
    for line in changes:
        print(shown(line))
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the review commands to the parser."""
    sp = add("indicators", cmd_indicators, "list indicators with where each was found")
    sp.add_argument("case")
    sp.add_argument("--type", help=f"only one type: {', '.join(TYPES)}")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--defang", action="store_true", help="print values defanged (hxxp, [.])")

    sp = add("search", cmd_search, "search mail bodies, text files and OCR text")
    sp.add_argument("case")
    sp.add_argument("words", nargs="+", metavar="WORD")
    sp.add_argument("--json", action="store_true")

    sp = add("tag", cmd_tag, "tag an indicator, an item or a campaign (TLP, ATT&CK, free or machine tags)")
    sp.add_argument("case")
    target = sp.add_mutually_exclusive_group(required=True)
    target.add_argument("--indicator", metavar="VALUE")
    target.add_argument("--item", type=int, metavar="ID")
    target.add_argument("--campaign", metavar="ID", help="a campaign id from `casetrail campaigns`")
    sp.add_argument("tags", nargs="+", metavar="TAG")
