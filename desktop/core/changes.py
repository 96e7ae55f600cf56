# SPDX-License-Identifier: GPL-3.0-or-later
"""What a write changed, and how to take it back (Anki's ``OpChanges`` and its undo).

Every core function the window calls to change a case returns a :class:`Changes`: which item and
indicator rows it added or changed, whose tags, how many custody entries it appended, and which
areas of the case (assessment, timeline, campaigns, the workstation's feeds) it touched. The
window hands it to every view, and each view refreshes only what it names — a tag on one
indicator repaints one cell, not the evidence table, the custody log and the graph.

An analyst's edit also carries its ``inverse``: an :class:`Edit` that, applied through the *same*
core functions, puts the state back and is itself recorded in custody. Undo never deletes
history; it is one more change, with its own entry. Applying an inverse returns a ``Changes``
whose inverse is the redo, so ids created on the way (a deleted hypothesis added back gets a new
id) stay right however far the analyst goes back and forth. :class:`History` is the two stacks;
it holds no case and runs nothing itself.

This module never imports Qt and never writes to a case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.case import Case

TagTarget = tuple[str, int | str]  # ("indicator", 12), ("item", 3), ("campaign", "C12")


@dataclass(frozen=True)
class Edit:
    """A change that can be applied to a case later (an undo or a redo).

    Attributes:
        label: the analyst's change it takes back or makes again, for the Edit menu
            ("tag tlp:amber on 3 indicators" is shown as "Undo tag tlp:amber on 3 indicators").
        apply: runs the change through the core on the write thread and returns what changed.
    """

    label: str
    apply: Callable[[Case], Changes] = field(compare=False)


@dataclass(frozen=True)
class Changes:
    """What one write changed; the views refresh exactly this.

    Attributes:
        items: ids of item rows added or changed (status, kind, analysis findings).
        items_added: new item rows exist (a table of items must read its ids again).
        indicators: ids of indicators whose occurrences or values changed.
        indicators_added: new indicators exist.
        tags: whose tag sets changed, as ``(target, id)``.
        custody: how many custody entries the write appended.
        assessment: hypotheses, ACH evidence or ratings, key judgments or notes changed.
        timeline: analyst timeline events changed.
        campaigns: the grouping of messages or the tags of a campaign changed.
        feeds: the workstation's feeds changed (every correlation must be read again).
        verified: a verify run recorded its outcome.
        label: what was done, in words, for the status bar and the Edit menu.
        inverse: how to take the change back, when it is an analyst edit that can be undone.
    """

    items: frozenset[int] = frozenset()
    items_added: bool = False
    indicators: frozenset[int] = frozenset()
    indicators_added: bool = False
    tags: frozenset[TagTarget] = frozenset()
    custody: int = 0
    assessment: bool = False
    timeline: bool = False
    campaigns: bool = False
    feeds: bool = False
    verified: bool = False
    label: str = ""
    inverse: Edit | None = field(default=None, compare=False)

    @property
    def empty(self) -> bool:
        """Whether nothing at all changed (a tag that was already there, a rating set again)."""
        return self == Changes(label=self.label)

    def tagged(self, target: str) -> set[int | str]:
        """The ids of one kind of target whose tags changed."""
        return {tid for kind, tid in self.tags if kind == target}

    def merged(self, other: Changes) -> Changes:
        """Both changes as one (the label and inverse of ``other`` win when it has them)."""
        return Changes(
            items=self.items | other.items, items_added=self.items_added or other.items_added,
            indicators=self.indicators | other.indicators,
            indicators_added=self.indicators_added or other.indicators_added,
            tags=self.tags | other.tags, custody=self.custody + other.custody,
            assessment=self.assessment or other.assessment, timeline=self.timeline or other.timeline,
            campaigns=self.campaigns or other.campaigns, feeds=self.feeds or other.feeds,
            verified=self.verified or other.verified, label=other.label or self.label,
            inverse=other.inverse or self.inverse)

    def with_inverse(self, inverse: Edit | None) -> Changes:
        """The same changes with an inverse (None: this change cannot be undone)."""
        return dataclasses.replace(self, inverse=inverse)


def merge_all(changes: Iterable[Changes]) -> Changes:
    """All the changes as one."""
    out = Changes()
    for c in changes:
        out = out.merged(c)
    return out


def sequence(label: str, edits: list[Edit]) -> Edit | None:
    """One edit that applies several in turn (None for none); its result undoes them all."""
    if not edits:
        return None
    if len(edits) == 1:
        return edits[0]

    def apply(case: Case) -> Changes:
        results = [e.apply(case) for e in edits]
        inverses = [r.inverse for r in reversed(results) if r.inverse is not None]
        return merge_all(results).with_inverse(sequence(label, inverses))

    return Edit(label, apply)


@dataclass
class History:
    """The undo and redo stacks of one window session (Qt-free; the window runs the edits).

    Only analyst edits with an inverse enter it. A new edit clears the redo stack, as in every
    editor. The window takes an edit off a stack, runs it on the write thread, and hands the edit
    and what it returned to :meth:`undone` or :meth:`redone`, which file the inverse on the other
    stack under the same label: "Undo tag tlp:amber" becomes "Redo tag tlp:amber".

    Attributes:
        limit: how many steps are kept.
    """

    limit: int = 200
    _undo: list[Edit] = field(default_factory=list)
    _redo: list[Edit] = field(default_factory=list)

    def record(self, changes: Changes) -> None:
        """A new analyst edit was made: its inverse becomes the next undo."""
        if changes.inverse is None:
            return
        self._undo.append(Edit(changes.label or changes.inverse.label, changes.inverse.apply))
        del self._undo[:-self.limit]
        self._redo.clear()

    @property
    def undo_label(self) -> str:
        """What Undo would take back now ("" when there is nothing to undo)."""
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        """What Redo would do again now ("" when there is nothing to redo)."""
        return self._redo[-1].label if self._redo else ""

    def take_undo(self) -> Edit | None:
        """Take the next undo off its stack (give it and its outcome to :meth:`undone`)."""
        return self._undo.pop() if self._undo else None

    def take_redo(self) -> Edit | None:
        """Take the next redo off its stack (give it and its outcome to :meth:`redone`)."""
        return self._redo.pop() if self._redo else None

    def undone(self, edit: Edit, changes: Changes) -> None:
        """An undo ran: what it returned can be redone, under the same label."""
        if changes.inverse is not None:
            self._redo.append(Edit(edit.label, changes.inverse.apply))

    def redone(self, edit: Edit, changes: Changes) -> None:
        """A redo ran: what it returned can be undone again, under the same label."""
        if changes.inverse is not None:
            self._undo.append(Edit(edit.label, changes.inverse.apply))

    def clear(self) -> None:
        """Forget everything (another case was opened)."""
        self._undo.clear()
        self._redo.clear()
