# SPDX-License-Identifier: GPL-3.0-or-later
"""Intelligence as evidence: the feeds and ip2asn tables a case's matches come from, in the case.

A match (an IP in a partner's STIX bundle, the hosting provider of an address) is a claim a
briefing makes about the world, and it is only as good as the table it came from. The workstation
library is neither hashed nor in custody, and another table imported tomorrow answers
differently. So a case takes a **snapshot**:

- every feed or ip2asn table that yields a match is acquired into the case as a *reference item*
  (vault + custody: its SHA-256, file name, format, when it was imported into the library;
  ``derived_how = 'intelligence reference'``, never analysed as evidence);
- every match is stored in the case (``intel_matches``, ``intel_asn``) with the reference item
  it came from; the whole snapshot is bound to custody by the SHA-256 of its rows
  (``state.SNAPSHOTS``);
- from then on correlation, the CLI and the briefing read the snapshot, not the library: a
  re-imported, changed table never silently changes an earlier case, and a case package briefed
  on a fresh workstation states the same matches. :func:`refresh` takes a new snapshot when the
  analyst asks (``casetrail intel refresh CASE``), recorded in custody.

The library keeps a copy of every feed it imports (``$CASETRAIL_HOME/feeds/<sha256>``,
:func:`keep_copy`), so the exact bytes can be acquired later.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import custody, state
from desktop.core.case import Case
from desktop.core.home import workstation_home
from desktop.core.ip import network as ip_network
from desktop.core.ip import parse_host
from desktop.core.ip import sort_key as ip_sort_key
from desktop.core.vault import sha256_on_disk

HOW = "intelligence reference"
_INSERT_MATCH = "INSERT INTO intel_matches (indicator_id, reference_item_id, source, name, detail, kind)"
SNAPSHOT = "intel"


def copies_dir() -> Path:
    """Where the library keeps the bytes of every feed it imported."""
    return workstation_home() / "feeds"


def keep_copy(sha256: str, raw: bytes) -> None:
    """Keep the bytes of an imported feed, write-once, named by their SHA-256."""
    folder = copies_dir()
    target = folder / sha256
    if target.is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{sha256}.{os.getpid()}.tmp"
    with tmp.open("wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, target)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    target.chmod(0o444)


@dataclass(frozen=True)
class Feed:
    """A library feed that yielded a match."""

    id: int
    sha256: str
    file_name: str
    name: str
    format: str
    imported_at: str
    path: str


@dataclass
class RefreshReport:
    """What :func:`refresh` did."""

    references: dict[str, int] = field(default_factory=dict)  # feed sha256 -> reference item id
    matches: int = 0
    asn: int = 0
    unavailable: list[str] = field(default_factory=list)  # feeds whose bytes are gone
    custody_seq: int = 0

    def summary(self) -> str:
        """One line for the CLI."""
        line = (f"intelligence snapshot: {self.matches} matches and {self.asn} ASN records from "
                f"{len(self.references)} reference items (custody entry {self.custody_seq})")
        if self.unavailable:
            line += ("; left out, their bytes are no longer on this workstation (import them again): "
                     + ", ".join(self.unavailable))
        return line


def _feed_bytes(feed: Feed) -> bytes | None:
    for candidate in (copies_dir() / feed.sha256, Path(feed.path)):
        try:
            if candidate.is_file() and sha256_on_disk(candidate) == feed.sha256:
                return candidate.read_bytes()
        except OSError:
            continue
    return None


def _feeds(lib: sqlite3.Connection) -> dict[int, Feed]:
    rows = lib.execute("SELECT id, sha256, file_name, name, format, imported_at, path FROM feeds")
    return {int(r[0]): Feed(int(r[0]), *map(str, r[1:])) for r in rows}


def _ip_key(value: str) -> bytes | None:
    return ip_sort_key(value)  # the one reading of an address (desktop.core.ip)


def _library_matches(case: Case, lib: sqlite3.Connection) -> tuple[list[tuple[int, int, str, str, str]],
                                                                    list[tuple[int, int, int, str, str]],
                                                                    list[tuple[int, str, str]]]:
    """(indicator, feed id, name, detail, kind) feed hits, ASN records, and other-case hits."""
    indicators = [(int(i), str(t), str(v)) for i, t, v in case.db.conn.execute(
        "SELECT id, type, value FROM indicators")]
    exact: list[tuple[int, int, str, str, str]] = []
    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int, str, str, str]] = []
    for value, feed_id, file_name, name, kind, path in lib.execute(
            "SELECT e.value, f.id, f.file_name, c.name, c.kind, c.path FROM feed_entries e "
            "JOIN contexts c ON c.id = e.context_id JOIN feeds f ON f.id = c.feed_id WHERE e.type = 'cidr'"):
        try:
            networks.append((ip_network(value), int(feed_id), str(name),
                             f"{file_name}: {path}", str(kind)))
        except ValueError:
            continue
    for ind_id, type_, value in indicators:
        for feed_id, file_name, name, kind, path in lib.execute(
                "SELECT f.id, f.file_name, c.name, c.kind, c.path FROM feed_entries e "
                "JOIN contexts c ON c.id = e.context_id JOIN feeds f ON f.id = c.feed_id "
                "WHERE e.value = ? AND e.type = ?", (value, type_)):
            exact.append((ind_id, int(feed_id), str(name), f"{file_name}: {path}", str(kind)))
        addr = parse_host(value) if type_ in ("ipv4", "ipv6") and networks else None
        if addr is not None:
            for net, feed_id, name, detail, kind in networks:
                if addr.version == net.version and addr in net:
                    exact.append((ind_id, feed_id, name, detail, kind))
    asn: list[tuple[int, int, int, str, str]] = []
    for ind_id, type_, value in indicators:
        key = _ip_key(value) if type_ in ("ipv4", "ipv6") else None
        if key is None:
            continue
        row = lib.execute("SELECT end, asn, name, country, feed_id FROM asn_ranges WHERE start <= ? "
                          "ORDER BY start DESC LIMIT 1", (key,)).fetchone()
        if row is not None and bytes(row[0]) >= key:
            asn.append((ind_id, int(row[4]), int(row[1]), str(row[2]), str(row[3])))
    cases: list[tuple[int, str, str]] = []
    own = case.meta.get("case_id")
    for ind_id, type_, value in indicators:
        for _cid, title, created, items in lib.execute(
                "SELECT ci.case_id, cs.title, cs.created_at, ci.items FROM case_indicators ci "
                "JOIN cases cs ON cs.case_id = ci.case_id WHERE ci.value = ? AND ci.type = ? "
                "AND ci.case_id IS NOT ?", (value, type_, own)):
            listed = str(items).replace(",", ", ")
            cases.append((ind_id, str(title), f"created {str(created)[:10]}; items {listed}"))
    return exact, asn, cases


def refresh(case: Case, library_path: Path | None = None, *,
            reason: str = "analyst refresh") -> RefreshReport:
    """Take a new snapshot of what the workstation library says about the case's indicators.

    Feeds that yield a match are acquired as reference items (once per SHA-256); the snapshot
    tables are replaced in one transaction with one custody entry binding them.
    """
    from desktop.core.acquire import acquire_reference
    from desktop.core.intel import Library

    report = RefreshReport()
    lib = Library.open_existing(library_path)
    exact: list[tuple[int, int, str, str, str]] = []
    asn: list[tuple[int, int, int, str, str]] = []
    cases: list[tuple[int, str, str]] = []
    feeds: dict[int, Feed] = {}
    if lib is not None:
        try:
            feeds = _feeds(lib.conn)
            exact, asn, cases = _library_matches(case, lib.conn)
        finally:
            lib.close()
    existing = {str(sha): int(i) for i, sha in case.db.conn.execute(
        "SELECT id, sha256 FROM items WHERE derived_how = ?", (HOW,))}
    needed = sorted({f for _i, f, *_ in exact} | {f for _i, f, *_ in asn})
    ref_of: dict[int, int] = {}
    for feed_id in needed:
        feed = feeds[feed_id]
        if feed.sha256 in existing:
            ref_of[feed_id] = existing[feed.sha256]
            continue
        data = _feed_bytes(feed)
        if data is None:
            report.unavailable.append(feed.file_name)
            continue
        acquired = acquire_reference(case, data, name=feed.file_name,
                                     source=f"workstation library: {feed.path}",
                                     detail={"feed_name": feed.name, "format": feed.format,
                                             "imported_into_library_at": feed.imported_at})
        existing[feed.sha256] = acquired.item.id
        ref_of[feed_id] = acquired.item.id
    for feed_id, item_id in ref_of.items():
        report.references[feeds[feed_id].sha256] = item_id
    with case.transaction() as conn:
        conn.execute("DELETE FROM intel_matches")
        conn.execute("DELETE FROM intel_asn")
        seen: set[tuple[Any, ...]] = set()
        for ind_id, feed_id, name, detail, kind in exact:
            if feed_id not in ref_of or (ind_id, feed_id, name, detail) in seen:
                continue
            seen.add((ind_id, feed_id, name, detail))
            conn.execute(f"{_INSERT_MATCH} VALUES (?, ?, 'feed', ?, ?, ?)",
                         (ind_id, ref_of[feed_id], name, detail, kind))
            report.matches += 1
        for ind_id, title, detail in cases:
            if (ind_id, title, detail) in seen:
                continue
            seen.add((ind_id, title, detail))
            conn.execute(f"{_INSERT_MATCH} VALUES (?, NULL, 'case', ?, ?, 'other-case')",
                         (ind_id, title, detail))
            report.matches += 1
        for ind_id, feed_id, number, name, country in asn:
            if feed_id in ref_of:
                conn.execute("INSERT OR REPLACE INTO intel_asn (indicator_id, reference_item_id, number, "
                             "name, country) VALUES (?, ?, ?, ?, ?)",
                             (ind_id, ref_of[feed_id], number, name, country))
                report.asn += 1
        entry = custody.append(
            conn, action="note", examiner=case.examiner, result="intelligence snapshot taken",
            reason=reason,
            detail={"what": "intelligence snapshot", "snapshot": SNAPSHOT,
                    "snapshot_sha256": state.snapshot_digest(conn, SNAPSHOT),
                    "references": dict(report.references), "matches": report.matches, "asn": report.asn,
                    "unavailable": report.unavailable})
        report.custody_seq = int(entry["seq"])
    return report


def ensure_snapshot(case: Case) -> RefreshReport | None:
    """Take the case's first snapshot before an export, if it has none (later ones: the analyst)."""
    if has_snapshot(case.db.conn):
        return None
    return refresh(case, reason="first export of the case: its matches are fixed from now on")


def has_snapshot(conn: sqlite3.Connection) -> bool:
    """Whether the case has taken an intelligence snapshot (then correlation reads it)."""
    return conn.execute("SELECT 1 FROM custody WHERE action = 'note' AND detail LIKE ? LIMIT 1",
                        ('%"what": "intelligence snapshot"%',)).fetchone() is not None


@dataclass(frozen=True)
class SnapshotMatch:
    """One stored match, with the reference item and the SHA-256 it came from."""

    indicator_id: int
    source: str
    name: str
    detail: str
    kind: str
    reference_item_id: int | None
    reference_sha256: str | None
    reference_name: str | None


def snapshot(conn: sqlite3.Connection) -> tuple[list[SnapshotMatch],
                                                 dict[int, tuple[int, str, str, int, str]]]:
    """The stored matches and ``indicator -> (AS number, name, country, reference item, sha256)``."""
    matches = [SnapshotMatch(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]),
                             None if r[5] is None else int(r[5]), r[6], r[7]) for r in conn.execute(
        "SELECT m.indicator_id, m.source, m.name, m.detail, m.kind, m.reference_item_id, i.sha256, i.name "
        "FROM intel_matches m LEFT JOIN items i ON i.id = m.reference_item_id ORDER BY m.id")]
    asn = {int(r[0]): (int(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5])) for r in conn.execute(
        "SELECT a.indicator_id, a.number, a.name, a.country, a.reference_item_id, i.sha256 FROM intel_asn a "
        "JOIN items i ON i.id = a.reference_item_id")}
    return matches, asn


def references_of(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every reference item with what its acquisition recorded (for the briefing's appendix)."""
    out = []
    for item_id, name, sha, size in conn.execute(
            "SELECT id, name, sha256, size FROM items WHERE derived_how = ? ORDER BY id", (HOW,)):
        row = conn.execute("SELECT detail FROM custody WHERE item_id = ? AND action = 'acquired' "
                           "ORDER BY seq LIMIT 1", (item_id,)).fetchone()
        detail = json.loads(row[0]) if row else {}
        out.append({"item_id": int(item_id), "name": str(name), "sha256": str(sha), "size": int(size),
                    "format": detail.get("format", ""), "feed_name": detail.get("feed_name", ""),
                    "imported_into_library_at": detail.get("imported_into_library_at", "")})
    return out
