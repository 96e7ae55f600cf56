# SPDX-License-Identifier: GPL-3.0-or-later
"""Analysis findings in the case database: emails, hops, media, OCR lines, indicators.

The analysers (``desktop/ingest``) run in a child process and hand back plain data; this module
writes that data, inside the caller's transaction, and reads it back in the shapes the CLI
contract and the window need. Findings of an item are replaced as a whole when it is analysed
again; what was done is in custody, not here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from desktop.core import custody, state, warninglists
from desktop.core.custody import utc_now

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
    conn.execute("UPDATE items SET status = 'analysed', kind = ?, same_as = NULL WHERE id = ?",
                 (kind, item_id))
    if magic:  # libmagic's description, read by the analysis child (issue 13)
        conn.execute("UPDATE items SET magic = ? WHERE id = ?", (magic, item_id))
    digest = state.findings_digests(conn, [item_id])[item_id]
    stored_magic = conn.execute("SELECT magic FROM items WHERE id = ?", (item_id,)).fetchone()[0]
    return custody.append(conn, action="analysed", examiner=examiner, item_id=item_id, sha256=sha256,
                          result="analysed",
                          detail={**(detail or {}), "kind": kind, "findings_sha256": digest,
                                  "magic": stored_magic})


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


def record_email(conn: sqlite3.Connection, item_id: int, mail: dict[str, Any]) -> None:
    """Store one parsed message and its Received hops."""
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
        if text:
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
    cur = conn.execute("INSERT INTO indicators (type, value, first_seen) VALUES (?, ?, ?)",
                       (type_, value, utc_now()))
    return int(cur.lastrowid or 0)


def indicator_ids(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return ids for many (type, value) pairs, adding the new ones, in three statements.

    Measured: one SELECT and one INSERT per indicator made recording a typical email's findings
    cost ~70 statements; batching them made the writer thread about 4x faster.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    now = utc_now()
    conn.executemany("INSERT OR IGNORE INTO indicators (type, value, first_seen) VALUES (?, ?, ?)",
                     [(t, v, now) for t, v in wanted])
    found = conn.execute(
        "SELECT id, type, value, warnings FROM indicators WHERE (type, value) IN "
        "(SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j)",
        (json.dumps(wanted),)).fetchall()
    unchecked = [(int(i), str(t), str(v)) for i, t, v, w in found if w is None]
    if unchecked:
        hits = warninglists.shipped().check_many(unchecked)
        conn.executemany("UPDATE indicators SET warnings = ? WHERE id = ?",
                         [(encode_warnings(hits.get(i, [])), i) for i, _t, _v in unchecked])
    return {(t, v): int(i) for i, t, v, _w in found}


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
    ``offset``, ``time_s``, ``bbox`` [x, y, w, h], ``confidence``, ``frame_item_id``.
    """
    occs = list(occurrences)
    ids = indicator_ids(conn, [(o["type"], o["value"]) for o in occs])
    rows = []
    for occ in occs:
        base = SOURCE_CONFIDENCE.get(occ["source"], 0.5)
        conf = occ.get("confidence")
        bbox = json.dumps(occ["bbox"]) if occ.get("bbox") else None
        rows.append((ids[(occ["type"], occ["value"])], item_id, occ["source"], occ["where"],
                     occ.get("raw"), occ.get("offset"), occ.get("time_s"), bbox,
                     base * float(conf) if conf is not None else base, occ.get("frame_item_id")))
    conn.executemany(
        "INSERT INTO occurrences (indicator_id, item_id, source, where_, raw, offset, time_s, bbox, "
        "confidence, frame_item_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


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
        "SELECT indicator_id, item_id, source, where_, time_s, bbox, confidence, raw, offset, frame_item_id "
        "FROM occurrences ORDER BY indicator_id, item_id, COALESCE(time_s, 0), COALESCE(offset, 0), id")
    for ind_id, item_id, source, where, time_s, bbox, conf, raw, offset, frame in rows:
        target = out.get(int(ind_id))
        if target is None:
            continue
        occ: dict[str, Any] = {"item_id": item_id, "source": source, "where": where,
                               "confidence": round(float(conf), 3)}
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
        "confidence, frame_item_id) SELECT indicator_id, ?, source, where_, raw, offset, time_s, bbox, "
        "confidence, frame_item_id FROM occurrences WHERE item_id = ? AND source != 'analyst' ORDER BY id",
        (item_id, owner_id))
    return int(cur.rowcount)


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
