# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``gui`` command: the window (the default with no arguments)."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import AddCommand
from desktop.core.errors import CasetrailError


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the window; without a display, say so in one sentence (Qt would abort, exit 134)."""
    from desktop.ui.display_check import display_problem, no_display_sentence

    problem = display_problem()
    if problem is not None:
        raise CasetrailError(no_display_sentence(problem))
    from desktop.ui.app import run_app

    return run_app(Path(args.case) if args.case else None)


def register(add: AddCommand) -> None:
    """Add ``gui`` to the parser."""
    sp = add("gui", cmd_gui, "open the window (the default with no arguments)")
    sp.add_argument("case", nargs="?")
