# SPDX-License-Identifier: GPL-3.0-or-later
r"""What the command line prints for people: case text escaped, one JSON document exact.

A file name is written by whoever made the evidence. Printed raw, ``\x1b[1A\x1b[2K`` in a name
moves the cursor up and erases the ``MODIFIED`` line ``verify`` just printed, and a fake
"intact" line takes its place. So, for every command:

- :func:`shown` is the one function for a field of case text in a line of output (a name, a
  subject, a value, an examiner, a reason): :func:`desktop.core.printable.visible` — control
  characters, bidi overrides, zero-width characters and undecodable bytes become visible
  escapes (``\x1b``, ``\u202e``, ``\xff``); a tab or newline inside the field too, so the
  columns stay columns.
- :func:`guarded` is the root guard under it: while a command runs, ``sys.stdout`` and
  ``sys.stderr`` escape every control character except the program's own newlines and tabs, so
  an error sentence that quotes a path, a line a new command forgets to pass through
  :func:`shown`, or argparse echoing an argument cannot reach the terminal raw either.
- ``--json`` is exact: :func:`raw` is the stream under the guard, and JSON escapes control
  characters itself.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from desktop.core.printable import visible


def shown(value: object) -> str:
    """One field of case text for a terminal line (every control and bidi character escaped)."""
    return visible("" if value is None else str(value))


class _Guard:
    """A text stream that escapes what a terminal would act on, keeping newlines and tabs."""

    def __init__(self, stream: TextIO) -> None:
        self.raw = stream

    def write(self, text: str) -> int:
        self.raw.write(visible(text, multiline=True))
        return len(text)

    def __getattr__(self, name: str) -> object:  # flush, isatty, fileno, encoding, buffer …
        return getattr(self.raw, name)


def raw(stream: TextIO) -> TextIO:
    """The stream under the guard (for ``--json`` and the program's own progress line)."""
    return stream.raw if isinstance(stream, _Guard) else stream


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Guard ``sys.stdout`` and ``sys.stderr`` while a command runs (see the module docstring)."""
    out, err = sys.stdout, sys.stderr
    guard_out, guard_err = _Guard(out), _Guard(err)
    sys.stdout, sys.stderr = guard_out, guard_err
    try:
        yield
    finally:
        # A command may have replaced a stream (stdout to /dev/null after a broken pipe): keep that.
        if sys.stdout is guard_out:
            sys.stdout = out
        if sys.stderr is guard_err:
            sys.stderr = err
