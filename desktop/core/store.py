"""The case database: connection settings, schema and forward-only migrations.

This is the only module that talks to ``sqlite_utils``. It never decides what evidence means; it
only guarantees how the database is opened (WAL, ``synchronous=FULL``, foreign keys on), that the
schema is current, and that the custody table refuses UPDATE and DELETE.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

Database = sqlite_utils.Database

CUSTODY_TRIGGERS = ("custody_no_update", "custody_no_delete")

_V1 = """
CREATE TABLE case_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES items(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    source_path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    mime TEXT NOT NULL,
    magic TEXT NOT NULL,
    ext_mismatch INTEGER NOT NULL DEFAULT 0,
    acquired_at TEXT NOT NULL,
    acquired_by TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'acquired',
    derived_how TEXT
) STRICT;
CREATE INDEX items_sha256 ON items(sha256);
CREATE INDEX items_parent ON items(parent_id);

CREATE TABLE custody (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    item_id INTEGER,
    examiner TEXT NOT NULL,
    os_user TEXT NOT NULL,
    host TEXT NOT NULL,
    source TEXT,
    reason TEXT,
    tool TEXT NOT NULL,
    sha256 TEXT,
    hash_before TEXT,
    hash_after TEXT,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
) STRICT;
CREATE INDEX custody_item ON custody(item_id);

CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody
BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: UPDATE refused'); END;
CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody
BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: DELETE refused'); END;

CREATE TABLE recovery (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    handled_at TEXT NOT NULL,
    outcome TEXT NOT NULL
) STRICT;
"""

# Each entry upgrades the schema from version i to i + 1. Never edit a released entry: append.
MIGRATIONS: list[str] = [_V1]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, *, read_only: bool) -> Database:
    """Open the case database with the settings custody depends on.

    Args:
        path: the ``case.sqlite`` file.
        read_only: open with ``mode=ro`` so nothing, not even a migration, can write.
    """
    if read_only:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
    else:
        # check_same_thread=False: the UI's single store thread owns writes, but the connection
        # is created on the GUI thread; the Case object serialises access with its own lock.
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not read_only:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return Database(conn)


def schema_version(db: Database) -> int:
    """Return the schema version stored in ``PRAGMA user_version``."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`, one transaction per step.

    Returns:
        The number of migrations applied.

    Raises:
        ValueError: the database was written by a newer Casetrail.
    """
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise ValueError(
            f"the case was written by a newer Casetrail (schema {current}, this one knows "
            f"{SCHEMA_VERSION}); open it with that version"
        )
    conn = db.conn
    for version in range(current, SCHEMA_VERSION):
        # executescript commits anything pending first, so the step carries its own transaction.
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION - current


def integrity_problems(db: Database) -> list[str]:
    """Run ``PRAGMA integrity_check`` and ``foreign_key_check``; return what they found."""
    try:
        rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check(20)").fetchall()]
        if rows == ["ok"]:
            rows = []
        fk = db.execute("PRAGMA foreign_key_check").fetchall()
        rows += [f"foreign key broken in {r[0]} row {r[1]}" for r in fk]
    except sqlite3.DatabaseError as exc:
        return [f"the database cannot be read: {exc}"]
    return rows


def missing_custody_triggers(db: Database) -> list[str]:
    """Return the append-only triggers that are absent (an insider removed them)."""
    present = {
        r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    }
    return [t for t in CUSTODY_TRIGGERS if t not in present]
