# SPDX-License-Identifier: GPL-3.0-or-later
"""The analysis pipeline: run items through the sandbox and record what it found.

Runs in the process that holds the case. Jobs go to a small pool of sandbox children (both
cores count: two at a time by default); every result is written here, on the caller's thread,
so the case keeps its single writer. Derived parts (attachments, mbox messages, frames) are
acquired through the vault like any evidence and then analysed in turn, which is how nested
messages recurse. A failure marks the item ``analysis failed: <reason>``; the evidence stays.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import campaigns, custody, findings, state, warninglists
from desktop.core.acquire import (
    Acquired,
    DerivedFile,
    ImportReport,
    acquire_derived_batch,
    import_paths,
)
from desktop.core.case import Case, Item
from desktop.core.detect import describe_file
from desktop.core.errors import CasetrailError
from desktop.core.intel import index_case
from desktop.core.progress import Progress, Task
from desktop.ingest import registry, spool
from desktop.ingest.plugin import Probe
from desktop.ingest.sandbox import AnalysisFailed, Sandbox

ANALYSING = "analysing"  # the stage of the progress analysis yields (desktop.core.progress)

log = logging.getLogger(__name__)
MAX_DEPTH = 8  # attachments of attachments of …: beyond this, parts are kept but not analysed
_BATCH, _BATCH_S = 64, 0.25
# Jobs queued per child. A step that acquires a slice of a mailbox's messages takes a second or
# more; with 8 a child the children ran out of work after a fifth of it (idle ~80 % of a 50,000-
# message mbox import). Results wait in memory only until the step records them.
_QUEUED = 64
_ATTACHED = ("attachment", "attached message")  # parts whose hashes are occurrences of the parent
_DERIVE_SLICE = 256  # parts acquired per step: one sync and one commit, then progress and cancel


@dataclass
class AnalysisReport:
    """What one pipeline run did."""

    analysed: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    derived: list[int] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    grouping_s: float = 0.0


def pending(case: Case) -> list[int]:
    """Items acquired but not analysed yet (intelligence references are never analysed)."""
    return [int(r[0]) for r in case.db.execute(
        "SELECT id FROM items WHERE status = 'acquired' AND derived_how IS NOT 'intelligence reference' "
        "ORDER BY id")]


def pending_under(case: Case, item_id: int) -> list[int]:
    """Items derived from ``item_id`` (at any depth) that are acquired but not analysed yet.

    A kill after a mailbox's own analysis was recorded, but before all its messages' analyses
    were, leaves the mailbox ``analysed`` and some messages ``acquired``: importing the mailbox
    again must analyse those, not only the mailbox itself.
    """
    rows = case.db.execute(
        "WITH RECURSIVE under(id) AS (SELECT id FROM items WHERE parent_id = ? "
        "UNION SELECT i.id FROM items i JOIN under u ON i.parent_id = u.id) "
        "SELECT i.id FROM items i JOIN under u ON i.id = u.id WHERE i.status = 'acquired' ORDER BY i.id",
        (item_id,)).fetchall()
    return [int(r[0]) for r in rows]


def _depth(case: Case, item: Item) -> int:
    depth, parent = 0, item.parent_id
    while parent is not None and depth <= MAX_DEPTH:
        depth += 1
        row = case.db.execute("SELECT parent_id FROM items WHERE id = ?", (parent,)).fetchone()
        parent = row[0] if row else None
    return depth


class _Janitor:
    """Removes scratch files and folders on a thread of its own.

    Removing each job's scratch folder (and the attachment files the vault took) was ~17 % of
    the writer's time on a 50,000-message mbox on a busy disk: every unlink and rmdir waits on
    the file system's journal. Scratch is never evidence, and whatever a crash leaves is removed
    when the case is opened next (``Case.recover``).
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Path, bool] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def remove(self, path: Path, *, tree: bool = False) -> None:
        """Remove a file (or, with ``tree``, a folder and all it holds) soon."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scratch-janitor", daemon=True)
            self._thread.start()
        self._jobs.put((path, tree))

    def close(self) -> None:
        """Wait until everything handed over is removed."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            path, tree = job
            if tree:
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)


@dataclass
class _Done:
    """A finished analysis on its way to being recorded: its parts are acquired a slice at a time."""

    item: Item
    result: dict[str, Any] | str
    outdir: Path
    depth: int = 0
    parts_done: int = 0
    part_ids: list[int] = field(default_factory=list)  # the item each part became, in order
    # Attached files by position: their hashes are occurrences of the parent. Only these are kept
    # as items (a mailbox's 50,000 messages as items held ~100 MB until the mailbox was recorded).
    attached: dict[int, Item] = field(default_factory=dict)
    new_ids: list[int] = field(default_factory=list)


class Analyser:
    """Analysis jobs running in sandboxes while the caller does other work on its own thread.

    The caller feeds item ids with :meth:`add` and calls :meth:`step` between its own steps;
    every database write happens inside ``step``, on the caller's thread, so the case keeps one
    writer even while acquisition and analysis overlap.

    One analysis per content: an item whose content another item of the case already holds is
    not analysed again; it waits for that item's analysis (or takes the recorded one), shares its
    findings and exhibits (``items.same_as``) and records its own occurrences.

    Args:
        case: the open, writable case.
        workers: sandbox children (both cores count).
        timeouts: time limits in seconds by analyser name, over each analyser's own
            (:class:`desktop.ingest.plugin.Limits`).
    """

    def __init__(self, case: Case, *, workers: int = 2, timeouts: dict[str, float] | None = None) -> None:
        self.case = case
        self.report = AnalysisReport()
        self.total = 0
        self._timeouts = dict(timeouts or {})
        self._todo: deque[int] = deque()
        self._queued: set[int] = set()
        self._free: queue.Queue[Sandbox] = queue.Queue()
        self._boxes = [Sandbox() for _ in range(max(1, workers))]
        for box in self._boxes:
            self._free.put(box)
        self._pool = ThreadPoolExecutor(max_workers=len(self._boxes), thread_name_prefix="analysis")
        self._inflight: dict[Future[dict[str, Any]], tuple[Item, Path]] = {}
        self._deriving: deque[_Done] = deque()
        self._finished: list[_Done] = []
        self._owner_of: dict[str, int] = {}  # content analysed in this run -> the item analysing it
        self._waiting: dict[str, list[Item]] = {}  # items waiting for that analysis
        self._shares: list[tuple[Item, int, str]] = []  # (item, owner id, owner status) to record
        self._held_since = 0.0
        self._scratch = case.path / "work"
        self._janitor = _Janitor()
        # Recording the first findings checks their indicators against the warninglists: they
        # load (~1 s) while the first files are copied and the first jobs run.
        warninglists.preload()
        self._messages = 0  # messages recorded in this run

    @property
    def busy(self) -> bool:
        """Jobs are waiting, running, or finished but not recorded yet."""
        return bool(self._todo or self._inflight or self._deriving or self._finished or self._shares
                    or self._waiting)

    @property
    def settled(self) -> int:
        """Items whose analysis is recorded (analysed or failed)."""
        return len(self.report.analysed) + len(self.report.failed)

    def add(self, item_ids: list[int]) -> None:
        """Queue items for analysis (an item already queued in this run is not queued twice)."""
        for item_id in item_ids:
            if item_id not in self._queued:
                self._queued.add(item_id)
                self._todo.append(item_id)
                self.total += 1

    def _run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        box = self._free.get()
        try:
            return box.run(job, timeout)
        finally:
            self._free.put(box)

    def _hold(self) -> None:
        self._held_since = self._held_since or time.monotonic()

    def _submit(self) -> None:
        # A deep queue lets results pile up while the caller's thread writes, so they are recorded
        # several to a transaction (each commit is an fsync: most of the writer's time).
        while self._todo and len(self._inflight) < len(self._boxes) * _QUEUED:
            item = self.case.item(self._todo.popleft())
            if item is None:
                continue
            if item.sha256 in self._owner_of:
                self._waiting.setdefault(item.sha256, []).append(item)
                continue
            owner = self.case.db.execute(
                "SELECT id, status FROM items WHERE sha256 = ? AND id != ? AND same_as IS NULL "
                "AND status != 'acquired' ORDER BY id LIMIT 1", (item.sha256, item.id)).fetchone()
            if owner is not None:
                self._shares.append((item, int(owner[0]), str(owner[1])))
                self._hold()
                continue
            self._owner_of[item.sha256] = item.id
            path = self.case.vault.blob_path(item.sha256)
            outdir = self._scratch / uuid.uuid4().hex
            try:
                probe = Probe.of_file(path, mime=item.mime, kind=item.kind, name=item.name,
                                      derived_how=item.derived_how)
            except OSError as exc:
                self._finished.append(_Done(item, f"the vault copy cannot be read: {exc.strerror}", outdir))
                self._hold()
                continue
            analyser = registry.choose(probe)
            if analyser is None:
                # Nothing reads this content: recorded as analysed without a trip to a child.
                result = {"kind": item.kind, "summary": f"no analyser for {item.mime or 'this type'}; "
                                                        "nothing extracted"}
                if not item.magic:
                    result["magic"] = _describe(path)
                self._finished.append(_Done(item, result, outdir))
                self._hold()
                continue
            job = {"id": item.id, "path": str(path), "name": item.name, "mime": item.mime,
                   "kind": item.kind, "derived_how": item.derived_how, "outdir": str(outdir),
                   "analyser": analyser.name, "memory_mb": analyser.limits.memory_mb,
                   "describe": not item.magic}
            timeout = self._timeouts.get(analyser.name, analyser.limits.timeout_s)
            self._inflight[self._pool.submit(self._run, job, timeout)] = (item, outdir)

    def _collect(self, wait_s: float) -> None:
        if not self._inflight:
            return
        done, _ = wait(list(self._inflight), timeout=wait_s, return_when=FIRST_COMPLETED)
        for fut in done:
            item, outdir = self._inflight.pop(fut)
            try:
                result: dict[str, Any] | str = fut.result()
            except AnalysisFailed as exc:
                result = str(exc)
            entry = _Done(item, result, outdir)
            if isinstance(result, dict) and result.get("parts"):
                entry.depth = _depth(self.case, item)
                self._deriving.append(entry)
            else:
                self._finished.append(entry)
                self._hold()

    def _derive(self) -> None:
        """Acquire the next slice of parts of finished analyses (a mailbox may have 50,000).

        One slice takes parts from as many finished analyses as it holds: the attachments of
        the messages analysed meanwhile share one sync and one commit. The analyses with the
        fewest parts left go first, and each is recorded as soon as its parts are: a mailbox
        being cut into 50,000 messages took every slice, so the analyses of its messages (those
        with attachments) waited behind it, unrecorded, until the whole mailbox was acquired.
        """
        budget = _DERIVE_SLICE
        picked: list[tuple[_Done, list[dict[str, Any]]]] = []
        for entry in sorted(self._deriving, key=lambda e: len(_parts(e)) - e.parts_done):
            assert isinstance(entry.result, dict)  # noqa: S101 - only successful results derive parts
            piece = entry.result["parts"][entry.parts_done : entry.parts_done + budget]
            picked.append((entry, piece))
            budget -= len(piece)
            if budget <= 0:
                break
        files = [(entry.item, self._derived_file(entry, part)) for entry, piece in picked for part in piece]
        acquired = iter(acquire_derived_batch(self.case, files))
        for entry, piece in picked:
            got_here = [next(acquired) for _part in piece]
            for part, got in zip(piece, got_here, strict=True):
                if part["file"]:
                    self._janitor.remove(entry.outdir / part["file"])  # the vault holds it now
                if part["how"] in _ATTACHED:
                    entry.attached[len(entry.part_ids)] = got.item
                entry.part_ids.append(got.item.id)
                if got.new_item or got.item.status == "acquired":
                    entry.new_ids.append(got.item.id)
            if entry.depth < MAX_DEPTH:
                # Parts are analysed while the rest are still acquired (a kill leaves them
                # acquired, and a re-import analyses what is pending).
                self.add([got.item.id for got in got_here if got.new_item or got.item.status == "acquired"])
            entry.parts_done += len(piece)
        done = [e for e in self._deriving if e.parts_done >= len(_parts(e))]
        if done:
            self._deriving = deque(e for e in self._deriving if e.parts_done < len(_parts(e)))
            self._finished += done
            self._hold()

    def _derived_file(self, entry: _Done, part: dict[str, Any]) -> DerivedFile:
        if not part["file"]:  # a slice of the item itself (a message of a mailbox)
            return DerivedFile(self.case.vault.blob_path(entry.item.sha256), part["name"], part["how"],
                               part.get("detail"), int(part["offset"]), int(part["length"]))
        return DerivedFile(entry.outdir / part["file"], part["name"], part["how"], part.get("detail"))

    def step(self, wait_s: float) -> Item | None:
        """Submit what fits, collect what finished, derive parts, record a batch when one is due.

        Args:
            wait_s: how long to wait for a job to finish (0: do not block).

        Returns:
            The last item of the batch just recorded, or None when nothing was recorded.
        """
        self._submit()
        self._collect(0 if self._deriving else wait_s)
        if self._deriving:
            self._derive()  # one slice, then the analyses of parts already derived are recorded
        ready = len(self._finished) + len(self._shares)
        if not ready or (ready < _BATCH and (self._todo or self._inflight or self._deriving)
                         and time.monotonic() - self._held_since < _BATCH_S):
            return self._deriving[0].item if self._deriving else None
        batch, self._finished, self._held_since = self._finished, [], 0.0
        shares, self._shares = self._shares, []
        for entry in batch:  # items that waited for these analyses share them in the same commit
            shares += [(dup, entry.item.id, "") for dup in self._waiting.pop(entry.item.sha256, [])]
        try:
            outcome = _apply_batch(self.case, batch, shares)
        finally:
            for entry in batch:
                self._janitor.remove(entry.outdir, tree=True)
        for entry in batch:
            self._owner_of.pop(entry.item.sha256, None)
            if isinstance(entry.result, str):
                self.report.failed.append((entry.item.id, entry.result))
                continue
            self.report.analysed.append(entry.item.id)
            self.report.derived += entry.new_ids
            self.report.notes += [(entry.item.id, note) for note in entry.result.get("notes") or []]
            if entry.result.get("email"):
                self._messages += 1
                if self._messages == 2:
                    campaigns.preload()  # the import will group messages: load the grouping now
        for dup, status in outcome:
            if status == "analysed":
                self.report.analysed.append(dup.id)
            else:
                self.report.failed.append((dup.id, status.removeprefix("analysis failed: ")))
        last = batch[-1].item if batch else shares[-1][0]
        return last

    def close(self) -> None:
        """Stop the children; results not recorded yet are dropped (those items stay acquired)."""
        for fut in self._inflight:
            fut.cancel()
        for box in self._boxes:
            box.terminate()  # wakes a job in progress, which then fails and returns its box
        self._pool.shutdown(wait=True, cancel_futures=True)
        for box in self._boxes:
            box.close()
        self._janitor.close()
        for _item, outdir in self._inflight.values():
            shutil.rmtree(outdir, ignore_errors=True)
        for entry in [*self._finished, *self._deriving]:
            shutil.rmtree(entry.outdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._scratch.rmdir()

    def drain(self) -> Task[AnalysisReport]:
        """Finish every queued job (and what they yield); yield progress per recorded batch."""
        while self.busy:
            last = self.step(0.2)
            yield Progress(last.name if last else "", 0, 0, self.settled, self.total, ANALYSING)
        if self.report.analysed:
            _index(self.case)
            started = time.perf_counter()
            _group(self.case)
            self.report.grouping_s = time.perf_counter() - started
        return self.report


def _parts(entry: _Done) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = entry.result.get("parts") or [] if isinstance(entry.result, dict) else []
    return parts


def _describe(path: Path) -> str:
    """The description libmagic gives, or "" when the vault copy cannot be read (verify says why)."""
    try:
        return describe_file(path)
    except Exception:  # python-magic raises its own MagicException on unreadable files
        return ""


def analyse_items(case: Case, item_ids: list[int], *, workers: int = 2,
                  timeouts: dict[str, float] | None = None) -> Task[AnalysisReport]:
    """Analyse items (and whatever they yield) in sandboxes; yield progress per recorded batch."""
    analyser = Analyser(case, workers=workers, timeouts=timeouts)
    try:
        analyser.add(list(item_ids))
        return (yield from analyser.drain())
    finally:
        analyser.close()


def _index(case: Case) -> None:
    """Let other cases on this workstation see this one's indicators; never fail analysis for it."""
    try:
        index_case(case)
    except (CasetrailError, sqlite3.Error, OSError) as exc:
        log.warning("the workstation library could not index %s: %s", case.path, exc)


def _group(case: Case) -> None:
    """Regroup the case's messages into campaigns (recorded in custody when the groups change)."""
    try:
        campaigns.refresh(case)
    except (CasetrailError, sqlite3.Error) as exc:
        log.warning("the campaigns of %s could not be grouped: %s", case.path, exc)


def import_and_analyse(case: Case, paths: list[Path], reason: str = "") -> Task[ImportReport]:
    """Acquire files and analyse each as soon as it is recorded: what the window and CLI run.

    A parser never sees a byte before its item is acquired and recorded; the two phases overlap
    across items (the children parse item n while this thread acquires item n + 1), which
    measured ~1.5x faster on a folder of emails than acquiring everything first. A cancel leaves
    items whose analysis was not recorded ``acquired``, ready to be analysed later.
    """
    analyser = Analyser(case)
    queued: set[int] = set()

    def queue_new(acquired: Acquired) -> None:
        if acquired.item.status == "acquired" and acquired.item.id not in queued:
            queued.add(acquired.item.id)
            analyser.add([acquired.item.id])
        elif not acquired.new_item:  # imported again: what a kill left pending under it is analysed
            analyser.add(pending_under(case, acquired.item.id))

    task = import_paths(case, paths, reason, on_acquired=queue_new)
    started = False
    try:
        while True:
            try:
                tick = next(task)
            except StopIteration as stop:
                report: ImportReport = stop.value
                break
            started = True
            yield tick
            analyser.step(0)
        yield from analyser.drain()
        report.analysed, report.analysis_failed = analyser.report.analysed, analyser.report.failed
        report.derived = analyser.report.derived
        report.notes = analyser.report.notes
        report.grouping_s = analyser.report.grouping_s
        return report
    except CasetrailError as exc:
        if not started:  # refused before anything was done (a path that does not exist)
            raise
        raise _stopped(case, exc) from exc
    finally:
        task.close()  # a cancel reaches the file being copied: its temp copy is removed
        analyser.close()


def _stopped(case: Case, exc: CasetrailError) -> CasetrailError:
    """Record in custody why an import stopped (a full disk, an I/O error) and say where it is.

    What was recorded before the fault stays recorded and verified; items whose analysis was not
    recorded stay ``acquired`` and are analysed by the next import or ``casetrail analyse``.
    """
    try:
        entry = case.record("note", result=f"import stopped: {exc}",
                            detail={"what": "import stopped", "reason": str(exc)})
        where = f"this was recorded in custody entry {entry['seq']}"
    except CasetrailError as again:
        where = f"this could not be recorded in custody either ({again})"
    return type(exc)(f"{exc}; {where}")


def _apply_batch(case: Case, finished: list[_Done],
                 shares: list[tuple[Item, int, str]]) -> list[tuple[Item, str]]:
    """Record a round of finished analyses, and the items that share them, in one transaction.

    The parts were acquired already (evidence is recorded the moment it is durable); here every
    item's findings, status and custody entry share one commit. The statements are shared too:
    the occurrences of all the items are written together (:class:`findings.OccurrenceWriter`),
    then all are marked analysed at once (:func:`findings.mark_analysed_many`: one read of
    their findings for the digests each entry binds, one insert of the entries).

    Returns:
        Each sharing item with the status it was given.
    """
    outcome: list[tuple[Item, str]] = []
    with case.transaction() as conn:
        occurrences = findings.OccurrenceWriter(conn)
        analysed: list[findings.Analysed] = []
        for entry in finished:
            item, result = entry.item, entry.result
            if isinstance(result, str):
                status = f"analysis failed: {result}"
                conn.execute("UPDATE items SET status = ?, same_as = NULL WHERE id = ?", (status, item.id))
                if not item.magic:
                    conn.execute("UPDATE items SET magic = ? WHERE id = ?",
                                 (_describe(case.vault.blob_path(item.sha256)), item.id))
                # the file type is bound to custody like every column (verify replays it)
                magic = conn.execute("SELECT magic FROM items WHERE id = ?", (item.id,)).fetchone()[0]
                custody.append(conn, action="analysed", examiner=case.examiner, item_id=item.id,
                               sha256=item.sha256, result=status, detail={"reason": result, "magic": magic})
            else:
                analysed.append(_record_findings(conn, case, entry, result, occurrences))
                # Items that shared an earlier analysis of this content share the new one.
                sharing = {dup.id for dup, _o, _k in shares}
                shares += [(earlier, item.id, "") for earlier in _sharing_items(case, conn, item.id)
                           if earlier.id not in sharing]
        occurrences.flush()
        findings.mark_analysed_many(conn, examiner=case.examiner, items=analysed)
        for item, owner_id, _known in shares:
            outcome.append((item, _record_share(conn, case, item, owner_id)))
    return outcome


def _sharing_items(case: Case, conn: sqlite3.Connection, owner_id: int) -> list[Item]:
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM items WHERE same_as = ?", (owner_id,))]
    return [i for i in (case.item(x) for x in ids) if i is not None]


def _record_share(conn: sqlite3.Connection, case: Case, item: Item, owner_id: int) -> str:
    """Let ``item`` share the analysis of ``owner_id`` (same content); return the status it gets."""
    row = conn.execute("SELECT status, kind FROM items WHERE id = ?", (owner_id,)).fetchone()
    owner_status, kind = str(row[0]), str(row[1])
    if item.status != "acquired" and item.same_as is None:
        findings.clear_item(conn, item.id)  # its own earlier analysis gives way to the shared one
    if owner_status == "analysed":
        status = "analysed"
        count = findings.share_analysis(conn, item.id, owner_id)
        result = f"same content as item {owner_id}: its analysis and exhibits are shared"
    else:
        status = f"analysis failed: same content as item {owner_id}, whose {owner_status}"
        count = 0
        result = status
    conn.execute("UPDATE items SET status = ?, kind = ?, same_as = ?, "
                 "magic = CASE magic WHEN '' THEN (SELECT magic FROM items WHERE id = ?) ELSE magic END "
                 "WHERE id = ?", (status, kind, owner_id, owner_id, item.id))
    # status, file type and findings hash bound to custody (issue 11): verify replays them
    magic = conn.execute("SELECT magic FROM items WHERE id = ?", (item.id,)).fetchone()[0]
    digest = state.findings_digests(conn, [item.id])[item.id]
    custody.append(conn, action="analysed", examiner=case.examiner, item_id=item.id, sha256=item.sha256,
                   result=result, detail={"same_as": owner_id, "occurrences": count, "kind": kind,
                                          "status": status, "magic": magic, "findings_sha256": digest})
    return status


def _part_occurrences(result: dict[str, Any], entry: _Done) -> Iterator[dict[str, Any]]:
    """The result's occurrences, completed with the hashes of attachments and the ids of frames.

    Read a batch at a time from the analysis spool (:mod:`desktop.ingest.spool`), never all at once.
    """
    parts = result.get("parts") or []
    ids = entry.part_ids
    frames = {int(p["detail"]["frame_index"]): d for p, d in zip(parts, ids, strict=True)
              if p["how"] == "video frame"}
    enhanced = {json.dumps([p["detail"]["frame_index"], p["detail"]["box"], p["detail"]["recipe"]]): d
                for p, d in zip(parts, ids, strict=True) if p["how"] == "enhanced image"}
    for batch in spool.records(result, "occurrences", entry.outdir):
        for occ in batch:
            if "frame_index" in occ:
                occ["frame_item_id"] = frames.get(int(occ.pop("frame_index")))
            if "enhanced_key" in occ:
                occ["enhanced_item_id"] = enhanced.get(json.dumps(occ.pop("enhanced_key")))
            yield occ
    for _position, derived in sorted(entry.attached.items()):
        where = f"attachment {derived.name!r} (item {derived.id})"
        yield from ({"type": t, "value": getattr(derived, t), "source": "attachment",
                     "where": where} for t in ("md5", "sha1", "sha256"))


def _record_findings(conn: sqlite3.Connection, case: Case, entry: _Done, result: dict[str, Any],
                     occurrences: findings.OccurrenceWriter) -> findings.Analysed:
    """Write an item's findings (its occurrences may be held by ``occurrences``); say how to mark it."""
    item, outdir = entry.item, entry.outdir
    kind = result.get("kind") or item.kind
    if item.status != "acquired":  # analysed before: replace its findings (skipped otherwise:
        findings.clear_item(conn, item.id)  # the full-text delete scans the whole index)
    if result.get("email"):
        # The analysis hands the whole bodies to the index as texts, in pieces.
        findings.record_email(conn, item.id, result["email"], index_bodies=False)
    if result.get("media"):
        findings.record_media(conn, item.id, kind, result["media"])
    for lines in spool.records(result, "ocr_lines", outdir):
        findings.record_ocr_lines(conn, item.id, lines)
    for texts in spool.records(result, "texts", outdir):
        for text in texts:  # one full-text row per piece: the index is fed incrementally
            findings.record_text(conn, item.id, text["part"], text["text"])
    count = occurrences.add(item.id, _part_occurrences(result, entry))
    return findings.Analysed(item.id, item.sha256, kind,
                             {**(result.get("detail") or {}), "summary": result.get("summary", ""),
                              "occurrences": count, "derived_items": list(entry.part_ids)},
                             str(result["magic"]) if result.get("magic") and not item.magic else None)
