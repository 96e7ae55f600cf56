# SPDX-License-Identifier: GPL-3.0-or-later
"""The case database: connection settings, schema and forward-only migrations.

This is the only module that talks to ``sqlite_utils``. It never decides what evidence means; it
only guarantees how the database is opened (WAL, ``synchronous=FULL``, foreign keys on), that the
schema is current, and that the custody table refuses UPDATE and DELETE.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def _without_numpy() -> Iterator[None]:
    """Make NumPy unimportable while ``sqlite_utils`` is imported.

    ``sqlite_utils`` imports NumPy when it is installed, only to map NumPy scalar types to
    column types — values Casetrail never stores. NumPy is installed (OCR, campaign grouping),
    and loading it there cost every command a tenth of a second or more at start. Only while
    this is the only thread (an import on another thread must never find NumPy unimportable)
    and NumPy is not loaded already.
    """
    if "numpy" in sys.modules or threading.active_count() > 1:
        yield
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "import numpy" raises ImportError
    try:
        yield
    finally:
        del sys.modules["numpy"]


with _without_numpy():
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

# Analysis findings: what the analysers read out of the evidence. Unlike custody these rows can be
# replaced when an item is analysed again; the custody log records each run.
_V2 = """
CREATE TABLE emails (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    from_name TEXT, from_addr TEXT, sender TEXT, reply_to TEXT, return_path TEXT,
    to_addrs TEXT, cc_addrs TEXT, date_raw TEXT, date_utc TEXT, subject TEXT,
    message_id TEXT, message_id_domain TEXT, x_mailer TEXT, user_agent TEXT,
    spf TEXT, dkim TEXT, dmarc TEXT, origin_ip TEXT, origin_host TEXT,
    headers TEXT NOT NULL, flags TEXT NOT NULL, auth TEXT NOT NULL, detail TEXT NOT NULL,
    text_body TEXT, html_body TEXT
) STRICT;

CREATE TABLE hops (
    item_id INTEGER NOT NULL REFERENCES items(id),
    idx INTEGER NOT NULL,
    from_host TEXT, from_rdns TEXT, from_ip TEXT, by_host TEXT, protocol TEXT, smtp_id TEXT,
    for_addr TEXT, time_utc TEXT, time_raw TEXT, delay_s REAL, flags TEXT NOT NULL,
    is_origin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, idx)
) STRICT;

CREATE TABLE media (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;

CREATE TABLE ocr_lines (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    time_s REAL,
    frame_index INTEGER,
    text TEXT NOT NULL,
    confidence REAL NOT NULL,
    x INTEGER NOT NULL, y INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL
) STRICT;
CREATE INDEX ocr_lines_item ON ocr_lines(item_id, time_s);

CREATE TABLE indicators (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    UNIQUE (type, value)
) STRICT;

CREATE TABLE occurrences (
    id INTEGER PRIMARY KEY,
    indicator_id INTEGER NOT NULL REFERENCES indicators(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    source TEXT NOT NULL CHECK (source IN ('header', 'body', 'attachment', 'metadata', 'ocr', 'analyst')),
    where_ TEXT NOT NULL,
    raw TEXT,
    offset INTEGER,
    time_s REAL,
    bbox TEXT,
    confidence REAL NOT NULL,
    frame_item_id INTEGER REFERENCES items(id)
) STRICT;
CREATE INDEX occurrences_indicator ON occurrences(indicator_id);
CREATE INDEX occurrences_item ON occurrences(item_id);

CREATE VIRTUAL TABLE text_index USING fts5(item_id UNINDEXED, part UNINDEXED, text);
"""

# Tags on indicators and items (TLP, ATT&CK, free and machine tags); every change is in custody.
_V3 = """
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL CHECK (target IN ('indicator', 'item')),
    target_id INTEGER NOT NULL,
    tag TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    UNIQUE (target, target_id, tag)
) STRICT;
CREATE INDEX tags_tag ON tags(tag);
"""

# The assessment: notes, hypotheses, ACH evidence and ratings, key judgments, analyst timeline
# events, and signed checkpoints of the custody chain.
_V4 = """
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    item_id INTEGER REFERENCES items(id),
    indicator_id INTEGER REFERENCES indicators(id),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL
) STRICT;

CREATE TABLE hypotheses (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

CREATE TABLE evidence (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('item', 'indicator', 'match', 'note', 'other')),
    ref_id INTEGER,
    credibility TEXT NOT NULL DEFAULT 'medium' CHECK (credibility IN ('low', 'medium', 'high')),
    relevance TEXT NOT NULL DEFAULT 'medium' CHECK (relevance IN ('low', 'medium', 'high')),
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE ach_ratings (
    evidence_id INTEGER NOT NULL REFERENCES evidence(id),
    hypothesis_id INTEGER NOT NULL REFERENCES hypotheses(id),
    rating TEXT NOT NULL CHECK (rating IN ('CC', 'C', 'N', 'I', 'II', 'NA')),
    PRIMARY KEY (evidence_id, hypothesis_id)
) STRICT;

CREATE TABLE judgments (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    confidence TEXT NOT NULL CHECK (confidence IN ('low', 'moderate', 'high')),
    likelihood TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    item_id INTEGER REFERENCES items(id),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    custody_seq INTEGER NOT NULL,
    head TEXT NOT NULL,
    at TEXT NOT NULL,
    examiner TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT;
"""

# Warninglist hits stored with each indicator when it is first recorded (JSON list of
# [list_id, name, description]; NULL = not checked yet): correlation then reads them instead of
# checking every value again (measured: ~30% of a correlation's time).
_V5 = """
ALTER TABLE indicators ADD COLUMN warnings TEXT;
"""

# Per-chunk SHA-256 of blobs larger than one vault chunk: verify names the damaged chunks.
_V6 = """
CREATE TABLE blob_chunks (
    sha256 TEXT PRIMARY KEY,
    chunk_size INTEGER NOT NULL,
    hashes TEXT NOT NULL
) STRICT;
"""

# One analysis per content (issue 13): an item whose content another item of the case already
# holds names that item; it shares its analysis and exhibits, and records its own occurrences.
# Campaigns: the stored grouping of the case's messages (recorded in custody when it changes)
# and the analyst's tags on campaigns (each change in custody with its full value).
_V7 = """
ALTER TABLE items ADD COLUMN same_as INTEGER REFERENCES items(id);
CREATE INDEX items_same_as ON items(same_as);

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    items TEXT NOT NULL,
    summary TEXT NOT NULL
) STRICT;

CREATE TABLE campaign_tags (
    campaign_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (campaign_id, tag)
) STRICT;
"""

# Checkpoints become export receipts (issue 11): what was exported and the SHA-256 of its content
# are signed with the chain head. Older rows keep the casetrail-checkpoint-v1 message.
_V8 = """
ALTER TABLE checkpoints ADD COLUMN export TEXT NOT NULL DEFAULT '';
ALTER TABLE checkpoints ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE checkpoints ADD COLUMN message_format TEXT NOT NULL DEFAULT 'casetrail-checkpoint-v1';
"""

# Intelligence as evidence (issue 11): the matches and ASN records a case states, each with the
# reference item (a feed or ip2asn table acquired into the case) it came from.
_V9 = """
CREATE TABLE intel_matches (
    id INTEGER PRIMARY KEY,
    indicator_id INTEGER NOT NULL REFERENCES indicators(id),
    reference_item_id INTEGER REFERENCES items(id),
    source TEXT NOT NULL CHECK (source IN ('feed', 'case')),
    name TEXT NOT NULL,
    detail TEXT NOT NULL,
    kind TEXT NOT NULL
) STRICT;
CREATE INDEX intel_matches_indicator ON intel_matches(indicator_id);
CREATE TABLE intel_asn (
    indicator_id INTEGER PRIMARY KEY REFERENCES indicators(id),
    reference_item_id INTEGER NOT NULL REFERENCES items(id),
    number INTEGER NOT NULL,
    name TEXT NOT NULL,
    country TEXT NOT NULL
) STRICT;
"""

# How sure an OCR reading is (issue 14): ``status`` certain / uncertain / enhanced (NULL for other
# sources), how many reads agree and were made, and ``ocr_detail`` (JSON: the reading's own confidence,
# alternative readings, the enhancement recipe). ``enhanced_item_id`` is the enhanced image read.
_V10 = """
ALTER TABLE occurrences ADD COLUMN status TEXT
    CHECK (status IS NULL OR status IN ('certain', 'uncertain', 'enhanced'));
ALTER TABLE occurrences ADD COLUMN frames_agree INTEGER;
ALTER TABLE occurrences ADD COLUMN reads INTEGER;
ALTER TABLE occurrences ADD COLUMN ocr_detail TEXT;
ALTER TABLE occurrences ADD COLUMN enhanced_item_id INTEGER;
"""

# Names are bytes (issue 10): a name or source path that is not UTF-8 keeps its exact bytes beside
# its displayable form (desktop.core.names); NULL for every name that is valid UTF-8.
_V11 = """
ALTER TABLE items ADD COLUMN name_bytes BLOB;
ALTER TABLE items ADD COLUMN source_bytes BLOB;
"""

# The briefing's analyst state (issue 12): decisions on machine-drafted key findings and the
# analyst's own findings; analytic statements (assumptions, intelligence gaps, alternative
# explanations, indicators to watch); the distribution list; one-value briefing settings (point of
# contact, examiner's role, declaration); the analyst's Admiralty grades of intelligence sources,
# keyed by the source file's SHA-256. Every change is recorded in custody with its new value.
_V12 = """
CREATE TABLE key_findings (
    id INTEGER PRIMARY KEY,
    draft_key TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'edited', 'rejected', 'analyst')),
    text TEXT NOT NULL,
    drafted_text TEXT NOT NULL DEFAULT '',
    basis TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    decided_at TEXT NOT NULL,
    decided_by TEXT NOT NULL
) STRICT;

CREATE TABLE statements (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('assumption', 'gap', 'alternative', 'watch')),
    text TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

CREATE TABLE distribution (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    organisation TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL
) STRICT;

CREATE TABLE briefing_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    set_at TEXT NOT NULL,
    set_by TEXT NOT NULL
) STRICT;

CREATE TABLE source_grades (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    reliability TEXT NOT NULL CHECK (reliability IN ('A', 'B', 'C', 'D', 'E', 'F')),
    credibility TEXT NOT NULL CHECK (credibility IN ('1', '2', '3', '4', '5', '6')),
    note TEXT NOT NULL DEFAULT '',
    graded_at TEXT NOT NULL,
    graded_by TEXT NOT NULL
) STRICT;
"""

# The window at a hundred thousand items (issue 15): every sort and filter of its tables is a
# query on an index. Indicators carry their sort key (addresses as numbers, see
# core/indicator_order.py) and their occurrence counts — in all, in how many items, per source —
# kept by triggers on ``occurrences``, so sorting 100,000 indicators by count reads an index
# instead of aggregating a million occurrences (measured: 0.4-0.7 s a sort before). The counts
# are a cache of ``occurrences``: nothing is decided from them. A trigger adds a few microseconds
# to each occurrence written; the (indicator, item) index it needs also serves every per-indicator
# lookup, so it replaces ``occurrences_indicator``. Items are sorted as a tree (per parent) and as
# the window's flat table (every item): both orders read an index.
_V13 = """
ALTER TABLE indicators ADD COLUMN sort_key BLOB;
ALTER TABLE indicators ADD COLUMN n_occurrences INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_header INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_body INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_attachment INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_metadata INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_ocr INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicators ADD COLUMN n_analyst INTEGER NOT NULL DEFAULT 0;

CREATE INDEX occurrences_indicator_item ON occurrences(indicator_id, item_id);
DROP INDEX occurrences_indicator;

UPDATE indicators SET
    n_occurrences = (SELECT COUNT(*) FROM occurrences o WHERE o.indicator_id = indicators.id),
    n_items = (SELECT COUNT(DISTINCT o.item_id) FROM occurrences o
        WHERE o.indicator_id = indicators.id),
    n_header = (SELECT COUNT(*) FROM occurrences o
        WHERE o.indicator_id = indicators.id AND o.source = 'header'),
    n_body = (SELECT COUNT(*) FROM occurrences o
        WHERE o.indicator_id = indicators.id AND o.source = 'body'),
    n_attachment = (SELECT COUNT(*) FROM occurrences o
        WHERE o.indicator_id = indicators.id AND o.source = 'attachment'),
    n_metadata = (SELECT COUNT(*) FROM occurrences o
        WHERE o.indicator_id = indicators.id AND o.source = 'metadata'),
    n_ocr = (SELECT COUNT(*) FROM occurrences o
        WHERE o.indicator_id = indicators.id AND o.source = 'ocr'),
    n_analyst = (SELECT COUNT(*) FROM occurrences o
        WHERE o.indicator_id = indicators.id AND o.source = 'analyst');

CREATE TRIGGER occurrences_counted AFTER INSERT ON occurrences BEGIN
UPDATE indicators SET
    n_occurrences = n_occurrences + 1,
    n_items = n_items + NOT EXISTS (SELECT 1 FROM occurrences o
        WHERE o.indicator_id = NEW.indicator_id AND o.item_id = NEW.item_id AND o.id != NEW.id),
    n_header = n_header + (NEW.source = 'header'),
    n_body = n_body + (NEW.source = 'body'),
    n_attachment = n_attachment + (NEW.source = 'attachment'),
    n_metadata = n_metadata + (NEW.source = 'metadata'),
    n_ocr = n_ocr + (NEW.source = 'ocr'),
    n_analyst = n_analyst + (NEW.source = 'analyst')
    WHERE id = NEW.indicator_id;
END;
CREATE TRIGGER occurrences_uncounted AFTER DELETE ON occurrences BEGIN
UPDATE indicators SET
    n_occurrences = n_occurrences - 1,
    n_items = n_items - NOT EXISTS (SELECT 1 FROM occurrences o
        WHERE o.indicator_id = OLD.indicator_id AND o.item_id = OLD.item_id),
    n_header = n_header - (OLD.source = 'header'),
    n_body = n_body - (OLD.source = 'body'),
    n_attachment = n_attachment - (OLD.source = 'attachment'),
    n_metadata = n_metadata - (OLD.source = 'metadata'),
    n_ocr = n_ocr - (OLD.source = 'ocr'),
    n_analyst = n_analyst - (OLD.source = 'analyst')
    WHERE id = OLD.indicator_id;
END;
CREATE TRIGGER occurrences_recounted AFTER UPDATE OF indicator_id, item_id, source ON occurrences
BEGIN
UPDATE indicators SET
    n_occurrences = n_occurrences - 1,
    n_items = n_items - NOT EXISTS (SELECT 1 FROM occurrences o
        WHERE o.indicator_id = OLD.indicator_id AND o.item_id = OLD.item_id AND o.id != OLD.id),
    n_header = n_header - (OLD.source = 'header'),
    n_body = n_body - (OLD.source = 'body'),
    n_attachment = n_attachment - (OLD.source = 'attachment'),
    n_metadata = n_metadata - (OLD.source = 'metadata'),
    n_ocr = n_ocr - (OLD.source = 'ocr'),
    n_analyst = n_analyst - (OLD.source = 'analyst')
    WHERE id = OLD.indicator_id;
UPDATE indicators SET
    n_occurrences = n_occurrences + 1,
    n_items = n_items + NOT EXISTS (SELECT 1 FROM occurrences o
        WHERE o.indicator_id = NEW.indicator_id AND o.item_id = NEW.item_id AND o.id != NEW.id),
    n_header = n_header + (NEW.source = 'header'),
    n_body = n_body + (NEW.source = 'body'),
    n_attachment = n_attachment + (NEW.source = 'attachment'),
    n_metadata = n_metadata + (NEW.source = 'metadata'),
    n_ocr = n_ocr + (NEW.source = 'ocr'),
    n_analyst = n_analyst + (NEW.source = 'analyst')
    WHERE id = NEW.indicator_id;
END;

CREATE INDEX indicators_sort ON indicators(type, sort_key);
CREATE INDEX indicators_by_value ON indicators(sort_key);
CREATE INDEX indicators_by_occurrences ON indicators(n_occurrences);
CREATE INDEX indicators_by_items ON indicators(n_items);
CREATE INDEX indicators_by_first_seen ON indicators(first_seen);

CREATE INDEX items_tree_name ON items(parent_id, name COLLATE NOCASE);
CREATE INDEX items_tree_kind ON items(parent_id, kind);
CREATE INDEX items_tree_size ON items(parent_id, size);
CREATE INDEX items_tree_mime ON items(parent_id, mime);
CREATE INDEX items_tree_acquired ON items(parent_id, acquired_at);
CREATE INDEX items_tree_status ON items(parent_id, status);
CREATE INDEX items_tree_sha256 ON items(parent_id, sha256);
CREATE INDEX items_tree_examiner ON items(parent_id, acquired_by);
CREATE INDEX items_by_name ON items(name COLLATE NOCASE);
CREATE INDEX items_by_kind ON items(kind);
CREATE INDEX items_by_size ON items(size);
CREATE INDEX items_by_mime ON items(mime);
CREATE INDEX items_by_acquired ON items(acquired_at);
CREATE INDEX items_by_status ON items(status);
CREATE INDEX items_by_examiner ON items(acquired_by);
CREATE INDEX custody_action ON custody(action);
"""


# 14: each indicator's confusable skeleton (``confusables.skeleton``), indexed with its type, so
# that checking an OCR reading for a confusable twin already in the case is one index lookup
# instead of a scan of every occurrence of the case for every item with OCR (quadratic).
_V14 = """
ALTER TABLE indicators ADD COLUMN skeleton TEXT;
CREATE INDEX indicators_by_skeleton ON indicators(type, skeleton);
"""


# 15: the bulk writer counts a batch once (issue 13). The ``occurrences_counted`` trigger moved a
# much-seen indicator's entries in ``indicators_by_occurrences`` and ``indicators_by_items`` once
# per occurrence row: 85-95 us of CPU a row instead of 20-27 us, ~3 ms of a 55-row e-mail. The
# trigger now stands down while ``occurrence_counting.bulk`` is 1, which only
# ``findings._write_occurrences`` sets: inside one savepoint it sets it, inserts the batch, adds
# each touched indicator's increments in one UPDATE and sets it back to 0, so a crash or an error
# rolls all of it back and no other connection ever sees 1. Every other writer (the analyst, a
# shared analysis, deletes, updates, an older Casetrail) is counted by the triggers as before. A
# missing row counts by the trigger too (``IS NOT 1``).
_V15 = """
CREATE TABLE occurrence_counting (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    bulk INTEGER NOT NULL CHECK (bulk IN (0, 1))
) STRICT;
INSERT INTO occurrence_counting (id, bulk) VALUES (1, 0);

DROP TRIGGER occurrences_counted;
CREATE TRIGGER occurrences_counted AFTER INSERT ON occurrences
WHEN (SELECT bulk FROM occurrence_counting WHERE id = 1) IS NOT 1
BEGIN
UPDATE indicators SET
    n_occurrences = n_occurrences + 1,
    n_items = n_items + NOT EXISTS (SELECT 1 FROM occurrences o
        WHERE o.indicator_id = NEW.indicator_id AND o.item_id = NEW.item_id AND o.id != NEW.id),
    n_header = n_header + (NEW.source = 'header'),
    n_body = n_body + (NEW.source = 'body'),
    n_attachment = n_attachment + (NEW.source = 'attachment'),
    n_metadata = n_metadata + (NEW.source = 'metadata'),
    n_ocr = n_ocr + (NEW.source = 'ocr'),
    n_analyst = n_analyst + (NEW.source = 'analyst')
    WHERE id = NEW.indicator_id;
END;
"""


def _fill_sort_keys(conn: sqlite3.Connection) -> None:
    """Give every indicator recorded before migration 13 its sort key (a Python function)."""
    from desktop.core.indicator_order import sort_key

    rows = conn.execute("SELECT id, type, value FROM indicators WHERE sort_key IS NULL").fetchall()
    conn.executemany("UPDATE indicators SET sort_key = ? WHERE id = ?",
                     [(sort_key(str(t), str(v)), int(i)) for i, t, v in rows])


def _fill_skeletons(conn: sqlite3.Connection) -> None:
    """Give every indicator recorded before migration 14 its confusable skeleton (a Python function)."""
    from desktop.core.confusables import skeleton

    rows = conn.execute("SELECT id, value FROM indicators WHERE skeleton IS NULL").fetchall()
    conn.executemany("UPDATE indicators SET skeleton = ? WHERE id = ?",
                     [(skeleton(str(v)), int(i)) for i, v in rows])


# Each entry upgrades the schema from version i to i + 1. Never edit a released entry: append.
MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12, _V13, _V14, _V15]
SCHEMA_VERSION = len(MIGRATIONS)
# Data a migration's SQL cannot compute, filled in its own transaction: version made -> step.
BACKFILLS: dict[int, Callable[[sqlite3.Connection], None]] = {13: _fill_sort_keys, 14: _fill_skeletons}


def connect(path: Path, *, read_only: bool) -> Database:
    """Open the case database with the settings custody depends on.

    Args:
        path: the ``case.sqlite`` file.
        read_only: open with ``mode=ro`` so nothing, not even a migration, can write.
    """
    if read_only:
        conn = _connect_read_only(path)
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


class ReadOnlyMediumError(sqlite3.OperationalError):
    """A case on read-only media that cannot be read as it is (it was not closed cleanly)."""


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Open the database for reading only, also from read-only media (a DVD, a write-blocker).

    In WAL mode even a reader needs the ``-shm`` index beside the database, and SQLite creates
    it when it is missing — which a read-only folder refuses ("unable to open database file"),
    and which a full disk cannot hold ("disk I/O error").
    A case that was closed cleanly has no ``-wal`` left (or an empty one): everything is in the
    database file, which then opens as ``immutable`` (no locks, no index needed). A case whose
    log still holds transactions cannot be read that way without losing them: that is refused
    in one sentence, never read stale.
    """
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        # Also a full disk: SQLite cannot allocate the -shm index there, not even to read.
        if os.access(path.parent, os.W_OK) and not _read_only_medium(path.parent) and not disk_full(path):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ReadOnlyMediumError(
            f"{path.parent} is on read-only media and was not closed cleanly (its write-ahead log "
            f"{wal.name} still holds changes); copy the case folder to writable storage and open it there")
    conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    return conn


def disk_full(path: Path) -> bool:
    """Whether the file system holding ``path`` has no block left for an ordinary user."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail == 0 or st.f_favail == 0


def _read_only_medium(folder: Path) -> bool:
    """Whether ``folder`` is on a file system mounted read-only (root ignores mode bits)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


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
            conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\n")
            fill = BACKFILLS.get(version + 1)
            if fill is not None:
                fill(conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION - current


def integrity_problems(db: Database) -> list[str]:
    """Run ``PRAGMA integrity_check`` and ``foreign_key_check``; return what they found."""
    try:
        # One line each (SQLite's messages span lines), short enough for a sentence.
        rows = [" ".join(str(r[0]).split())[:300]
                for r in db.execute("PRAGMA integrity_check(20)").fetchall()]
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


# Objects SQLite itself may add to a healthy database (statistics of ANALYZE / PRAGMA optimize).
_SQLITE_OWN = frozenset({"sqlite_stat1", "sqlite_stat4"})


@functools.lru_cache(maxsize=8)
def expected_schema(version: int = SCHEMA_VERSION) -> dict[tuple[str, str], tuple[str, str | None]]:
    """The schema that :data:`MIGRATIONS` up to ``version`` create, by exact SQL.

    Built by running the migrations on an empty in-memory database and reading ``sqlite_master``:
    ``ALTER TABLE`` rewrites the stored ``CREATE`` text the same way on every database, so a case
    created at any version and upgraded has byte-identical SQL.

    Returns:
        ``(type, name) -> (table name, sql)`` for every table, index, trigger and view.
    """
    conn = sqlite3.connect(":memory:")
    try:
        for step in MIGRATIONS[:version]:
            conn.executescript(step)
        return {(str(t), str(n)): (str(tb), sql) for t, n, tb, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master")}
    finally:
        conn.close()


def schema_problems(db: Database) -> list[str]:
    """Compare the case's schema with :func:`expected_schema`, object by object, by exact SQL.

    A trigger replaced by a no-op of the same name, an extra trigger, view or index, a dropped or
    altered table: each is one sentence naming the object. Fail closed: an unreadable schema is a
    problem, and so is a version this Casetrail does not know.
    """
    try:
        version = schema_version(db)
        rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"the database schema cannot be read: {exc}"]
    if not 0 < version <= SCHEMA_VERSION:
        return [f"the database is at schema version {version}, which this Casetrail does not create"]
    want = expected_schema(version)
    have = {(str(t), str(n)): (str(tb), sql) for t, n, tb, sql in rows if str(n) not in _SQLITE_OWN}
    out: list[str] = []
    for key in sorted(set(want) | set(have)):
        kind, name = key
        if key not in have:
            out.append(f"the {kind} {name} that this version creates is missing from the database")
        elif key not in want:
            out.append(f"the database holds an extra {kind} {name} that this version never creates")
        elif have[key] != want[key]:
            out.append(f"the {kind} {name} is not the one this version creates (its SQL was changed)")
    return out
