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
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop.cli import (
    briefing,
    campaigns,
    demo,
    evidence,
    exports,
    intel,
    keys,
    recordings,
    review,
    taxii,
    window,
)
from desktop.cli.common import EXIT_OK, EXIT_USAGE, Command, Parser
from desktop.cli.terminal import guarded
from desktop.core import scratch
from desktop.core.case import DB_NAME
from desktop.core.errors import CasetrailError, database_reason, os_reason
from desktop.runlog import LEVELS, start_run_log

COMMAND_GROUPS = (
    evidence, review, campaigns, recordings, intel, briefing, exports, keys, taxii, window, demo,
)

log = logging.getLogger("casetrail")


class _VersionAction(argparse.Action):
    """``--version``: the version block (computed only when asked: it reads model files)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version, the revision it was built from and the versions "
                              "of the libraries it runs on, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from desktop.about import build_info

        print(build_info().text())
        parser.exit(EXIT_OK)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole command."""
    p = Parser(prog="casetrail", description="Offline evidence and attribution for threat analysts.")
    p.add_argument("--version", action=_VersionAction)
    p.add_argument("--log-level", choices=LEVELS, default="info",
                   help="what the run log in the workstation folder records (default: info)")
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
    with guarded():  # case text never reaches the terminal raw (desktop.cli.terminal)
        args = build_parser().parse_args(argv)
        if not getattr(args, "fn", None):
            args = build_parser().parse_args([*(argv or sys.argv[1:]), "gui"])
        logfile = start_run_log(args.log_level)
        for line in scratch.sweep():  # what an interrupted export left behind, removed and said
            log.info("swept: %s", line)
            print(f"casetrail: {line}", file=sys.stderr)
        started = time.monotonic()
        log.info("started: casetrail %s (pid %d)", " ".join(sys.argv[1:] if argv is None else argv),
                 os.getpid())
        code = _run(args, logfile)
    log.info("finished: %s with exit code %d after %.1f s", args.command, code, time.monotonic() - started)
    return code


def _run(args: argparse.Namespace, logfile: object) -> int:
    """Run the chosen command; turn every failure into one sentence and an exit code."""
    try:
        return int(args.fn(args))
    except CasetrailError as exc:
        log.warning("refused: %s", exc)
        print(f"casetrail: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours, and nothing to say to it.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return EXIT_OK
    except KeyboardInterrupt:
        print("casetrail: interrupted; everything recorded so far is kept", file=sys.stderr)
        return 130
    except OSError as exc:  # a fault of the machine (full disk, I/O error, permissions), not a bug
        log.warning("%s: %s", args.command, exc)
        where = exc.filename or getattr(args, "case", None) or "a file"
        print(f"casetrail: cannot use {where}: {os_reason(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as exc:  # the case database refused a read (a damaged page, a full disk)
        log.warning("%s: %s", args.command, exc)
        where = Path(getattr(args, "case", None) or ".") / DB_NAME
        print(f"casetrail: cannot read the case database {where}: {database_reason(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # last resort: one sentence here, the traceback in the run log
        log.exception("internal error in %s", args.command)
        where = f" with the log {logfile}" if logfile else ""
        print(f"casetrail: internal error ({type(exc).__name__}: {exc}); please report it{where}",
              file=sys.stderr)
        return 3
