# SPDX-License-Identifier: GPL-3.0-or-later
"""The cases this workstation opened lately, for the welcome page and Case → Open recent.

Kept in ``recent.json`` under the workstation folder: a path, the title it had and when it was
last opened, newest first, at most :data:`LIMIT`. It is a convenience of this machine, not case
content: nothing here is evidence or recorded in custody, and a case that moved or was deleted
is shown as missing rather than dropped silently. The file is replaced atomically, so a crash
never leaves half a list.

This module never opens a case.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from desktop.core.custody import utc_now
from desktop.core.home import workstation_home

LIMIT = 12


@dataclass(frozen=True)
class RecentCase:
    """One case opened lately.

    Attributes:
        path: the case folder.
        title: its title when it was last opened.
        opened_at: when, UTC ISO 8601.
        present: whether the folder still holds a case.
    """

    path: Path
    title: str
    opened_at: str
    present: bool


def _file(home: Path | None) -> Path:
    return (home or workstation_home()) / "recent.json"


def _read(home: Path | None) -> list[dict[str, str]]:
    try:
        data = json.loads(_file(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [d for d in data if isinstance(d, dict) and isinstance(d.get("path"), str)]


def recent(home: Path | None = None) -> list[RecentCase]:
    """The cases opened lately, newest first."""
    return [RecentCase(Path(d["path"]), str(d.get("title", "")), str(d.get("opened_at", "")),
                       (Path(d["path"]) / "case.sqlite").is_file()) for d in _read(home)]


def remember(path: Path, title: str, home: Path | None = None) -> list[RecentCase]:
    """Put a case at the top of the list (it was just opened or created)."""
    entries = [d for d in _read(home) if Path(d["path"]) != path.resolve()]
    entries.insert(0, {"path": str(path.resolve()), "title": title, "opened_at": utc_now()})
    _write(entries[:LIMIT], home)
    return recent(home)


def forget(path: Path, home: Path | None = None) -> list[RecentCase]:
    """Take a case off the list (the analyst removed it, or it is gone)."""
    _write([d for d in _read(home) if Path(d["path"]) != path.resolve()], home)
    return recent(home)


def _write(entries: list[dict[str, str]], home: Path | None) -> None:
    target = _file(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".recent-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entries, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
