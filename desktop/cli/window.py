# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``gui`` command: the window (the default with no arguments)."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import AddCommand


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the window."""
    from desktop.ui.app import run_app

    return run_app(Path(args.case) if args.case else None)


def register(add: AddCommand) -> None:
    """Add ``gui`` to the parser."""
    sp = add("gui", cmd_gui, "open the window (the default with no arguments)")
    sp.add_argument("case", nargs="?")
