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
import csv
import gzip
import hashlib
import io
import ipaddress
import json
import re
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.custody import utc_now
from desktop.core.errors import CasetrailError
from desktop.core.home import workstation_home
from desktop.core.indicators import TYPES, classify, normalise

LIBRARY_NAME = "library.sqlite"
ACTOR_TYPES = ("intrusion-set", "threat-actor", "campaign")

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


class FeedError(CasetrailError):
    """A feed file cannot be read or its format cannot be recognised."""


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
        skipped: what was not used and why, as ``reason → count`` (never silently dropped).
        already_imported: the same bytes were imported before; nothing was changed.
    """

    path: str
    sha256: str
    format: str
    name: str
    feed_id: int
    entries: int
    actors: tuple[str, ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)
    already_imported: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``intel import --json`` shape."""
        return {"path": self.path, "sha256": self.sha256, "format": self.format, "name": self.name,
                "feed_id": self.feed_id, "entries": self.entries, "actors": list(self.actors),
                "skipped": dict(self.skipped), "already_imported": self.already_imported}

    def summary(self) -> str:
        """One line for the terminal."""
        if self.already_imported:
            return (f"{self.path}: already imported as feed {self.feed_id} ({self.format}, {self.name}); "
                    "unchanged")
        what = "ASN ranges" if self.format == "ip2asn" else "indicator values"
        line = f"{self.path}: {self.format}, {self.entries} {what}"
        if self.actors:
            more = len(self.actors) - 5
            shown = ", ".join(self.actors[:5]) + (f" and {more} more" if more > 0 else "")
            line += f", attributed to {shown}"
        if self.skipped:
            line += "; not used: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
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
            "JOIN occurrences o ON o.indicator_id = i.id GROUP BY i.id").fetchall()
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

    def import_feed(self, path: Path) -> FeedImport:
        """Import one feed file, detecting its format by content.

        Recognised: a STIX 2.x bundle (JSON with ``"type": "bundle"``), a MISP event (JSON with an
        ``Event``), an ip2asn table (tab-separated ``start end AS country name`` lines, iptoasn.com
        format, IPv4 or IPv6, optionally gzip-compressed) and a CSV list with a header naming a
        value column (``value``, ``indicator``, ``ioc`` or ``observable``).

        Raises:
            FeedError: the file cannot be read or is none of the above.
        """
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise FeedError(f"cannot read the feed {path}: {exc.strerror or exc}") from exc
        sha = hashlib.sha256(raw).hexdigest()
        row = self.conn.execute("SELECT id, format, name, entries FROM feeds WHERE sha256 = ?",
                                (sha,)).fetchone()
        if row:
            return FeedImport(str(path), sha, row[1], row[2], int(row[0]), int(row[3]), already_imported=True)
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        text = _decode(data, path)
        parsed: _Parsed
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                doc = json.loads(text)
            except ValueError as exc:
                raise FeedError(f"{path.name} looks like JSON but cannot be parsed: {exc}") from exc
            if _is_stix(doc):
                parsed = _parse_stix(_as_bundle(doc), path.name)
            elif _misp_events(doc):
                parsed = _parse_misp(_misp_events(doc), path.name)
            else:
                raise FeedError(f"{path.name} is JSON but neither a STIX bundle nor a MISP event")
        elif _looks_ip2asn(stripped):
            return self._import_ip2asn(path, sha, stripped)
        else:
            parsed = _parse_csv(text, path.name)
        with self._transaction() as conn:
            feed_id = self._insert_feed(conn, path, sha, parsed.format, parsed.name, parsed.detail)
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
                          tuple(sorted(parsed.actors)), dict(parsed.skipped))

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

    def _import_ip2asn(self, path: Path, sha: str, text: str) -> FeedImport:
        skipped: dict[str, int] = {}
        rows: list[tuple[bytes, bytes, int, int, str, str]] = []
        versions: set[int] = set()
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            try:
                first, last = ipaddress.ip_address(parts[0].strip()), ipaddress.ip_address(parts[1].strip())
                asn = int(parts[2])
            except (ValueError, IndexError) as exc:
                raise FeedError(f"{path.name} line {n} is not an ip2asn row: {line[:80]!r}") from exc
            if asn == 0:
                _count(skipped, "ranges not routed (AS 0)")
                continue
            if first.version != last.version:
                raise FeedError(f"{path.name} line {n} mixes IPv4 and IPv6 addresses")
            versions.add(first.version)
            country = parts[3].strip() if len(parts) > 3 else ""
            name = parts[4].strip() if len(parts) > 4 else ""
            rows.append((_ip_key(first), _ip_key(last), first.version, asn,
                         "" if country == "None" else country, name))
        with self._transaction() as conn:
            fmt_name = f"ip2asn IPv{'/'.join(str(v) for v in sorted(versions)) or '?'} table"
            feed_id = self._insert_feed(conn, path, sha, "ip2asn", fmt_name, {"versions": sorted(versions)})
            for version in versions:
                # A newer table replaces the older one of the same IP version: ranges move
                # between ASes over time and overlapping snapshots would answer ambiguously.
                conn.execute("DELETE FROM asn_ranges WHERE version = ?", (version,))
            conn.executemany("INSERT INTO asn_ranges (start, end, version, asn, country, name, feed_id) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", ((*r, feed_id) for r in rows))
            conn.execute("UPDATE feeds SET entries = ? WHERE id = ?", (len(rows), feed_id))
        return FeedImport(str(path), sha, "ip2asn", fmt_name, feed_id, len(rows), (), skipped)

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
            ip = _ip_key_text(address)
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
        try:
            key = _ip_key(ipaddress.ip_address(address))
        except ValueError:
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
# Parsing feeds
# ---------------------------------------------------------------------------------------------

Context = tuple[str, str, str]  # (name, kind, path)


@dataclass
class _Parsed:
    format: str
    name: str
    entries: dict[tuple[str, str], set[Context]] = field(default_factory=dict)
    actors: set[str] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def add(self, type_: str, raw: str, ctx: Context) -> bool:
        """Normalise and store one value; count it as skipped when it is not valid."""
        try:
            value = normalise(type_, raw)
        except (ValueError, UnicodeError):
            _count(self.skipped, f"invalid {type_} values")
            return False
        if type_ == "cidr" and value.endswith(("/32", "/128")):
            type_, value = ("ipv4" if "." in value else "ipv6"), value.rsplit("/", 1)[0]
        self.entries.setdefault((type_, value), set()).add(ctx)
        if ctx[1] in ACTOR_TYPES:
            self.actors.add(ctx[0])
        return True


def _count(counter: dict[str, int], reason: str, n: int = 1) -> None:
    counter[reason] = counter.get(reason, 0) + n


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


def _ip_key(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    """16 bytes that sort like the address; IPv4 as IPv4-mapped IPv6 so both share one index."""
    if addr.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + addr.packed
    return addr.packed


def _ip_key_text(address: str) -> bytes | None:
    """:func:`_ip_key` of an address string, via ``inet_pton`` (a correlation does thousands)."""
    try:
        if ":" in address:
            return socket.inet_pton(socket.AF_INET6, address)
        return b"\x00" * 10 + b"\xff\xff" + socket.inet_pton(socket.AF_INET, address)
    except OSError:
        return None


def _typed(value: str) -> str | None:
    """The type of a feed value for IP-ish fields: ipv4, ipv6 or cidr."""
    if "/" in value:
        return "cidr"
    return "ipv6" if ":" in value else "ipv4"


# -- STIX ---------------------------------------------------------------------------------------

_STIX_PATHS: dict[tuple[str, str], str] = {
    ("ipv4-addr", "value"): "ip", ("ipv6-addr", "value"): "ip",
    ("domain-name", "value"): "domain", ("url", "value"): "url", ("email-addr", "value"): "email",
    ("email-message", "from_ref.value"): "email", ("email-message", "sender_ref.value"): "email",
    ("email-message", "to_refs[*].value"): "email",
    ("file", "hashes.MD5"): "md5", ("file", "hashes.SHA-1"): "sha1", ("file", "hashes.SHA1"): "sha1",
    ("file", "hashes.SHA-256"): "sha256", ("file", "hashes.SHA256"): "sha256",
    ("file", "name"): "file_name", ("directory", "path"): "file_path",
    ("autonomous-system", "number"): "asn",
    ("network-traffic", "dst_ref.value"): "ip?", ("network-traffic", "src_ref.value"): "ip?",
}
_SCO_FIELDS: dict[str, tuple[str, str]] = {
    "ipv4-addr": ("value", "ip"), "ipv6-addr": ("value", "ip"), "domain-name": ("value", "domain"),
    "url": ("value", "url"), "email-addr": ("value", "email"), "autonomous-system": ("number", "asn"),
    "directory": ("path", "file_path"),
}
# Moves from a node towards who is behind it. Forward: the node is the relationship's source.
_FORWARD = ("indicates", "attributed-to")
_REVERSE = ("consists-of", "based-on", "communicates-with", "beacons-to", "exfiltrates-to", "object_refs",
            "uses", "hosts", "controls")
_MAX_DEPTH = 4


_STIX_ID_RE = re.compile(r"[a-z0-9-]+--[0-9a-fA-F-]{36}\Z")


def _is_stix(doc: Any) -> bool:
    if isinstance(doc, dict) and doc.get("type") == "bundle" and isinstance(doc.get("objects"), list):
        return True
    if isinstance(doc, list):
        return bool(doc) and all(_is_stix_object(o) for o in doc)
    return _is_stix_object(doc)


def _is_stix_object(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("type"), str) and bool(
        _STIX_ID_RE.match(str(doc.get("id", ""))))


def _as_bundle(doc: Any) -> dict[str, Any]:
    """A bundle, a single STIX object or a JSON list of them, as a bundle."""
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        return doc
    return {"type": "bundle", "objects": doc if isinstance(doc, list) else [doc]}


def _path_key(path: list[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "*":
            out += "[*]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _literal(text: str) -> str:
    r"""Value of a STIX pattern literal: ``'a\\'b'`` → ``a'b``; numbers stay as written."""
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _pattern_values(pattern: str, version: str, skipped: dict[str, int]) -> list[tuple[str, str]]:
    """Observable values in a STIX pattern compared with ``=`` (what a case can match)."""
    if version == "2.0":
        from stix2patterns.v20.pattern import Pattern as Pattern20

        inspected = Pattern20(pattern).inspect()
    else:
        from stix2patterns.v21.pattern import Pattern as Pattern21

        inspected = Pattern21(pattern).inspect()
    out: list[tuple[str, str]] = []
    for obj_type, comparisons in inspected.comparisons.items():
        for path, op, literal in comparisons:
            kind = _STIX_PATHS.get((obj_type, _path_key(path)))
            if kind is None or op not in ("=", "IN"):
                _count(skipped, "pattern comparisons that are not an observable value (e.g. MATCHES)")
                continue
            if op == "IN":
                values = [_literal(v.strip()) for v in literal.strip("()").split(",")]
            else:
                values = [_literal(literal)]
            for value in values:
                out.append((_kind_type(kind, value), value))
    return out


def _kind_type(kind: str, value: str) -> str:
    if kind == "ip":
        return _typed(value) or "ipv4"
    if kind == "ip?":
        return classify(value) or "domain"
    if kind == "asn":
        return "asn"
    return kind


def _label(obj: dict[str, Any]) -> str:
    name = obj.get("name") or obj.get("value") or obj["id"]
    return f"{obj['type']} '{name}'"


def _parse_stix(doc: dict[str, Any], file_name: str) -> _Parsed:
    import stix2
    import stix2.exceptions

    version = "2.0" if doc.get("spec_version") == "2.0" else "2.1"
    objects: dict[str, dict[str, Any]] = {}
    parsed = _Parsed("stix", file_name, detail={"bundle_id": doc.get("id"), "spec_version": version})
    for obj in doc["objects"]:
        if not isinstance(obj, dict) or "id" not in obj or "type" not in obj:
            _count(parsed.skipped, "objects without an id or type")
            continue
        try:
            # Validation only (types, required properties, timestamps); we keep the dicts, which
            # are faster to walk. allow_custom: partners' bundles carry x_ properties.
            stix2.parse(obj, allow_custom=True, version=obj.get("spec_version", version))
        except (stix2.exceptions.STIXError, ValueError, TypeError) as exc:
            _count(parsed.skipped, f"invalid {obj['type']} objects ({type(exc).__name__})")
            continue
        objects[obj["id"]] = obj
    out_edges: dict[str, list[tuple[str, str]]] = {}
    in_edges: dict[str, list[tuple[str, str]]] = {}
    for obj in objects.values():
        if obj["type"] == "relationship":
            src, rel, tgt = (str(obj.get(k, "")) for k in ("source_ref", "relationship_type", "target_ref"))
            if src in objects and tgt in objects:
                out_edges.setdefault(src, []).append((rel, tgt))
                in_edges.setdefault(tgt, []).append((rel, src))
        for ref in obj.get("object_refs", []) if obj["type"] == "observed-data" else []:
            in_edges.setdefault(ref, []).append(("object_refs", obj["id"]))
    reports = [o for o in objects.values() if o["type"] == "report" and o.get("name")]
    if len(reports) == 1:
        parsed.name = str(reports[0]["name"])

    def attributions(start: str) -> list[Context]:
        paths: dict[str, list[tuple[str, str, str]]] = {start: []}
        frontier = [start]
        actors: dict[str, list[tuple[str, str, str]]] = {}
        fallback: tuple[str, list[tuple[str, str, str]]] | None = None
        for _depth in range(_MAX_DEPTH):
            nxt: list[str] = []
            only_attribution = bool(actors)  # once an actor is known, do not widen via `uses`
            for node in frontier:
                node_type = objects[node]["type"]
                moves: list[tuple[str, str, bool]] = []
                for rel, other in out_edges.get(node, []):
                    if rel in _FORWARD and (not only_attribution or rel == "attributed-to"):
                        moves.append((rel, other, True))
                for rel, other in in_edges.get(node, []):
                    if only_attribution or node_type in ACTOR_TYPES:
                        if rel == "attributed-to" and objects[other]["type"] in ACTOR_TYPES:
                            moves.append((rel, other, False))
                    elif rel in _REVERSE:
                        moves.append((rel, other, False))
                for rel, other, forward in moves:
                    if other in paths:
                        continue
                    step = (node, rel, other) if forward else (other, rel, node)
                    paths[other] = [*paths[node], step]
                    other_type = objects[other]["type"]
                    if other_type in ACTOR_TYPES:
                        actors[other] = paths[other]
                    elif fallback is None and other_type in ("malware", "tool", "infrastructure"):
                        fallback = (other, paths[other])
                    nxt.append(other)
            frontier = nxt
            if not frontier:
                break

        def render(steps: list[tuple[str, str, str]]) -> str:
            return "; ".join(f"{_label(objects[s])} {rel} {_label(objects[t])}" for s, rel, t in steps)

        if actors:
            return [(str(objects[a].get("name", a)), objects[a]["type"], render(p))
                    for a, p in actors.items()]
        if fallback is not None:
            node, steps = fallback
            return [(str(objects[node].get("name", node)), objects[node]["type"], render(steps))]
        return [(parsed.name, "feed", _label(objects[start]))]

    for obj in objects.values():
        if obj["type"] == "indicator":
            if obj.get("pattern_type", "stix") != "stix" or not obj.get("pattern"):
                _count(parsed.skipped, "indicators with a non-STIX pattern")
                continue
            try:
                values = _pattern_values(str(obj["pattern"]), version, parsed.skipped)
            except Exception:  # stix2patterns raises its own, untyped errors
                _count(parsed.skipped, "indicators whose pattern cannot be parsed")
                continue
            if not values:
                _count(parsed.skipped, "indicators without a simple observable value")
                continue
            contexts = attributions(obj["id"])
            for type_, value in values:
                for ctx in contexts:
                    parsed.add(type_, value, ctx)
        elif obj["type"] in _SCO_FIELDS or obj["type"] == "file":
            pairs: list[tuple[str, str]] = []
            if obj["type"] == "file":
                for algo, digest in (obj.get("hashes") or {}).items():
                    t = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256"}.get(str(algo).upper())
                    if t:
                        pairs.append((t, str(digest)))
                if obj.get("name"):
                    pairs.append(("file_name", str(obj["name"])))
            else:
                prop, kind = _SCO_FIELDS[obj["type"]]
                if obj.get(prop) is not None:
                    pairs.append((_kind_type(kind, str(obj[prop])), str(obj[prop])))
            contexts = attributions(obj["id"])
            for type_, value in pairs:
                for ctx in contexts:
                    parsed.add(type_, value, ctx)
    parsed.detail["objects"] = len(objects)
    return parsed


# -- MISP ---------------------------------------------------------------------------------------

_MISP_TYPES: dict[str, tuple[str, ...]] = {
    "ip-src": ("ip",), "ip-dst": ("ip",), "ip-src|port": ("ip",), "ip-dst|port": ("ip",),
    "domain": ("domain",), "hostname": ("domain",), "hostname|port": ("domain",),
    "domain|ip": ("domain", "ip"),
    "url": ("url",), "uri": ("url",), "link": (),
    "email": ("email",), "email-src": ("email",), "email-dst": ("email",), "email-reply-to": ("email",),
    "whois-registrant-email": ("email",), "target-email": ("email",),
    "md5": ("md5",), "sha1": ("sha1",), "sha256": ("sha256",),
    "filename|md5": ("file_name", "md5"), "filename|sha1": ("file_name", "sha1"),
    "filename|sha256": ("file_name", "sha256"), "filename": ("file_name",), "AS": ("asn",),
}
_ACTOR_GALAXIES = {"threat-actor": "threat-actor", "mitre-intrusion-set": "intrusion-set",
                   "mitre-enterprise-attack-intrusion-set": "intrusion-set",
                   "microsoft-activity-group": "intrusion-set", "360net": "threat-actor"}
_GALAXY_TAG_RE = re.compile(r'misp-galaxy:([a-z0-9-]+)="(.+)"\Z')


def _misp_events(doc: Any) -> list[dict[str, Any]]:
    items = doc.get("response", doc) if isinstance(doc, dict) else doc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return []
    events = []
    for entry in items:
        if isinstance(entry, dict) and isinstance(entry.get("Event"), dict):
            events.append(entry["Event"])
        elif isinstance(entry, dict) and (isinstance(entry.get("Attribute"), list)
                                          or isinstance(entry.get("Object"), list)):
            events.append(entry)  # a bare event, as MISP's own tests and some exports write it
    return events


def _misp_actors(holder: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, kind) of actors named by an event's or attribute's galaxies and galaxy tags."""
    found: dict[str, str] = {}
    for galaxy in holder.get("Galaxy") or []:
        kind = _ACTOR_GALAXIES.get(str(galaxy.get("type", "")))
        if kind:
            for cluster in galaxy.get("GalaxyCluster") or []:
                if cluster.get("value"):
                    found[str(cluster["value"])] = kind
    for tag in holder.get("Tag") or []:
        m = _GALAXY_TAG_RE.match(str(tag.get("name", "")))
        if m and m.group(1) in _ACTOR_GALAXIES:
            found.setdefault(m.group(2), _ACTOR_GALAXIES[m.group(1)])
    return sorted(found.items())


def _parse_misp(events: list[dict[str, Any]], file_name: str) -> _Parsed:
    parsed = _Parsed("misp", file_name)
    if len(events) == 1 and events[0].get("info"):
        parsed.name = str(events[0]["info"])
    parsed.detail = {"events": [str(e.get("uuid", "")) for e in events]}
    for event in events:
        info = str(event.get("info", "")) or file_name
        where = f"MISP event '{info}' ({event.get('uuid', 'no uuid')})"
        event_actors = _misp_actors(event)
        attributes = list(event.get("Attribute") or [])
        for obj in event.get("Object") or []:
            attributes += [{**a, "_object": obj.get("name", "object")} for a in obj.get("Attribute") or []]
        for attr in attributes:
            mtype = str(attr.get("type", ""))
            kinds = _MISP_TYPES.get(mtype)
            if not kinds:
                _count(parsed.skipped, f"attributes of type {mtype or '?'}")
                continue
            actors = _misp_actors(attr) or event_actors
            contexts = [(name, kind, f"{where}, galaxy {kind}") for name, kind in actors] or [
                (info, "event", where)]
            parts = str(attr.get("value", "")).split("|")
            for kind, part in zip(kinds, parts, strict=False):
                if mtype.endswith("|port") and kind == "ip":
                    part = parts[0]
                type_ = _kind_type(kind, part.strip())
                if kind == "file_name" and ("\\" in part or "/" in part):
                    type_ = "file_path"
                for ctx in contexts:
                    parsed.add(type_, part.strip(), ctx)
    return parsed


# -- CSV and ip2asn -----------------------------------------------------------------------------

_VALUE_COLUMNS = ("value", "indicator", "ioc", "observable", "indicator_value")
_TYPE_COLUMNS = ("type", "indicator_type", "ioc_type")
_NAME_COLUMNS = ("actor", "threat_actor", "intrusion_set", "campaign", "attribution")
_IP2ASN_RE = re.compile(r"[0-9a-fA-F.:]+\t[0-9a-fA-F.:]+\t\d+\t")


def _looks_ip2asn(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip() and not line.startswith("#")), "")
    return bool(_IP2ASN_RE.match(first))


def _parse_csv(text: str, file_name: str) -> _Parsed:
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise FeedError(f"{file_name} is empty")
    cols = [h.strip().lower().replace(" ", "_") for h in header]
    value_col = next((cols.index(c) for c in _VALUE_COLUMNS if c in cols), None)
    if value_col is None:
        raise FeedError(f"{file_name}: cannot tell the format; a CSV list needs a header with a "
                        f"{'/'.join(_VALUE_COLUMNS)} column, JSON must be a STIX bundle or MISP event, "
                        "and an ip2asn table has tab-separated start, end, AS number, country, name")
    type_col = next((cols.index(c) for c in _TYPE_COLUMNS if c in cols), None)
    name_col = next((cols.index(c) for c in _NAME_COLUMNS if c in cols), None)
    parsed = _Parsed("csv", file_name)
    for row in reader:
        if not row or value_col >= len(row) or not row[value_col].strip():
            continue
        raw = row[value_col].strip()
        type_ = None
        if type_col is not None and type_col < len(row) and row[type_col].strip():
            declared = row[type_col].strip().lower()
            type_ = declared if declared in TYPES else None
            if type_ is None and declared in _MISP_TYPES and _MISP_TYPES[declared]:
                type_ = _kind_type(_MISP_TYPES[declared][0], raw)
        type_ = type_ or classify(raw)
        if type_ is None:
            _count(parsed.skipped, "values of no known indicator type")
            continue
        actor = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        ctx = (actor, "threat-actor", file_name) if actor else (file_name, "feed", file_name)
        parsed.add(type_, raw, ctx)
    return parsed
