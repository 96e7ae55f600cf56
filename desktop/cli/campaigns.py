# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``campaigns`` command: the groups of messages that belong together, and what each shares."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, AddCommand, emit, open_case, shown


def cmd_campaigns(args: argparse.Namespace) -> int:
    """List the campaigns of a case (groups of two or more messages)."""
    from desktop.core import campaigns  # here, not at the top: see desktop.cli.evidence

    with open_case(args.case, write=False) as case:
        found = campaigns.group(case.db.conn)
        tags = campaigns.tags_of(case.db.conn)
    if args.json:
        emit([c.to_json() for c in found])
        return EXIT_OK
    for c in found:
        span = f"{c.first_seen or '?'} .. {c.last_seen or '?'}"
        shared = ", ".join(sorted(c.constant)) or "nothing constant"
        tagged = f"\ttags {shown(','.join(tags[c.id]))}" if tags.get(c.id) else ""
        print(f"{shown(c.id)}\t{len(c.items)} messages\t{shown(span)}\tshares {shown(shared)}\t"
              f"items {','.join(map(str, c.items))}{tagged}")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the campaigns command to the parser."""
    sp = add("campaigns", cmd_campaigns, "groups of messages that belong together (template, sender, "
                                         "infrastructure, attachments, URLs)")
    sp.add_argument("case")
    sp.add_argument("--json", action="store_true")
