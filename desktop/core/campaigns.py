# SPDX-License-Identifier: GPL-3.0-or-later
"""Campaigns: messages of a case that belong together, and what each group shares.

Messages are linked when any of these holds (then grouped transitively, union-find):
- their bodies are near-identical once the parts that vary per recipient are normalised away —
  URLs, e-mail addresses, numbers and the recipient's own names become placeholders — measured
  as the Jaccard similarity of word 3-shingles, estimated by MinHash and found by LSH (datasketch)
  so that 50,000 messages are compared without 50,000² pairs;
- they carry an attachment with the same SHA-256;
- they share at least two pieces of sending infrastructure (origin IP, HELO name, Message-ID
  domain, X-Mailer, DKIM ``d=``), or one of them and a URL. A value that more than a quarter of
  the case's messages share (a big provider's Message-ID domain, a common mailer) links nothing
  by itself, nor does a URL on a warninglist.
A campaign is a group of two or more messages. Grouping reads only the findings of the case, uses
fixed MinHash seeds and item-id order, and is therefore deterministic: the same case gives the
same groups. A campaign's id is ``C`` and its earliest item id, so it stays the same as the
campaign grows. :func:`refresh` stores the groups and records them in custody when they change;
tags on a campaign are recorded in custody with their full value.

This module never parses evidence (it reads the ``emails`` findings) and never imports Qt.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from desktop.core import custody, state, timestamps
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.tags import parse_tag

NUM_PERM = 128
BODY_THRESHOLD = 0.5  # estimated Jaccard of normalised 3-shingles that links two bodies
MIN_SHINGLES = 8  # a body shorter than this links nothing by its text
MAX_BODY = 64 << 10  # characters of a body that are compared (a template is in its first pages)
COMMON_SHARE = 0.25  # an infrastructure value shared by more of the case than this links nothing
_SEED = 1
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_URL = re.compile(r"(?:hxxps?|https?|ftp)(?:\[:\]|:)//\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_INFRA = ("origin_ip", "helo", "message_id_domain", "x_mailer", "dkim_d")
INFRA_LABELS = {"origin_ip": "Origin IP", "helo": "HELO name", "message_id_domain": "Message-ID domain",
                "x_mailer": "X-Mailer", "dkim_d": "DKIM d="}
_HISTOGRAM_BINS = 24
_LSH_BANDS = (25, 5)


class CampaignJson(TypedDict):
    """One campaign in the ``campaigns --json`` shape (DESIGN §7)."""

    id: str
    size: int
    items: list[int]
    first_seen: str | None
    last_seen: str | None
    constant: dict[str, Any]
    varying: dict[str, Any]
    indicators: list[dict[str, str]]


@dataclass
class _Message:
    item_id: int
    analysis_id: int
    date: datetime | None
    subject: str
    from_addr: str
    from_name: str
    recipients: list[str]
    names: list[str]
    template: str  # the first words of the normalised body (the body itself is not kept)
    signature: Any = None  # its MinHash, None when it is too short to link anything
    infra: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)  # sha256 -> name
    urls: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Campaign:
    """A group of two or more messages and what they share.

    Attributes:
        id: ``C<earliest item id>``.
        items: member item ids in order.
        first_seen, last_seen: earliest and latest send time (ISO 8601 UTC), when known.
        constant: what every member shares (template, sender, infrastructure, attachments).
        varying: what differs (recipients, subjects, names, senders) and the send-time histogram.
        indicators: the indicators found in the members, ``{"type", "value"}``.
        links: why members were grouped: counts of ``body``, ``attachment``, ``infrastructure``.
    """

    id: str
    items: list[int]
    first_seen: str | None
    last_seen: str | None
    constant: dict[str, Any]
    varying: dict[str, Any]
    indicators: list[dict[str, str]]
    links: dict[str, int]

    def to_json(self) -> CampaignJson:
        """The CLI contract's shape."""
        return {"id": self.id, "size": len(self.items), "items": list(self.items),
                "first_seen": self.first_seen, "last_seen": self.last_seen,
                "constant": self.constant, "varying": self.varying, "indicators": self.indicators}


@dataclass(frozen=True)
class CampaignChange:
    """What :func:`refresh` did: the campaigns now, and whether they changed (and were recorded)."""

    campaigns: list[Campaign]
    changed: bool
    fingerprint: str


# ------------------------------------------------------------------------------------ reading

def _parse_time(value: str | None) -> datetime | None:
    return timestamps.parse(value)  # the one reading of a time (desktop.core.timestamps)


def _load(conn: sqlite3.Connection, sign: Callable[[list[str]], Any]) -> list[_Message]:
    """Every message of the case (items with a parsed message, own or shared), in id order.

    Each body is normalised and signed as it is read and then dropped, so 50,000 messages hold
    50,000 signatures in memory, not 50,000 bodies.
    """
    # A campaign sends one body to many people: once its names and numbers are normalised away the
    # tokens, and so the signature, are the same for most of its messages. Both are kept per
    # distinct (body, names, recipients) and per distinct token list, and shared: the same values,
    # computed once (measured: signing and normalising were most of the grouping's CPU time).
    seen_input: dict[bytes, tuple[str, Any]] = {}
    seen_tokens: dict[bytes, Any] = {}

    def read(body: str, personal: list[str], recipients: list[str]) -> tuple[str, Any]:
        key = hashlib.sha256(json.dumps([body, personal, recipients]).encode()).digest()  # unambiguous
        known = seen_input.get(key)
        if known is None:
            tokens = normalise_body(body, personal, recipients)
            tkey = hashlib.sha256(" ".join(tokens).encode("utf-8", "surrogatepass")).digest()
            if tkey not in seen_tokens:
                seen_tokens[tkey] = sign(tokens)
            known = seen_input[key] = (" ".join(tokens[:60]), seen_tokens[tkey])
        return known

    rows = conn.execute(
        "SELECT i.id, COALESCE(i.same_as, i.id), e.date_utc, e.subject, e.from_addr, e.from_name, "
        "e.text_body, e.html_body, e.origin_ip, e.message_id_domain, e.x_mailer, "
        "e.detail FROM items i JOIN emails e ON e.item_id = COALESCE(i.same_as, i.id) ORDER BY i.id")
    messages: list[_Message] = []
    for (item_id, owner, date, subject, from_addr, from_name, text, html_body, origin_ip,
         mid_domain, mailer, detail) in rows:
        facts = json.loads(detail) if detail else {}
        people = [(str(p.get("name") or ""), str(p.get("addr") or "").lower())
                  for p in [*(facts.get("to") or []), *(facts.get("cc") or [])] if isinstance(p, dict)]
        body = (text or "")[:MAX_BODY]
        if not body.strip() and html_body:
            body = html.unescape(_TAGS.sub(" ", html_body[: 4 * MAX_BODY]))[:MAX_BODY]
        names = [n for n, _a in people if n]
        recipients = [a for _n, a in people if a]
        template, signature = read(body, [*names, from_name or ""], recipients)
        msg = _Message(int(item_id), int(owner), _parse_time(date), subject or "", (from_addr or "").lower(),
                       from_name or "", recipients, names, template, signature)
        dkim = sorted({str(s.get("d", "")).lower() for s in facts.get("dkim_signatures") or [] if s.get("d")})
        for key, value in (("origin_ip", origin_ip), ("message_id_domain", mid_domain),
                           ("x_mailer", mailer), ("dkim_d", ",".join(dkim))):
            if value:
                msg.infra[key] = str(value).strip().lower() if key != "x_mailer" else str(value).strip()
        messages.append(msg)
    if not messages:
        return messages
    by_owner: dict[int, list[_Message]] = {}
    for m in messages:
        by_owner.setdefault(m.analysis_id, []).append(m)
    # Each look-up a few hundred messages at a time, driven by the message: with every message in
    # one IN list, SQLite walked every URL of the case and probed each against the whole list
    # (14 s of CPU for 10,000 messages, quadratic in the case's size: most of the grouping's time).
    owners = list(by_owner)
    for start in range(0, len(owners), 500):
        chunk = owners[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for owner, helo in conn.execute(
                f"SELECT item_id, from_host FROM hops WHERE is_origin = 1 AND item_id IN ({marks})",  # noqa: S608
                chunk):
            for m in by_owner[int(owner)]:
                if helo:
                    m.infra["helo"] = str(helo).lower()
        for parent, sha, name in conn.execute(
                "SELECT parent_id, sha256, name FROM items WHERE derived_how = 'attachment' AND parent_id IN "  # noqa: S608
                f"({marks})", chunk):
            for m in by_owner[int(parent)]:
                m.attachments[str(sha)] = str(name)
        # CROSS JOIN: occurrences first, by item (SQLite's own choice was the other way round)
        sql = ("SELECT o.item_id, i.value, i.warnings FROM occurrences o CROSS JOIN indicators i "  # noqa: S608
               f"ON i.id = o.indicator_id WHERE o.item_id IN ({marks}) AND o.source = 'body' "
               "AND i.type = 'url'")
        for item_id, value, warnings in conn.execute(sql, chunk):
            if warnings and warnings != "[]":
                continue  # a warninglisted URL (a big provider's) links nothing
            for m in by_owner[int(item_id)]:
                m.urls.add(str(value))
    return messages


# ------------------------------------------------------------------------------------ grouping

def normalise_body(body: str, names: Iterable[str] = (), recipients: Iterable[str] = ()) -> list[str]:
    """The body as tokens with what varies per recipient replaced by placeholders."""
    text = _URL.sub(" url ", body)
    text = _EMAIL.sub(" email ", text)
    text = _NUMBER.sub(" 0 ", text)
    personal = set()
    for name in names:
        personal |= {t.lower() for t in _TOKEN.findall(name) if len(t) > 1}
    for addr in recipients:
        personal |= {t.lower() for t in _TOKEN.findall(addr.split("@", 1)[0]) if len(t) > 1}
    return ["name" if t in personal else t for t in (w.lower() for w in _TOKEN.findall(text))]


def _shingles(tokens: list[str]) -> set[bytes]:
    return {" ".join(tokens[i : i + 3]).encode() for i in range(max(0, len(tokens) - 2))}


class _Groups:
    def __init__(self, ids: list[int]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        lo, hi = sorted((ra, rb))
        self.parent[hi] = lo  # the earliest item names the group: deterministic and stable
        return True


def preload() -> None:
    """Import datasketch (SciPy underneath: ~0.5 s, several on a busy machine) on its own thread.

    The pipeline calls it once an import has two messages, so the import is paid while the rest
    are analysed, not at the end; :func:`group` then finds the module loaded (or waits for it).
    """
    threading.Thread(target=_import_datasketch, name="campaigns-preload", daemon=True).start()


def _import_datasketch() -> None:
    import datasketch  # noqa: F401 - loaded ahead of grouping, see preload()


def group(conn: sqlite3.Connection, *, compare_all: bool = False) -> list[Campaign]:
    """Group the case's messages into campaigns (two or more messages each), deterministically.

    Args:
        conn: the case database.
        compare_all: estimate the similarity of every pair of bodies LSH finds, without the
            shortcuts below (the reference they must equal: the tests compare the two).
    """
    count = conn.execute("SELECT count(*) FROM items i JOIN emails e ON e.item_id = "
                         "COALESCE(i.same_as, i.id)").fetchone()[0]
    if count < 2:
        return []  # nothing to group (and datasketch, with SciPy under it, is not loaded)
    from datasketch import MinHash, MinHashLSH  # scipy underneath: only paid when grouping

    proto = MinHash(num_perm=NUM_PERM, seed=_SEED)

    def sign(tokens: list[str]) -> Any:
        shingles = _shingles(tokens)
        if len(shingles) < MIN_SHINGLES:
            return None
        sig = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=proto.permutations, scheme=proto.scheme)
        sig.update_batch(sorted(shingles))
        return sig

    messages = _load(conn, sign)
    if len(messages) < 2:
        return []

    groups = _Groups([m.item_id for m in messages])
    links: Counter[tuple[int, str]] = Counter()

    def link(a: int, b: int, why: str) -> None:
        if groups.union(a, b):
            links[(a, why)] += 1

    # Near-identical bodies. The LSH bands are fixed (25 bands of 5 rows: datasketch's optimum for
    # a 0.5 threshold with 128 permutations), which spares an integration per grouping; the
    # permutations are drawn once and shared (measured: drawing them was half the time a message).
    # Two shortcuts keep this linear in the number of messages where a campaign's messages are
    # alike (it was quadratic in a campaign's size: 1.3 million Jaccard estimates for a 5,000-message
    # mailbox), and leave the groups and their link counts exactly as comparing every candidate:
    # - a message whose signature equals an earlier one's (the same normalised body) links to that
    #   one (Jaccard 1) and is not indexed: its buckets and every estimate are that message's, so
    #   whatever would link to it links to that message's group already;
    # - a candidate already in the message's group is not compared (a link there unites nothing).
    lsh = MinHashLSH(num_perm=NUM_PERM, params=_LSH_BANDS)
    signatures: dict[int, Any] = {}
    first_with_signature: dict[bytes, int] = {}
    for m in messages:
        sig = m.signature
        if sig is None:
            continue
        signatures[m.item_id] = sig
        same = sig.hashvalues.tobytes()
        twin = None if compare_all else first_with_signature.get(same)
        if twin is not None:
            link(twin, m.item_id, "body")
            continue
        for other in sorted(lsh.query(sig)):
            if ((compare_all or groups.find(other) != groups.find(m.item_id))
                    and sig.jaccard(signatures[other]) >= BODY_THRESHOLD):
                link(other, m.item_id, "body")
        lsh.insert(m.item_id, sig)
        first_with_signature[same] = m.item_id

    # The same attachment.
    first_with: dict[str, int] = {}
    for m in messages:
        for sha in sorted(m.attachments):
            if sha in first_with:
                link(first_with[sha], m.item_id, "attachment")
            else:
                first_with[sha] = m.item_id

    # Shared infrastructure: two pieces, or one and a URL; values most of the case shares are noise.
    counts = Counter((k, v) for m in messages for k, v in m.infra.items())
    url_counts = Counter(u for m in messages for u in m.urls)
    limit = max(2, int(COMMON_SHARE * len(messages)))
    keyed: dict[tuple[str, str], list[int]] = {}
    for m in messages:
        for k, v in sorted(m.infra.items()):
            if counts[(k, v)] <= limit:
                keyed.setdefault((k, v), []).append(m.item_id)
    by_id = {m.item_id: m for m in messages}
    for members in keyed.values():
        for a, b in itertools.pairwise(members):
            if groups.find(a) == groups.find(b):
                continue
            ma, mb = by_id[a], by_id[b]
            shared = sum(1 for k in _INFRA if ma.infra.get(k) and ma.infra.get(k) == mb.infra.get(k)
                         and counts[(k, ma.infra[k])] <= limit)
            urls = {u for u in ma.urls & mb.urls if url_counts[u] <= limit}
            if shared >= 2 or (shared >= 1 and urls):
                link(a, b, "infrastructure")

    members_of: dict[int, list[int]] = {}
    for m in messages:
        members_of.setdefault(groups.find(m.item_id), []).append(m.item_id)
    why_of: dict[int, Counter[str]] = {}
    for (r, w), n in links.items():
        why_of.setdefault(groups.find(r), Counter())[w] += n
    campaigns = []
    for root in sorted(members_of):
        ids = members_of[root]
        if len(ids) < 2:
            continue
        why = why_of.get(root, Counter())
        found = [by_id[i] for i in ids]
        first = signatures.get(ids[0])
        same_text = first is not None and all(
            i in signatures and signatures[i].jaccard(first) >= BODY_THRESHOLD for i in ids[1:])
        indicators = _indicators(conn, [m.analysis_id for m in found])
        campaigns.append(_describe(f"C{root}", found, indicators, dict(sorted(why.items())), same_text))
    return campaigns


def _indicators(conn: sqlite3.Connection, owners: list[int]) -> set[tuple[str, str]]:
    """The indicators found in the members of one campaign.

    Read per campaign: every message's own set, read for all the messages at once, held hundreds
    of MiB for a 50,000-message mailbox (the main process passed its 500 MiB bound there).
    """
    out: set[tuple[str, str]] = set()
    wanted = sorted(set(owners))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        sql = ("SELECT DISTINCT i.type, i.value FROM occurrences o JOIN indicators i "  # noqa: S608
               f"ON i.id = o.indicator_id WHERE o.item_id IN ({','.join('?' * len(chunk))})")
        out.update((str(t), str(v)) for t, v in conn.execute(sql, chunk))
    return out


def _common(values: list[str]) -> str | None:
    return values[0] if values and all(v == values[0] for v in values) and values[0] else None


def _histogram(times: list[datetime]) -> list[dict[str, Any]]:
    """Send times in up to 24 equal bins between the first and the last."""
    if not times:
        return []
    start, end = min(times), max(times)
    span = (end - start).total_seconds()
    bins = 1 if span == 0 else _HISTOGRAM_BINS
    width = span / bins if span else 1.0
    counts = [0] * bins
    for t in times:
        counts[min(bins - 1, int((t - start).total_seconds() / width))] += 1
    return [{"from": _iso(start.timestamp() + i * width), "to": _iso(start.timestamp() + (i + 1) * width),
             "count": c} for i, c in enumerate(counts)]


def _iso(ts: float) -> str:
    return timestamps.format_instant(datetime.fromtimestamp(ts, UTC))


def _describe(cid: str, members: list[_Message], indicators: set[tuple[str, str]],
              links: dict[str, int], same_text: bool) -> Campaign:
    times = sorted(m.date for m in members if m.date is not None)
    constant: dict[str, Any] = {}
    template = _template(members) if same_text else None
    if template:
        constant["template"] = template
    sender = _common([m.from_addr for m in members])
    if sender:
        constant["sender"] = sender
    infra = {k: v for k in _INFRA if (v := _common([m.infra.get(k, "") for m in members]))}
    if infra:
        constant["infrastructure"] = infra
    shared_att = set.intersection(*(set(m.attachments) for m in members))
    if shared_att:
        constant["attachments"] = [{"sha256": sha, "name": members[0].attachments[sha]}
                                   for sha in sorted(shared_att)]
    shared_urls = set.intersection(*(m.urls for m in members))
    if shared_urls:
        constant["urls"] = sorted(shared_urls)
    varying: dict[str, Any] = {
        "recipients": sorted({r for m in members for r in m.recipients}),
        "subjects": sorted({m.subject for m in members}),
        "names": sorted({n for m in members for n in m.names}),
        "send_time_histogram": _histogram(times),
    }
    if sender is None:
        varying["senders"] = sorted({m.from_addr for m in members if m.from_addr})
    for k in _INFRA:
        if k not in infra:
            values = sorted({m.infra[k] for m in members if m.infra.get(k)})
            if values:
                varying.setdefault("infrastructure", {})[k] = values
    found = indicators
    return Campaign(cid, [m.item_id for m in members], timestamps.format_instant(times[0]) if times else None,
                    timestamps.format_instant(times[-1]) if times else None, constant, varying,
                    [{"type": t, "value": v} for t, v in sorted(found)], links)


def _template(members: list[_Message]) -> str | None:
    """The normalised body the members share (the first member's, shortened), when bodies link them."""
    return members[0].template or None


# ------------------------------------------------------------------------------------ storing

def fingerprint(campaigns: list[Campaign]) -> str:
    """SHA-256 of the canonical JSON of the groups (ids and members): what custody records."""
    body = json.dumps([[c.id, c.items] for c in campaigns], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def refresh(case: Case) -> CampaignChange:
    """Group the case's messages; store the groups and record them in custody when they changed."""
    campaigns = group(case.db.conn)
    digest = fingerprint(campaigns)
    stored = case.db.execute("SELECT value FROM case_meta WHERE key = 'campaigns_fingerprint'").fetchone()
    if stored is not None and stored[0] == digest:
        return CampaignChange(campaigns, False, digest)
    if stored is None and not campaigns:
        return CampaignChange(campaigns, False, digest)
    with case.transaction() as conn:
        conn.execute("DELETE FROM campaigns")
        conn.executemany("INSERT INTO campaigns (id, items, summary) VALUES (?, ?, ?)",
                         [(c.id, json.dumps(c.items),
                           json.dumps(c.to_json(), ensure_ascii=False, default=str)) for c in campaigns])
        conn.execute("INSERT INTO case_meta (key, value) VALUES ('campaigns_fingerprint', ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (digest,))
        # bound to custody (issue 11): the grouping as a snapshot, the fingerprint as case state
        custody.append(conn, action="analysed", examiner=case.examiner,
                       result=f"campaigns grouped: {len(campaigns)}",
                       detail={"what": "campaigns", "fingerprint": digest,
                               "campaigns": [{"id": c.id, "items": c.items, "links": c.links}
                                             for c in campaigns],
                               "snapshot": "campaigns",
                               "snapshot_sha256": state.snapshot_digest(conn, "campaigns")},
                       state=[state.row_change(conn, "case_meta", "campaigns_fingerprint")])
    return CampaignChange(campaigns, True, digest)


def tags_of(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Tags on campaigns, by campaign id."""
    out: dict[str, list[str]] = {}
    for cid, tag in conn.execute("SELECT campaign_id, tag FROM campaign_tags ORDER BY campaign_id, tag"):
        out.setdefault(str(cid), []).append(str(tag))
    return out


def tag_campaign(case: Case, campaign_id: str, tags: list[str]) -> list[str]:
    """Add (or, with a leading ``-``, remove) tags on a campaign, each change recorded in custody.

    Raises:
        CasetrailError: the case has no such campaign, or a tag is invalid.
    """
    current = {c.id: c for c in group(case.db.conn)}
    if campaign_id not in current:
        raise CasetrailError(f"the case has no campaign {campaign_id!r}")
    ops = [("remove" if raw.startswith("-") else "add", parse_tag(raw[1:] if raw.startswith("-") else raw))
           for raw in tags]
    lines = []
    with case.transaction() as conn:
        for op, tag in ops:
            if op == "add":
                cur = conn.execute(
                    "INSERT OR IGNORE INTO campaign_tags (campaign_id, tag, added_at, added_by) "
                    "VALUES (?, ?, ?, ?)", (campaign_id, tag.text, custody.utc_now(), case.examiner))
            else:
                cur = conn.execute("DELETE FROM campaign_tags WHERE campaign_id = ? AND tag = ?",
                                   (campaign_id, tag.text))
            verb = "added" if op == "add" else "removed"
            if not cur.rowcount:
                lines.append(f"campaign {campaign_id}: {tag.text} was {'already' if op == 'add' else 'not'} "
                             "there")
                continue
            now = [str(r[0]) for r in conn.execute(
                "SELECT tag FROM campaign_tags WHERE campaign_id = ? ORDER BY tag", (campaign_id,))]
            custody.append(conn, action="tagged", examiner=case.examiner,
                           result=f"{verb} {tag.text} on campaign {campaign_id}",
                           detail={"target": "campaign", "campaign": campaign_id, "op": op, "tag": tag.text,
                                   "items": current[campaign_id].items, "tags_now": now},
                           state=[state.row_change(conn, "campaign_tags", campaign_id, tag.text)])
            lines.append(f"campaign {campaign_id}: {verb} {tag.text}")
    return lines
