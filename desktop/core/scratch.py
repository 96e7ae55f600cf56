# SPDX-License-Identifier: GPL-3.0-or-later
"""Temporary files written outside a case, registered so that a crash never leaves them behind.

An export is written to a hidden temp file beside its destination and renamed into place; a case
package first copies the database to a scratch folder. A process killed in between used to leave
them forever (measured: 2.4 GB of hidden temp zips and 17 database copies after 20 killed
package exports). Now every such file is registered first in the workstation folder
(``$CASETRAIL_HOME/partials/<id>.json``: its path, and the process that writes it) and the
registration is removed once the file is renamed into place or deleted. :func:`sweep`, run when
the next ``casetrail`` command or window starts, removes what a dead process registered and says
so, one sentence per file.

Safety: a registration is only ever honoured for a path whose name carries :data:`MARK` (our own
temp names): a registration file altered to name evidence cannot make the sweep delete it.
A temp folder inside a case (``work/``) is the case's own business (:meth:`Case.recover`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from desktop.core.home import workstation_home

MARK = ".casetrail-partial"  # every registered temp name contains this


def temp_name(destination: Path) -> Path:
    """A hidden temp name beside ``destination`` that :func:`sweep` recognises as ours."""
    return destination.with_name(f".{destination.name}{MARK}-{uuid.uuid4().hex[:12]}")


def _registry() -> Path:
    return workstation_home() / "partials"


def _start_time(pid: int) -> str:
    """When a process started (Linux: clock ticks since boot), so a reused pid is not taken for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or _start_time(pid) == started


@contextlib.contextmanager
def partial(path: Path) -> Iterator[Path]:
    """Register ``path`` (a temp file or folder this process is about to write) for the sweep.

    On leaving, whatever is still at ``path`` is removed (a failed write) and the registration
    goes; a path renamed into place meanwhile is simply gone.
    """
    if MARK not in path.name:
        raise ValueError(f"{path.name} is not a temp name made by temp_name()")
    registry = _registry()
    name = registry / f"{uuid.uuid4().hex}.json"
    entry: Path | None = name
    try:
        registry.mkdir(parents=True, exist_ok=True)
        name.write_text(json.dumps({"path": str(path.resolve()), "pid": os.getpid(),
                                    "started": _start_time(os.getpid())}), encoding="utf-8")
    except OSError:
        entry = None  # an unwritable workstation folder must not stop the export itself
    try:
        yield path
    finally:
        _remove(path)
        if entry is not None:
            with contextlib.suppress(OSError):
                entry.unlink()


def _remove(path: Path) -> bool:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return True
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        return True
    return False


def sweep() -> list[str]:
    """Remove the temp files of processes that died before cleaning up; one sentence for each."""
    registry = _registry()
    said: list[str] = []
    try:
        entries = sorted(registry.glob("*.json"))
    except OSError:
        return said
    for entry in entries:
        try:
            info = json.loads(entry.read_text(encoding="utf-8"))
            path, pid, started = Path(str(info["path"])), int(info["pid"]), str(info.get("started", ""))
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                entry.unlink()
            continue
        if _alive(pid, started):
            continue
        if MARK in path.name:
            try:
                size = sum(p.stat().st_size for p in ([path] if path.is_file() else path.rglob("*"))
                           if p.is_file()) if path.exists() else 0
                if _remove(path):
                    said.append(f"removed {path} ({size:,} bytes), left unfinished by an interrupted "
                                "export")
            except OSError as exc:
                said.append(f"could not remove {path}, left unfinished by an interrupted export: {exc}")
                continue
        with contextlib.suppress(OSError):
            entry.unlink()
    return said
