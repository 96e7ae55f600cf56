# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``casetrail`` command: a thin layer over the core, stable for scripts (DESIGN §7).

Each command group is one module with a ``register(add)`` function; :data:`COMMAND_GROUPS` lists
them in the order ``--help`` shows them. A new command is a new module (or a function in the
group it belongs to) and one line here. What every command shares (exit codes, opening a case,
``--json`` output) is in :mod:`desktop.cli.common`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.cli import campaigns, evidence, exports, intel, review, taxii, window
from desktop.cli.common import EXIT_OK, EXIT_USAGE, Command, Parser
from desktop.core.errors import CasetrailError

COMMAND_GROUPS = (evidence, review, campaigns, intel, exports, taxii, window)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole command."""
    p = Parser(prog="casetrail", description="Offline evidence and attribution for threat analysts.")
    p.add_argument("--version", action="version", version=f"casetrail {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)

    def add(name: str, fn: Command, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

    for group in COMMAND_GROUPS:
        group.register(add)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``casetrail`` console script."""
    args = build_parser().parse_args(argv)
    if not getattr(args, "fn", None):
        args = build_parser().parse_args(["gui"])
    try:
        return int(args.fn(args))
    except CasetrailError as exc:
        print(f"casetrail: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours, and nothing to say to it.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return EXIT_OK
    except KeyboardInterrupt:
        print("casetrail: interrupted; everything recorded so far is kept", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one sentence, never a traceback
        print(f"casetrail: internal error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return 3
