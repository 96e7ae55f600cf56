# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``campaigns`` command: the groups of messages that belong together, and what each shares."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, AddCommand, emit, open_case
from desktop.core import campaigns

# Case text never reaches a terminal raw: control characters (ESC, CR, bidi overrides) are escaped.
# (i10 lands one CLI escaping helper for every command; this one goes when it does.)
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]} | {
    c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
_CONTROL.pop(0x09)  # tabs separate the columns


def plain(text: str) -> str:
    """Text safe to print on a terminal."""
    return text.translate(_CONTROL)


def cmd_campaigns(args: argparse.Namespace) -> int:
    """List the campaigns of a case (groups of two or more messages)."""
    with open_case(args.case, write=False) as case:
        found = campaigns.group(case.db.conn)
        tags = campaigns.tags_of(case.db.conn)
    if args.json:
        emit([c.to_json() for c in found])
        return EXIT_OK
    for c in found:
        span = f"{c.first_seen or '?'} .. {c.last_seen or '?'}"
        shared = ", ".join(sorted(c.constant)) or "nothing constant"
        tagged = f"\ttags {','.join(tags[c.id])}" if tags.get(c.id) else ""
        print(plain(f"{c.id}\t{len(c.items)} messages\t{span}\tshares {shared}\t"
                    f"items {','.join(map(str, c.items))}{tagged}"))
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the campaigns command to the parser."""
    sp = add("campaigns", cmd_campaigns, "groups of messages that belong together (template, sender, "
                                         "infrastructure, attachments, URLs)")
    sp.add_argument("case")
    sp.add_argument("--json", action="store_true")
