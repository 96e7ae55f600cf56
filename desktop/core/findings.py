# SPDX-License-Identifier: GPL-3.0-or-later
"""Analysis findings in the case database: emails, hops, media, OCR lines, indicators.

The analysers (``desktop/ingest``) run in a child process and hand back plain data; this module
writes that data, inside the caller's transaction, and reads it back in the shapes the CLI
contract and the window need. Findings of an item are replaced as a whole when it is analysed
again; what was done is in custody, not here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from desktop.core import custody, limits, state, warninglists
from desktop.core.confusables import skeleton
from desktop.core.custody import utc_now
from desktop.core.indicator_order import sort_key

# How much an occurrence is worth by where it was read (DESIGN §5: parsed header > body > OCR).
SOURCE_CONFIDENCE = {"analyst": 1.0, "header": 0.9, "attachment": 0.9, "metadata": 0.8,
                     "body": 0.7, "ocr": 0.5}
_FINDING_TABLES = ("emails", "hops", "media", "ocr_lines", "occurrences")


def mark_analysed(conn: sqlite3.Connection, *, examiner: str, item_id: int, sha256: str, kind: str,
                  detail: dict[str, Any] | None = None, magic: str | None = None) -> dict[str, Any]:
    """Set an item analysed and record it, with the SHA-256 of its findings, in custody.

    Call it after the item's findings are written, in the same transaction: ``verify``
    recomputes the findings hash (``desktop.core.state``), so a finding edited later is named.
    ``magic`` (libmagic's description, when the analysis read it) is stored and recorded too.

    Returns:
        The custody entry.
    """
    return mark_analysed_many(conn, examiner=examiner,
                              items=[Analysed(item_id, sha256, kind, detail or {}, magic)])[0]


@dataclass(frozen=True)
class Analysed:
    """One item whose findings are written, to be marked analysed (:func:`mark_analysed_many`).

    Attributes:
        item_id: the item.
        sha256: its content hash (recorded in the entry).
        kind: the kind the analysis found.
        detail: facts for its custody entry (summary, occurrence count, derived items …).
        magic: libmagic's description when the analysis read it (stored and recorded).
    """

    item_id: int
    sha256: str
    kind: str
    detail: dict[str, Any]
    magic: str | None = None


_IN_CHUNK = 500  # item ids per ``IN (...)`` list


def mark_analysed_many(conn: sqlite3.Connection, *, examiner: str,
                       items: list[Analysed]) -> list[dict[str, Any]]:
    """Set many items analysed, each with its own ``analysed`` entry binding its findings hash.

    The entries are exactly those :func:`mark_analysed` would write one item at a time (each binds
    the digest ``verify`` recomputes from the tables), in the order given; the statements are
    shared: one status update for all, one read of the findings of all the items
    (:func:`desktop.core.state.findings_digests`), one insert of all the entries. Measured on a
    folder of e-mails: about five statements per item were a tenth of the writer's time.
    Call it after all their findings are written, in the same transaction.

    Returns:
        The custody entries, in the order of ``items``.
    """
    if not items:
        return []
    conn.executemany("UPDATE items SET status = 'analysed', kind = ?, same_as = NULL WHERE id = ?",
                     [(a.kind, a.item_id) for a in items])
    # libmagic's description, read by the analysis child (issue 13)
    conn.executemany("UPDATE items SET magic = ? WHERE id = ?",
                     [(a.magic, a.item_id) for a in items if a.magic])
    ids = [a.item_id for a in items]
    digests = state.findings_digests(conn, ids)
    stored_magic: dict[int, Any] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        stored_magic.update((int(i), m) for i, m in conn.execute(
            f"SELECT id, magic FROM items WHERE id IN ({', '.join('?' * len(chunk))})", chunk))  # noqa: S608
    return custody.append_many(conn, [
        custody.Pending(action="analysed", examiner=examiner, item_id=a.item_id, sha256=a.sha256,
                        result="analysed",
                        detail={**a.detail, "kind": a.kind, "findings_sha256": digests[a.item_id],
                                "magic": stored_magic.get(a.item_id)})
        for a in items])


def clear_item(conn: sqlite3.Connection, item_id: int) -> None:
    """Remove an item's machine findings before it is analysed again (analyst entries stay)."""
    for table in _FINDING_TABLES:
        extra = " AND source != 'analyst'" if table == "occurrences" else ""
        conn.execute(f"DELETE FROM {table} WHERE item_id = ?{extra}", (item_id,))  # noqa: S608
    conn.execute("DELETE FROM text_index WHERE item_id = ?", (item_id,))


def _addresses(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def record_email(conn: sqlite3.Connection, item_id: int, mail: dict[str, Any], *,
                 index_bodies: bool = True) -> None:
    """Store one parsed message and its Received hops.

    Args:
        conn: the writer's connection, inside its transaction.
        item_id: the message's item.
        mail: the parsed message (``ParsedEmail.to_dict()``, bounded by the analysis).
        index_bodies: also index the bodies stored here for search; the pipeline passes False
            because the analysis hands the whole bodies to the index in pieces of their own.
    """
    auth = mail.get("auth") or {}
    keep = {k: v for k, v in mail.items()
            if k not in ("headers", "flags", "auth", "hops", "text_body", "html_body", "attachments")}
    conn.execute(
        "INSERT INTO emails (item_id, from_name, from_addr, sender, reply_to, return_path, to_addrs, "
        "cc_addrs, date_raw, date_utc, subject, message_id, message_id_domain, x_mailer, user_agent, "
        "spf, dkim, dmarc, origin_ip, origin_host, headers, flags, auth, detail, text_body, html_body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, mail.get("from_name"), mail.get("from_addr"), _addresses(mail.get("sender")),
         _addresses(mail.get("reply_to")), mail.get("return_path"), _addresses(mail.get("to")),
         _addresses(mail.get("cc")), mail.get("date_raw"), mail.get("date_utc"), mail.get("subject"),
         mail.get("message_id"), mail.get("message_id_domain"), mail.get("x_mailer"),
         mail.get("user_agent"), auth.get("spf"), auth.get("dkim"), auth.get("dmarc"),
         mail.get("origin_ip"), mail.get("origin_host"),
         json.dumps(mail.get("headers") or [], ensure_ascii=False),
         json.dumps(mail.get("flags") or [], ensure_ascii=False),
         json.dumps(auth, ensure_ascii=False), json.dumps(keep, ensure_ascii=False, default=str),
         mail.get("text_body"), mail.get("html_body")))
    origin = mail.get("origin_index")
    for hop in mail.get("hops") or []:
        conn.execute(
            "INSERT INTO hops (item_id, idx, from_host, from_rdns, from_ip, by_host, protocol, smtp_id, "
            "for_addr, time_utc, time_raw, delay_s, flags, is_origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, hop.get("index"), hop.get("from_host"), hop.get("from_rdns"), hop.get("from_ip"),
             hop.get("by_host"), hop.get("protocol"), hop.get("id"), hop.get("for_addr"),
             hop.get("time_utc"), hop.get("time_raw"), hop.get("delay_s"),
             json.dumps(hop.get("flags") or []), int(origin is not None and hop.get("index") == origin)))
    for part, text in (("body:text", mail.get("text_body")), ("body:html", mail.get("html_body")),
                       ("subject", mail.get("subject"))):
        if text and (index_bodies or part == "subject"):
            conn.execute("INSERT INTO text_index (item_id, part, text) VALUES (?, ?, ?)",
                         (item_id, part, text))


def record_media(conn: sqlite3.Connection, item_id: int, kind: str, detail: dict[str, Any]) -> None:
    """Store the metadata of an image or video."""
    conn.execute("INSERT INTO media (item_id, kind, detail) VALUES (?, ?, ?)",
                 (item_id, kind, json.dumps(detail, ensure_ascii=False, default=str)))


def record_ocr_lines(conn: sqlite3.Connection, item_id: int, lines: Iterable[dict[str, Any]]) -> None:
    """Store every OCR line (text, confidence, time, box) and index its text for search."""
    texts = []
    for line in lines:
        x, y, w, h = (int(v) for v in line["box"])
        conn.execute(
            "INSERT INTO ocr_lines (item_id, time_s, frame_index, text, confidence, x, y, w, h) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, line.get("time_s"), line.get("frame_index"), line["text"],
             float(line.get("confidence", 0.0)), x, y, w, h))
        texts.append(line["text"])
    if texts:
        conn.execute("INSERT INTO text_index (item_id, part, text) VALUES (?, 'ocr', ?)",
                     (item_id, "\n".join(texts)))


def record_text(conn: sqlite3.Connection, item_id: int, part: str, text: str) -> None:
    """Index a text for full-text search."""
    conn.execute("INSERT INTO text_index (item_id, part, text) VALUES (?, ?, ?)", (item_id, part, text))


@dataclass(frozen=True)
class TextHit:
    """One indexed text that matches a search.

    Attributes:
        item_id: the item the text belongs to.
        part: which text: ``body:text``, ``body:html``, ``subject``, ``ocr``, ``text``.
        snippet: the matching passage, the words found between ``«`` and ``»``.
    """

    item_id: int
    part: str
    snippet: str


def search_text(conn: sqlite3.Connection, query: str, limit: int = 200) -> list[TextHit]:
    """Search bodies, subjects, text files and OCR text; best matches first.

    Every word the analyst types must occur (in any order); each is searched as a literal phrase,
    so evidence-like input (``185.141.63.120``, ``C:``, ``-rf``, quotes) never reaches the FTS5
    query language as syntax.
    """
    words = query.split()
    if not words:
        return []
    match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    rows = conn.execute(
        "SELECT item_id, part, snippet(text_index, 2, '«', '»', '…', 16) FROM text_index "
        "WHERE text_index MATCH ? ORDER BY rank LIMIT ?", (match, limit)).fetchall()
    return [TextHit(int(i), str(p), str(snip)) for i, p, snip in rows]


def indicator_id(conn: sqlite3.Connection, type_: str, value: str) -> int:
    """Return the id of an indicator, adding it the first time it is seen in the case."""
    row = conn.execute("SELECT id FROM indicators WHERE type = ? AND value = ?", (type_, value)).fetchone()
    if row:
        return int(row[0])
    cur = conn.execute("INSERT INTO indicators (type, value, first_seen, sort_key, skeleton) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (type_, value, utc_now(), sort_key(type_, value), skeleton(value)))
    return int(cur.lastrowid or 0)


def indicator_ids(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return ids for many (type, value) pairs, adding the new ones, in three statements.

    Measured: one SELECT and one INSERT per indicator made recording a typical email's findings
    cost ~70 statements; batching them made the writer thread about 4x faster.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    # The indicators the case holds already are read first: only new ones need their sort key and
    # confusable skeleton (the skeleton was ~1 ms of the writer's CPU a message when computed for
    # every key). New ones are inserted in the order given, so they get the ids they always got.
    found = _indicator_rows(conn, wanted)
    known = {(t, v) for _i, t, v, _w in found}
    missing = [(t, v) for t, v in wanted if (t, v) not in known]
    if missing:
        now = utc_now()
        conn.executemany("INSERT OR IGNORE INTO indicators (type, value, first_seen, sort_key, skeleton) "
                         "VALUES (?, ?, ?, ?, ?)",
                         [(t, v, now, sort_key(t, v), skeleton(v)) for t, v in missing])
        found += _indicator_rows(conn, missing)
    unchecked = [(int(i), str(t), str(v)) for i, t, v, w in found if w is None]
    if unchecked:
        hits = warninglists.shipped().check_many(unchecked)
        conn.executemany("UPDATE indicators SET warnings = ? WHERE id = ?",
                         [(encode_warnings(hits.get(i, [])), i) for i, _t, _v in unchecked])
    return {(t, v): int(i) for i, t, v, _w in found}


def _indicator_rows(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> list[Any]:
    """``(id, type, value, warnings)`` of the indicators among ``keys`` that the case holds."""
    return conn.execute(
        "SELECT id, type, value, warnings FROM indicators WHERE (type, value) IN "
        "(SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j)",
        (json.dumps(keys),)).fetchall()


def encode_warnings(hits: list[warninglists.WarningHit]) -> str:
    """The stored form of an indicator's warninglist hits."""
    return json.dumps([[h.list_id, h.name, h.description] for h in hits], ensure_ascii=False)


def decode_warnings(stored: str) -> list[warninglists.WarningHit]:
    """The warninglist hits stored with an indicator."""
    return [warninglists.WarningHit(name, description, list_id)
            for list_id, name, description in json.loads(stored)]


def record_occurrences(conn: sqlite3.Connection, item_id: int, occurrences: Iterable[dict[str, Any]]) -> int:
    """Store where each indicator was found; return how many occurrences were stored.

    Each occurrence: ``type``, ``value`` (normalised), ``source``, ``where`` and optionally ``raw``,
    ``offset``, ``time_s``, ``bbox`` [x, y, w, h], ``confidence``, ``frame_item_id``; OCR occurrences
    also ``status``, ``frames_agree``, ``reads``, ``alternatives`` and ``enhanced_item_id``/``recipe``.

    An OCR reading that differs from an indicator already in the case only by confusable characters
    (``f1-voter.org`` where a header said ``fl-voter.org``) is recorded as ``uncertain`` with that
    indicator among its alternatives: a misread must not become a second, certain lead.

    They are written :data:`limits.SPOOL_BATCH` at a time, so an item with very many occurrences
    (read back from an analysis spool) costs the writer one batch of memory, not all of them.
    """
    writer = OccurrenceWriter(conn)
    count = writer.add(item_id, occurrences)
    writer.flush()
    return count


class OccurrenceWriter:
    """Occurrences of many items, written together: one look-up of their indicators, one insert.

    The writer of a batch of analyses adds each item's occurrences and flushes once: the
    indicators the messages of a batch share are looked up and checked against the warninglists
    once, and every occurrence row goes in one ``executemany`` (one item at a time, the three
    statements per item of :func:`indicator_ids` were a fifth of the writer's time on e-mail).
    At most :data:`limits.SPOOL_BATCH` occurrences are held. OCR readings are written as soon as
    they are added, after what is held: their confusable-twin check must see every occurrence
    recorded before them.

    Args:
        conn: the writer's connection, inside its transaction.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._held: list[tuple[int, dict[str, Any]]] = []

    def add(self, item_id: int, occurrences: Iterable[dict[str, Any]]) -> int:
        """Hold (or write) an item's occurrences; return how many there were."""
        count = 0
        it = iter(occurrences)
        while batch := list(islice(it, limits.SPOOL_BATCH)):
            count += len(batch)
            if any(o["source"] == "ocr" for o in batch):
                self.flush()
                _record_occurrence_batch(self._conn, item_id, batch)
                continue
            self._held += [(item_id, o) for o in batch]
            if len(self._held) >= limits.SPOOL_BATCH:
                self.flush()
        return count

    def flush(self) -> None:
        """Write every occurrence held."""
        held, self._held = self._held, []
        if held:
            _write_occurrences(self._conn, held)


def _record_occurrence_batch(conn: sqlite3.Connection, item_id: int, occs: list[dict[str, Any]]) -> int:
    ocr = [o for o in occs if o["source"] == "ocr"]
    if ocr:
        _check_confusable_twins(conn, item_id, ocr)
    _write_occurrences(conn, [(item_id, o) for o in occs])
    return len(occs)


def _write_occurrences(conn: sqlite3.Connection, occs: list[tuple[int, dict[str, Any]]]) -> None:
    """Insert occurrences of one or many items (``(item id, occurrence)``), indicators looked up once."""
    ids = indicator_ids(conn, [(o["type"], o["value"]) for _i, o in occs])
    rows = []
    for item_id, occ in occs:
        base = SOURCE_CONFIDENCE.get(occ["source"], 0.5)
        conf = occ.get("confidence")
        bbox = json.dumps(occ["bbox"]) if occ.get("bbox") else None
        status = occ.get("status") if occ["source"] == "ocr" else None
        detail = None
        if occ["source"] == "ocr":
            status = status if status in OCR_STATUSES else "uncertain"
            detail = json.dumps({"confidence": round(float(conf), 4) if conf is not None else None,
                                 "alternatives": list(occ.get("alternatives") or []),
                                 **({"recipe": occ["recipe"]} if occ.get("recipe") else {}),
                                 **({"doubt": occ["doubt"]} if occ.get("doubt") else {}),
                                 **({"frame_time_s": occ["frame_time_s"]}
                                    if occ.get("frame_time_s") is not None else {})},
                                ensure_ascii=False)
        rows.append((ids[(occ["type"], occ["value"])], item_id, occ["source"], occ["where"],
                     occ.get("raw"), occ.get("offset"), occ.get("time_s"), bbox,
                     base * float(conf) if conf is not None else base, occ.get("frame_item_id"),
                     status, occ.get("frames_agree"), occ.get("reads"), detail, occ.get("enhanced_item_id")))
    _insert_counted(conn, rows)


_INSERT_OCCURRENCE = (
    "INSERT INTO occurrences (indicator_id, item_id, source, where_, raw, offset, time_s, bbox, "
    "confidence, frame_item_id, status, frames_agree, reads, ocr_detail, enhanced_item_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
# What the ``occurrences_counted`` trigger adds row by row, added once per indicator for every
# occurrence above id ?1 (the batch just inserted): an item counts in ``n_items`` when no
# occurrence of the indicator in it was there before the batch (id <= ?1), once however many the
# batch holds — exactly the sum of the trigger's increments in insertion order.
_COUNT_BATCH = """
UPDATE indicators SET
    n_occurrences = n_occurrences + b.add_occurrences,
    n_items = n_items + b.add_items,
    n_header = n_header + b.add_header,
    n_body = n_body + b.add_body,
    n_attachment = n_attachment + b.add_attachment,
    n_metadata = n_metadata + b.add_metadata,
    n_ocr = n_ocr + b.add_ocr,
    n_analyst = n_analyst + b.add_analyst
FROM (SELECT n.indicator_id, COUNT(*) AS add_occurrences,
        COUNT(DISTINCT CASE WHEN NOT EXISTS (SELECT 1 FROM occurrences o
            WHERE o.indicator_id = n.indicator_id AND o.item_id = n.item_id AND o.id <= ?1)
            THEN n.item_id END) AS add_items,
        SUM(n.source = 'header') AS add_header, SUM(n.source = 'body') AS add_body,
        SUM(n.source = 'attachment') AS add_attachment, SUM(n.source = 'metadata') AS add_metadata,
        SUM(n.source = 'ocr') AS add_ocr, SUM(n.source = 'analyst') AS add_analyst
    FROM occurrences n WHERE n.id > ?1 GROUP BY n.indicator_id) AS b
WHERE indicators.id = b.indicator_id
"""


def _insert_counted(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert occurrence rows and count them once per indicator instead of once per row (schema 15).

    Measured (issue 13): the per-row trigger moved a much-seen indicator in the two count indexes
    for every row, 85-95 us of CPU a row against 20-27 us without it. Here the trigger stands down
    (``occurrence_counting.bulk`` = 1) while the rows go in, then one UPDATE adds what it would
    have added. All of it is one savepoint: an error rolls back the rows, the counts and the flag
    together, and the flag is 0 again before anything can commit. When the flag's row is missing
    the trigger counts (its ``IS NOT 1``) and so nothing is added here.
    """
    if not rows:
        return
    conn.execute("SAVEPOINT occurrence_batch")
    try:
        bulk = conn.execute("UPDATE occurrence_counting SET bulk = 1 WHERE id = 1").rowcount == 1
        before = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM occurrences").fetchone()[0])
        conn.executemany(_INSERT_OCCURRENCE, rows)
        if bulk:
            conn.execute(_COUNT_BATCH, (before,))
            conn.execute("UPDATE occurrence_counting SET bulk = 0 WHERE id = 1")
    except BaseException:
        # After a fatal error SQLite has rolled back the whole transaction (no savepoint left).
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK TO occurrence_batch")
            conn.execute("RELEASE occurrence_batch")
        raise
    conn.execute("RELEASE occurrence_batch")


OCR_STATUSES = ("certain", "uncertain", "enhanced")


def _check_confusable_twins(conn: sqlite3.Connection, item_id: int, ocr: list[dict[str, Any]]) -> None:
    """Marks OCR readings that are confusable twins of indicators the case already holds.

    Each reading is looked up by its type and skeleton (index ``indicators_by_skeleton``, migration
    14), and only the indicators found are checked for an occurrence that counts: the cost grows
    with the readings, not with the size of the case.
    """
    known: dict[tuple[str, str], list[str]] = {}
    for key in sorted({(str(o["type"]), skeleton(str(o["value"]))) for o in ocr}):
        known[key] = [str(v) for (v,) in conn.execute(
            "SELECT i.value FROM indicators i WHERE i.type = ? AND i.skeleton = ? AND EXISTS ("
            "SELECT 1 FROM occurrences o WHERE o.indicator_id = i.id "
            "AND NOT (o.item_id = ? AND o.source = 'ocr') "
            "AND COALESCE(o.status, 'certain') != 'uncertain') ORDER BY i.id", (*key, item_id))]
    for occ in ocr:
        found = known.get((occ["type"], skeleton(occ["value"])), [])
        twins = [v for v in found if v != occ["value"]]
        same = occ["value"] in found
        if twins and not same:
            if occ.get("status") != "uncertain":
                occ["where"] = f"{occ['where']} (uncertain reading: confusable with {', '.join(twins)})"
            occ["status"] = "uncertain"
            occ["alternatives"] = sorted({*(occ.get("alternatives") or []), *twins})


def list_indicators(conn: sqlite3.Connection, type_: str | None = None) -> list[dict[str, Any]]:
    """Return the case's indicators in the ``indicators --json`` contract shape."""
    sql = "SELECT id, type, value FROM indicators"
    args: tuple[Any, ...] = ()
    if type_:
        sql += " WHERE type = ?"
        args = (type_,)
    out: dict[int, dict[str, Any]] = {}
    for ind_id, t, v in conn.execute(sql + " ORDER BY type, value", args):
        out[int(ind_id)] = {"type": t, "value": v, "tags": [], "occurrences": [], "matches": []}
    if not out:
        return []
    rows = conn.execute(
        "SELECT indicator_id, item_id, source, where_, time_s, bbox, confidence, raw, offset, frame_item_id, "
        "status, frames_agree, reads, ocr_detail, enhanced_item_id "
        "FROM occurrences ORDER BY indicator_id, item_id, COALESCE(time_s, 0), COALESCE(offset, 0), id")
    for (ind_id, item_id, source, where, time_s, bbox, conf, raw, offset, frame, status, agree, reads, detail,
         enhanced) in rows:
        target = out.get(int(ind_id))
        if target is None:
            continue
        occ: dict[str, Any] = {"item_id": item_id, "source": source, "where": where,
                               "confidence": round(float(conf), 3)}
        if source == "ocr":
            occ.update(_ocr_fields(status, agree, reads, detail, enhanced))
        if time_s is not None:
            occ["time_s"] = time_s
        if bbox:
            occ["bbox"] = json.loads(bbox)
        if raw is not None and raw != target["value"]:
            occ["raw"] = raw
        if offset is not None:
            occ["offset"] = offset
        if frame is not None:
            occ["frame_item_id"] = frame
        target["occurrences"].append(occ)
    for row in out.values():
        if row["occurrences"] and all(o.get("status") == "uncertain" for o in row["occurrences"]):
            row["uncertain"] = True
    return [v for v in out.values() if v["occurrences"]]


def analysis_owner(conn: sqlite3.Connection, item_id: int) -> int:
    """The item whose findings describe ``item_id``'s content (itself, or the one it is the same as)."""
    row = conn.execute("SELECT same_as FROM items WHERE id = ?", (item_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else item_id


def share_analysis(conn: sqlite3.Connection, item_id: int, owner_id: int) -> int:
    """Let an item share the analysis of another with the same content; return its occurrence count.

    The item's own machine occurrences are replaced by copies of the owner's (an indicator records
    every item it occurs in); frames and other exhibits stay the owner's (``frame_item_id``).
    """
    conn.execute("DELETE FROM occurrences WHERE item_id = ? AND source != 'analyst'", (item_id,))
    cur = conn.execute(
        "INSERT INTO occurrences (indicator_id, item_id, source, where_, raw, offset, time_s, bbox, "
        "confidence, frame_item_id, status, frames_agree, reads, ocr_detail, enhanced_item_id) "
        "SELECT indicator_id, ?, source, where_, raw, offset, time_s, bbox, confidence, frame_item_id, "
        "status, frames_agree, reads, ocr_detail, enhanced_item_id "
        "FROM occurrences WHERE item_id = ? AND source != 'analyst' ORDER BY id",
        (item_id, owner_id))
    return int(cur.rowcount)


def _ocr_fields(status: str | None, agree: int | None, reads: int | None, detail: str | None,
                enhanced: int | None) -> dict[str, Any]:
    """The status, confidence, agreement and alternatives of one OCR occurrence (issue 14).

    Readings recorded before statuses existed were never checked across frames: uncertain.
    """
    extra: dict[str, Any] = json.loads(detail) if detail else {}
    out: dict[str, Any] = {"status": status or "uncertain", "frames_agree": int(agree or 1),
                           "reads": int(reads or 1)}
    if extra.get("confidence") is not None:
        out["confidence"] = float(extra["confidence"])
    if extra.get("alternatives"):
        out["alternatives"] = list(extra["alternatives"])
    if enhanced is not None:
        out["enhanced_item_id"] = enhanced
    if extra.get("recipe"):
        out["recipe"] = extra["recipe"]
    return out


def email_of(conn: sqlite3.Connection, item_id: int) -> dict[str, Any] | None:
    """Return the stored message of an item (or of the item it shares its analysis with), or None."""
    item_id = analysis_owner(conn, item_id)
    cur = conn.execute("SELECT * FROM emails WHERE item_id = ?", (item_id,))
    row = cur.fetchone()
    if row is None:
        return None
    mail = dict(zip([d[0] for d in cur.description], row, strict=True))
    for key in ("headers", "flags", "auth", "detail"):
        mail[key] = json.loads(mail[key])
    cur = conn.execute("SELECT * FROM hops WHERE item_id = ? ORDER BY idx", (item_id,))
    cols = [d[0] for d in cur.description]
    mail["hops"] = [dict(zip(cols, r, strict=True)) for r in cur]
    for hop in mail["hops"]:
        hop["flags"] = json.loads(hop["flags"])
    return mail


@dataclass(frozen=True)
class EnhancedImageRow:
    """An enhanced image derived from a video or screenshot, as the window lists it.

    Attributes:
        item_id: the enhanced image's own item.
        parent_id: the video or screenshot it was made from.
        time_s: the frame time (None for a screenshot).
        box: the region of the original it enhances, ``(x, y, w, h)``.
        recipe: the steps applied, in words.
        read_as: what was read on it.
        marked_by: the examiner who marked the region, or "" when analysis found it weak or faint.
    """

    item_id: int
    parent_id: int
    time_s: float | None
    box: tuple[int, int, int, int]
    recipe: str
    read_as: tuple[str, ...]
    marked_by: str = ""


def enhanced_images(conn: sqlite3.Connection, parent_id: int) -> list[EnhancedImageRow]:
    """The enhanced images made from an item, from the custody entries that acquired them."""
    rows = conn.execute(
        "SELECT i.id, c.detail FROM items i JOIN custody c ON c.item_id = i.id AND c.action = 'derived' "
        "WHERE i.parent_id = ? AND i.derived_how = 'enhanced image' ORDER BY i.id", (parent_id,)).fetchall()
    out: list[EnhancedImageRow] = []
    for item_id, stored in rows:
        entry = json.loads(stored) if stored else {}
        detail = entry.get("detail", entry) if isinstance(entry, dict) else {}
        if not isinstance(detail, dict) or "recipe" not in detail:
            continue
        box = detail.get("box") or [0, 0, 0, 0]
        read = detail.get("read_as") or []
        read_as = tuple(str(r) for r in read) if isinstance(read, list) else (str(read),)
        time_s = detail.get("time_s")
        when = float(time_s) if time_s is not None else None
        x, y, w, h = (int(v) for v in box[:4])
        out.append(EnhancedImageRow(int(item_id), parent_id, when, (x, y, w, h), str(detail["recipe"]),
                                    read_as, str(detail.get("marked_by") or "")))
    return out


@dataclass(frozen=True)
class OcrFinding:
    """An indicator read by OCR on an item, as the window marks the line it was read on.

    Attributes:
        value: the indicator's value.
        status: ``certain``, ``uncertain`` or ``enhanced``.
        frame_time_s: time of the frame whose reading it rests on (the OCR line's time).
        time_s: first time its complete value was visible.
        box: the line's box in that frame.
        confidence: the reading's confidence.
        frames_agree: how many reads agree.
        reads: how many reads were made.
        alternatives: other values read at the same place.
        enhanced_item_id: the enhanced image it was read on, if any.
    """

    value: str
    status: str
    frame_time_s: float | None
    time_s: float | None
    box: tuple[int, ...]
    confidence: float
    frames_agree: int
    reads: int
    alternatives: tuple[str, ...] = ()
    enhanced_item_id: int | None = None


def ocr_findings(conn: sqlite3.Connection, item_id: int) -> list[OcrFinding]:
    """Every OCR occurrence of an item with its status (what the OCR hits list marks)."""
    rows = conn.execute(
        "SELECT i.value, o.status, o.time_s, o.bbox, o.confidence, o.frames_agree, o.reads, o.ocr_detail, "
        "o.enhanced_item_id FROM occurrences o JOIN indicators i ON i.id = o.indicator_id "
        "WHERE o.item_id = ? AND o.source = 'ocr' AND o.bbox IS NOT NULL ORDER BY o.time_s, o.id",
        (item_id,)).fetchall()
    out = []
    for value, status, time_s, bbox, conf, agree, reads, detail, enhanced in rows:
        extra = json.loads(detail) if detail else {}
        frame_t = extra.get("frame_time_s", time_s)
        reading_conf = extra.get("confidence")
        out.append(OcrFinding(str(value), str(status or "uncertain"), frame_t, time_s,
                              tuple(int(v) for v in json.loads(bbox)),
                              float(reading_conf if reading_conf is not None else conf),
                              int(agree or 1), int(reads or 1), tuple(extra.get("alternatives") or ()),
                              enhanced))
    return out


ANALYST_WHERE = "region selected by analyst"


def record_analyst_reading(conn: sqlite3.Connection, *, examiner: str, item_id: int, type_: str, value: str,
                           bbox: list[int], time_s: float | None, note: str = "") -> dict[str, Any]:
    """Record what an analyst read in a region of a picture as an occurrence, with a custody note.

    Call it inside the case's transaction: the occurrence and its entry (which binds the item's
    new findings digest, issue 11) are written together or not at all.

    Returns:
        The custody entry.
    """
    occurrence: dict[str, Any] = {"type": type_, "value": value, "source": "analyst", "where": ANALYST_WHERE,
                                  "bbox": list(bbox)}
    if time_s is not None:
        occurrence["time_s"] = round(time_s, 3)
    record_occurrences(conn, item_id, [occurrence])
    return custody.append(conn, action="note", examiner=examiner, item_id=item_id,
                          result="indicator recorded by the analyst",
                          detail={"what": "indicator recorded from a selected region", "type": type_,
                                  "value": value, "bbox": list(bbox), "time_s": occurrence.get("time_s"),
                                  "note": note,
                                  "findings_sha256": state.findings_digests(conn, [item_id])[item_id]})
