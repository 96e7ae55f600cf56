# SPDX-License-Identifier: GPL-3.0-or-later
"""The workstation library: imported intelligence feeds and an index of every case seen here.

Attribution happens when a clue in this case matches something already known, and on an
air-gapped workstation "known" means what was brought in by hand: partners' STIX 2.1 bundles,
MISP events, CSV lists, ip2asn range tables, and the cases examined here before. This module keeps
them in one SQLite database (``$CASETRAIL_HOME/library.sqlite``, else the platform data directory)
and answers the joins that :mod:`desktop.core.correlate` needs.

Design choices:

- Relationships are resolved at import time. A STIX indicator is stored with the actor, intrusion
  set or campaign it indicates (following ``indicates``, ``attributed-to``, ``uses``,
  ``consists-of``, ``based-on`` ...) and the path that led there, so matching a case is a single
  indexed join, not a graph walk per indicator.
- Values are stored normalised with ``desktop.core.indicators.normalise``: a feed's ``hXXp://``
  or upper-case domain matches the case's form.
- A feed is identified by the SHA-256 of its bytes: importing the same file again changes nothing.
  An ip2asn table replaces the previous table of the same IP version (tables are snapshots).
- Nothing here touches the network; ``stix2`` is only used to parse and check objects and patterns.
- A case's evidence is never changed by this module: it only reads a case to index it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import references
from desktop.core.custody import utc_now
from desktop.core.feeds import ACTOR_TYPES, Accounting, FeedError, ip2asn, parse_feed
from desktop.core.home import workstation_home
from desktop.core.ip import key_of
from desktop.core.ip import sort_key as ip_sort_key

LIBRARY_NAME = "library.sqlite"
__all__ = ["ACTOR_TYPES", "FeedError", "Library", "ReplaceRefusedError", "TableChange", "index_case"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    entries INTEGER NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS contexts (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    UNIQUE (feed_id, name, kind, path)
) STRICT;
CREATE TABLE IF NOT EXISTS feed_entries (
    value TEXT NOT NULL,
    type TEXT NOT NULL,
    context_id INTEGER NOT NULL REFERENCES contexts(id),
    PRIMARY KEY (value, type, context_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS asn_ranges (
    start BLOB NOT NULL,
    end BLOB NOT NULL,
    version INTEGER NOT NULL,
    asn INTEGER NOT NULL,
    country TEXT NOT NULL,
    name TEXT NOT NULL,
    feed_id INTEGER NOT NULL REFERENCES feeds(id)
) STRICT;
CREATE INDEX IF NOT EXISTS asn_ranges_start ON asn_ranges(start);
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    path TEXT NOT NULL,
    indexed_at TEXT NOT NULL,
    indicators INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS case_indicators (
    value TEXT NOT NULL,
    type TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    items TEXT NOT NULL,
    PRIMARY KEY (value, type, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_indicators_case ON case_indicators(case_id);
-- Feed networks are read as a whole for containment checks; without this the read scans every entry.
CREATE INDEX IF NOT EXISTS feed_entries_networks ON feed_entries(type) WHERE type = 'cidr';
"""
_SCHEMA_VERSION = 2  # every statement above is IF NOT EXISTS: upgrading re-runs the script


class ReplaceRefusedError(FeedError):
    """An ip2asn table would replace a different table; the analyst must say so (``--replace``)."""

    def __init__(self, change: TableChange) -> None:
        super().__init__(f"{change.summary()}; nothing was changed (replace it with --replace)")
        self.change = change


@dataclass(frozen=True)
class TableChange:
    """What replacing the ip2asn table of some IP versions by a new one changes.

    Attributes:
        versions: the IP versions the new table covers (their old ranges are all replaced).
        old_feeds: file names of the tables now stored for those versions.
        new_feed: the new table's file name.
        old_ranges, new_ranges: how many ranges each holds.
        added, removed: ranges only in the new / only in the old table.
        changed: ranges in both whose AS, country or description differ.
    """

    versions: tuple[int, ...]
    old_feeds: tuple[str, ...]
    new_feed: str
    old_ranges: int
    new_ranges: int
    added: int
    removed: int
    changed: int

    @property
    def differs(self) -> bool:
        """Whether anything a lookup answers would change."""
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        """One sentence: what is replaced by what, and how the ranges change."""
        ip = "/".join(f"IPv{v}" for v in self.versions)
        return (f"{self.new_feed} would replace the {ip} ip2asn table ({', '.join(self.old_feeds)}, "
                f"{self.old_ranges:,} ranges) by {self.new_ranges:,} ranges: {self.added:,} added, "
                f"{self.removed:,} removed, {self.changed:,} with another owner")

    def to_json(self) -> dict[str, Any]:
        """The ``replace`` member of ``intel import --json``."""
        return {"versions": list(self.versions), "old_feeds": list(self.old_feeds), "new_feed": self.new_feed,
                "old_ranges": self.old_ranges, "new_ranges": self.new_ranges, "added": self.added,
                "removed": self.removed, "changed": self.changed}


@dataclass(frozen=True)
class FeedFailure:
    """A feed that could not be imported, and why (``change``: a table replacement not confirmed)."""

    path: str
    error: str
    change: TableChange | None = None

    def to_json(self) -> dict[str, Any]:
        """An entry of ``failed`` in ``intel import --json``."""
        out: dict[str, Any] = {"path": self.path, "error": self.error}
        if self.change is not None:
            out["replace"] = self.change.to_json()
        return out

    def summary(self) -> str:
        """One line for the terminal."""
        return f"{self.path}: not imported: {self.error}"


def library_dir() -> Path:
    """Where the workstation library lives: the workstation folder (see ``core/home.py``)."""
    return workstation_home()


def library_path() -> Path:
    """The library database file."""
    return library_dir() / LIBRARY_NAME


@dataclass(frozen=True)
class FeedImport:
    """What importing one feed did.

    Attributes:
        path: the file imported.
        sha256: its SHA-256, the feed's identity.
        format: ``stix``, ``misp``, ``csv`` or ``ip2asn``.
        name: the feed's name (report or event title, else the file name).
        feed_id: the feed's row in the library.
        entries: indicator values stored (ip2asn: ranges stored).
        actors: distinct actors / intrusion sets / campaigns the feed attributes values to.
        accounting: every object of the feed, used or not used and why, by type (kept with
            the feed in the library: an import of the same bytes again shows it too).
        replaced: for an ip2asn table, what it changed in the table it replaced.
        already_imported: the same bytes were imported before; nothing was changed.
    """

    path: str
    sha256: str
    format: str
    name: str
    feed_id: int
    entries: int
    actors: tuple[str, ...] = ()
    accounting: Accounting = field(default_factory=Accounting)
    replaced: TableChange | None = None
    already_imported: bool = False

    @property
    def skipped(self) -> dict[str, int]:
        """What was not used, as ``"type: reason" → count``."""
        return self.accounting.flat()

    def to_json(self) -> dict[str, Any]:
        """An entry of ``imported`` in ``intel import --json``."""
        out = {"path": self.path, "sha256": self.sha256, "format": self.format, "name": self.name,
               "feed_id": self.feed_id, "entries": self.entries, "actors": list(self.actors),
               **self.accounting.to_json(), "already_imported": self.already_imported}
        if self.replaced is not None:
            out["replaced"] = self.replaced.to_json()
        return out

    def summary(self) -> str:
        """What was imported, and the per-type "not used" report, for the terminal."""
        report = self.accounting.report()
        if self.already_imported:
            line = (f"{self.path}: already imported as feed {self.feed_id} ({self.format}, {self.name}); "
                    "unchanged")
            return line + (f"\n  not used: {report}" if report else "")
        what = "ASN ranges" if self.format == "ip2asn" else "indicator values"
        line = f"{self.path}: {self.format}, {self.entries} {what}"
        if self.actors:
            more = len(self.actors) - 5
            shown = ", ".join(self.actors[:5]) + (f" and {more} more" if more > 0 else "")
            line += f", attributed to {shown}"
        line += f"; {self.accounting.used_objects} of {self.accounting.total} objects used"
        if self.replaced is not None:
            line += f"\n  replaced: {self.replaced.summary().split(' would replace ', 1)[1]}"
        if report:
            line += f"\n  not used: {report}"
        return line


@dataclass(frozen=True)
class FeedInfo:
    """A feed in the library."""

    id: int
    name: str
    file_name: str
    format: str
    imported_at: str
    entries: int
    sha256: str


@dataclass(frozen=True)
class CaseInfo:
    """A case indexed in the library."""

    case_id: str
    title: str
    created_at: str
    path: str
    indexed_at: str
    indicators: int


@dataclass(frozen=True)
class AsnRecord:
    """The ip2asn row covering an address: number, AS name / provider and country code."""

    number: int
    name: str
    country: str

    def to_json(self) -> dict[str, Any]:
        """The ``asn`` object of the CLI contract."""
        return {"number": self.number, "name": self.name, "country": self.country}


@dataclass(frozen=True)
class FeedHit:
    """One feed entry matching a probed value."""

    key: int
    feed_name: str
    file_name: str
    name: str
    kind: str
    path: str


@dataclass(frozen=True)
class CaseHit:
    """One other case holding a probed value."""

    key: int
    case_id: str
    title: str
    created_at: str
    items: str


# ---------------------------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------------------------


class Library:
    """An open workstation library. Use :meth:`open` (a context manager as well)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = True) -> Library:
        """Open (and create, the first time) the library.

        Args:
            path: the database file; default :func:`library_path`.
            create: create it when missing; with False a missing library raises FeedError.

        Raises:
            FeedError: it cannot be created or opened.
        """
        path = path or library_path()
        if not path.exists() and not create:
            raise FeedError(f"there is no workstation library at {path} yet")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            # The library is derived data (feeds can be imported again, cases indexed again):
            # NORMAL keeps it consistent in WAL mode and is much faster on bulk imports.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) < _SCHEMA_VERSION:
                conn.executescript(
                    f"BEGIN IMMEDIATE;\n{_SCHEMA}\nPRAGMA user_version = {_SCHEMA_VERSION};\nCOMMIT;")
        except (OSError, sqlite3.Error) as exc:
            raise FeedError(f"cannot open the workstation library {path}: {exc}") from exc
        return cls(conn, path)

    @classmethod
    def open_existing(cls, path: Path | None = None) -> Library | None:
        """Open the library if one exists, else None (read paths need not create one)."""
        path = path or library_path()
        return cls.open(path) if path.exists() else None

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- cases -------------------------------------------------------------------------------

    def index_case(self, case: Any) -> int:
        """Record a case and its indicators, replacing what an earlier run recorded.

        Args:
            case: an open :class:`desktop.core.case.Case` (read-only is enough).

        Returns:
            How many indicators were indexed.
        """
        meta = case.meta
        case_id = str(meta.get("case_id") or case.path.resolve())
        rows = case.db.conn.execute(
            "SELECT i.type, i.value, group_concat(DISTINCT o.item_id) FROM indicators i "
            "JOIN occurrences o ON o.indicator_id = i.id "
            # an uncertain OCR reading (a possible misread) never becomes a lead for other cases
            "WHERE NOT (o.source = 'ocr' AND COALESCE(o.status, 'uncertain') = 'uncertain') "
            "GROUP BY i.id").fetchall()
        with self._transaction() as conn:
            conn.execute("DELETE FROM case_indicators WHERE case_id = ?", (case_id,))
            conn.execute(
                "INSERT OR REPLACE INTO cases (case_id, title, created_at, path, indexed_at, indicators) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, str(meta.get("title", case.path.stem)), str(meta.get("created_at", "")),
                 str(case.path.resolve()), utc_now(), len(rows)))
            conn.executemany(
                "INSERT OR IGNORE INTO case_indicators (value, type, case_id, items) VALUES (?, ?, ?, ?)",
                ((v, t, case_id, _sorted_ids(items)) for t, v, items in rows))
        return len(rows)

    def forget_case(self, case_id: str) -> None:
        """Remove a case from the index (the case folder itself is not touched)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM case_indicators WHERE case_id = ?", (case_id,))
            conn.execute("DELETE FROM cases WHERE case_id = ?", (case_id,))

    def cases(self) -> list[CaseInfo]:
        """Every indexed case, newest first."""
        rows = self.conn.execute("SELECT case_id, title, created_at, path, indexed_at, indicators FROM cases "
                                 "ORDER BY created_at DESC")
        return [CaseInfo(*r) for r in rows]

    # -- feeds -------------------------------------------------------------------------------

    def feeds(self) -> list[FeedInfo]:
        """Every imported feed, in import order."""
        rows = self.conn.execute(
            "SELECT id, name, file_name, format, imported_at, entries, sha256 FROM feeds ORDER BY id")
        return [FeedInfo(*r) for r in rows]

    def remove_feed(self, feed_id: int) -> None:
        """Remove a feed and everything imported from it."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM feed_entries WHERE context_id IN "
                         "(SELECT id FROM contexts WHERE feed_id = ?)", (feed_id,))
            conn.execute("DELETE FROM contexts WHERE feed_id = ?", (feed_id,))
            conn.execute("DELETE FROM asn_ranges WHERE feed_id = ?", (feed_id,))
            conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    def import_feed(self, path: Path, *, replace: bool = False) -> FeedImport:
        """Import one feed file, detecting its format by content (see :mod:`desktop.core.feeds`).

        Recognised: a STIX 2.x bundle, a MISP event, an ip2asn table (iptoasn.com, dotted or u32
        layout, IPv4 or IPv6, optionally gzip-compressed) and a CSV list with a value column.

        Args:
            path: the feed file.
            replace: allow an ip2asn table to replace the table of the same IP version when
                the two differ; without it such an import raises :class:`ReplaceRefusedError`, which
                says what would change, and nothing is written.

        Raises:
            FeedError: the file cannot be read or is none of the above.
            ReplaceRefusedError: an ip2asn table would replace a different one and ``replace`` is False.
        """
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise FeedError(f"cannot read the feed {path}: {exc.strerror or exc}") from exc
        sha = hashlib.sha256(raw).hexdigest()
        references.keep_copy(sha, raw)  # a case that matches it acquires these exact bytes (issue 11)
        row = self.conn.execute("SELECT id, format, name, entries, detail FROM feeds WHERE sha256 = ?",
                                (sha,)).fetchone()
        if row:
            accounting = Accounting.from_json(json.loads(row[4] or "{}").get("accounting"))
            return FeedImport(str(path), sha, row[1], row[2], int(row[0]), int(row[3]),
                              accounting=accounting, already_imported=True)
        try:
            data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        except (OSError, EOFError) as exc:
            raise FeedError(f"{path.name} is a damaged gzip file: {exc}") from exc
        text = _decode(data, path)
        if ip2asn.looks_like(text.lstrip()):
            return self._import_ip2asn(path, sha, ip2asn.parse(text, path.name), replace)
        parsed = parse_feed(text, path.name)
        detail = {**parsed.detail, "accounting": parsed.accounting.to_json()}
        with self._transaction() as conn:
            feed_id = self._insert_feed(conn, path, sha, parsed.format, parsed.name, detail)
            ctx_ids: dict[tuple[str, str, str], int] = {}
            stored = 0
            for (type_, value), contexts in parsed.entries.items():
                for ctx in contexts:
                    cid = ctx_ids.get(ctx)
                    if cid is None:
                        cur = conn.execute(
                            "INSERT INTO contexts (feed_id, name, kind, path) VALUES (?, ?, ?, ?)",
                            (feed_id, *ctx))
                        cid = ctx_ids[ctx] = int(cur.lastrowid or 0)
                    conn.execute(
                        "INSERT OR IGNORE INTO feed_entries (value, type, context_id) VALUES (?, ?, ?)",
                        (value, type_, cid))
                stored += 1
            conn.execute("UPDATE feeds SET entries = ? WHERE id = ?", (stored, feed_id))
        return FeedImport(str(path), sha, parsed.format, parsed.name, feed_id, stored,
                          tuple(sorted(parsed.actors)), parsed.accounting)

    def import_feeds(self, paths: Sequence[Path], *, replace: bool = False) -> list[FeedImport | FeedFailure]:
        """Import several feeds, going on past one that cannot be imported.

        Returns:
            One result per path, in order: what was imported, or why not.
        """
        out: list[FeedImport | FeedFailure] = []
        for path in paths:
            try:
                out.append(self.import_feed(path, replace=replace))
            except ReplaceRefusedError as exc:
                out.append(FeedFailure(str(path), str(exc), exc.change))
            except FeedError as exc:
                out.append(FeedFailure(str(path), str(exc)))
        return out

    def bulk_load(self, name: str, rows: Iterable[tuple[str, str]], *, actor: str | None = None) -> int:
        """Store many (type, value) pairs as one synthetic feed (benchmarks, tests, migrations).

        Values must already be normalised; returns the feed id.
        """
        sha = hashlib.sha256(f"bulk:{name}:{utc_now()}".encode()).hexdigest()
        with self._transaction() as conn:
            feed_id = self._insert_feed(conn, Path(name), sha, "bulk", name, {})
            cur = conn.execute("INSERT INTO contexts (feed_id, name, kind, path) VALUES (?, ?, ?, ?)",
                               (feed_id, actor or name, "intrusion-set" if actor else "feed", name))
            cid = int(cur.lastrowid or 0)
            conn.executemany("INSERT OR IGNORE INTO feed_entries (value, type, context_id) VALUES (?, ?, ?)",
                             ((v, t, cid) for t, v in rows))
            n = conn.execute("SELECT count(*) FROM feed_entries WHERE context_id = ?", (cid,)).fetchone()[0]
            conn.execute("UPDATE feeds SET entries = ? WHERE id = ?", (n, feed_id))
        return feed_id

    def _insert_feed(self, conn: sqlite3.Connection, path: Path, sha: str, fmt: str, name: str,
                     detail: dict[str, Any]) -> int:
        cur = conn.execute(
            "INSERT INTO feeds (sha256, path, file_name, name, format, imported_at, entries, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (sha, str(path.resolve()) if path.exists() else str(path), path.name, name, fmt, utc_now(),
             json.dumps(detail, ensure_ascii=False, sort_keys=True)))
        return int(cur.lastrowid or 0)

    def table_change(self, table: ip2asn.Table, new_name: str) -> TableChange | None:
        """What importing ``table`` would change in the ranges of its IP versions.

        None when nothing is stored for those versions yet.
        """
        old: dict[tuple[bytes, bytes], tuple[int, str, str]] = {}
        feeds: set[str] = set()
        for version in sorted(table.versions):
            for start, end, asn, country, name, fname in self.conn.execute(
                    "SELECT r.start, r.end, r.asn, r.country, r.name, f.file_name FROM asn_ranges r "
                    "JOIN feeds f ON f.id = r.feed_id WHERE r.version = ?", (version,)):
                old[(bytes(start), bytes(end))] = (int(asn), str(country), str(name))
                feeds.add(str(fname))
        if not old:
            return None
        new = {(key_of(r.first), key_of(r.last)): (r.asn, r.country, r.name) for r in table.ranges}
        added = sum(1 for k in new if k not in old)
        removed = sum(1 for k in old if k not in new)
        changed = sum(1 for k, v in new.items() if k in old and old[k] != v)
        return TableChange(tuple(sorted(table.versions)), tuple(sorted(feeds)), new_name, len(old), len(new),
                           added, removed, changed)

    def _import_ip2asn(self, path: Path, sha: str, table: ip2asn.Table, replace: bool) -> FeedImport:
        change = self.table_change(table, path.name)
        if change is not None and change.differs and not replace:
            raise ReplaceRefusedError(change)
        versions = sorted(table.versions)
        fmt_name = f"ip2asn IPv{'/'.join(str(v) for v in versions) or '?'} table"
        detail: dict[str, Any] = {"versions": versions, "layout": table.layout,
                                  "accounting": table.accounting.to_json()}
        if change is not None:
            detail["replaced"] = change.to_json()
        with self._transaction() as conn:
            feed_id = self._insert_feed(conn, path, sha, "ip2asn", fmt_name, detail)
            for version in versions:
                # A newer table replaces the older one of the same IP version: ranges move
                # between ASes over time and overlapping snapshots would answer ambiguously.
                conn.execute("DELETE FROM asn_ranges WHERE version = ?", (version,))
            conn.executemany("INSERT INTO asn_ranges (start, end, version, asn, country, name, feed_id) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             ((key_of(r.first), key_of(r.last), r.first.version, r.asn, r.country, r.name,
                               feed_id) for r in table.ranges))
            conn.execute("UPDATE feeds SET entries = ? WHERE id = ?", (len(table.ranges), feed_id))
        return FeedImport(str(path), sha, "ip2asn", fmt_name, feed_id, len(table.ranges), (),
                          table.accounting, replaced=change)

    # -- lookups used by correlation --------------------------------------------------------

    def _probe(self, values: Sequence[tuple[int, str, str]]) -> None:
        """Fill the temp table the joins start from (one row per case indicator)."""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS probe (key INTEGER, type TEXT, value TEXT)")
        self.conn.execute("DELETE FROM temp.probe")
        self.conn.executemany("INSERT INTO temp.probe (key, type, value) VALUES (?, ?, ?)", values)

    def match(self, values: Sequence[tuple[int, str, str]], *, exclude_case: str | None = None,
              ) -> tuple[list[FeedHit], list[CaseHit]]:
        """Find feed entries and other cases holding any of the given values.

        Args:
            values: ``(key, type, normalised value)``; ``key`` is handed back in each hit.
            exclude_case: the case being correlated, so it does not match itself.

        Returns:
            Feed hits and case hits, each one indexed join over the probed values.
        """
        self.conn.execute("BEGIN")
        try:
            self._probe(values)
            feed_rows = self.conn.execute(
                "SELECT p.key, f.name, f.file_name, c.name, c.kind, c.path FROM temp.probe p "
                "JOIN feed_entries e ON e.value = p.value AND e.type = p.type "
                "JOIN contexts c ON c.id = e.context_id JOIN feeds f ON f.id = c.feed_id").fetchall()
            case_rows = self.conn.execute(
                "SELECT p.key, ci.case_id, cs.title, cs.created_at, ci.items FROM temp.probe p "
                "JOIN case_indicators ci ON ci.value = p.value AND ci.type = p.type "
                "JOIN cases cs ON cs.case_id = ci.case_id WHERE ci.case_id IS NOT ?",
                (exclude_case,)).fetchall()
        finally:
            self.conn.execute("ROLLBACK")
        return [FeedHit(*r) for r in feed_rows], [CaseHit(*r) for r in case_rows]

    def feed_networks(self) -> list[tuple[str, FeedHit]]:
        """Feed entries that are networks (CIDR), for containment checks of addresses."""
        rows = self.conn.execute(
            "SELECT e.value, f.name, f.file_name, c.name, c.kind, c.path FROM feed_entries e "
            "JOIN contexts c ON c.id = e.context_id JOIN feeds f ON f.id = c.feed_id "
            "WHERE e.type = 'cidr'")
        return [(str(r[0]), FeedHit(0, *r[1:])) for r in rows]

    def asn_lookup(self, addresses: Sequence[tuple[int, str]]) -> dict[int, AsnRecord]:
        """ASN records of many addresses at once: ``(key, address)`` → ``{key: record}``.

        One statement for all addresses (a correlated ``start <= ip`` probe of the range index
        per row, run inside SQLite) instead of a Python round trip per address.
        """
        keys = []
        for key, address in addresses:
            ip = ip_sort_key(address)
            if ip is not None:
                keys.append((key, ip))
        if not keys:
            return {}
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS asn_probe (key INTEGER, ip BLOB)")
            self.conn.execute("DELETE FROM temp.asn_probe")
            self.conn.executemany("INSERT INTO temp.asn_probe (key, ip) VALUES (?, ?)", keys)
            rows = self.conn.execute(
                "SELECT q.key, r.asn, r.name, r.country FROM temp.asn_probe q JOIN asn_ranges r ON r.rowid = "
                "(SELECT rowid FROM asn_ranges WHERE start <= q.ip ORDER BY start DESC LIMIT 1) "
                "WHERE r.end >= q.ip").fetchall()
        finally:
            self.conn.execute("ROLLBACK")
        return {int(k): AsnRecord(int(n), str(name), str(country)) for k, n, name, country in rows}

    def asn_of(self, address: str) -> AsnRecord | None:
        """The ASN, provider name and country of an IP address from the ip2asn table, or None."""
        key = ip_sort_key(address)
        if key is None:
            return None
        row = self.conn.execute("SELECT end, asn, country, name FROM asn_ranges WHERE start <= ? "
                                "ORDER BY start DESC LIMIT 1", (key,)).fetchone()
        if row is None or bytes(row[0]) < key:
            return None
        return AsnRecord(int(row[1]), str(row[3]), str(row[2]))


def index_case(case: Any, library: Library | None = None) -> int:
    """Index a case in the workstation library (opening the default library when none is given).

    Call it after a case's indicators changed (after analysis, after an analyst adds one), so
    other cases see this one. Returns how many indicators were indexed.
    """
    if library is not None:
        return library.index_case(case)
    with Library.open() as lib:
        return lib.index_case(case)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FeedError(f"{path.name} is not text (neither UTF-8 nor UTF-16); not a feed Casetrail reads")


def _sorted_ids(items: str | None) -> str:
    ids = sorted({int(i) for i in (items or "").split(",") if i})
    return ",".join(map(str, ids))


