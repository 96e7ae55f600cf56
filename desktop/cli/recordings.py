# SPDX-License-Identifier: GPL-3.0-or-later
"""``casetrail recordings``: the same screen recording found in several items or cases."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, AddCommand, emit, open_case


def cmd_recordings(args: argparse.Namespace) -> int:
    """List the videos of a case that are copies of one another or of videos in other cases."""
    from desktop.core.recordings import copies_of_case_videos  # see desktop.cli.evidence

    with open_case(args.case, write=False) as case:
        copies = copies_of_case_videos(case)
        names = {i.id: i.name for i in case.items()}
    if args.json:
        emit([{"item_id": item_id, "name": names.get(item_id, ""), "copies": [c.to_json() for c in found]}
              for item_id, found in sorted(copies.items())])
        return EXIT_OK
    if not copies:
        print("no video of this case is a copy of another one")
    for item_id, found in sorted(copies.items()):
        for c in found:
            print(f"item {item_id}\t{names.get(item_id, '')}\t{c.describe()}")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add the recordings command to the parser."""
    sp = add("recordings", cmd_recordings, "videos that are the same recording (re-encoded, cropped...)")
    sp.add_argument("case")
    sp.add_argument("--json", action="store_true")
