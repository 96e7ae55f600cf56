# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``demo`` command: build and open the demo case (what ``make run`` does from a checkout).

An installed Casetrail, and the bundle above all, has no ``python -m desktop.demo`` to run; this is
the same tour for them: ``casetrail demo`` opens the window on the demo case (headless when there
is no display), ``casetrail demo --headless`` builds, verifies and briefs it without a window.
"""

from __future__ import annotations

import argparse

from desktop.cli.common import AddCommand


def cmd_demo(args: argparse.Namespace) -> int:
    """Build (or reuse) the demo case, then open or brief it."""
    from desktop import demo

    return demo.headless() if args.headless else demo.launch()


def register(add: AddCommand) -> None:
    """Add ``demo`` to the parser."""
    sp = add("demo", cmd_demo, "build the demo case and open it (or --headless: verify and brief it)")
    sp.add_argument("--headless", action="store_true", help="no window: build, verify, write the briefing")
