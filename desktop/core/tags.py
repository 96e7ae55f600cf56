# SPDX-License-Identifier: GPL-3.0-or-later
"""Tags on indicators and items: TLP 2.0, ATT&CK techniques, MISP machine tags and free tags.

Tags are free strings kept as the analyst typed them (DESIGN §7), with three exceptions made on
purpose: TLP tags are lower-cased (``TLP:AMBER`` → ``tlp:amber``) because a handling marking must
compare equal however it was typed, TLP 1.0 ``tlp:white`` becomes its TLP 2.0 name ``tlp:clear``,
and surrounding white space is dropped. ATT&CK IDs (``attack-pattern:T1566``, ``T1566.001``) and
MISP taxonomy machine tags (``admiralty-scale:source-reliability="b"``) are recognised and
described by name from the data shipped in ``resources/data/``.

Every add and every removal is written in the same transaction as its custody entry (action
``tagged``); this module never changes a tag any other way.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from desktop.core import custody, state
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.indicators import TYPES, classify, normalise
from desktop.resources import resource_path

TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")
TLP_TAGS = tuple(f"tlp:{level}" for level in TLP_LEVELS)
_TLP_ALIASES = {"white": "clear"}  # TLP 1.0 → 2.0, as FIRST's TLP 2.0 standard maps it
_ATTACK_RE = re.compile(r"(?:(?:attack-pattern|mitre-attack|attack)[:=])?(T\d{4}(?:\.\d{3})?)\Z", re.I)
_MACHINE_RE = re.compile(r'([a-z0-9][a-z0-9._-]*):([a-z0-9][a-z0-9._+-]*)(?:="([^"]*)")?\Z', re.I)
_MAX_LEN = 256


class TagError(CasetrailError):
    """A tag cannot be used as typed (empty, too long, an unknown TLP level, bad quoting)."""


@dataclass(frozen=True)
class Tag:
    """A parsed tag.

    Attributes:
        text: the tag as stored (normalised only for TLP and white space).
        kind: ``tlp``, ``attack``, ``machine`` or ``free``.
        namespace: TLP → ``tlp``; machine tag namespace; empty otherwise.
        predicate: TLP level, ATT&CK technique ID, machine tag predicate; empty for free tags.
        value: the machine tag's quoted value, if any.
    """

    text: str
    kind: str
    namespace: str = ""
    predicate: str = ""
    value: str = ""


def parse_tag(text: str) -> Tag:
    """Recognise what a tag is, normalising only what must compare equal.

    Raises:
        TagError: empty, longer than 256 characters, holding control characters, an unknown TLP
            level, or a machine tag with broken quoting.
    """
    tag = text.strip()
    if not tag:
        raise TagError("a tag cannot be empty")
    if len(tag) > _MAX_LEN:
        raise TagError(f"a tag is at most {_MAX_LEN} characters long")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in tag):
        raise TagError(f"a tag cannot contain control characters: {tag!r}")
    low = tag.lower()
    if low.startswith("tlp:"):
        level = _TLP_ALIASES.get(low[4:], low[4:])
        if level not in TLP_LEVELS:
            raise TagError(f"unknown TLP level {tag!r}; use one of {', '.join(TLP_TAGS)}")
        return Tag(f"tlp:{level}", "tlp", "tlp", level)
    attack = _ATTACK_RE.match(tag)
    if attack:
        return Tag(tag, "attack", "attack-pattern", attack.group(1).upper())
    if '"' in tag or "=" in tag:
        machine = _MACHINE_RE.match(tag)
        if machine is None:
            raise TagError(f'a machine tag is written namespace:predicate="value", not {tag!r}')
        return Tag(tag, "machine", machine.group(1), machine.group(2), machine.group(3) or "")
    machine = _MACHINE_RE.match(tag)
    if machine and machine.group(1).lower() in taxonomies():
        return Tag(tag, "machine", machine.group(1), machine.group(2))
    return Tag(tag, "free")


# -- reference data ---------------------------------------------------------------------------


@functools.cache
def attack_techniques() -> dict[str, Any]:
    """The shipped ATT&CK technique list (``resources/data/attack-techniques.json``)."""
    path = resource_path("data", "attack-techniques.json")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"the ATT&CK technique list {path} is missing or broken; reinstall") from exc
    return data


def technique_name(technique_id: str) -> str | None:
    """The name of an ATT&CK technique (``T1566.001`` → ``Spearphishing Attachment``), or None."""
    entry = attack_techniques()["techniques"].get(technique_id.upper())
    return str(entry["name"]) if entry else None


@functools.cache
def taxonomies() -> dict[str, dict[str, Any]]:
    """The shipped MISP taxonomies, by namespace (``resources/data/taxonomies/*.json``)."""
    folder = resource_path("data", "taxonomies")
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"the taxonomy {path.name} cannot be read: {exc}") from exc
        out[str(data.get("namespace", path.stem)).lower()] = data
    return out


@functools.cache
def _machine_tags() -> tuple[tuple[str, str], ...]:
    """Every ``namespace:predicate="value"`` (or ``namespace:predicate``) with its description."""
    out: list[tuple[str, str]] = []
    for ns, tax in taxonomies().items():
        if ns == "tlp":
            continue  # TLP tags are offered in their own, normalised form
        predicates = {p["value"]: p.get("expanded", p["value"]) for p in tax.get("predicates", [])}
        with_values = set()
        for block in tax.get("values", []):
            pred = block["predicate"]
            with_values.add(pred)
            for entry in block.get("entry", []):
                out.append((f'{ns}:{pred}="{entry["value"]}"',
                            f"{predicates.get(pred, pred)}: {entry.get('expanded', entry['value'])}"))
        out.extend((f"{ns}:{p}", str(exp)) for p, exp in predicates.items() if p not in with_values)
    return tuple(out)


def describe_tag(text: str) -> str:
    """How the window and the briefing show a tag.

    ``tlp:amber+strict`` → ``TLP:AMBER+STRICT``; ``attack-pattern:T1566`` → ``T1566 Phishing``;
    ``admiralty-scale:source-reliability="b"`` → ``Source Reliability: Usually reliable``; a free
    tag (or one this installation cannot parse) is shown as typed.
    """
    try:
        tag = parse_tag(text)
    except TagError:
        return text
    if tag.kind == "tlp":
        return tag.text.upper()
    if tag.kind == "attack":
        name = technique_name(tag.predicate)
        return f"{tag.predicate} {name}" if name else f"{tag.predicate} (not in ATT&CK {attack_version()})"
    if tag.kind == "machine":
        for candidate, description in _machine_tags():
            if candidate.lower() == tag.text.lower():
                return description
    return tag.text


def attack_version() -> str:
    """The ATT&CK release the shipped technique list was generated from."""
    return str(attack_techniques().get("attack_version", "unknown"))


def completions(prefix: str, *, limit: int = 50) -> list[str]:
    """Tags to offer while the analyst types, best first (case-insensitive prefix match).

    Offers TLP tags, ATT&CK techniques (``attack-pattern:T…``; a bare ``T15`` or a word of a
    technique name such as ``phish`` also finds them) and machine tags of the shipped taxonomies.
    """
    p = prefix.strip().lower()
    out: list[str] = [t for t in TLP_TAGS if t.startswith(p)]
    techniques = attack_techniques()["techniques"]
    live = [(tid, t) for tid, t in techniques.items() if not t.get("revoked") and not t.get("deprecated")]
    if re.fullmatch(r"t\d{0,4}(\.\d{0,3})?", p):
        out += [tid for tid, _ in live if tid.lower().startswith(p)]
    else:
        out += [f"attack-pattern:{tid}" for tid, _ in live if f"attack-pattern:{tid}".lower().startswith(p)]
        if len(p) >= 3:
            out += [f"attack-pattern:{tid}" for tid, t in live
                    if p in str(t["name"]).lower() and f"attack-pattern:{tid}" not in out]
    out += [tag for tag, _ in _machine_tags() if tag.lower().startswith(p)]
    return out[:limit]


# -- reading and writing tags -----------------------------------------------------------------


def tags_of(conn: sqlite3.Connection, target: str, target_id: int) -> list[str]:
    """The tags of one indicator or item, in the order they were added."""
    rows = conn.execute("SELECT tag FROM tags WHERE target = ? AND target_id = ? ORDER BY id",
                        (target, target_id))
    return [str(r[0]) for r in rows]


def all_tags(conn: sqlite3.Connection, target: str) -> dict[int, list[str]]:
    """Every tag of every indicator (or item) at once: what list views need, in one query."""
    out: dict[int, list[str]] = {}
    for target_id, tag in conn.execute("SELECT target_id, tag FROM tags WHERE target = ? ORDER BY id",
                                       (target,)):
        out.setdefault(int(target_id), []).append(str(tag))
    return out


def resolve_indicator(conn: sqlite3.Connection, value: str) -> list[tuple[int, str, str]]:
    """Find the indicator(s) an analyst named: as stored, or after refang/normalisation.

    Returns:
        ``(id, type, value)`` rows; more than one when a value is stored under two types.
    """
    rows = conn.execute("SELECT id, type, value FROM indicators WHERE value = ?", (value.strip(),)).fetchall()
    if rows:
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
    type_ = classify(value)
    candidates = [type_] if type_ else []
    for t in candidates or TYPES:
        try:
            norm = normalise(t, value)
        except (ValueError, UnicodeError):
            continue
        row = conn.execute("SELECT id, type, value FROM indicators WHERE type = ? AND value = ?",
                           (t, norm)).fetchone()
        if row:
            return [(int(row[0]), str(row[1]), str(row[2]))]
    return []


def apply_tags(case: Case, *, indicator: str | None = None, item_id: int | None = None,
               tags: list[str]) -> list[str]:
    """Add (or, with a leading ``-``, remove) tags on one indicator or one item.

    All tags are checked before anything is written, then every change and its custody entry
    are written in one transaction: either all of them are recorded or none is.

    Args:
        case: a case open for writing.
        indicator: the indicator's value (defanged or not); exclusive with ``item_id``.
        item_id: the item's id.
        tags: tags as typed; ``-tlp:amber`` removes ``tlp:amber``.

    Returns:
        One line per tag saying what was done, for the CLI to print.

    Raises:
        TagError: a tag is invalid.
        CasetrailError: no target, or the indicator/item is not in the case.
    """
    if (indicator is None) == (item_id is None):
        raise CasetrailError("name exactly one target: an indicator value or an item id")
    conn = case.db.conn
    targets: list[tuple[str, int, str, dict[str, Any]]] = []
    if indicator is not None:
        found = resolve_indicator(conn, indicator)
        if not found:
            raise CasetrailError(f"the case has no indicator {indicator!r}")
        targets = [("indicator", i, f"{t} {v}", {"type": t, "value": v}) for i, t, v in found]
    else:
        assert item_id is not None  # noqa: S101 - narrowed by the check above
        item = case.item(item_id)
        if item is None:
            raise CasetrailError(f"the case has no item {item_id}")
        targets = [("item", item.id, f"item {item.id} ({item.name})", {"name": item.name})]
    return _write_tags(case, targets, tags)


def apply_tags_to(case: Case, target: str, target_ids: list[int], tags: list[str]) -> list[str]:
    """Add or remove tags on many indicators (or items) by id, all in one transaction.

    The window tags a selection of thousands of indicators at once; one transaction for all of
    them (each change with its own custody entry) instead of one per indicator.

    Args:
        case: a case open for writing.
        target: ``indicator`` or ``item``.
        target_ids: their ids.
        tags: tags as typed; ``-tlp:amber`` removes ``tlp:amber``.

    Returns:
        One line per target and tag saying what was done.

    Raises:
        TagError: a tag is invalid.
        CasetrailError: an unknown target kind, or an id the case does not hold.
    """
    conn = case.db.conn
    ids = list(dict.fromkeys(int(i) for i in target_ids))
    targets: list[tuple[str, int, str, dict[str, Any]]] = []
    if target == "indicator":
        rows = {int(r[0]): (str(r[1]), str(r[2])) for r in conn.execute(
            "SELECT id, type, value FROM indicators WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),))}
        for i in ids:
            if i not in rows:
                raise CasetrailError(f"the case has no indicator {i}")
            t, v = rows[i]
            targets.append(("indicator", i, f"{t} {v}", {"type": t, "value": v}))
    elif target == "item":
        names = {int(r[0]): str(r[1]) for r in conn.execute(
            "SELECT id, name FROM items WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
        for i in ids:
            if i not in names:
                raise CasetrailError(f"the case has no item {i}")
            targets.append(("item", i, f"item {i} ({names[i]})", {"name": names[i]}))
    else:
        raise CasetrailError(f"tags are put on indicators or items, not on {target!r}")
    return _write_tags(case, targets, tags)


def _write_tags(case: Case, targets: list[tuple[str, int, str, dict[str, Any]]],
                tags: list[str]) -> list[str]:
    """Check every tag, then write each change and its custody entry in one transaction."""
    ops: list[tuple[str, Tag]] = []
    for raw in tags:
        remove = raw.startswith("-")
        ops.append(("remove" if remove else "add", parse_tag(raw[1:] if remove else raw)))
    lines: list[str] = []
    with case.transaction() as tx:
        for target, target_id, label, detail in targets:
            for op, tag in ops:
                lines.append(_apply_one(tx, case.examiner, target, target_id, label, detail, op, tag))
    return lines


def _apply_one(conn: sqlite3.Connection, examiner: str, target: str, target_id: int, label: str,
               detail: dict[str, Any], op: str, tag: Tag) -> str:
    shown = describe_tag(tag.text)
    suffix = f" ({shown})" if shown != tag.text else ""
    exists = conn.execute("SELECT 1 FROM tags WHERE target = ? AND target_id = ? AND tag = ?",
                          (target, target_id, tag.text)).fetchone() is not None
    if op == "add" and exists:
        return f"{label}: already tagged {tag.text}{suffix}"
    if op == "remove" and not exists:
        return f"{label}: not tagged {tag.text}, nothing removed"
    if op == "add":
        cur = conn.execute("INSERT INTO tags (target, target_id, tag, added_at, added_by) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (target, target_id, tag.text, custody.utc_now(), examiner))
        tag_id = int(cur.lastrowid or 0)
    else:
        tag_id = int(conn.execute("SELECT id FROM tags WHERE target = ? AND target_id = ? AND tag = ?",
                                  (target, target_id, tag.text)).fetchone()[0])
        conn.execute("DELETE FROM tags WHERE id = ?", (tag_id,))
    done = "added" if op == "add" else "removed"
    # The result names the tag and what carries it: the custody log is read by people, and
    # "added" alone says nothing of which tag went on which indicator.
    custody.append(conn, action="tagged", examiner=examiner, result=f"{done} {tag.text} on {label}",
                   item_id=target_id if target == "item" else None,
                   detail={"target": target, "target_id": target_id, **detail, "tag": tag.text,
                           "kind": tag.kind, "op": op},
                   state=[state.row_change(conn, "tags", tag_id)])
    return f"{label}: {done} {tag.text}{suffix}"
