# SPDX-License-Identifier: GPL-3.0-or-later
"""Acquisition: bring files into a case — copy and hash into the vault, then record.

Acquisition never parses. It walks what the examiner named (directories recurse; a symlink is
only followed when it stays inside the tree being imported), stores each file through the vault,
identifies its true type by content, and only then, in one transaction, adds the item and its
custody entry. A file that cannot be acquired is reported with a reason; the others go on.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import custody, failpoints, names, state
from desktop.core.case import ITEM_COLUMNS, Case, Item, item_from_row
from desktop.core.detect import FileType, detect_mimes, extension_mismatch, kind_of, mimes_of_contents_later
from desktop.core.errors import AcquisitionError, CasetrailError
from desktop.core.progress import Progress, Task, run_to_end
from desktop.core.vault import CHUNK, Blob, StagedBatch

_BATCH, _BATCH_S = 256, 0.5  # files copied, synced and recorded together at most; seconds a file may wait
# ... or longer, up to this many times the last batch's seal, and this long at most: a sync flushes
# the whole file system (other programs' writes too), which on a busy disk took 0.1-0.3 s, so the
# batches grow until sealing is a small share of the time (measured: 50 files a batch, 2 syncs each).
_SEAL_SHARE, _BATCH_S_MAX = 4.0, 2.0
_BATCH_BYTES = 32 << 20  # bytes of small files held for one batch at most
_BATCH_FILE = CHUNK  # larger files are stored (and recorded) on their own
ACQUIRING = "acquiring"  # the stage of the progress this yields (desktop.core.progress)


@dataclass(frozen=True)
class Acquired:
    """One file acquired.

    Attributes:
        item: the item it is (new, or the one already holding this file).
        new_item: a new item row was added.
        blob_existed: the vault already held identical content.
    """

    item: Item
    new_item: bool
    blob_existed: bool


@dataclass
class ImportReport:
    """The outcome of one import: what was acquired and what could not be, with reasons.

    The analysis fields are filled when the import is followed by analysis
    (``desktop.ingest.pipeline.import_and_analyse``). ``failure_record`` says where in custody the
    files that could not be acquired are recorded (or why they could not be).
    """

    acquired: list[Acquired] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    analysed: list[int] = field(default_factory=list)
    analysis_failed: list[tuple[int, str]] = field(default_factory=list)
    derived: list[int] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    grouping_s: float = 0.0
    failures_recorded: int = 0
    failure_record: str = ""


def plan(paths: list[Path], exclude: Path | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """List the files an import of ``paths`` covers, and what it will not follow, with reasons.

    Args:
        paths: files and folders the examiner named.
        exclude: a folder never to import from (the case itself, when it sits inside a folder
            being imported: its own database and vault are not evidence).

    Raises:
        AcquisitionError: a named path does not exist.
    """
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    own = exclude.resolve() if exclude else None
    for given in paths:
        if not given.exists():
            raise AcquisitionError(f"{given} does not exist")
        top = given.resolve()  # the examiner named it: a top-level symlink is followed
        if own is not None and (top == own or top.is_relative_to(own)):
            skipped.append((str(given), "this is the case's own folder; it is not evidence"))
            continue
        if top.is_file():
            files.append(top)
            continue
        if not top.is_dir():
            skipped.append((str(given), "not a regular file or folder"))
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            base = Path(dirpath)
            if own is not None and own.parent == base and own.name in dirnames:
                dirnames.remove(own.name)
                skipped.append((str(own), "this is the case's own folder; it is not evidence"))
            dirnames.sort()
            for name in sorted(filenames) + [d for d in dirnames if (base / d).is_symlink()]:
                p = base / name
                if p.is_symlink():
                    target = p.resolve()
                    if not target.is_relative_to(top):
                        why = "symbolic link to outside the imported folder; not followed"
                        skipped.append((str(p), why))
                    elif target.is_file():
                        files.append(target)
                    else:
                        why = "symbolic link inside the folder; its target is imported on its own"
                        skipped.append((str(p), why))
                elif p.is_file():
                    files.append(p)
                else:
                    skipped.append((str(p), "not a regular file (device, socket or pipe)"))
    # The same file reached twice (a link inside the tree and its target) is acquired once.
    seen: set[Path] = set()
    unique = [f for f in files if not (f in seen or seen.add(f))]  # type: ignore[func-returns-value]
    return unique, skipped


def import_paths(case: Case, paths: list[Path], reason: str = "",
                 on_acquired: Callable[[Acquired], None] | None = None) -> Task[ImportReport]:
    """Acquire every file under ``paths``; yield progress per chunk and per file.

    Closing the generator between yields cancels cleanly: files already recorded stay recorded,
    the one in flight leaves nothing behind.

    Args:
        case: the writable case.
        paths: files and folders the examiner named.
        reason: why (authority, request), recorded in every custody entry.
        on_acquired: called with each file as soon as it is recorded (the pipeline starts its
            analysis while the next file is copied).
    """
    files, skipped = plan(paths, exclude=case.path)
    report = ImportReport(skipped=skipped)
    # Small files go through the vault's batch path: copied and hashed one by one, made durable
    # with one sync, re-read, linked, one sync of the names, then recorded in one transaction —
    # where one at a time cost two or three fsyncs and a commit each. A crash before the commit
    # leaves verified blobs that no item names; opening the case reports them and importing again
    # attaches them (the recovery rule for any crash before a commit).
    batch: list[tuple[int, Path]] = []
    contents: list[bytes | None] = []  # what the vault read of each file of the batch, to type
    batch_bytes = 0
    held_since = 0.0
    hold_s = _BATCH_S

    def record(pending: list[_Pending], mimes: list[str | None] | None = None) -> None:
        for acquired in _record_batch(case, pending, reason, mimes):
            report.acquired.append(acquired)
            if on_acquired is not None:
                on_acquired(acquired)

    staged = StagedBatch()
    # A batch is typed (libmagic, on two threads, from the bytes the vault read) while it is
    # sealed and the next batch is copied, and is recorded before that one is sealed: typing
    # overlaps copying and syncing. Its journal entry is settled once it is recorded.
    typing: tuple[list[_Pending], Callable[[], list[str | None]], Path | None] | None = None

    def record_typed() -> None:
        nonlocal typing
        if typing is not None:
            done, typing = typing, None
            record(done[0], done[1]())
            case.vault.settle(done[2])

    def seal() -> None:
        nonlocal batch, contents, batch_bytes, staged, typing, hold_s
        todo, batch, batch_bytes, work = batch, [], 0, staged
        read, contents = contents, []
        staged = StagedBatch()
        if not todo:
            return
        types = mimes_of_contents_later(read)
        started = time.monotonic()
        try:
            stored = case.vault.seal(work)
        except CasetrailError as exc:  # the vault failed: every file of the batch is reported
            report.failed += [(str(p), str(exc)) for _i, p in todo]
            return
        hold_s = min(_BATCH_S_MAX, max(_BATCH_S, _SEAL_SHARE * (time.monotonic() - started)))
        pending, kept = [], []
        for k, ((_index, path), blob, error) in enumerate(zip(todo, stored.blobs, stored.errors,
                                                               strict=True)):
            if blob is None:
                report.failed.append((str(path), error or "not stored"))
            else:
                pending.append(_Pending(blob, path.name, str(path)))
                kept.append(k)
        record_typed()
        if pending:
            typing = (pending, _picked(types, kept), stored.journal)
        else:
            case.vault.settle(stored.journal)

    try:
        for index, path in enumerate(files):
            size = _size(path)
            if size <= _BATCH_FILE:
                yield Progress(path.name, 0, size, index, len(files), ACQUIRING)
                if not batch:
                    held_since = time.monotonic()
                try:
                    data = case.vault.stage(staged, path)
                except CasetrailError as exc:  # the vault cannot be written: the import stops here
                    report.failed.append((str(path), str(exc)))
                    seal()
                    record_typed()
                    record_failures(case, report, reason)
                    raise type(exc)(f"{exc}; the import stopped, and this is "
                                    f"{report.failure_record}") from exc
                batch.append((index, path))
                contents.append(data)
                batch_bytes += size
                if (len(batch) >= _BATCH or batch_bytes >= _BATCH_BYTES
                        or time.monotonic() - held_since > hold_s):
                    seal()
                continue
            seal()  # a large file is stored on its own, after what came before it
            record_typed()
            yield Progress(path.name, 0, size, index, len(files), ACQUIRING)
            try:
                task = case.vault.store_file(path)
                while True:
                    try:
                        tick = next(task)
                    except StopIteration as stop:
                        blob = stop.value
                        break
                    yield Progress(tick.label, tick.done, tick.total, index, len(files), ACQUIRING)
                record([_Pending(blob, path.name, str(path))])
                case.vault.settle(blob.journal)
            except CasetrailError as exc:
                report.failed.append((str(path), str(exc)))
            yield Progress(path.name, size, size, index + 1, len(files), ACQUIRING)
    finally:
        # Also on cancel: every file already copied is made durable and recorded, none is left
        # unnamed (seal never yields).
        try:
            seal()
            record_typed()
        finally:
            record_failures(case, report, reason)
    yield Progress("", 0, 0, len(files), len(files), ACQUIRING)
    return report


def _picked(types: Callable[[], list[str | None]], kept: list[int]) -> Callable[[], list[str | None]]:
    """The types of the files of a batch that were stored, once the batch's typing is done."""
    def wait() -> list[str | None]:
        every = types()
        return [every[k] for k in kept]

    return wait


MAX_LISTED_FAILURES = 500  # files named in one custody entry; the count says how many in all


def record_failures(case: Case, report: ImportReport, reason: str) -> None:
    """Record in custody, in one entry, every file of an import that could not be acquired.

    An attempt that failed is part of the history of the evidence (a source that changed while
    it was read, a full disk): it is written with the reasons, and ``report.failure_record`` says
    which entry holds it — or why it could not be written (on a full disk the database may refuse
    too; the failures are still reported on screen).
    """
    todo = report.failed[report.failures_recorded:]
    if not todo:
        return
    report.failures_recorded = len(report.failed)
    try:
        entry = case.record(
            "note", reason=reason or None,
            result=f"{len(todo)} file{'s' if len(todo) != 1 else ''} could not be acquired",
            detail={"what": "not acquired", "count": len(todo),
                    "files": [{"path": p, "reason": e} for p, e in todo[:MAX_LISTED_FAILURES]]})
        report.failure_record = f"recorded in custody entry {entry['seq']}"
    except CasetrailError as exc:
        report.failure_record = f"could not be recorded in custody: {exc}"


def acquire_derived(case: Case, parent: Item, name: str, data: bytes, how: str,
                    detail: dict[str, Any] | None = None) -> Acquired:
    """Acquire bytes produced from an item (an attachment, a frame) as an item of their own."""
    blob = case.vault.store_bytes(data, label=name)
    acquired = _record(case, blob, name=name, source=f"item {parent.id}: {how}", reason=None,
                       parent=parent, how=how, detail=detail)
    case.vault.settle(blob.journal)
    return acquired


def acquire_reference(case: Case, data: bytes, *, name: str, source: str,
                      detail: dict[str, Any] | None = None) -> Acquired:
    """Acquire a feed or ip2asn table a match came from as a *reference item* (never analysed).

    See ``desktop.core.references``: the item's ``derived_how`` is ``intelligence reference``.
    """
    blob = case.vault.store_bytes(data, label=name)
    acquired = _record(case, blob, name=name, source=source, reason="intelligence reference",
                       how="intelligence reference", detail=detail)
    case.vault.settle(blob.journal)
    return acquired


@dataclass(frozen=True)
class DerivedFile:
    """A file an analysis produced (an attachment, a message of a mailbox, a kept frame).

    Attributes:
        path: where the analysis wrote it (a scratch file, never evidence by itself), or the
            parent's own vault blob when ``length`` is set.
        name: the derived item's name.
        how: how it was derived, recorded in custody.
        detail: further facts for its custody entry.
        offset, length: when ``length`` is not None, the derived file is these bytes of the
            parent's blob at ``path`` (a message of a mailbox is exactly its bytes in the mbox:
            no scratch copy is written, which for 50,000 messages saved as many files written,
            read and removed).
    """

    path: Path
    name: str
    how: str
    detail: dict[str, Any] | None = None
    offset: int = 0
    length: int | None = None

    @property
    def size(self) -> int:
        """Its length in bytes."""
        return self.length if self.length is not None else _size(self.path)


def acquire_derived_files(case: Case, parent: Item, files: list[DerivedFile]) -> list[Acquired]:
    """Acquire many derived files of one parent (see :func:`acquire_derived_batch`)."""
    return acquire_derived_batch(case, [(parent, f) for f in files])


def acquire_derived_batch(case: Case, files: list[tuple[Item, DerivedFile]]) -> list[Acquired]:
    """Acquire derived files, of one or many parents, through the vault's batch path in one transaction.

    Small files share one sync and one commit (the attachments of many messages analysed at
    about the same time are acquired together: one at a time, each message's attachments cost
    two syncs and a commit); a large one is streamed into the vault on its own. Each gets a
    ``derived`` custody entry naming its parent and its parent's hash.

    Raises:
        AcquisitionError: a file could not be stored (nothing of the call is recorded).
    """
    staged = StagedBatch()
    order: list[tuple[int, Blob | None]] = []
    contents: list[bytes | None] = []  # by file: what was staged, to type (None: type the blob)
    try:
        for index, (_parent, f) in enumerate(files):
            if f.size > _BATCH_FILE:
                task = (case.vault.store_slice(f.path, f.offset, f.length, label=f.name)
                        if f.length is not None else case.vault.store_file(f.path, label=f.name))
                order.append((index, run_to_end(task)))
                contents.append(None)
            elif f.length is not None:
                contents.append(case.vault.stage(staged, _read_slice(f.path, f.offset, f.length), f.name))
                order.append((index, None))
            else:
                contents.append(case.vault.stage(staged, f.path, f.name))
                order.append((index, None))
    except BaseException:
        case.vault.discard(staged)
        raise
    types = mimes_of_contents_later(contents)  # while the batch is sealed
    result = case.vault.seal(staged)
    sealed = iter(zip(result.blobs, result.errors, strict=True))
    pending = []
    for index, blob in order:
        parent, f = files[index]
        if blob is None:
            blob, error = next(sealed)
            if blob is None:
                raise AcquisitionError(f"cannot acquire {f.name} derived from item {parent.id}: {error}")
        pending.append(_Pending(blob, f.name, f"item {parent.id}: {f.how}", parent, f.how, f.detail))
    acquired = _record_batch(case, pending, None, types()) if pending else []
    for entry in {result.journal, *(p.blob.journal for p in pending)}:
        case.vault.settle(entry)
    return acquired


def _read_slice(path: Path, offset: int, length: int) -> bytes:
    """Read ``length`` bytes of a vault blob at ``offset`` (a part of an item is a slice of it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise AcquisitionError(f"cannot read the vault copy {path.name}: {exc.strerror}") from exc
    try:
        data = os.pread(fd, length, offset)
    finally:
        os.close(fd)
    if len(data) != length:
        raise AcquisitionError(f"the vault copy {path.name} is shorter than its part at byte {offset}")
    return data


@dataclass(frozen=True)
class _Pending:
    """A file whose blob is durable in the vault and which is not recorded yet."""

    blob: Blob
    name: str
    source: str
    parent: Item | None = None
    how: str | None = None
    detail: dict[str, Any] | None = None


def _record(case: Case, blob: Blob, *, name: str, source: str, reason: str | None,
            parent: Item | None = None, how: str | None = None,
            detail: dict[str, Any] | None = None) -> Acquired:
    return _record_batch(case, [_Pending(blob, name, source, parent, how, detail)], reason)[0]


def _record_batch(case: Case, batch: list[_Pending], reason: str | None,
                  mimes: list[str | None] | None = None) -> list[Acquired]:
    """Record durable blobs as items, each with its custody entry, in one transaction.

    Args:
        case: the writable case.
        batch: the durable blobs, with what each item is.
        reason: why, recorded in every custody entry.
        mimes: each file's type where it is known already (typed from the bytes staged); the
            others (None, or all when not given) are typed from their blob now.
    """
    # The description ("magic") is filled in by the analysis: see detect.detect_mimes.
    known = mimes if mimes is not None else [None] * len(batch)
    todo = [i for i, mime in enumerate(known) if mime is None]
    typed = iter(detect_mimes([batch[i].blob.path for i in todo]) if todo else [])
    types = [FileType(mime if mime is not None else next(typed), "") for mime in known]
    out: list[tuple[int, bool, bool]] = []
    with case.transaction() as conn:
        for p, ftype in zip(batch, types, strict=True):
            failpoints.hit("before_commit")
            out.append(_record_one(conn, case, p, ftype, reason))
        rows = {int(r[0]): r for r in conn.execute(
            f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id IN "  # noqa: S608
            f"({', '.join('?' * len(out))})", [item_id for item_id, _n, _e in out])}
    acquired = []
    for item_id, new_item, existed in out:
        failpoints.hit("after_commit")
        acquired.append(Acquired(item_from_row(rows[item_id]), new_item, existed))
    return acquired


def _record_one(conn: sqlite3.Connection, case: Case, p: _Pending, ftype: FileType,
                reason: str | None) -> tuple[int, bool, bool]:
    # Names are bytes: what is not UTF-8 is recorded in a displayable form and exactly beside it.
    shown_name, shown_source = names.split(p.name), names.split(p.source)
    blob, name, source, parent = p.blob, shown_name.shown, shown_source.shown, p.parent
    mismatch = extension_mismatch(name, ftype.mime)
    parent_id = parent.id if parent else None
    # One look-up in ``items_tree_sha256`` (parent, content hash): the copies of this blob under
    # this parent. The content hash alone (``+parent_id``, before that index) scanned every copy of
    # a blob, and the attachment a campaign's 12,000 messages carry has 12,000: deriving them cost
    # O(n**2); the parent alone was a scan of every top-level item (2.5 ms a file at 5,000 items).
    row = conn.execute(
        "SELECT id FROM items INDEXED BY items_tree_sha256 WHERE parent_id IS ? AND sha256 = ? AND "
        "source_path = ? AND name = ?", (parent_id, blob.sha256, source, name)).fetchone()
    new_item = row is None
    changes: list[dict[str, Any]] = []
    if blob.chunk_hashes:
        cur = conn.execute("INSERT OR IGNORE INTO blob_chunks (sha256, chunk_size, hashes) VALUES (?, ?, ?)",
                           (blob.sha256, CHUNK, json.dumps(blob.chunk_hashes)))
        if cur.rowcount == 1:
            changes.append(state.row_change(conn, "blob_chunks", blob.sha256))
    now = custody.utc_now()  # the item row and its entry carry the same instant (verify compares)
    kind = kind_of(ftype.mime)
    if new_item:
        cur = conn.execute(
            "INSERT INTO items (parent_id, kind, name, source_path, size, sha256, sha1, md5, "
            "mime, magic, ext_mismatch, acquired_at, acquired_by, status, derived_how, name_bytes, "
            "source_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'acquired', ?, ?, ?)",
            (parent_id, kind, name, source, blob.size, blob.sha256, blob.sha1,
             blob.md5, ftype.mime, ftype.description, int(mismatch), now,
             case.examiner, p.how, shown_name.raw, shown_source.raw))
        item_id = int(cur.lastrowid or 0)
    else:
        item_id = int(row[0])
    facts: dict[str, Any] = {
        "name": name, "size": blob.size, "sha1": blob.sha1, "md5": blob.md5,
        "mime": ftype.mime, "extension_mismatch": mismatch, "magic": ftype.description, "kind": kind,
        "how": p.how,
        "blob": "already in vault" if blob.existed else "stored",
        "item": "new" if new_item else "re-acquired into existing item",
        **(p.detail or {}),
    }
    for key, split in (("name_bytes", shown_name), ("source_bytes", shown_source)):
        if split.raw is not None:  # the exact bytes, hash-chained with the rest of the entry
            facts[key] = split.raw_hex
    if blob.source_check:
        facts["source_check"] = blob.source_check
    if blob.pseudo:
        facts["pseudo_file"] = {"file_system": blob.pseudo, "read_to_end": True}
    if parent is not None:
        facts.update(parent_id=parent.id, parent_sha256=parent.sha256, how=p.how)
    custody.append(
        conn, action="derived" if parent else "acquired", examiner=case.examiner,
        item_id=item_id, source=source, reason=reason, sha256=blob.sha256,
        hash_before=blob.sha256, hash_after=blob.sha256,
        result=("copy verified: SHA-256 of the vault copy re-read from disk matches"
                + (f"; {blob.pseudo} pseudo file read to its end" if blob.pseudo else "")),
        detail=facts, state=changes or None, at=now)
    return item_id, new_item, blob.existed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
