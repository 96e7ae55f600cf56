# SPDX-License-Identifier: GPL-3.0-or-later
"""What every ``casetrail`` command shares: exit codes, opening a case, JSON output, progress.

Case text in a line of output goes through :func:`shown` (:mod:`desktop.cli.terminal`).

Commands print what they did (or one JSON document with ``--json``) on stdout, errors as one
sentence on stderr, and exit 0 on success, 1 when they found a discrepancy or could not finish
everything, 2 when they could not start (bad usage, not a case). A traceback is a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Protocol

from desktop.cli.terminal import raw, shown
from desktop.core.case import DB_NAME, Case
from desktop.core.errors import CasetrailError, SchemaUpgradeNeeded
from desktop.core.names import displayable
from desktop.core.progress import Progress, Task, run_to_end

__all__ = ["EXIT_FOUND", "EXIT_OK", "EXIT_USAGE", "AddCommand", "Command", "Parser", "drive", "emit",
           "examiner", "open_case", "shown", "usage"]

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
_LARGE = 64 << 20  # files above this get a progress line on a terminal

Command = Callable[[argparse.Namespace], int]


class AddCommand(Protocol):
    """Adds one subcommand to the parser and returns its own parser for its arguments."""

    def __call__(self, name: str, fn: Command, help_: str) -> argparse.ArgumentParser:
        """Add the subcommand ``name`` running ``fn``, described by ``help_``."""
        ...


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit 2 with one sentence."""

    def error(self, message: str) -> NoReturn:
        """Exit 2 with the message in one line (argparse would print usage and exit 2 too)."""
        self.exit(EXIT_USAGE, f"casetrail: {message} (see `casetrail --help`)\n")


def examiner() -> str | None:
    """Who acts now, from ``CASETRAIL_EXAMINER`` (None: the case's own examiner)."""
    return os.environ.get("CASETRAIL_EXAMINER") or None


def open_case(path: str, *, write: bool) -> Case:
    """Open a case for a command, upgrading an older case once; say what recovery did."""
    try:
        case = Case.open(Path(path), examiner=examiner(), read_only=not write)
    except SchemaUpgradeNeeded:
        # A case from an older Casetrail: upgrade it once (forward-only migrations under the
        # writer lock), then open it as asked.
        Case.open(Path(path), examiner=examiner()).close()
        case = Case.open(Path(path), examiner=examiner(), read_only=not write)
    if write and case.read_only:
        case.close()
        raise CasetrailError(f"cannot write to {path}: {case.read_only_reason}")
    for line in case.recovery:
        print(f"casetrail: recovered after an interrupted run: {shown(line)}", file=sys.stderr)
    if case.integrity_problems and not write:
        print(f"casetrail: the case database {case.path / DB_NAME} failed its integrity check "
              f"({shown('; '.join(case.integrity_problems[:2]))}); what it shows may be incomplete, run "
              "`casetrail verify`", file=sys.stderr)
    return case


def emit(data: Any) -> None:
    """Print one JSON document on stdout (the ``--json`` output of every command).

    Exact: JSON escapes control characters itself. A path the file system gave as bytes that are
    not UTF-8 (a name in a failure report) is written in its displayable form
    (:mod:`desktop.core.names`); items carry their exact bytes as ``name_bytes``.
    """
    out = raw(sys.stdout)
    # One string, one write: json.dump writes every token to the stream on its own (measured: a
    # tenth of a second for the report of importing 400 e-mails).
    out.write(json.dumps(_valid_text(data), indent=2, ensure_ascii=False) + "\n")


def _valid_text(data: Any) -> Any:
    if isinstance(data, str):
        return displayable(data)
    if isinstance(data, dict):
        return {_valid_text(k): _valid_text(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_valid_text(v) for v in data]
    return data


def usage(message: str) -> int:
    """Refuse a command line that names no action (exit 2 through the caller's handler)."""
    raise CasetrailError(message)


def drive(task: Task[Any], show: bool) -> Any:
    """Run a task, drawing a progress line on stderr for large files when it is a terminal."""
    if not show:
        return run_to_end(task)
    err = raw(sys.stderr)  # our own cursor codes; the file name in the line is escaped
    drawn = False
    while True:
        try:
            tick: Progress = next(task)
        except StopIteration as stop:
            if drawn:
                err.write("\r\033[K")
            return stop.value
        if tick.total >= _LARGE and tick.done < tick.total:
            pct = 100 * tick.done // tick.total
            err.write(f"\r\033[K{shown(tick.label)[:40]}  {pct:3d}%  "
                      f"{tick.done / 2**30:.2f} / {tick.total / 2**30:.2f} GiB")
            err.flush()
            drawn = True
