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
from collections.abc import Callable, Iterator
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

    A top-level value that is an iterator (not a list) is written as a JSON array element by
    element, so a report of 84,000 imported items is never held whole, three times over (its
    dicts, their checked copy and the text: the import of a 50,000-message mailbox peaked at
    822 MiB there); the bytes are exactly those ``json.dumps(..., indent=2)`` gives for the list.
    """
    out = raw(sys.stdout)
    if not isinstance(data, dict) or not any(isinstance(v, Iterator) for v in data.values()):
        # One string, one write: json.dump writes every token to the stream on its own (measured:
        # a tenth of a second for the report of importing 400 e-mails).
        out.write(json.dumps(_valid_text(data), indent=2, ensure_ascii=False) + "\n")
        return
    for chunk in _streamed(data):
        out.write(chunk)


def _streamed(data: dict[Any, Any]) -> Iterator[str]:
    """What ``json.dumps(data, indent=2)`` and a newline give, in pieces of about a MiB."""
    if not data:
        yield "{}\n"
        return
    pending: list[str] = ["{"]
    size = 0
    for n, (key, value) in enumerate(data.items()):
        pending.append(("," if n else "") + "\n  " + json.dumps(_valid_text(key), ensure_ascii=False) + ": ")
        if not isinstance(value, Iterator):
            pending.append(_nested(value, "  "))
            continue
        first = True
        for element in value:
            pending.append(("[" if first else ",") + "\n    " + _nested(element, "    "))
            first = False
            size += len(pending[-1])
            if size > 1 << 20:
                yield "".join(pending)
                pending, size = [], 0
        pending.append("[]" if first else "\n  ]")
    pending.append("\n}\n")
    yield "".join(pending)


def _nested(value: Any, indent: str) -> str:
    """``value`` as json.dumps(indent=2) writes it ``len(indent) // 2`` levels deep."""
    return json.dumps(_valid_text(value), indent=2, ensure_ascii=False).replace("\n", "\n" + indent)


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
