# SPDX-License-Identifier: GPL-3.0-or-later
"""The run log: a rotating file in the workstation folder that says what ran and what went wrong.

The CLI and the window print one sentence per error and never a traceback; the traceback an
analyst attaches to a bug report is written here, with the command line that ran, the version
block and how it ended. ``<workstation>/logs/casetrail.log`` rotates at 5 MiB and keeps five old
files, so a long campaign of imports cannot fill the disk.

Nothing from a case goes into the log beyond what a command line names (paths, item ids); the
log is for the tool's own behaviour, not a second copy of the evidence. If the folder cannot be
written (read-only media), Casetrail runs without a log file and says so once.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path

from desktop.core.home import workstation_home

LEVELS = ("debug", "info", "warning", "error")
LOG_NAME = "casetrail.log"
_MAX_BYTES = 5 << 20
_BACKUPS = 5
_FORMAT = "%(asctime)s.%(msecs)03dZ %(process)d %(levelname)s %(name)s: %(message)s"

_handler: logging.Handler | None = None


def log_dir() -> Path:
    """Return the folder of the run log (``<workstation>/logs``); it may not exist yet."""
    return workstation_home() / "logs"


def log_path() -> Path:
    """Return the current run log file."""
    return log_dir() / LOG_NAME


class _UTCFormatter(logging.Formatter):
    """Times in UTC, like every other time Casetrail records."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Format the record's time in UTC."""
        return time.strftime(datefmt or "%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))


def start_run_log(level: str = "info") -> Path | None:
    """Send this process's log records at ``level`` and above to the rotating run log.

    Idempotent: a second call (the tests run many commands in one process, with another
    workstation folder each time) replaces the handler instead of adding one.

    Returns:
        The log file, or None when it cannot be written (said once on stderr).
    """
    global _handler
    stop_run_log()
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS,
                                                       encoding="utf-8")
    except OSError as exc:
        print(f"casetrail: cannot write the log in {path.parent} ({exc.strerror or exc}); "
              "running without a log file", file=sys.stderr)
        return None
    handler.setFormatter(_UTCFormatter(_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    numeric = getattr(logging, level.upper(), logging.INFO)
    handler.setLevel(numeric)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(numeric)
    _handler = handler
    return path


def stop_run_log() -> None:
    """Detach and close the run log handler, if any (files are never left open)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler.close()
        _handler = None
