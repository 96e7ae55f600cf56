# SPDX-License-Identifier: GPL-3.0-or-later
"""Every change the window makes to a case, each returning what it changed and how to undo it.

The window never writes: it calls one of these functions on its single write thread and hands
the :class:`~desktop.core.changes.Changes` that comes back to its views. Each function calls the
core function that owns the change (``tags.apply_tags_to``, ``analysis.set_rating`` …), which
records it in custody in the same transaction, and adds what the window needs: which rows and
areas changed, how many custody entries were appended, and — for an analyst's edit — the inverse
:class:`~desktop.core.changes.Edit`, made of the same core functions. Undoing is therefore one
more recorded change (a tag removed, a rating set back, a deleted hypothesis added again with
its ratings), never a deletion of history.

This module never imports Qt and writes only through the owning core functions.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import analysis, campaigns, custody, findings, indicator_list, tags
from desktop.core.case import Case
from desktop.core.changes import Changes, Edit, merge_all, sequence
from desktop.core.errors import CasetrailError
from desktop.core.intel import FeedFailure, FeedImport, FeedInfo, Library
from desktop.core.progress import Progress, Task
from desktop.core.vault import sha256_on_disk

# Undo re-creates what it takes back, under a new id (a deleted hypothesis added again gets the next
# free id): older undo steps still name the old one. Each step resolves the ids it names through
# this map when it runs (edits are undone last first, so the chain is always right).
_RENAMED: weakref.WeakKeyDictionary[Case, dict[tuple[str, int], int]] = weakref.WeakKeyDictionary()


def _now(case: Case, kind: str, row_id: int) -> int:
    """The id a row an undo step names has now (itself, unless undo re-created it)."""
    renamed = _RENAMED.get(case, {})
    seen: set[int] = set()
    while (kind, row_id) in renamed and row_id not in seen:
        seen.add(row_id)
        row_id = renamed[(kind, row_id)]
    return row_id


def _renamed(case: Case, kind: str, old: int, new: int) -> None:
    if old != new:
        _RENAMED.setdefault(case, {})[(kind, old)] = new


def _tracked(case: Case, fn: Callable[[], object], **fields: Any) -> Changes:
    """Run one core write and say how many custody entries it appended."""
    before = custody.last_seq(case.db.conn)
    fn()
    return Changes(custody=custody.last_seq(case.db.conn) - before, **fields)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- tags ------------------------------------------------------------------------------------


def _tag_sets(case: Case, target: str, ids: Sequence[int]) -> dict[int, set[str]]:
    return {i: set(tags.tags_of(case.db.conn, target, i)) for i in ids}


def tag(case: Case, target: str, ids: Sequence[int], add: Sequence[str] = (),
        remove: Sequence[str] = ()) -> Changes:
    """Add and remove tags on indicators or items (one transaction; each change in custody).

    Args:
        case: the writable case.
        target: ``indicator`` or ``item``.
        ids: their ids.
        add: tags to add, as typed.
        remove: tags to remove.

    Returns:
        What changed; its inverse takes back exactly the tags that changed (a tag that was already
        there is not removed by the undo).

    Raises:
        TagError: a tag is invalid.
        CasetrailError: an unknown target or id.
    """
    ids = list(dict.fromkeys(int(i) for i in ids))
    wanted = [t for t in add if t.strip()] + [f"-{t.removeprefix('-')}" for t in remove if t.strip()]
    what = ", ".join(wanted)
    label = f"tag {what} on {_plural(len(ids), target)}"
    if not ids or not wanted:
        return Changes(label=label)
    before = _tag_sets(case, target, ids)
    changes = _tracked(case, lambda: tags.apply_tags_to(case, target, ids, wanted), label=label)
    after = _tag_sets(case, target, ids)
    # Undo each target's actual change: targets grouped by it, one call (one transaction) a group.
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for i in ids:
        key = (tuple(sorted(before[i] - after[i])), tuple(sorted(after[i] - before[i])))
        if key != ((), ()):
            groups.setdefault(key, []).append(i)
    touched = frozenset((target, i) for group in groups.values() for i in group)
    inverse = sequence(label, [Edit(label, functools.partial(_retag, target, group, key[0], key[1]))
                               for key, group in groups.items()])
    return dataclasses.replace(
        changes, tags=touched, inverse=inverse,
        items=frozenset(int(i) for t, i in touched if t == "item"))


def _retag(target: str, ids: list[int], add: Sequence[str], remove: Sequence[str], case: Case) -> Changes:
    return tag(case, target, ids, add=add, remove=remove)


def tag_campaign(case: Case, campaign_id: str, add: Sequence[str] = (),
                 remove: Sequence[str] = ()) -> Changes:
    """Add and remove tags on a campaign (each change in custody with the full tag set)."""
    wanted = [t for t in add if t.strip()] + [f"-{t.removeprefix('-')}" for t in remove if t.strip()]
    label = f"tag campaign {campaign_id} {', '.join(wanted)}"
    if not wanted:
        return Changes(label=label)
    before = set(campaigns.tags_of(case.db.conn).get(campaign_id, []))
    changes = _tracked(case, lambda: campaigns.tag_campaign(case, campaign_id, wanted), label=label)
    after = set(campaigns.tags_of(case.db.conn).get(campaign_id, []))
    added, removed = sorted(after - before), sorted(before - after)
    if not added and not removed:
        return changes
    return dataclasses.replace(
        changes, tags=frozenset({("campaign", campaign_id)}), campaigns=True,
        inverse=Edit(label, lambda c: tag_campaign(c, campaign_id, add=removed, remove=added)))


# -- ACH: hypotheses, evidence, ratings ------------------------------------------------------


def _hypothesis(case: Case, hypothesis_id: int) -> analysis.Hypothesis:
    for h in analysis.list_hypotheses(case):
        if h.id == hypothesis_id:
            return h
    raise analysis.AssessmentError(f"there is no hypothesis {hypothesis_id} in this case")


def _evidence(case: Case, evidence_id: int) -> analysis.Evidence:
    for e in analysis.list_evidence(case):
        if e.id == evidence_id:
            return e
    raise analysis.AssessmentError(f"there is no evidence row {evidence_id} in this case")


def _assessed(case: Case, fn: Callable[[], object], label: str, inverse: Callable[[Case], Changes] | None,
              ) -> Changes:
    changes = _tracked(case, fn, assessment=True, label=label)
    return changes.with_inverse(Edit(label, inverse) if inverse is not None else None)


def add_hypothesis(case: Case, title: str, description: str = "") -> Changes:
    """Add a hypothesis; undo deletes it (custody keeps both)."""
    made: list[analysis.Hypothesis] = []
    changes = _assessed(case, lambda: made.append(analysis.add_hypothesis(case, title, description)),
                        f"add hypothesis \u201c{title.strip()}\u201d", None)
    hid = made[0].id
    return changes.with_inverse(Edit(changes.label,
                                     lambda c: delete_hypothesis(c, _now(c, "hypothesis", hid))))


def update_hypothesis(case: Case, hypothesis_id: int, *, title: str | None = None,
                      description: str | None = None, position: int | None = None) -> Changes:
    """Edit a hypothesis; undo puts the old title, description and position back."""
    old = _hypothesis(case, hypothesis_id)
    return _assessed(case, lambda: analysis.update_hypothesis(
        case, hypothesis_id, title=title, description=description, position=position),
        f"edit hypothesis \u201c{old.title}\u201d", lambda c: update_hypothesis(
            c, _now(c, "hypothesis", hypothesis_id), title=old.title, description=old.description,
            position=old.position))


def delete_hypothesis(case: Case, hypothesis_id: int) -> Changes:
    """Delete a hypothesis and its ratings; undo adds it back where it was, with its ratings."""
    old = _hypothesis(case, hypothesis_id)
    ratings = {e: r for (e, h), r in analysis.matrix(case).ratings.items() if h == hypothesis_id}

    def undo(c: Case) -> Changes:
        made: list[analysis.Hypothesis] = []
        back = _assessed(c, lambda: made.append(analysis.add_hypothesis(c, old.title, old.description)),
                         "", None)
        new_id = made[0].id
        _renamed(c, "hypothesis", hypothesis_id, new_id)
        steps = [back, _assessed(c, lambda: analysis.update_hypothesis(c, new_id, position=old.position),
                                 "", None)]
        present = {e.id for e in analysis.list_evidence(c)}
        for evidence_id, rating in sorted(ratings.items()):
            now = _now(c, "evidence", evidence_id)
            if now in present:
                steps.append(_assessed(
                    c, functools.partial(analysis.set_rating, c, now, new_id, rating), "", None))
        return merge_all(steps).with_inverse(Edit("", lambda c2: delete_hypothesis(c2, _now(c2, "hypothesis",
                                                                                              new_id))))

    return _assessed(case, lambda: analysis.delete_hypothesis(case, hypothesis_id),
                     f"delete hypothesis \u201c{old.title}\u201d", undo)


def add_evidence(case: Case, label: str, *, kind: str = "other", ref_id: int | None = None,
                 credibility: str = "medium", relevance: str = "medium") -> Changes:
    """Add an ACH evidence row; undo deletes it."""
    made: list[analysis.Evidence] = []
    changes = _assessed(case, lambda: made.append(analysis.add_evidence(
        case, label, kind=kind, ref_id=ref_id, credibility=credibility, relevance=relevance)),
        f"add evidence \u201c{label.strip()}\u201d", None)
    eid = made[0].id
    return changes.with_inverse(Edit(changes.label, lambda c: delete_evidence(c, _now(c, "evidence", eid))))


def update_evidence(case: Case, evidence_id: int, *, label: str | None = None,
                    credibility: str | None = None, relevance: str | None = None,
                    position: int | None = None) -> Changes:
    """Edit an evidence row's label, weights or position; undo puts the old ones back."""
    old = _evidence(case, evidence_id)
    return _assessed(case, lambda: analysis.update_evidence(
        case, evidence_id, label=label, credibility=credibility, relevance=relevance, position=position),
        f"edit evidence \u201c{old.label}\u201d", lambda c: update_evidence(
            c, _now(c, "evidence", evidence_id), label=old.label, credibility=old.credibility,
            relevance=old.relevance, position=old.position))


def delete_evidence(case: Case, evidence_id: int) -> Changes:
    """Delete an evidence row and its ratings; undo adds it back where it was, with its ratings."""
    old = _evidence(case, evidence_id)
    ratings = {h: r for (e, h), r in analysis.matrix(case).ratings.items() if e == evidence_id}

    def undo(c: Case) -> Changes:
        made: list[analysis.Evidence] = []
        back = _assessed(c, lambda: made.append(analysis.add_evidence(
            c, old.label, kind=old.kind, ref_id=old.ref_id, credibility=old.credibility,
            relevance=old.relevance)), "", None)
        new_id = made[0].id
        _renamed(c, "evidence", evidence_id, new_id)
        steps = [back, _assessed(c, lambda: analysis.update_evidence(c, new_id, position=old.position),
                                 "", None)]
        present = {h.id for h in analysis.list_hypotheses(c)}
        for hypothesis_id, rating in sorted(ratings.items()):
            now = _now(c, "hypothesis", hypothesis_id)
            if now in present:
                steps.append(_assessed(
                    c, functools.partial(analysis.set_rating, c, new_id, now, rating), "", None))
        return merge_all(steps).with_inverse(Edit("", lambda c2: delete_evidence(c2, _now(c2, "evidence",
                                                                                            new_id))))

    return _assessed(case, lambda: analysis.delete_evidence(case, evidence_id),
                     f"delete evidence \u201c{old.label}\u201d", undo)


def set_rating(case: Case, evidence_id: int, hypothesis_id: int, rating: str | None) -> Changes:
    """Rate one ACH cell (None clears it); undo sets the old rating back."""
    old = analysis.matrix(case).ratings.get((evidence_id, hypothesis_id))
    changes = _assessed(case, lambda: analysis.set_rating(case, evidence_id, hypothesis_id, rating),
                        f"rate E{evidence_id} against H{hypothesis_id} {rating or '(cleared)'}", None)
    if not changes.custody:
        return Changes(label=changes.label)  # the same rating again: nothing changed, nothing to undo
    return changes.with_inverse(Edit(changes.label, lambda c: set_rating(
        c, _now(c, "evidence", evidence_id), _now(c, "hypothesis", hypothesis_id), old)))


# -- key judgments ---------------------------------------------------------------------------


def _judgment(case: Case, judgment_id: int) -> analysis.Judgment:
    for j in analysis.list_judgments(case):
        if j.id == judgment_id:
            return j
    raise analysis.AssessmentError(f"there is no key judgment {judgment_id} in this case")


def add_judgment(case: Case, text: str, *, confidence: str, likelihood: str) -> Changes:
    """Add a key judgment; undo deletes it."""
    made: list[analysis.Judgment] = []
    changes = _assessed(case, lambda: made.append(analysis.add_judgment(
        case, text, confidence=confidence, likelihood=likelihood)), "add key judgment", None)
    jid = made[0].id
    return changes.with_inverse(Edit(changes.label, lambda c: delete_judgment(c, _now(c, "judgment", jid))))


def update_judgment(case: Case, judgment_id: int, *, text: str | None = None, confidence: str | None = None,
                    likelihood: str | None = None, position: int | None = None) -> Changes:
    """Edit a key judgment; undo puts the old text, confidence, likelihood and position back."""
    old = _judgment(case, judgment_id)
    return _assessed(case, lambda: analysis.update_judgment(
        case, judgment_id, text=text, confidence=confidence, likelihood=likelihood, position=position),
        "edit key judgment", lambda c: update_judgment(
            c, _now(c, "judgment", judgment_id), text=old.text, confidence=old.confidence,
            likelihood=old.likelihood, position=old.position))


def delete_judgment(case: Case, judgment_id: int) -> Changes:
    """Delete a key judgment; undo adds it back where it was."""
    old = _judgment(case, judgment_id)

    def undo(c: Case) -> Changes:
        made: list[analysis.Judgment] = []
        back = _assessed(c, lambda: made.append(analysis.add_judgment(
            c, old.text, confidence=old.confidence, likelihood=old.likelihood)), "", None)
        new_id = made[0].id
        _renamed(c, "judgment", judgment_id, new_id)
        moved = _assessed(c, lambda: analysis.update_judgment(c, new_id, position=old.position), "", None)
        return back.merged(moved).with_inverse(Edit("", lambda c2: delete_judgment(c2, _now(c2, "judgment",
                                                                                              new_id))))

    return _assessed(case, lambda: analysis.delete_judgment(case, judgment_id), "delete key judgment", undo)


# -- notes -----------------------------------------------------------------------------------


def _note(case: Case, note_id: int) -> analysis.Note:
    for n in analysis.list_notes(case):
        if n.id == note_id:
            return n
    raise analysis.AssessmentError(f"there is no note {note_id} in this case")


def add_note(case: Case, text: str, *, item_id: int | None = None,
             indicator_id: int | None = None) -> Changes:
    """Write a note; undo deletes it."""
    made: list[analysis.Note] = []
    changes = _assessed(case, lambda: made.append(analysis.add_note(
        case, text, item_id=item_id, indicator_id=indicator_id)), "add note", None)
    nid = made[0].id
    return changes.with_inverse(Edit(changes.label, lambda c: delete_note(c, _now(c, "note", nid))))


def update_note(case: Case, note_id: int, text: str) -> Changes:
    """Replace a note's text; undo puts the old text back."""
    old = _note(case, note_id)
    return _assessed(case, lambda: analysis.update_note(case, note_id, text), "edit note",
                     lambda c: update_note(c, _now(c, "note", note_id), old.text))


def delete_note(case: Case, note_id: int) -> Changes:
    """Delete a note; undo writes it again (a new note with the same text, on the same target)."""
    old = _note(case, note_id)

    def undo(c: Case) -> Changes:
        back = add_note(c, old.text, item_id=old.item_id, indicator_id=old.indicator_id)
        _renamed(c, "note", note_id, analysis.list_notes(c)[-1].id)
        return back

    return _assessed(case, lambda: analysis.delete_note(case, note_id), "delete note", undo)


# -- analyst timeline events -----------------------------------------------------------------


def _event(case: Case, event_id: int) -> analysis.Event:
    for e in analysis.list_events(case):
        if e.event_id == event_id:
            return e
    raise analysis.AssessmentError(f"there is no timeline event {event_id} in this case")


def _timed(case: Case, fn: Callable[[], object], label: str,
           inverse: Callable[[Case], Changes] | None) -> Changes:
    changes = _tracked(case, fn, timeline=True, label=label)
    return changes.with_inverse(Edit(label, inverse) if inverse is not None else None)


def add_event(case: Case, at: str, title: str, detail: str = "", *, item_id: int | None = None) -> Changes:
    """Add an analyst event to the timeline; undo deletes it."""
    made: list[analysis.Event] = []
    changes = _timed(case, lambda: made.append(analysis.add_event(case, at, title, detail, item_id=item_id)),
                     f"add timeline event \u201c{title.strip()}\u201d", None)
    eid = made[0].event_id
    if eid is None:
        return changes
    return changes.with_inverse(Edit(changes.label, lambda c: delete_event(c, _now(c, "event", eid))))


def update_event(case: Case, event_id: int, *, at: str | None = None, title: str | None = None,
                 detail: str | None = None) -> Changes:
    """Edit an analyst event; undo puts the old time, title and detail back."""
    old = _event(case, event_id)
    return _timed(case, lambda: analysis.update_event(case, event_id, at=at, title=title, detail=detail),
                  f"edit timeline event \u201c{old.title}\u201d", lambda c: update_event(
                      c, _now(c, "event", event_id), at=old.at, title=old.title, detail=old.detail))


def delete_event(case: Case, event_id: int) -> Changes:
    """Delete an analyst event; undo adds it again."""
    old = _event(case, event_id)

    def undo(c: Case) -> Changes:
        made: list[analysis.Event] = []
        back = _timed(c, lambda: made.append(analysis.add_event(c, old.at, old.title, old.detail,
                                                                item_id=old.item_id)), "", None)
        new_id = made[0].event_id or event_id
        _renamed(c, "event", event_id, new_id)
        return back.with_inverse(Edit("", lambda c2: delete_event(c2, _now(c2, "event", new_id))))

    return _timed(case, lambda: analysis.delete_event(case, event_id),
                  f"delete timeline event \u201c{old.title}\u201d", undo)


# -- what an analyst reads on a picture --------------------------------------------------------


def record_region(case: Case, item_id: int, type_: str, value: str, bbox: list[int],
                  time_s: float | None, note: str = "") -> Changes:
    """Record an indicator an analyst read in a region of an image or frame (a finding, in custody).

    Not undoable from the window: it is a finding of the item, bound by its findings digest, as an
    analyser's are.
    """
    with case.transaction() as conn:
        known = indicator_list.lookup(conn, type_, value) is not None
        before = custody.last_seq(conn)
        findings.record_analyst_reading(conn, examiner=case.examiner, item_id=item_id, type_=type_,
                                        value=value, bbox=bbox, time_s=time_s, note=note)
        found = indicator_list.lookup(conn, type_, value)
        appended = custody.last_seq(conn) - before
    return Changes(items=frozenset({item_id}), indicators=frozenset({found} if found else ()),
                   indicators_added=not known, custody=appended,
                   label=f"record {type_} {value} read on item {item_id}")


# -- evidence out ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedOriginal:
    """An original file written out of the vault.

    Attributes:
        path: where it was written.
        sha256: its SHA-256, re-read from the written file (it matches the item's).
        changes: the custody entry it appended.
    """

    path: Path
    sha256: str
    changes: Changes


def export_original(case: Case, item_id: int, dest: Path) -> ExportedOriginal:
    """Copy an item's original bytes out of the vault to ``dest``, verified, recorded in custody.

    The copy is written next to ``dest`` under a temporary name, re-hashed from disk, and only
    renamed into place when it hashes to the item's SHA-256: a copy that does not is removed and
    the export refused. Nothing is overwritten: ``dest`` must not exist.

    Raises:
        CasetrailError: no such item, ``dest`` exists, or the copy does not verify.
    """
    item = case.item(item_id)
    if item is None:
        raise CasetrailError(f"the case has no item {item_id}")
    if dest.exists():
        raise CasetrailError(f"{dest} exists already; choose a new file name")
    tmp = dest.with_name(f".{dest.name}.casetrail-part")
    try:
        shutil.copyfile(case.vault.blob_path(item.sha256), tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        got = sha256_on_disk(tmp)
        if got != item.sha256:
            raise CasetrailError(f"the copy of item {item_id} does not hash to its SHA-256 "
                                 f"({got[:16]}\u2026 instead of {item.sha256[:16]}\u2026); verify the case")
        os.link(tmp, dest)  # never replaces a file that appeared meanwhile
    except OSError as exc:
        raise CasetrailError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    changes = _tracked(case, lambda: case.record(
        "exported", item_id=item_id, sha256=item.sha256, hash_before=item.sha256, hash_after=got,
        source=str(dest), result="original file written out of the vault; the copy re-read from disk "
                                 "matches its SHA-256",
        detail={"what": "original file", "name": item.name, "path": str(dest)}),
        label=f"export the original of item {item_id}")
    return ExportedOriginal(dest, got, changes)


# -- the workstation's feeds -----------------------------------------------------------------


@dataclass(frozen=True)
class FeedsImported:
    """What importing feed files did."""

    imported: list[FeedImport]
    failed: list[FeedFailure]
    changes: Changes


def import_feeds(paths: Sequence[Path], *, replace: bool = False, library_path: Path | None = None,
                 ) -> Task[FeedsImported]:
    """Import feed files into the workstation library, going on past a bad one (read pool)."""
    yield Progress("importing feeds", 0, 0, 0, len(paths))
    with Library.open(library_path) as library:
        results = library.import_feeds(list(paths), replace=replace)
    imported = [r for r in results if isinstance(r, FeedImport)]
    failed = [r for r in results if isinstance(r, FeedFailure)]
    return FeedsImported(imported, failed, Changes(feeds=bool(imported),
                                                    label=f"import {_plural(len(imported), 'feed')}"))


def list_feeds(*, library_path: Path | None = None) -> list[FeedInfo]:
    """The workstation's feeds, in import order (none when the library was never made)."""
    library = Library.open_existing(library_path)
    if library is None:
        return []
    with library:
        return library.feeds()


def remove_feed(feed_id: int, *, case: Case | None = None, library_path: Path | None = None) -> Changes:
    """Remove a feed from the workstation library (its entries no longer match in any case).

    With ``case`` (the case open in the window, writable), the case's lookups are run again at
    once (:func:`refresh_lookups`): its matches come from its intelligence snapshot, so a feed
    removed from the library changes what the case states only through a new snapshot, which
    custody binds by its SHA-256 and whose reason names the feed removed and its SHA-256.
    """
    with Library.open(library_path) as library:
        feed = next((f for f in library.feeds() if f.id == feed_id), None)
        if feed is None:
            raise CasetrailError(f"the library has no feed {feed_id}")
        library.remove_feed(feed_id)
    removed = Changes(feeds=True, label=f"remove feed {feed.name}")
    if case is None:
        return removed
    again = refresh_lookups(case, reason=f"feed {feed.name} ({feed.file_name}, SHA-256 {feed.sha256}) "
                                         "removed from the workstation library", library_path=library_path)
    return dataclasses.replace(merge_all([removed, again]), label=removed.label)


def refresh_lookups(case: Case, *, reason: str = "analyst refresh",
                    library_path: Path | None = None) -> Changes:
    """Run the case's lookups against the library again: a new intelligence snapshot, in custody.

    What ``casetrail intel refresh CASE`` runs (:func:`desktop.core.references.refresh`).
    """
    from desktop.core import references

    return _tracked(case, lambda: references.refresh(case, library_path, reason=reason), feeds=True,
                    label="re-run the intelligence lookups")
