"""The analysis pipeline: run items through the sandbox and record what it found.

Runs in the process that holds the case. Jobs go to a small pool of sandbox children (both
cores count: two at a time by default); every result is written here, on the caller's thread,
so the case keeps its single writer. Derived parts (attachments, mbox messages, frames) are
acquired through the vault like any evidence and then analysed in turn, which is how nested
messages recurse. A failure marks the item ``analysis failed: <reason>``; the evidence stays.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import sqlite3
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import custody, findings
from desktop.core.acquire import ImportReport, acquire_derived, import_paths
from desktop.core.case import Case, Item
from desktop.core.errors import CasetrailError
from desktop.core.intel import index_case
from desktop.core.progress import Progress, Task
from desktop.ingest.sandbox import AnalysisFailed, Sandbox

log = logging.getLogger(__name__)
TIMEOUTS_S = {"video": 1800.0, "image": 300.0, "email": 120.0}
DEFAULT_TIMEOUT_S = 120.0
MAX_DEPTH = 8
_BATCH, _BATCH_S = 64, 0.25  # attachments of attachments of …: beyond this, parts are kept but not analysed


@dataclass
class AnalysisReport:
    """What one pipeline run did."""

    analysed: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    derived: list[int] = field(default_factory=list)


def pending(case: Case) -> list[int]:
    """Items acquired but not analysed yet."""
    return [int(r[0]) for r in case.db.execute("SELECT id FROM items WHERE status = 'acquired' ORDER BY id")]


def _depth(case: Case, item: Item) -> int:
    depth, parent = 0, item.parent_id
    while parent is not None and depth <= MAX_DEPTH:
        depth += 1
        row = case.db.execute("SELECT parent_id FROM items WHERE id = ?", (parent,)).fetchone()
        parent = row[0] if row else None
    return depth


def analyse_items(case: Case, item_ids: list[int], *, workers: int = 2,
                  timeouts: dict[str, float] | None = None) -> Task[AnalysisReport]:
    """Analyse items (and whatever they yield) in sandboxes; yield progress per finished item."""
    limits = {**TIMEOUTS_S, **(timeouts or {})}
    report = AnalysisReport()
    todo: list[int] = list(item_ids)
    free: queue.Queue[Sandbox] = queue.Queue()
    boxes = [Sandbox() for _ in range(max(1, workers))]
    for box in boxes:
        free.put(box)
    scratch_root = case.path / "work"

    def run(job: dict[str, Any], timeout: float) -> dict[str, Any]:
        box = free.get()
        try:
            return box.run(job, timeout)
        finally:
            free.put(box)

    inflight: dict[Future[dict[str, Any]], tuple[Item, Path]] = {}
    finished: list[tuple[Item, dict[str, Any] | str, Path]] = []
    held_since = 0.0
    total = len(todo)
    with ThreadPoolExecutor(max_workers=len(boxes), thread_name_prefix="analysis") as pool:
        try:
            while todo or inflight:
                # A deep queue lets results pile up while this thread writes, so they are recorded
                # several to a transaction (each commit is an fsync: most of the writer's time).
                while todo and len(inflight) < len(boxes) * 8:
                    item = case.item(todo.pop(0))
                    if item is None:
                        continue
                    outdir = scratch_root / uuid.uuid4().hex
                    job = {"id": item.id, "path": str(case.vault.blob_path(item.sha256)),
                           "name": item.name, "mime": item.mime, "kind": item.kind,
                           "derived_how": item.derived_how, "outdir": str(outdir)}
                    timeout = limits.get(item.kind, DEFAULT_TIMEOUT_S)
                    inflight[pool.submit(run, job, timeout)] = (item, outdir)
                done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    item, outdir = inflight.pop(fut)
                    try:
                        finished.append((item, fut.result(), outdir))
                    except AnalysisFailed as exc:
                        finished.append((item, str(exc), outdir))
                    held_since = held_since or time.monotonic()
                # Results are held briefly and recorded together: each commit is an fsync, and
                # one per item was most of the writer's time (measured: 9 ms a commit under load).
                if not finished or (len(finished) < _BATCH and (todo or inflight)
                                    and time.monotonic() - held_since < _BATCH_S):
                    if not done:
                        yield Progress("analysing", 0, 0, len(report.analysed) + len(report.failed), total)
                    continue
                batch, finished, held_since = finished, [], 0.0
                try:
                    new_by_item = _apply_batch(case, batch)
                finally:
                    for _item, _result, outdir in batch:
                        shutil.rmtree(outdir, ignore_errors=True)
                for item, result, _outdir in batch:
                    if isinstance(result, str):
                        report.failed.append((item.id, result))
                        continue
                    new = new_by_item[item.id]
                    report.analysed.append(item.id)
                    report.derived += new
                    if _depth(case, item) < MAX_DEPTH:
                        todo += new
                        total += len(new)
                settled = len(report.analysed) + len(report.failed)
                yield Progress(batch[-1][0].name, 0, 0, settled, total)
        finally:
            for fut in inflight:
                fut.cancel()
            for box in boxes:
                box.close()
            for _item, outdir in inflight.values():
                shutil.rmtree(outdir, ignore_errors=True)
            for _item, _result, outdir in finished:  # cancelled before recording: analysed again later
                shutil.rmtree(outdir, ignore_errors=True)
            with contextlib.suppress(OSError):
                scratch_root.rmdir()
    if report.analysed:
        _index(case)
    return report


def _index(case: Case) -> None:
    """Let other cases on this workstation see this one's indicators; never fail analysis for it."""
    try:
        index_case(case)
    except (CasetrailError, sqlite3.Error, OSError) as exc:
        log.warning("the workstation library could not index %s: %s", case.path, exc)


def import_and_analyse(case: Case, paths: list[Path], reason: str = "") -> Task[ImportReport]:
    """Acquire files, then analyse what was newly acquired: what the window and CLI run on import.

    Acquisition finishes (and is recorded) before any parser sees a byte; a cancel during the
    analysis leaves acquired items ``acquired``, ready to be analysed later.
    """
    report = yield from import_paths(case, paths, reason)
    fresh = sorted({a.item.id for a in report.acquired if a.item.status == "acquired"})
    if fresh:
        analysis = yield from analyse_items(case, fresh)
        report.analysed, report.analysis_failed = analysis.analysed, analysis.failed
        report.derived = analysis.derived
    return report


def _apply_batch(case: Case, finished: list[tuple[Item, dict[str, Any] | str, Path]]) -> dict[int, list[int]]:
    """Record a round of finished analyses in as few commits as the evidence rules allow.

    Parts go first, each through the vault with its own transaction (evidence is recorded the
    moment it is durable); then every item's findings, status and custody entry share one.

    Returns:
        For each successfully analysed item, the ids of the new derived items it yielded.
    """
    prepared = []
    new_by_item: dict[int, list[int]] = {}
    for item, result, outdir in finished:
        if isinstance(result, str):
            continue
        part_items, new_ids, occurrences = _acquire_parts(case, item, result, outdir)
        prepared.append((item, result, part_items, occurrences))
        new_by_item[item.id] = new_ids
    if not finished:
        return new_by_item
    with case.transaction() as conn:
        for item, result, _outdir in finished:
            if isinstance(result, str):
                status = f"analysis failed: {result}"
                conn.execute("UPDATE items SET status = ? WHERE id = ?", (status, item.id))
                custody.append(conn, action="analysed", examiner=case.examiner, item_id=item.id,
                               sha256=item.sha256, result=status, detail={"reason": result})
        for item, result, part_items, occurrences in prepared:
            _record_findings(conn, case, item, result, part_items, occurrences)
    return new_by_item


def _acquire_parts(case: Case, item: Item, result: dict[str, Any],
                   outdir: Path) -> tuple[list[Item], list[int], list[dict[str, Any]]]:
    """Acquire the derived parts and complete the occurrences that refer to them."""
    new_items: list[int] = []
    part_items: list[Item] = []
    parts = result.get("parts") or []
    for part in parts:
        data = (outdir / part["file"]).read_bytes()
        acquired = acquire_derived(case, item, part["name"], data, part["how"], part.get("detail"))
        part_items.append(acquired.item)
        if acquired.new_item:
            new_items.append(acquired.item.id)
    occurrences = list(result.get("occurrences") or [])
    for part, derived in zip(parts, part_items, strict=True):
        if part["how"] in ("attachment", "attached message"):
            where = f"attachment {derived.name!r} (item {derived.id})"
            occurrences += [{"type": t, "value": getattr(derived, t), "source": "attachment",
                             "where": where} for t in ("md5", "sha1", "sha256")]
    frames = {int(p["detail"]["frame_index"]): d.id for p, d in zip(parts, part_items, strict=True)
              if p["how"] == "video frame"}
    for occ in occurrences:
        if "frame_index" in occ:
            occ["frame_item_id"] = frames.get(int(occ.pop("frame_index")))
    return part_items, new_items, occurrences


def _record_findings(conn: sqlite3.Connection, case: Case, item: Item, result: dict[str, Any],
                     part_items: list[Item], occurrences: list[dict[str, Any]]) -> None:
    kind = result.get("kind") or item.kind
    if item.status != "acquired":  # analysed before: replace its findings (skipped otherwise:
        findings.clear_item(conn, item.id)  # the full-text delete scans the whole index)
    if result.get("email"):
        findings.record_email(conn, item.id, result["email"])
    if result.get("media"):
        findings.record_media(conn, item.id, kind, result["media"])
    if result.get("ocr_lines"):
        findings.record_ocr_lines(conn, item.id, result["ocr_lines"])
    for text in result.get("texts") or []:
        findings.record_text(conn, item.id, text["part"], text["text"])
    count = findings.record_occurrences(conn, item.id, occurrences)
    conn.execute("UPDATE items SET status = 'analysed', kind = ? WHERE id = ?", (kind, item.id))
    custody.append(conn, action="analysed", examiner=case.examiner, item_id=item.id,
                   sha256=item.sha256, result="analysed",
                   detail={"summary": result.get("summary", ""), "kind": kind,
                           "occurrences": count, "derived_items": [d.id for d in part_items]})
