# SPDX-License-Identifier: GPL-3.0-or-later
"""Opening a big case in two steps: browse it at once, write to it once its check has passed.

``Case.open`` runs ``PRAGMA integrity_check`` before anything else: on the 200 MB database of a
100,000-item case that is 6 s under load, and the window was not usable for 18.8 s. The window
now shows such a case at once through :func:`browse` — a *read-only* case (no writer lock, a
read-only SQLite connection, and every core write refused with :data:`CHECKING_REASON`) —
while the full ``Case.open`` (lock, integrity check, migration, recovery) runs on the read pool;
only the case that full opening returns can write. Fail closed: if the check finds a problem,
that case is read-only too, and the window says so loudly; if the check cannot be run, the
browsing case stays read-only.

A case that needs a schema upgrade, or whose database is small (its check takes a moment), is
opened by ``Case.open`` alone, as before.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop.core import store
from desktop.core.case import DB_NAME, Case

CHECK_LATER_ABOVE = 64 * 1024 * 1024  # bytes of database beyond which the check runs while browsing
CHECKING_REASON = ("its database is still being checked (integrity check); nothing can be written "
                   "to it until the check has passed")


def check_later(path: Path) -> bool:
    """Whether the case's database is big enough to be browsed while it is checked."""
    try:
        return (path / DB_NAME).stat().st_size > CHECK_LATER_ABOVE
    except OSError:
        return False


def browse(path: Path, examiner: str | None = None) -> Case | None:
    """The case read-only, without its integrity check, to browse while ``Case.open`` checks it.

    None when it cannot be browsed so (not a case, unreadable, or it needs a schema upgrade):
    ``Case.open`` then says why, or upgrades it.
    """
    dbfile = path / DB_NAME
    if not path.is_dir() or not dbfile.is_file():
        return None
    try:
        db = store.connect(dbfile, read_only=True)
    except (sqlite3.DatabaseError, OSError, ValueError):
        return None
    try:
        if store.schema_version(db) != store.SCHEMA_VERSION:
            db.conn.close()
            return None
        return Case(path, db, None, CHECKING_REASON, examiner)
    except (sqlite3.DatabaseError, OSError, ValueError):
        db.conn.close()
        return None
