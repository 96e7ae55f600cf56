# SPDX-License-Identifier: GPL-3.0-or-later
"""Case state bound to custody: which tables are replayed, and how ``verify`` replays them.

The custody chain proves what was *recorded*; this module proves that the tables still *say*
what was recorded. Three kinds of state, three rules:

- **Replayed tables** (:data:`REPLAYED`: analyst state such as hypotheses, ratings, judgments,
  notes, tags, timeline events, and the case's own metadata and checkpoints). Every write to one
  of them appends, in the same transaction, a custody entry whose ``detail["state"]`` holds the
  complete new row (or ``null`` for a deleted row): :func:`row_change`. ``verify`` starts from
  empty tables (or from the *state baseline* entry an older case got when it was upgraded),
  applies every change in custody order, and names each row that differs from the result.
- **Findings tables** (:data:`FINDINGS`: what analysers read out of an item). Every ``analysed``
  entry (and any other entry that changes an item's findings, such as an analyst recording an
  indicator on a frame) carries ``findings_sha256``, the SHA-256 of the JCS form of the item's findings
  (:func:`findings_digests`); ``verify`` recomputes it for every item.
- **Items.** Each item row must agree with its ``acquired``/``derived`` entry (hashes, name,
  source, parent, size, type) and its status with the last ``analysed`` entry; every such entry
  must still have its item. This is checked in :func:`replay` too.

- **Snapshots** (:data:`SNAPSHOTS`: tables written as a whole, such as the intelligence matches of
  ``desktop.core.references``). The entry that writes one carries ``snapshot_sha256`` over all
  its rows; ``verify`` recomputes it.

A new table of analyst state joins by adding its name and key columns to :data:`REPLAYED` and
passing ``state=[row_change(conn, table, key...)]`` to ``custody.append`` after each write; a new
table of findings joins :data:`FINDINGS`; a table written as a whole joins :data:`SNAPSHOTS`; a
table that is only a cache of other tables goes in :data:`DERIVED`.
``tests/unit/core/test_state.py`` fails while any table of the schema is in none of them.

This module only reads; it never repairs a table (a discrepancy is evidence of tampering).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from desktop.core import custody, jcs

# table -> its key columns. Every write to these tables is recorded with row_change().
REPLAYED: dict[str, tuple[str, ...]] = {
    "case_meta": ("key",),
    "hypotheses": ("id",),
    "evidence": ("id",),
    "ach_ratings": ("evidence_id", "hypothesis_id"),
    "judgments": ("id",),
    "notes": ("id",),
    "events": ("id",),
    "tags": ("id",),
    "checkpoints": ("id",),
    "recovery": ("path",),
    "blob_chunks": ("sha256",),
    "campaign_tags": ("campaign_id", "tag"),
    # The briefing's analyst state (issue 12).
    "key_findings": ("id",),
    "statements": ("id",),
    "distribution": ("id",),
    "briefing_settings": ("key",),
    "source_grades": ("sha256",),
}
# findings table -> the SELECT of its rows as (item_id, every column...). Rows are compared as a
# set (sorted by their JCS bytes), so VACUUM renumbering rowids changes nothing.
FINDINGS: dict[str, str] = {
    "emails": "SELECT item_id, * FROM emails",
    "hops": "SELECT item_id, * FROM hops",
    "media": "SELECT item_id, * FROM media",
    "ocr_lines": "SELECT item_id, * FROM ocr_lines",
    # The indicator's type and value are part of the occurrence: editing an indicator changes
    # the findings of every item it occurs in.
    "occurrences": "SELECT o.item_id, o.*, i.type, i.value FROM occurrences o "
                   "JOIN indicators i ON i.id = o.indicator_id",
}
# snapshot name -> its tables: written as a whole, bound by the SHA-256 of all their rows, recorded
# in a custody entry's detail as {"snapshot": name, "snapshot_sha256": ...} (see references.py).
SNAPSHOTS: dict[str, tuple[str, ...]] = {"intel": ("intel_matches", "intel_asn"), "campaigns": ("campaigns",)}
# Tables bound another way (items, custody) or caches rebuilt from bound tables.
DERIVED: frozenset[str] = frozenset({
    "items",  # checked against acquired/derived/analysed entries
    "custody",  # the chain itself
    "indicators",  # bound through the occurrences that name them
    "text_index",  # the full-text search index: a cache of bodies, OCR and text, not evidence
    "occurrence_counting",  # the bulk writer's flag for the count cache: 1 only inside its savepoint
})
BASELINE = "state baseline"


def row_change(conn: sqlite3.Connection, table: str, *key: object) -> dict[str, Any]:
    """Return the state change that records a row of a replayed table as it is now.

    Call it after the write, in the same transaction: a row that no longer exists is recorded as
    deleted (``"row": null``).

    Raises:
        KeyError: the table is not in :data:`REPLAYED`.
    """
    cols = REPLAYED[table]
    where = " AND ".join(f"{c} = ?" for c in cols)
    cur = conn.execute(f"SELECT * FROM {table} WHERE {where}", key)  # noqa: S608 - registry names
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return {"table": table, "key": list(key),
            "row": dict(zip(names, row, strict=True)) if row is not None else None}


def table_rows(conn: sqlite3.Connection, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every row of a replayed table, by key."""
    cols = REPLAYED[table]
    cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - registry names
    names = [d[0] for d in cur.description]
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in cur:
        values = dict(zip(names, row, strict=True))
        out[tuple(values[c] for c in cols)] = values
    return out


def _existing(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def snapshot_digest(conn: sqlite3.Connection, name: str) -> str:
    """SHA-256 of JCS({table: rows sorted by their JCS bytes}) over a snapshot's tables."""
    present = _existing(conn)
    doc: dict[str, list[bytes]] = {}
    for table in SNAPSHOTS[name]:
        if table in present:
            doc[table] = [jcs.dumps_row(r) for r in conn.execute(f"SELECT * FROM {table}")]  # noqa: S608
    return hashlib.sha256(_jcs_object(doc)).hexdigest()


def findings_digests(conn: sqlite3.Connection, item_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Return ``item id -> SHA-256 hex of JCS({table: sorted rows})`` over :data:`FINDINGS`.

    A row is the list of its column values in table order (occurrences add the indicator's type
    and value); rows are sorted by their own JCS bytes; a table with no rows for the item is
    left out, so an item without findings hashes ``{}``. With ``item_ids`` only those items are
    read (the analysis pipeline, per item); without, every item in one pass per table (verify).
    """
    wanted = None if item_ids is None else sorted(set(item_ids))
    per_item: dict[int, dict[str, list[bytes]]] = {}
    present = _existing(conn)
    for table, select in FINDINGS.items():
        if table not in present:
            continue
        if wanted is None:
            rows: Iterable[Sequence[Any]] = conn.execute(select)
        else:
            alias = "o." if table == "occurrences" else ""
            marks = ", ".join("?" * len(wanted))
            rows = conn.execute(f"{select} WHERE {alias}item_id IN ({marks})", wanted)
        for row in rows:
            item = int(row[0])
            per_item.setdefault(item, {}).setdefault(table, []).append(jcs.dumps_row(row[1:]))
    out: dict[int, str] = {}
    for item in (wanted if wanted is not None else sorted(per_item)):
        out[item] = hashlib.sha256(_jcs_object(per_item.get(item, {}))).hexdigest()
    return out


def _jcs_object(tables: dict[str, list[bytes]]) -> bytes:
    """JCS of ``{table: [row, …]}`` from rows already in JCS form, rows sorted by their bytes.

    Exactly ``rfc8785.dumps`` of the parsed object (the table names are ASCII, so their order is
    their JCS member order), without parsing every row back (measured: two thirds of the cost).
    """
    parts = [jcs.dumps(name) + b":[" + b",".join(sorted(rows)) + b"]"
             for name, rows in sorted(tables.items())]
    return b"{" + b",".join(parts) + b"}"


EMPTY_FINDINGS = hashlib.sha256(b"{}").hexdigest()
# The digest of each snapshot with all its tables present and empty.
EMPTY_SNAPSHOT = {name: hashlib.sha256(rfc8785.dumps({t: [] for t in tables})).hexdigest()
                  for name, tables in SNAPSHOTS.items()}


def baseline_detail(conn: sqlite3.Connection) -> dict[str, Any]:
    """The detail of a *state baseline* entry: every replayed row and every item's findings hash.

    Written once when a case from before state binding is upgraded: from then on the replay
    starts from it. It attests the state the upgrade found, not how that state came about.
    """
    present = _existing(conn)
    tables = {t: sorted(table_rows(conn, t).values(), key=lambda r: rfc8785.dumps(r))
              for t in REPLAYED if t in present}
    digests = {k: v for k, v in findings_digests(conn).items() if v != EMPTY_FINDINGS}
    return {"what": BASELINE, "tables": tables, "findings": {str(k): v for k, v in digests.items()}}


def is_bound(conn: sqlite3.Connection) -> bool:
    """Whether the case records its state in custody (made by, or upgraded to, this version)."""
    first = conn.execute("SELECT detail FROM custody WHERE seq = 1").fetchone()
    if first is not None and '"state"' in str(first[0]):
        return True
    return conn.execute("SELECT 1 FROM custody WHERE action = 'note' AND detail LIKE ?",
                        (f'%"what": "{BASELINE}"%',)).fetchone() is not None


@dataclass
class ReplayReport:
    """What replaying custody against the tables found.

    Attributes:
        problems: one sentence per disagreement, in the order found (items, then tables).
        rows_checked: replayed rows compared.
        items_checked: items compared with their entries.
    """

    problems: list[str] = field(default_factory=list)
    rows_checked: int = 0
    items_checked: int = 0


def _defaults(conn: sqlite3.Connection, table: str) -> dict[str, Any]:
    """Each column's declared default as a value (``NULL`` and absent defaults are None)."""
    out: dict[str, Any] = {}
    for _cid, name, _type, _notnull, default, _pk in conn.execute(f"PRAGMA table_info({table})"):
        value: Any = None
        if isinstance(default, str):
            if len(default) >= 2 and default[0] == default[-1] == "'":
                value = default[1:-1].replace("''", "'")
            else:
                try:
                    value = int(default)
                except ValueError:
                    try:
                        value = float(default)
                    except ValueError:
                        value = None
        out[str(name)] = value
    return out


def _key(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _detail(entry: dict[str, Any]) -> dict[str, Any]:
    return entry["detail"] if isinstance(entry["detail"], dict) else {}


def _status_of(analysed: dict[str, Any]) -> str:
    """The item status an ``analysed`` entry sets: its ``status``, else its result.

    Entries that shared another item's analysis before issue 11 recorded no status; their result
    ("same content as item N: …") stands for ``analysed``.
    """
    d = _detail(analysed)
    if "status" in d:
        return str(d["status"])
    result = str(analysed["result"])
    return "analysed" if "same_as" in d and result.startswith("same content as item") else result


def _item_problems(item: dict[str, Any], acq: dict[str, Any] | None, last: dict[str, Any] | None,
                   ok_kind: str | None, magic: str | None = None) -> list[str]:
    iid = item["id"]
    if acq is None:
        return [f"item {iid} ({item['name']!r}) has no acquired or derived custody entry: it was "
                "added behind the application's back"]
    d = acq["detail"]
    seq = acq["seq"]
    checks: list[tuple[str, Any, Any]] = [
        ("SHA-256", item["sha256"], acq["sha256"]), ("name", item["name"], d.get("name")),
        ("source", item["source_path"], acq["source"]), ("size", item["size"], d.get("size")),
        ("SHA-1", item["sha1"], d.get("sha1")), ("MD5", item["md5"], d.get("md5")),
        ("MIME type", item["mime"], d.get("mime")),
        ("extension flag", bool(item["ext_mismatch"]), bool(d.get("extension_mismatch"))),
        ("parent", item["parent_id"], d.get("parent_id")),
        ("acquiring examiner", item["acquired_by"], acq["examiner"]),
    ]
    for key in ("name_bytes", "source_bytes"):  # names that are not UTF-8 (desktop.core.names)
        if key in item:
            have = bytes(item[key]).hex() if item[key] is not None else None
            checks.append((key.replace("_", " "), have, d.get(key)))
    if "magic" in d:  # entries written since state binding record every column
        checks += [("file type", item["magic"], magic if magic is not None else d["magic"]),
                   ("acquisition time", item["acquired_at"], acq["at"]),
                   ("derivation", item["derived_how"], d.get("how"))]
    out = [f"item {iid}: its {what} differs from custody entry {seq} ({have!r} in the table, "
           f"{want!r} recorded)" for what, have, want in checks if have != want]
    status = "acquired" if last is None else _status_of(last)
    if item["status"] != status:
        where = f"custody entry {last['seq']}" if last else "custody (never analysed)"
        out.append(f"item {iid}: its status is {item['status']!r} but {where} says {status!r}")
    same_as = None if last is None else _detail(last).get("same_as")
    if "same_as" in item and item["same_as"] != same_as:
        out.append(f"item {iid}: it names item {item['same_as']} as holding the same content, but custody "
                   f"recorded {same_as}")
    if ok_kind is not None and item["kind"] != ok_kind:
        out.append(f"item {iid}: its kind is {item['kind']!r} but custody recorded {ok_kind!r}")
    return out


def replay(conn: sqlite3.Connection) -> ReplayReport:
    """Replay custody against the tables and name every row that disagrees.

    Fail closed: a case that predates state binding (not upgraded yet) is one problem, not a pass.
    """
    report = ReplayReport()
    if not is_bound(conn):
        report.problems.append("this case predates state binding (made by an older Casetrail and not "
                               "upgraded yet): open it for writing once, then verify again")
        return report
    present = _existing(conn)
    replayed: dict[str, dict[tuple[Any, ...], dict[str, Any] | None]] = {t: {} for t in REPLAYED}
    last_change: dict[tuple[str, tuple[Any, ...]], int] = {}
    findings: dict[int, str] = {}
    first_acq: dict[int, dict[str, Any]] = {}
    last_analysed: dict[int, dict[str, Any]] = {}
    kinds: dict[int, str] = {}
    magics: dict[int, str] = {}
    acquired_items: dict[int, int] = {}
    snapshots: dict[str, tuple[str, int]] = {}
    for e in custody.entries(conn):
        d = e["detail"] if isinstance(e["detail"], dict) else {}
        seq = int(e["seq"])
        if d.get("snapshot") in SNAPSHOTS and "snapshot_sha256" in d:
            snapshots[str(d["snapshot"])] = (str(d["snapshot_sha256"]), seq)
        if e["action"] == "note" and d.get("what") == BASELINE:
            replayed = {t: {} for t in REPLAYED}
            for table, rows in (d.get("tables") or {}).items():
                if table in REPLAYED:
                    for row in rows:
                        k = _key([row.get(c) for c in REPLAYED[table]])
                        replayed[table][k] = row
                        last_change[(table, k)] = seq
            findings = {int(k): str(v) for k, v in (d.get("findings") or {}).items()}
        for change in d.get("state") or []:
            table = change.get("table")
            if table not in REPLAYED:
                report.problems.append(f"custody entry {seq} changes table {table!r}, which this "
                                       "version does not know")
                continue
            k = _key(change.get("key") or [])
            replayed[table][k] = change.get("row")
            last_change[(table, k)] = seq
        item_id = e["item_id"]
        if item_id is None:
            continue
        iid = int(item_id)
        if e["action"] in ("acquired", "derived"):
            first_acq.setdefault(iid, e)
            acquired_items.setdefault(iid, seq)
            if "kind" in d:
                kinds.setdefault(iid, str(d["kind"]))
        elif e["action"] == "analysed":
            last_analysed[iid] = e
            if _status_of(e) == "analysed" and "kind" in d:
                kinds[iid] = str(d["kind"])
            if "magic" in d:
                magics[iid] = str(d["magic"])
        # An analysis (its own or a shared one), or an analyst adding a finding by hand, binds the
        # item's findings anew; a failed analysis leaves them as they were.
        if "findings_sha256" in d and (e["action"] != "analysed" or _status_of(e) == "analysed"):
            findings[iid] = str(d["findings_sha256"])
    # -- items ----------------------------------------------------------------------------
    cur = conn.execute("SELECT * FROM items ORDER BY id")
    names = [c[0] for c in cur.description]
    items = [dict(zip(names, r, strict=True)) for r in cur]
    have = {int(i["id"]) for i in items}
    for iid, seq in sorted(acquired_items.items()):
        if iid not in have:
            report.problems.append(f"item {iid}, acquired in custody entry {seq}, is missing from the "
                                   "items table (its row was deleted)")
    for item in items:
        iid = int(item["id"])
        report.items_checked += 1
        report.problems += _item_problems(item, first_acq.get(iid), last_analysed.get(iid), kinds.get(iid),
                                          magics.get(iid))
    # -- findings ---------------------------------------------------------------------------
    actual = findings_digests(conn)
    for item in items:
        iid = int(item["id"])
        want = findings.get(iid, EMPTY_FINDINGS)
        got = actual.get(iid, EMPTY_FINDINGS)
        if got != want:
            report.problems.append(f"item {iid}: its analysis findings were changed after they were "
                                   "recorded (the SHA-256 of its findings differs from custody)")
    for iid in sorted(set(actual) - have):
        report.problems.append(f"findings for item {iid}, which does not exist, are in the tables")
    # -- snapshots ------------------------------------------------------------------------------
    for name, tables in SNAPSHOTS.items():
        if not all(t in present for t in tables):
            continue
        got = snapshot_digest(conn, name)
        want, written = snapshots.get(name, (EMPTY_SNAPSHOT.get(name, ""), 0))
        if got != want:
            where = (f"the one custody entry {written} recorded" if written
                     else "empty (no snapshot was ever recorded)")
            report.problems.append(f"the {name} snapshot ({', '.join(tables)}) is not {where}: its rows were "
                                   "changed behind the application's back")
        # -- replayed tables ----------------------------------------------------------------------
    for table, expected in replayed.items():
        if table not in present:
            continue
        rows = table_rows(conn, table)
        defaults = _defaults(conn, table)
        for k in sorted(set(expected) | set(rows), key=repr):
            want_row, got_row = expected.get(k), rows.get(k)
            if want_row is not None and got_row is not None:
                # A column a later migration added holds its default in a row recorded before.
                want_row = {**{c: defaults.get(c) for c in got_row if c not in want_row}, **want_row}
            report.rows_checked += 1
            if want_row == got_row:
                continue
            label = f"{table} row {', '.join(map(str, k))}"
            by = last_change.get((table, k))
            if got_row is None:
                report.problems.append(f"{label}, recorded in custody entry {by}, was deleted behind the "
                                       "application's back")
            elif want_row is None:
                why = (f"custody entry {by} deleted it" if by else "no custody entry wrote it")
                report.problems.append(f"{label} is in the table but {why}")
            else:
                diff = sorted(c for c in set(want_row) | set(got_row) if want_row.get(c) != got_row.get(c))
                report.problems.append(f"{label} differs from custody entry {by} in {', '.join(diff)}")
    return report
