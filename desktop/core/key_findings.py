# SPDX-License-Identifier: GPL-3.0-or-later
"""Key findings: one sentence per strong finding, drafted by the tool, confirmed by the analyst.

A decision-maker reads the first page, so it opens with what the evidence shows: *this IP
address is on screen at 0.50 s of the video attached to that message, and a partner's report
attributes it to an intrusion set*. This module drafts such sentences from the case's sightings
(where each indicator was read: a video frame, a screenshot, a message header or body) and its
correlations (imported feeds, earlier cases, the ASN of an address), and keeps the analyst's
decision on each draft: accepted as drafted, edited, or rejected. The analyst can also write
findings of their own. Until the analyst decides, a draft is shown as machine-drafted.

A finding is *strong* when its indicator matches an imported feed or an earlier case, or when it
was read both on screen (OCR) and in a parsed message of another item with no warninglist
calling it common; a warninglist hit never hides a feed match but is said in the sentence.

Drafted text names what it rests on with references (``[item 7]``, ``[indicator 6]``, see
:mod:`desktop.core.citations`): the briefing turns them into links to the exhibits with their
short hashes, so every claim is one hop from its evidence. Drafts are a pure function of the
case state and the correlations given, so the same state drafts the same sentences.

Every decision is analyst state: it is written with its custody entry (action ``note``) in one
transaction, and the entry's detail holds the complete new value (or, on removal, the old one).
This module never changes evidence or findings of analysis.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core import custody, limits, state
from desktop.core.case import Case
from desktop.core.citations import indicator_ref, item_ref
from desktop.core.correlate import Correlation, Match, correlate
from desktop.core.errors import CasetrailError
from desktop.core.indicators import defang
from desktop.core.intel import Library
from desktop.core.markings import printable_correlations

STATUSES = ("draft", "accepted", "edited", "analyst")
STATUS_LABELS = {
    "draft": "machine-drafted, not yet reviewed by the analyst",
    "accepted": "drafted by the tool, accepted by the analyst",
    "edited": "drafted by the tool, edited by the analyst",
    "analyst": "written by the analyst",
}
MAX_SIGHTINGS = 4  # item phrases per sentence; the rest are counted, and cited
MAX_SHARED = 4  # indicators named in a finding about an item shared with an earlier case
MAX_DRAFTS = 8  # drafted findings: page 1 holds the strongest; the indicator table has the rest
TYPE_NAMES = {
    "ipv4": "IP address",
    "ipv6": "IP address",
    "cidr": "network",
    "domain": "domain",
    "url": "URL",
    "email": "e-mail address",
    "md5": "MD5 hash",
    "sha1": "SHA-1 hash",
    "sha256": "SHA-256 hash",
    "file_path": "file path",
    "file_name": "file name",
    "asn": "AS number",
    "selector": "selector",
}
_TYPE_ORDER = (
    "ipv4",
    "ipv6",
    "cidr",
    "domain",
    "url",
    "email",
    "file_path",
    "file_name",
    "sha256",
    "sha1",
    "md5",
    "asn",
    "selector",
)
# What an item shares with an earlier case, most telling first.
_SHARED_ORDER = (
    "url",
    "email",
    "domain",
    "sha256",
    "sha1",
    "md5",
    "file_name",
    "file_path",
    "ipv4",
    "ipv6",
    "cidr",
    "asn",
    "selector",
)
_ACTOR_KINDS = {
    "intrusion-set": "the intrusion set",
    "threat-actor": "the threat actor",
    "campaign": "the campaign",
    "malware": "the malware",
    "tool": "the tool",
    "event": "the event",
}
# How decisive a sighting is: what a reader would check first.
_SOURCE_RANK = {"ocr": 0, "header": 1, "attachment": 2, "metadata": 3, "body": 4, "analyst": 5}


class FindingError(CasetrailError):
    """A key-finding change that cannot be made (unknown finding, blank text)."""


@dataclass(frozen=True)
class Sighting:
    """One place an indicator was read.

    Attributes:
        item_id: the item it was read from (the video, the message, the screenshot).
        shown_by: the item that shows it: the kept frame for a video OCR hit, else ``item_id``.
        source: header, body, attachment, metadata, ocr or analyst.
        where: the header field, ``text body``, ``frame at 0.50 s``, ``image`` …
        time_s: the offset into the video for a video OCR hit.
        frame_index: the decoded frame's index, when known.
        enhanced: an OCR reading made on an enhanced image (issue 14), said so in the text.
    """

    item_id: int
    shown_by: int
    source: str
    where: str
    time_s: float | None = None
    frame_index: int | None = None
    enhanced: bool = False


@dataclass(frozen=True)
class Draft:
    """A finding as the tool drafts it.

    Attributes:
        key: stable identity across drafts (``indicator:<type>:<value>``): a decision is kept
            under it.
        indicators: the indicators the finding is about (one, or those shared with an earlier case).
        text: the sentence, with references to the items it names.
        items: the items it names, in the order named (frames before their videos).
        score: how strong it is; drafts are listed strongest first.
    """

    key: str
    indicators: tuple[int, ...]
    text: str
    items: tuple[int, ...]
    score: float

    @property
    def indicator_id(self) -> int:
        """The (first) indicator the finding is about."""
        return self.indicators[0]


@dataclass(frozen=True)
class KeyFinding:
    """A finding as a briefing prints it.

    Attributes:
        key: the draft's key, or ``analyst:<id>`` for the analyst's own.
        text: the sentence to print.
        status: one of :data:`STATUSES`.
        items: items it rests on (from the draft, or named by the analyst).
        indicator_ids: indicators it is about.
        decided_at: when the analyst decided (empty for a draft).
        decided_by: who decided.
        draft_changed: the tool drafts another text now than the one the analyst accepted or
            edited (new evidence or intelligence since): worth a second look.
    """

    key: str
    text: str
    status: str
    items: tuple[int, ...] = ()
    indicator_ids: tuple[int, ...] = ()
    decided_at: str = ""
    decided_by: str = ""
    draft_changed: bool = False

    @property
    def label(self) -> str:
        """Who wrote it, for the reader (e.g. "machine-drafted, not yet reviewed by the analyst")."""
        return STATUS_LABELS[self.status]


@dataclass
class _CaseFacts:
    names: dict[int, str] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)
    how: dict[int, str | None] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    subjects: dict[int, str | None] = field(default_factory=dict)
    sha256: dict[int, str] = field(default_factory=dict)
    frame_index: dict[tuple[int, float], int] = field(default_factory=dict)
    sightings: dict[int, list[Sighting]] = field(default_factory=lambda: defaultdict(list))


def _facts(conn: sqlite3.Connection) -> _CaseFacts:
    f = _CaseFacts()
    for iid, parent, kind, name, how, sha in conn.execute(
        "SELECT id, parent_id, kind, name, derived_how, sha256 FROM items"
    ):
        f.sha256[int(iid)] = str(sha)
        f.names[int(iid)] = str(name)
        f.parents[int(iid)] = int(parent) if parent is not None else None
        f.kinds[int(iid)] = str(kind)
        f.how[int(iid)] = how
    for iid, subject in conn.execute("SELECT item_id, subject FROM emails"):
        f.subjects[int(iid)] = subject
    for iid, t, fi in conn.execute(
        "SELECT DISTINCT item_id, time_s, frame_index FROM ocr_lines "
        "WHERE time_s IS NOT NULL AND frame_index IS NOT NULL"
    ):
        f.frame_index[(int(iid), round(float(t), 3))] = int(fi)
    # An uncertain OCR reading (a possible misread, issue 14) is never the ground of a finding;
    # readings from before statuses existed were never checked across frames: uncertain too.
    for ind, iid, source, where, t, frame, status in conn.execute(
        "SELECT indicator_id, item_id, source, where_, time_s, frame_item_id, status FROM occurrences "
        "WHERE NOT (source = 'ocr' AND COALESCE(status, 'uncertain') = 'uncertain') "
        "ORDER BY indicator_id, item_id, COALESCE(time_s, 0), id"
    ):
        time_s = float(t) if t is not None else None
        fi = f.frame_index.get((int(iid), round(time_s, 3))) if time_s is not None else None
        shown_by = int(frame) if frame is not None else int(iid)
        f.sightings[int(ind)].append(
            Sighting(int(iid), shown_by, str(source), str(where), time_s, fi, status == "enhanced")
        )
    return f


# -- drafting --------------------------------------------------------------------------------


QUOTED_CHARS = 120  # of a quoted name: a Subject or a case title can be 16 KiB (issue 16)


def _q(text: str | None) -> str:
    return f"\u201c{limits.shorten(' '.join(str(text).split()), QUOTED_CHARS)}\u201d"


class _Namer:
    """Names items in a sentence: in full the first time, briefly after that."""

    def __init__(self, facts: _CaseFacts) -> None:
        self.f = facts
        self.named: list[int] = []

    def __call__(self, item_id: int, *, with_parent: bool = True) -> str:
        """Name an item: ``the message “Subject” [item 1]``, ``the video v.mp4 [item 6], attached to …``."""
        f = self.f
        kind = "email" if item_id in f.subjects else f.kinds.get(item_id, "")
        noun = {
            "video": "the video",
            "image": "the image",
            "text": "the text file",
            "email": "the message",
            "archive": "the archive",
            "pdf": "the document",
        }.get(kind, "the file")
        if item_id in self.named:
            return f"{noun} {item_ref(item_id)}"
        self.named.append(item_id)
        name = f.names.get(item_id, f"item {item_id}")
        subject = f.subjects.get(item_id)
        phrase = f"the message {_q(subject)}" if kind == "email" and subject else f"{noun} {name}"
        phrase += f" {item_ref(item_id)}"
        parent = f.parents.get(item_id)
        if with_parent and parent is not None and f.how.get(item_id) == "attachment":
            phrase += f", attached to {self(parent, with_parent=False)}"
        return phrase


def _times(ts: Sequence[Sighting]) -> str:
    parts = []
    for s in ts:
        frame = (
            f"frame {s.frame_index} {item_ref(s.shown_by)}"
            if s.frame_index is not None
            else f"frame {item_ref(s.shown_by)}"
            if s.shown_by != s.item_id
            else ""
        )
        # A no-break space keeps a time with its unit on one line wherever the sentence is printed.
        parts.append(f"{s.time_s:.2f}\u00a0s" + (f" ({frame})" if frame else ""))
    return _join(parts)


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _header_fields(group: Sequence[Sighting]) -> str:
    fields = list(dict.fromkeys(s.where for s in group))
    return f"the {_join(fields)} header{'s' if len(fields) > 1 else ''}"


def _sighting_phrases(f: _CaseFacts, sightings: Sequence[Sighting]) -> tuple[list[str], list[int], int]:
    """Phrases for the most decisive items, the items they name, and how many more items there are.

    Order: on screen in a video (the decisive sighting of a screen recording), then parsed
    headers, then on screen in an image, then attachment data, metadata, bodies and text.
    """
    by_item: dict[tuple[int, str], list[Sighting]] = defaultdict(list)
    for s in sightings:
        by_item[(s.item_id, s.source)].append(s)

    def rank(key: tuple[int, str]) -> tuple[int, int]:
        item_id, source = key
        video = source == "ocr" and any(s.time_s is not None for s in by_item[key])
        order = (
            0 if video else {"header": 1, "ocr": 2, "attachment": 3, "metadata": 4, "body": 5}.get(source, 6)
        )
        return order, item_id

    chosen: list[tuple[int, str]] = []
    items: set[int] = set()
    copies: dict[int, list[int]] = defaultdict(list)  # first item → later items with the same bytes
    first_of: dict[tuple[str, str], int] = {}
    for key in sorted(by_item, key=rank):
        twin = first_of.setdefault((f.sha256.get(key[0], str(key[0])), key[1]), key[0])
        if twin != key[0]:
            if key[0] not in copies[twin]:
                copies[twin].append(key[0])
            items.add(key[0])
            continue
        if key[0] not in items and len(items) >= MAX_SIGHTINGS:
            continue
        items.add(key[0])
        chosen.append(key)
    name = _Namer(f)
    frames: list[int] = []
    phrases: list[str] = []
    # Consecutive items of the same kind of sighting share one phrase ("… of A and of B").
    runs: list[tuple[str, list[str]]] = []
    for item_id, source in chosen:
        group = by_item[(item_id, source)]
        timed = [s for s in group if s.time_s is not None]
        if source == "ocr" and timed:
            head, tail = f"on screen at {_times(timed)} of", name(item_id)
            frames += [s.shown_by for s in timed if s.shown_by != item_id]
        elif source == "ocr":
            head, tail = "on screen in", name(item_id)
        elif source == "header":
            head, tail = f"in {_header_fields(group)} of", name(item_id)
        elif source == "body":
            head = "in the body of" if item_id in f.subjects else "in the text of"
            tail = name(item_id)
        elif source == "attachment":
            head, tail = "in the attachment data of", name(item_id)
        elif source == "metadata":
            head = f"in the metadata ({_join(list(dict.fromkeys(s.where for s in group)))}) of"
            tail = name(item_id)
        else:
            head, tail = "marked by the analyst on", name(item_id)
        if source == "ocr" and all(s.enhanced for s in group):
            tail += " (read on an enhanced image)"
        if copies.get(item_id):
            refs = ", ".join(item_ref(i) for i in copies[item_id])
            tail += (
                f" (and its identical copy {refs})"
                if len(copies[item_id]) == 1
                else f" (and its identical copies {refs})"
            )
            name.named += [i for i in copies[item_id] if i not in name.named]
        if runs and runs[-1][0] == head and not head.startswith("on screen at"):
            runs[-1][1].append(tail)
        else:
            runs.append((head, [tail]))
    for head, tails in runs:
        if head.endswith(" of"):
            tails = [tails[0], *(f"of {t}" for t in tails[1:])]
        phrases.append(f"{head} {_join(tails)}")
    more = len({s.item_id for s in sightings} - items)
    named = list(dict.fromkeys([*frames, *name.named]))
    return phrases, named, more


def _match_sentences(c: Correlation) -> list[str]:
    out: list[str] = []
    feeds: dict[tuple[str, str], Match] = {}
    for m in c.matches:
        if m.source == "feed":
            feeds.setdefault((m.name, m.detail.split(": ", 1)[0]), m)
    for (name, file_name), m in feeds.items():
        actor = _ACTOR_KINDS.get(m.kind)
        if actor:
            out.append(f"it is listed in {file_name} as an indicator of {actor} {_q(name)}")
        else:
            out.append(f"it is listed in the feed {_q(name)} ({file_name})")
    for m in c.matches:
        if m.kind == "other-case":
            out.append(f"it was seen before in the case {_q(m.name)} ({m.detail})")
    if c.asn is not None:
        country = f", country {c.asn.country}" if c.asn.country else ""
        out.append(f"its address is in AS{c.asn.number} {c.asn.name}{country}")
    lists = [m.name for m in c.matches if m.source == "warninglist"]
    if len(lists) == 1:
        out.append(f"it is on the warninglist {_q(lists[0])}")
    elif lists:
        out.append(f"it is on {len(lists)} warninglists")
    return out


def _listed(c: Correlation) -> bool:
    return any(m.source == "warninglist" for m in c.matches)


def _score(c: Correlation, sightings: Sequence[Sighting]) -> float | None:
    """How strong a finding this indicator makes on its own, or None (see the module docstring)."""
    feed = any(m.source == "feed" for m in c.matches)
    other = any(m.kind == "other-case" for m in c.matches) and not _listed(c)
    sources = {s.source for s in sightings}
    ocr_items = {s.item_id for s in sightings if s.source == "ocr"}
    parsed_items = {s.item_id for s in sightings if s.source in ("header", "attachment", "metadata")}
    cross = bool(ocr_items and parsed_items - ocr_items) and not _listed(c)
    if not (feed or cross):
        return None
    score = 6.0 * feed + 3.0 * other + 3.0 * cross + 1.0 * (c.asn is not None)
    score += 2.0 * ("ocr" in sources) + 1.0 * ("header" in sources)
    score += 0.5 * min(len({s.item_id for s in sightings}), 4) - 1.0 * _listed(c)
    return score


def _indicator_draft(facts: _CaseFacts, ind_id: int, c: Correlation, score: float) -> Draft:
    phrases, named, more = _sighting_phrases(facts, facts.sightings[ind_id])
    noun = TYPE_NAMES.get(c.type, c.type)
    text = f"{noun[:1].upper()}{noun[1:]} {defang(c.value, c.type)} {indicator_ref(ind_id)} is "
    text += _join(phrases) if phrases else "in this case"
    if more:
        text += f", and in {more} more item{'s' if more > 1 else ''}"
    matches = _match_sentences(c)
    if matches:
        text += "; " + "; ".join(matches)
    return Draft(f"indicator:{c.type}:{c.value}", (ind_id,), text + ".", tuple(named), score)


_ITEMS_RE = re.compile(r"items ([\d, ]+)")


def _shared_drafts(
    facts: _CaseFacts,
    shared: dict[tuple[str, int], list[tuple[int, Correlation, Match]]],
) -> list[Draft]:
    """One finding per item of this case and earlier case they share indicators with."""
    out = []

    def telling(e: tuple[int, Correlation, Match]) -> tuple[bool, int, str]:
        # A relay's address in a Received line is shared by every message that passed through
        # that provider: the sender's own addresses, links and files say more, so they come first.
        seen = facts.sightings.get(e[0], [])
        relay = bool(seen) and all(s.source == "header" and s.where.startswith("Received") for s in seen)
        return relay, _SHARED_ORDER.index(e[1].type) if e[1].type in _SHARED_ORDER else 99, e[1].value

    for (case_ref, item_id), entries in shared.items():
        entries.sort(key=telling)
        first = entries[0][2]
        theirs = sorted(
            {
                int(n)
                for e in entries
                for m in _ITEMS_RE.findall(e[2].detail)
                for n in m.split(",")
                if n.strip().isdigit()
            }
        )
        created = first.detail.split(";", 1)[0].removeprefix("created ").strip()
        name = _Namer(facts)
        shown = [
            f"{TYPE_NAMES.get(c.type, c.type)} {defang(c.value, c.type)} {indicator_ref(i)}"
            for i, c, _m in entries[:MAX_SHARED]
        ]
        rest = len(entries) - len(shown)
        what = _join([*shown, f"{rest} more"] if rest else shown)
        count = len(entries)
        subject = name(item_id)
        text = (
            f"{subject[:1].upper()}{subject[1:]} shares {count} "
            f"indicator{'s' if count > 1 else ''} with the earlier case {_q(first.name)} (created "
            f"{created}; items {', '.join(map(str, theirs))} there): {what}."
        )
        score = 2.0 + 0.25 * min(count, 8)
        out.append(
            Draft(
                f"case:{case_ref}:item:{item_id}",
                tuple(i for i, _c, _m in entries),
                text,
                tuple(name.named),
                score,
            )
        )
    return out


def draft_findings(
    case: Case,
    correlations: dict[int, Correlation],
    *,
    conn: sqlite3.Connection | None = None,
    limit: int = MAX_DRAFTS,
) -> list[Draft]:
    """Draft one sentence per strong finding, strongest first.

    An indicator that matches a feed, or that was read both on screen and in a parsed header, is a
    finding of its own; indicators an item shares with an earlier case (and no warninglist calls
    common) make one finding per item and earlier case, so a message seen before is one sentence,
    not one per header.

    Args:
        case: the case.
        correlations: ``indicator id → Correlation`` as :func:`desktop.core.correlate.correlate`
            returns them, already limited to what may be printed (e.g. other cases above the
            briefing's marking left out).
        conn: a connection to read the case through (a window's reader); default the case's.
        limit: at most this many drafts (the strongest); the indicator table lists everything.
    """
    facts = _facts(conn or case.db.conn)
    drafts: list[Draft] = []
    shared: dict[tuple[str, int], list[tuple[int, Correlation, Match]]] = defaultdict(list)
    for ind_id, c in correlations.items():
        sightings = facts.sightings.get(ind_id, [])
        if not sightings:
            continue
        score = _score(c, sightings)
        if score is not None:
            drafts.append(_indicator_draft(facts, ind_id, c, score))
            continue
        if _listed(c):
            continue
        primary = min(s.item_id for s in sightings)
        for m in c.matches:
            if m.kind == "other-case":
                shared[(m.ref or m.name, primary)].append((ind_id, c, m))
    drafts += _shared_drafts(facts, shared)
    kind_rank = {t: i for i, t in enumerate(_TYPE_ORDER)}
    drafts.sort(key=lambda d: (-d.score, kind_rank.get(d.key.split(":")[1], 99), d.key))
    return drafts[:limit]


# -- the analyst's decisions -----------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One stored row: the analyst's decision on a draft, or a finding of their own."""

    id: int
    draft_key: str | None
    status: str
    text: str
    drafted_text: str
    items: tuple[int, ...]
    indicator_ids: tuple[int, ...]
    position: int
    decided_at: str
    decided_by: str


def _decision(row: Sequence[Any]) -> Decision:
    basis = json.loads(row[5]) if row[5] else {}
    return Decision(
        int(row[0]),
        row[1],
        str(row[2]),
        str(row[3]),
        str(row[4]),
        tuple(int(i) for i in basis.get("items", [])),
        tuple(int(i) for i in basis.get("indicators", [])),
        int(row[6]),
        str(row[7]),
        str(row[8]),
    )


_COLS = "id, draft_key, status, text, drafted_text, basis, position, decided_at, decided_by"


def decisions(case: Case, conn: sqlite3.Connection | None = None) -> list[Decision]:
    """Every stored decision and analyst finding, in the order written."""
    rows = (conn or case.db.conn).execute(f"SELECT {_COLS} FROM key_findings ORDER BY position, id")  # noqa: S608
    return [_decision(r) for r in rows]


def key_findings(drafts: Sequence[Draft], stored: Sequence[Decision]) -> list[KeyFinding]:
    """What a briefing prints: drafts with the analyst's decisions applied, then the analyst's own.

    Rejected drafts are left out; a decided draft the tool no longer drafts (its evidence was
    removed) is still printed as the analyst decided it, since the analyst stands behind it.
    """
    by_key = {d.draft_key: d for d in stored if d.draft_key is not None}
    out: list[KeyFinding] = []
    seen: set[str] = set()
    for draft in drafts:
        seen.add(draft.key)
        dec = by_key.get(draft.key)
        if dec is None:
            out.append(KeyFinding(draft.key, draft.text, "draft", draft.items, draft.indicators))
        elif dec.status != "rejected":
            out.append(_decided(draft.key, dec, changed=dec.drafted_text != draft.text))
    for dec in stored:
        if dec.draft_key is not None and dec.draft_key in seen:
            continue
        if dec.status == "rejected":
            continue
        out.append(_decided(dec.draft_key or f"analyst:{dec.id}", dec, changed=dec.draft_key is not None))
    return out


def _decided(key: str, dec: Decision, *, changed: bool) -> KeyFinding:
    """A stored decision as the briefing prints it (``changed``: the tool drafts something else now)."""
    return KeyFinding(
        key,
        dec.text,
        dec.status,
        dec.items,
        dec.indicator_ids,
        dec.decided_at,
        dec.decided_by,
        draft_changed=changed,
    )


def _record(conn: sqlite3.Connection, case: Case, what: str, finding_id: int, **detail: Any) -> None:
    """Record a change with the complete row as it is now (``state``: replayed by ``verify``)."""
    custody.append(
        conn,
        action="note",
        examiner=case.examiner,
        result=what,
        detail={"what": what, **detail},
        state=[state.row_change(conn, "key_findings", finding_id)],
    )


def _row_value(conn: sqlite3.Connection, finding_id: int) -> dict[str, Any]:
    row = conn.execute(f"SELECT {_COLS} FROM key_findings WHERE id = ?", (finding_id,)).fetchone()  # noqa: S608
    d = _decision(row)
    return {
        "finding_id": d.id,
        "draft_key": d.draft_key,
        "status": d.status,
        "text": d.text,
        "drafted_text": d.drafted_text,
        "items": list(d.items),
        "indicators": list(d.indicator_ids),
        "position": d.position,
        "decided_at": d.decided_at,
        "decided_by": d.decided_by,
    }


def _basis(items: Iterable[int], indicators: Iterable[int]) -> str:
    return json.dumps(
        {"items": [int(i) for i in items], "indicators": [int(i) for i in indicators]}, sort_keys=True
    )


def decide(case: Case, draft: Draft, status: str, text: str | None = None) -> Decision:
    """Accept, edit or reject a draft; a second decision on the same draft replaces the first.

    Args:
        case: a case open for writing.
        draft: the draft decided on (its current text is kept, to notice later changes).
        status: ``accepted``, ``edited`` (``text`` required) or ``rejected``.
        text: the analyst's text for ``edited``.

    Raises:
        FindingError: unknown status, or an edit without text.
    """
    if status not in ("accepted", "edited", "rejected"):
        raise FindingError(f"unknown decision {status!r}; use accepted, edited or rejected")
    final = draft.text
    if status == "edited":
        if text is None or not text.strip():
            raise FindingError("an edited key finding needs its text")
        final = text.strip()
    with case.transaction() as conn:
        old = conn.execute("SELECT id FROM key_findings WHERE draft_key = ?", (draft.key,)).fetchone()
        previous = _row_value(conn, int(old[0])) if old else None
        now = custody.utc_now()
        if old:
            conn.execute(
                "UPDATE key_findings SET status = ?, text = ?, drafted_text = ?, basis = ?, "
                "decided_at = ?, decided_by = ? WHERE id = ?",
                (
                    status,
                    final,
                    draft.text,
                    _basis(draft.items, draft.indicators),
                    now,
                    case.examiner,
                    int(old[0]),
                ),
            )
            fid = int(old[0])
        else:
            pos = int(conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM key_findings").fetchone()[0])
            cur = conn.execute(
                "INSERT INTO key_findings (draft_key, status, text, drafted_text, basis, position, "
                "decided_at, "
                "decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.key,
                    status,
                    final,
                    draft.text,
                    _basis(draft.items, draft.indicators),
                    pos,
                    now,
                    case.examiner,
                ),
            )
            fid = int(cur.lastrowid or 0)
        _record(conn, case, f"key finding {status}", fid, new=_row_value(conn, fid), old=previous)
        row = conn.execute(f"SELECT {_COLS} FROM key_findings WHERE id = ?", (fid,)).fetchone()  # noqa: S608
    return _decision(row)


def add_finding(
    case: Case, text: str, *, items: Iterable[int] = (), indicators: Iterable[int] = ()
) -> Decision:
    """Write a finding of the analyst's own, resting on the items and indicators named.

    Raises:
        FindingError: blank text, or an item or indicator the case does not hold.
    """
    if not text.strip():
        raise FindingError("a key finding needs its text")
    items, indicators = list(items), list(indicators)
    with case.transaction() as conn:
        _check_refs(conn, items, indicators)
        pos = int(conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM key_findings").fetchone()[0])
        cur = conn.execute(
            "INSERT INTO key_findings (draft_key, status, text, drafted_text, basis, position, decided_at, "
            "decided_by) VALUES (NULL, 'analyst', ?, '', ?, ?, ?, ?)",
            (text.strip(), _basis(items, indicators), pos, custody.utc_now(), case.examiner),
        )
        fid = int(cur.lastrowid or 0)
        _record(conn, case, "key finding added", fid, new=_row_value(conn, fid))
        row = conn.execute(f"SELECT {_COLS} FROM key_findings WHERE id = ?", (fid,)).fetchone()  # noqa: S608
    return _decision(row)


def update_finding(case: Case, finding_id: int, text: str) -> Decision:
    """Change the text of the analyst's own finding (a draft is changed with :func:`decide`).

    Raises:
        FindingError: no such finding of the analyst's, or blank text.
    """
    if not text.strip():
        raise FindingError("a key finding needs its text")
    with case.transaction() as conn:
        row = conn.execute("SELECT status FROM key_findings WHERE id = ?", (finding_id,)).fetchone()
        if row is None or row[0] != "analyst":
            raise FindingError(f"there is no key finding {finding_id} written by the analyst")
        old = _row_value(conn, finding_id)
        conn.execute(
            "UPDATE key_findings SET text = ?, decided_at = ?, decided_by = ? WHERE id = ?",
            (text.strip(), custody.utc_now(), case.examiner, finding_id),
        )
        _record(conn, case, "key finding edited", finding_id, new=_row_value(conn, finding_id), old=old)
        row = conn.execute(f"SELECT {_COLS} FROM key_findings WHERE id = ?", (finding_id,)).fetchone()  # noqa: S608
    return _decision(row)


def forget(case: Case, key: str) -> None:
    """Remove a decision (the draft is shown as machine-drafted again) or an analyst's finding.

    Args:
        case: a case open for writing.
        key: a draft's key, or ``analyst:<id>``.

    Raises:
        FindingError: nothing is stored under that key.
    """
    with case.transaction() as conn:
        if key.startswith("analyst:") and key[8:].isdigit():
            row = conn.execute(
                "SELECT id FROM key_findings WHERE id = ? AND draft_key IS NULL", (int(key[8:]),)
            ).fetchone()
        else:
            row = conn.execute("SELECT id FROM key_findings WHERE draft_key = ?", (key,)).fetchone()
        if row is None:
            raise FindingError(f"no decision or analyst finding is stored for {key!r}")
        old = _row_value(conn, int(row[0]))
        conn.execute("DELETE FROM key_findings WHERE id = ?", (int(row[0]),))
        _record(conn, case, "key finding decision removed", int(row[0]), old=old, new=None)


def _check_refs(conn: sqlite3.Connection, items: Sequence[int], indicators: Sequence[int]) -> None:
    for table, ids, what in (("items", items, "item"), ("indicators", indicators, "indicator")):
        for i in ids:
            if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (int(i),)).fetchone() is None:  # noqa: S608
                raise FindingError(f"the case has no {what} {i}")


def case_findings(case: Case, *, use_library: bool = True) -> tuple[list[Draft], list[KeyFinding]]:
    """The drafts and the findings of a case as the analyst reviews them (CLI, window).

    Correlations use the workstation library; other cases are named only within the case's own
    marking (:func:`desktop.core.markings.printable_correlations`).
    """
    library = Library.open_existing() if use_library else None
    try:
        corr = correlate(case, library=library, use_library=use_library)
        corr, _hidden = printable_correlations(corr, library, str(case.meta.get("tlp", "amber")))
    finally:
        if library is not None:
            library.close()
    drafts = draft_findings(case, corr)
    return drafts, key_findings(drafts, decisions(case))
