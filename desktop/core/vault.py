# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence vault: a content-addressed, write-once store of every acquired file.

A blob lives at ``vault/ab/cd/<sha256>``, read-only, and is never replaced or rewritten. One read
of the source feeds SHA-256, SHA-1 and MD5 on their own threads (hashlib releases the GIL) while
the bytes go to a temp file in ``vault/tmp``; the copy is fsynced, dropped from the page cache and
re-read from disk to prove it equals what was read; only then is it linked into place with
``os.link`` (which cannot overwrite) and the directory fsynced. A crash therefore leaves either a
temp file or a complete, verified blob, never a half-written blob under a hash name.

Many small files (a folder of e-mails) go through :meth:`Vault.store_batch` instead, with the same
guarantees at a fraction of the cost: every file of the batch is copied and hashed, then *one*
``syncfs`` makes all the copies durable, each copy is dropped from the cache and re-read, each is
linked, and one more ``syncfs`` makes every new directory entry durable — where one file at a time
paid two or three fsyncs (measured: ~4 ms each under load, most of the acquisition time).

Before any blob is linked into place, the vault writes a *journal entry* naming the blobs about
to appear (``vault/journal/<id>.json``), made durable with the copies themselves; the caller
removes it (:meth:`Vault.settle`) once the case has recorded those blobs. A crash between the link
and the record therefore leaves an entry that names exactly the blobs no item may name yet, and
recovery on the next opening looks at those and at ``vault/tmp`` — not at every blob of a case
of a hundred thousand items (measured: 3.75 s a writable opening of a 20,000-item case).

This module knows nothing of items or custody: the case records what the vault did.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
import queue
import stat
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

from desktop.core import failpoints
from desktop.core.errors import (
    AcquisitionError,
    CasetrailError,
    CopyMismatchError,
    SourceChangedError,
    os_reason,
)
from desktop.core.progress import Progress, Task, run_to_end

CHUNK = 4 << 20  # 4 MiB: large enough that per-chunk overhead vanishes, small enough to bound memory
_QUEUE_DEPTH = 4  # chunks in flight per consumer: memory stays under ~(depth + 2) * CHUNK


@dataclass(frozen=True)
class Blob:
    """A file as the vault holds it.

    Attributes:
        sha256, sha1, md5: hex digests of the content.
        size: length in bytes.
        path: where the blob lives in the vault.
        existed: the vault already held this content (nothing new was written).
        chunk_hashes: SHA-256 of each :data:`CHUNK`-sized piece of a file larger than one chunk
            (empty otherwise), so a later verification can say *where* a blob changed, as EWF's
            per-chunk checksums and AFF4's block hashes do.
        journal: the journal entry that names this blob until the case has recorded it; hand it
            to :meth:`Vault.settle` after the record is committed.
        source_check: how the source was found unchanged after the copy (for custody), "" for
            content that was handed over in memory.
        pseudo: the kind of pseudo file system (``proc``, ``sysfs`` …) the source lives on, whose
            files report no true size and were read to their end; "" for an ordinary file.
    """

    sha256: str
    sha1: str
    md5: str
    size: int
    path: Path
    existed: bool
    chunk_hashes: tuple[str, ...] = ()
    journal: Path | None = None
    source_check: str = ""
    pseudo: str = ""


@dataclass
class BatchResult:
    """What :meth:`Vault.store_batch` did with each source, in the order given.

    Attributes:
        blobs: the blob of each source that was stored (None where it failed).
        errors: for each source that failed, one sentence on why (None where it was stored).
        journal: the journal entry naming the batch's blobs until the case has recorded them.
    """

    blobs: list[Blob | None] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    journal: Path | None = None


@dataclass
class StagedBatch:
    """Small sources copied and hashed into temp files, not durable yet (see :meth:`Vault.seal`).

    Attributes:
        labels: each source's label, in the order staged.
        errors: by position, why a source could not be staged.
        staged: each copy, in the order staged.
        writing: anonymous copies being written by the vault's writer threads; :meth:`Vault.seal`
            (or :meth:`Vault.discard`) waits for them before anything else.
        checks: by position, how the source was found unchanged and its pseudo file system
            (see :class:`Blob`).
    """

    labels: list[str] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    staged: list[StagedCopy] = field(default_factory=list)
    writing: list[Future[StagedCopy]] = field(default_factory=list)
    checks: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StagedCopy:
    """One source copied and hashed into the vault's temp folder, not durable yet.

    Attributes:
        index: its position in the batch.
        fd: the open copy: an *anonymous* file (``O_TMPFILE``: it has no name until it is linked
            into place as its blob, so a crash leaves nothing of it), or -1 for a named one.
        tmp: the named temp file (``vault/tmp/<uuid>.part``) where anonymous files cannot be
            made; None for an anonymous one.
        sha256, sha1, md5, size: what was written.
    """

    index: int
    fd: int
    tmp: Path | None
    sha256: str
    sha1: str
    md5: str
    size: int


class _Consumer(threading.Thread):
    """Applies one function to every chunk it is handed, on its own thread."""

    def __init__(self, fn: Callable[[bytes], object]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.q: queue.Queue[bytes | None] = queue.Queue(_QUEUE_DEPTH)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (chunk := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.fn(chunk)
                except BaseException as exc:  # reported by the reader after join()
                    self.error = exc


def _write_all(out: BinaryIO, chunk: bytes) -> None:
    """Write every byte: an unbuffered write may take only part of a chunk."""
    view = memoryview(chunk)
    while view:
        written = out.write(view)
        if not written:
            raise OSError("the vault's disk accepted no more bytes")
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _libc_function(name: str) -> Any:
    """A C library function by name, looked up as the dynamic linker would for this process."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True), name)


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # The process's own symbol namespace first (what a C program calling syncfs would get,
        # including an interposed one such as the tests' fault injection), libc's otherwise.
        fn = _libc_function("syncfs")
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return cast(Callable[[int], int], fn)


_SYNCFS = _load_syncfs()


def sync_filesystem(directory: Path, files: Sequence[Path] = ()) -> None:
    """Make everything written under ``directory``'s file system durable, in one call.

    Linux ``syncfs(2)`` flushes that one file system (never others', as ``sync`` would) and, since
    Linux 5.8, reports a write-back error. Elsewhere each of ``files`` and ``directory`` is fsynced.

    Raises:
        OSError: the file system reported an error while writing back.
    """
    if _SYNCFS is not None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)
        return
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _fsync_dir(directory)


def _same_file_state(a: os.stat_result, b: os.stat_result, pseudo: str = "") -> bool:
    """Whether two looks at a source saw the same file in the same state.

    The change time is compared as well as the modification time: a rewrite that restores the
    mtime afterwards (``touch -r``) cannot restore the ctime, which only the kernel sets. A
    pseudo file (``/proc``, ``/sys``) reports no meaningful size or times: only its identity is.
    """
    if pseudo:
        return (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)
    return ((a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino, a.st_dev)
            == (b.st_size, b.st_mtime_ns, b.st_ctime_ns, b.st_ino, b.st_dev))


# Pseudo file systems whose files report a size of 0 (proc) or a page (sysfs) whatever they hold:
# they are read to their end instead (statfs f_type values, linux/magic.h).
_PSEUDO_FS = {0x9FA0: "proc", 0x62656572: "sysfs", 0x64626720: "debugfs", 0x74726163: "tracefs",
              0x73636673: "securityfs", 0x27E0EB: "cgroup", 0x63677270: "cgroup2",
              0x62656570: "configfs", 0xDE5E81E4: "efivarfs", 0xCAFE4A11: "bpf",
              0x6165676C: "pstore"}
PSEUDO_MAX = 256 << 20  # a pseudo file is read to its end, but not past this (/proc/kcore)
REREAD_WHOLE = 64 << 20  # sources up to this size are re-hashed whole after the copy
_SAMPLE = 64 << 10  # larger ones: the first, the last and a few blocks between are compared
_SAMPLES = 8


def _load_fstatfs() -> Callable[[int], int | None]:
    if not sys.platform.startswith("linux"):
        return lambda _fd: None
    try:
        fn = _libc_function("fstatfs")
    except (OSError, AttributeError):
        return lambda _fd: None
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p]
    fn.restype = ctypes.c_int

    def f_type(fd: int) -> int | None:
        buf = ctypes.create_string_buffer(256)  # struct statfs: f_type is its first word
        if fn(fd, buf) != 0:
            return None
        return int(ctypes.c_long.from_buffer(buf).value) & 0xFFFFFFFF

    return f_type


_FSTATFS = _load_fstatfs()


def pseudo_file_system(fd: int) -> str:
    """The pseudo file system an open file lives on (``proc``, ``sysfs`` …), or ""."""
    kind = _FSTATFS(fd)
    return _PSEUDO_FS.get(kind, "") if kind is not None else ""


def _changed(source: Path | str, detail: str) -> SourceChangedError:
    return SourceChangedError(f"{source} changed while it was being read ({detail}); "
                              "acquire it again once it is stable")


def _reread_source(source: Path, before: os.stat_result, sha256: str, copy: Path, size: int) -> str:
    """Read the source again after the copy and prove it still holds what was copied.

    A file up to :data:`REREAD_WHOLE` is re-hashed whole; a larger one has its first and last
    :data:`_SAMPLE` bytes and :data:`_SAMPLES` blocks between compared with the copy (with the
    unchanged change time, that catches a rewrite that restored its modification time).

    Returns:
        How the source was checked, for its custody entry.

    Raises:
        SourceChangedError: the source is another file now, or holds other bytes.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        raise _changed(source, f"it could not be opened again after the copy: {exc.strerror}") from exc
    try:
        if not _same_file_state(before, os.fstat(fd)):
            raise _changed(source, "it was replaced or rewritten while it was copied")
        if size <= REREAD_WHOLE:
            h = hashlib.sha256()
            while chunk := _read_exactly(fd, CHUNK):
                h.update(chunk)
            if h.hexdigest() != sha256:
                raise _changed(source, "its content read again after the copy differs")
            return "the source was read again after the copy and hashes the same"
        offsets = sorted({0, max(0, size - _SAMPLE),
                          *(size * k // (_SAMPLES + 1) for k in range(1, _SAMPLES + 1))})
        cfd = os.open(copy, os.O_RDONLY)
        try:
            for offset in offsets:
                if os.pread(fd, _SAMPLE, offset) != os.pread(cfd, _SAMPLE, offset):
                    raise _changed(source, f"the block at byte {offset:,} differs from what was copied")
        finally:
            os.close(cfd)
        return (f"the source's first and last {_SAMPLE >> 10} KiB and {_SAMPLES} blocks between were "
                "read again after the copy and match it")
    finally:
        os.close(fd)


class Vault:
    """The blob store of one case.

    Args:
        root: the case's ``vault`` folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.journal = root / "journal"
        # Blob folders known to exist (seen or made by this process), by their first four hex
        # digits: linking a small file into place otherwise cost two stats and a mkdir. A folder
        # removed behind our back makes the link fail, which forgets what is known and tries again.
        self._folders: set[str] = set()
        self._anonymous: bool | None = None  # see _anonymous_temps
        self._fs_kinds: dict[int, str] = {}  # pseudo file system by st_dev, for one batch

    def ensure(self) -> None:
        """Create the vault folders of a new case."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.journal.mkdir(exist_ok=True)

    # -- the journal of blobs in flight ------------------------------------------------------

    @property
    def journalled(self) -> bool:
        """Whether this vault keeps a journal (a case made or upgraded by this version)."""
        return self.journal.is_dir()

    def _note_in_flight(self, sha256s: Sequence[str]) -> Path | None:
        """Write the journal entry naming blobs about to be linked (durable: see the callers)."""
        if not self.journalled or not sha256s:
            return None
        entry = self.journal / f"{uuid.uuid4().hex}.json"
        fd = os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            json.dump({"blobs": sorted(set(sha256s))}, f)
        return entry

    def settle(self, entry: Path | None) -> None:
        """The case has recorded the blobs of a journal entry: forget it.

        No fsync: an entry that comes back after a power cut names blobs that items name, which
        recovery sees at once and forgets again.
        """
        if entry is not None:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()

    def in_flight(self) -> list[tuple[Path, list[str] | None]]:
        """Journal entries a crash left, with the blobs each names.

        An entry that cannot be read names ``None``: the caller cannot know what it named and
        looks at every blob (fail closed). Only a crash while the entry itself was being written
        leaves one, before any blob it would have named was linked.
        """
        if not self.journalled:
            return []
        out: list[tuple[Path, list[str] | None]] = []
        for entry in sorted(self.journal.glob("*.json")):
            try:
                names = json.loads(entry.read_text(encoding="ascii"))["blobs"]
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise ValueError("not a list of names")
            except (OSError, ValueError, KeyError, TypeError):
                out.append((entry, None))
                continue
            out.append((entry, [str(n) for n in names]))
        return out

    def start_journal(self) -> None:
        """Begin keeping a journal (after an older case's one full recovery scan)."""
        self.journal.mkdir(exist_ok=True)
        _fsync_dir(self.root)

    def blob_path(self, sha256: str) -> Path:
        """Return where the blob with this SHA-256 lives (whether or not it exists)."""
        return self.root.joinpath(sha256[:2], sha256[2:4], sha256)  # one join: twice a file

    def store_file(self, source: Path, label: str = "") -> Task[Blob]:
        """Copy a file into the vault, hashing it on the way; yield progress per chunk.

        The source must stay the same file in the same state throughout: its size, times and
        identity are compared before, during and after the read, and it is read again after the
        copy (:func:`_reread_source`). A file of a pseudo file system (``/proc``, ``/sys``), whose
        size in ``stat`` means nothing, is read to its end and recorded as such.

        Raises:
            SourceChangedError: the file changed size, time, content or identity while it was read.
            CopyMismatchError: the copy on disk does not hash to what was read.
            AcquisitionError: the file cannot be read or the vault cannot be written.
        """
        label = label or source.name
        # O_NONBLOCK: a FIFO put where a file was must not hang the import (no effect on files).
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(source, flags)
        except OSError as exc:
            raise AcquisitionError(f"cannot read {source}: {exc.strerror}") from exc
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            os.close(fd)  # checked before fdopen, which refuses a directory with a bare OSError
            raise AcquisitionError(f"{source} is not a regular file")
        pseudo = pseudo_file_system(fd)
        limit = PSEUDO_MAX if pseudo else before.st_size
        with os.fdopen(fd, "rb", buffering=0) as src:
            copied: list[str] = []

            def unchanged(read: int, sha256: str, copy: Path) -> None:
                # Checked before the blob is linked, so a changed source leaves nothing behind.
                after = os.fstat(src.fileno())
                try:
                    now = os.stat(source, follow_symlinks=False)
                except OSError:
                    now = None
                if (not pseudo and read != before.st_size) or not _same_file_state(before, after, pseudo) or (
                        now is None or not _same_file_state(before, now, pseudo)):
                    raise _changed(source, f"size {before.st_size} -> {after.st_size}, {read} bytes read")
                copied.append(f"a pseudo file ({pseudo}): read to its end, {read:,} bytes; it reported "
                              f"{before.st_size:,} bytes in stat, and its content is what the kernel "
                              "reported at that moment" if pseudo
                              else _reread_source(source, before, sha256, copy, read))

            def bounded() -> Iterator[bytes]:
                # A source that keeps growing (a live log) would otherwise be read forever.
                read = 0
                for chunk in _read_chunks(src):
                    read += len(chunk)
                    if read > limit:
                        if pseudo:
                            raise AcquisitionError(f"{source} is a pseudo file ({pseudo}) longer than "
                                                   f"{PSEUDO_MAX >> 20} MiB; it was not acquired")
                        raise _changed(source, f"it grew past its {before.st_size} bytes")
                    yield chunk

            blob = yield from self._store_stream(bounded(), before.st_size, label, unchanged)
            return replace(blob, source_check=copied[0] if copied else "", pseudo=pseudo)

    def stage(self, batch: StagedBatch, source: Path | bytes, label: str = "") -> bytes | None:
        """Copy and hash one small source into a temp file of ``batch`` (not durable yet).

        The copy is an anonymous file (``O_TMPFILE``) where the vault's file system makes them:
        it costs no name in ``vault/tmp`` to create and none to remove, and a crash leaves
        nothing of it (the file system frees an unlinked file). Elsewhere it is a named temp file.

        A source that cannot be read or changes while it is read is noted in the batch with the
        reason; the others go on. Nothing of the batch counts as stored until :meth:`seal`.

        Returns:
            The bytes staged (the caller may type them while the batch is sealed: they are the
            bytes hashed, so the copy is them once the seal has re-read it), or None for a
            source that could not be read.

        Raises:
            AcquisitionError: the vault cannot be written.
        """
        if not batch.labels:
            self.tmp.mkdir(parents=True, exist_ok=True)  # once a batch: a syscall a file otherwise
            self._fs_kinds.clear()  # file systems of sources, looked up once a batch
        index = len(batch.labels)
        batch.labels.append(label or (source.name if isinstance(source, Path) else f"part {index + 1}"))
        try:
            if isinstance(source, Path):
                data, check, pseudo = _read_small(source, self._fs_kinds)
                batch.checks[index] = (check, pseudo)
            else:
                data = source
        except CasetrailError as exc:
            batch.errors[index] = str(exc)
            return None
        try:
            if len(batch.staged) + len(batch.writing) < MAX_OPEN_COPIES and self._anonymous_temps():
                # Written, hashed and given its blob folder on a writer thread while this one
                # reads the next source: making an inode and a folder waited ~1 ms each on the
                # file system's journal (measured under load), most of a small file's time.
                batch.writing.append(_writers().submit(self._write_ahead, index, data))
                return data
            tmp = self.tmp / f"{uuid.uuid4().hex}.part"
            try:
                batch.staged.append(StagedCopy(index, -1, tmp, *_write_hashed(tmp, data)))
            except OSError:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                raise
            return data
        except OSError as exc:
            raise AcquisitionError(f"cannot write {batch.labels[index]} into the vault {self.root}: "
                                   f"{os_reason(exc)}") from exc

    def _write_ahead(self, index: int, data: bytes) -> StagedCopy:
        """Write one anonymous copy and make its blob's folder (on a writer thread)."""
        try:
            copy = _write_anonymous(self.tmp, index, data)
        except OSError as exc:
            raise _CopyWriteError(index, exc) from exc
        # Made durable by the seal's second syncfs, like a folder made while linking; a crash
        # before leaves an empty folder, which holds nothing and harms nothing. One that cannot
        # be made here is made again while linking, which says why it cannot.
        with contextlib.suppress(OSError):
            self._make_folders(copy.sha256)
        return copy

    def _collect(self, batch: StagedBatch) -> AcquisitionError | None:
        """Wait for the batch's writer threads and move their copies to ``staged``.

        Returns:
            Why the first copy that could not be written failed (its descriptor is closed).
        """
        error: AcquisitionError | None = None
        writing, batch.writing = batch.writing, []
        for future in writing:
            try:
                batch.staged.append(future.result())
            except _CopyWriteError as exc:
                error = error or AcquisitionError(
                    f"cannot write {batch.labels[exc.index]} into the vault {self.root}: "
                    f"{os_reason(exc.error)}")
        batch.staged.sort(key=lambda c: c.index)
        return error

    def _anonymous_temps(self) -> bool:
        """Whether this vault's temp folder makes anonymous files that can be linked into place.

        Tried once per vault: ``O_TMPFILE`` (Linux 3.11; ext4, XFS, Btrfs, tmpfs, not every file
        system), linking through ``/proc/self/fd``, and ``syncfs``, which makes them durable
        without a name to fsync them by.
        """
        if self._anonymous is None:
            self._anonymous = False
            if _SYNCFS is not None and hasattr(os, "O_TMPFILE"):
                probe = self.tmp / f"{uuid.uuid4().hex}.probe"
                try:
                    fd = os.open(self.tmp, os.O_RDWR | os.O_TMPFILE, 0o444)
                except OSError:
                    return False
                try:
                    _link_fd(fd, probe)
                    self._anonymous = True
                except OSError:
                    pass
                finally:
                    os.close(fd)
                    with contextlib.suppress(FileNotFoundError):
                        probe.unlink()
        return self._anonymous

    def seal(self, batch: StagedBatch) -> BatchResult:
        """Make a staged batch durable and verified: one sync, re-read, link, one sync of the names.

        The journal entry naming the batch's blobs is written; one ``syncfs`` makes it and every
        copy durable; each copy is dropped from the page cache, re-read from disk and re-hashed,
        linked into place (never replacing a blob; an existing blob is re-hashed); one more
        ``syncfs`` makes every new name and directory durable; then the copies are closed (or
        their temp names removed). Only then does a blob count as stored. Call it on cancel
        too: it never yields. See docs/reliability.md, "The vault's batch path".

        Raises:
            AcquisitionError: the vault could not be written or synced (nothing of the batch is
                reported stored; its temp copies are removed).
            CopyMismatchError: a copy reads back differently from what was read.
        """
        result = BatchResult([None] * len(batch.labels), [batch.errors.get(i) for i in
                                                                 range(len(batch.labels))])
        failed = self._collect(batch)
        staged, batch.staged = batch.staged, []
        entry: Path | None = None
        linking = False
        released = 0
        try:
            if failed is not None:
                raise failed
            if not staged:
                return result
            entry = self._note_in_flight([c.sha256 for c in staged])
            sync_filesystem(self.tmp, [c.tmp for c in staged if c.tmp is not None]
                            + ([entry] if entry else []))
            if entry is not None and _SYNCFS is None:
                _fsync_dir(self.journal)
            for _copy in staged:
                failpoints.hit("after_tmp_fsync")
            # Every copy is dropped from the page cache and its read from disk started at once,
            # so the disk serves the batch's re-reads in parallel instead of one seek at a time
            # (measured: the re-read was most of a small file's acquisition on a busy disk).
            for copy in staged:
                _drop_and_prefetch(copy)
            for copy in staged:
                if sha256_of_copy(copy) != copy.sha256:
                    raise CopyMismatchError(
                        f"the vault copy of {batch.labels[copy.index]} reads back differently from "
                        "what was read; the disk may be failing")
                failpoints.hit("after_reread")
            linked: list[tuple[StagedCopy, bool]] = []
            directories: set[Path] = set()
            linking = True
            for copy in staged:
                existed, touched = self._link(copy, batch.labels[copy.index])
                directories.update(touched)
                linked.append((copy, existed))
                failpoints.hit("after_link")
            # One sync for every new name and directory (each fsync of a directory costs ~1-2 ms).
            sync_filesystem(self.root, sorted(directories))
            for copy, existed in linked:
                released += 1  # counted first: a copy is never released twice (an fd reused)
                _release(copy)
                failpoints.hit("after_unlink_tmp")
                check, pseudo = batch.checks.get(copy.index, ("", ""))
                result.blobs[copy.index] = Blob(copy.sha256, copy.sha1, copy.md5, copy.size,
                                                self.blob_path(copy.sha256), existed, journal=entry,
                                                source_check=check, pseudo=pseudo)
            staged = []
            result.journal, entry = entry, None
            return result
        except OSError as exc:
            names = (", ".join(batch.labels[c.index] for c in staged[:3])
                     + (" …" if len(staged) > 3 else ""))
            files = f"{len(staged)} file{'s' if len(staged) != 1 else ''}"
            raise AcquisitionError(f"cannot write {files} ({names}) into the vault {self.root}: "
                                   f"{os_reason(exc)}") from exc
        finally:
            for copy in staged[released:]:
                # Our own copies, never evidence; a linked one is only a second name of its blob.
                _release(copy, quiet=True)
            # A batch that failed after linking keeps its entry: recovery looks at what it names.
            if entry is not None and not linking:
                self.settle(entry)

    def discard(self, batch: StagedBatch) -> None:
        """Remove the temp copies of a batch that will not be sealed."""
        self._collect(batch)
        for copy in batch.staged:
            _release(copy, quiet=True)
        batch.staged = []

    def store_batch(self, sources: Sequence[Path | bytes], labels: Sequence[str] = ()) -> BatchResult:
        """Stage and seal many small sources at once (see :meth:`stage` and :meth:`seal`)."""
        batch = StagedBatch()
        try:
            for index, source in enumerate(sources):
                self.stage(batch, source, labels[index] if index < len(labels) else "")
        except BaseException:
            self.discard(batch)
            raise
        return self.seal(batch)

    def store_slice(self, blob: Path, offset: int, length: int, label: str = "") -> Task[Blob]:
        """Store ``length`` bytes of a vault blob from ``offset`` as a blob of their own (a part).

        Read a chunk at a time, so a large message of a mailbox is never held whole.

        Raises:
            AcquisitionError: the blob cannot be read, is shorter, or the vault cannot be written.
        """
        try:
            fd = os.open(blob, os.O_RDONLY)
        except OSError as exc:
            raise AcquisitionError(f"cannot read the vault copy {blob.name}: {exc.strerror}") from exc

        def pieces() -> Iterator[bytes]:
            done = 0
            while done < length:
                chunk = os.pread(fd, min(CHUNK, length - done), offset + done)
                if not chunk:
                    raise AcquisitionError(f"the vault copy {blob.name} is shorter than its part at "
                                           f"byte {offset}")
                done += len(chunk)
                yield chunk

        try:
            return (yield from self._store_stream(pieces(), length, label))
        finally:
            os.close(fd)

    def store_bytes(self, data: bytes, label: str = "") -> Blob:
        """Store content that is already in memory (derived items: attachments, frames)."""
        pieces = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
        return run_to_end(self._store_stream(pieces, len(data), label))

    def _store_stream(
        self,
        chunks: Iterator[bytes],
        size_hint: int,
        label: str,
        check: Callable[[int, str, Path], None] | None = None,
    ) -> Task[Blob]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}.part"
        linked = False
        try:
            sha256, sha1, md5, size = yield from self._copy_hashing(chunks, tmp, size_hint, label)
            failpoints.hit("after_tmp_fsync")
            if check is not None:
                check(size, sha256, tmp)
            pieces: list[str] | None = [] if size > CHUNK else None
            copy = sha256_on_disk(tmp, pieces)
            if copy != sha256:
                raise CopyMismatchError(
                    f"the vault copy of {label} reads back as {copy[:16]}…, not {sha256[:16]}…; "
                    "the disk may be failing"
                )
            failpoints.hit("after_reread")
            entry = self._note_in_flight([sha256])
            if entry is not None:
                with entry.open("rb") as f:
                    os.fsync(f.fileno())
                _fsync_dir(self.journal)
            existed, directories = self._link(StagedCopy(0, -1, tmp, sha256, sha1, md5, size), label)
            linked = not existed
            final = self.blob_path(sha256)
            failpoints.hit("after_link")
            # (Measured: each fsync of a directory costs ~1-2 ms, which for thousands of small
            # emails was most of the acquisition time: small files take the batch path.)
            for directory in directories:
                _fsync_dir(directory)
            os.unlink(tmp)
            failpoints.hit("after_unlink_tmp")
            # No fsync of vault/tmp: a temp name that reappears after a power cut is a second
            # link to this blob, which recovery recognises and removes.
            return Blob(sha256, sha1, md5, size, final, existed, tuple(pieces or ()), entry)
        except OSError as exc:
            raise AcquisitionError(f"cannot write {label} into the vault {self.root}: "
                                   f"{os_reason(exc)}") from exc
        finally:
            if not linked:
                # Our own partial copy, never evidence: the source is untouched and was not recorded.
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def _link(self, copy: StagedCopy, label: str) -> tuple[bool, list[Path]]:
        """Link a verified copy into place, never replacing a blob.

        Returns:
            Whether the vault held the content already, and the directories whose entries must
            be made durable: the blob's, and the parent of any directory made just now.

        Raises:
            CopyMismatchError: the blob already in place does not hold what its name says.
        """
        if copy.tmp is not None:
            os.chmod(copy.tmp, 0o444)  # an anonymous copy was made read-only
        final = self.blob_path(copy.sha256)
        directories = [final.parent, *self._make_folders(copy.sha256)]
        try:
            try:
                _link_copy(copy, final)  # never replaces: an existing blob is kept as it is
            except FileNotFoundError:  # a blob folder went away behind our back
                self._folders.clear()
                directories = [final.parent, *self._make_folders(copy.sha256)]
                _link_copy(copy, final)
            return False, directories
        except FileExistsError:
            # The caller records "copy verified" for this blob: prove the one already in place
            # is the same content, or refuse (it is kept as it is, never replaced).
            if sha256_on_disk(final) != copy.sha256:
                raise CopyMismatchError(
                    f"the vault already holds {final.name[:16]}… for {label}, but its content "
                    "does not match its name; it was not replaced — run verify on this case"
                ) from None
            return True, directories

    def _make_folders(self, sha256: str) -> list[Path]:
        """Make a blob's folder (``ab/cd``) if needed; return the parents of any folder made.

        One ``mkdir`` for a new folder and nothing for one this process saw already (a stat
        of each level before, as ``Path.mkdir(parents=True)`` does, cost three syscalls a file:
        most new blobs of a batch fall in a folder of their own).
        """
        leaf = sha256[:4]
        if leaf in self._folders:
            return []
        top, folder = self.root / sha256[:2], self.root / sha256[:2] / sha256[2:4]
        made: list[Path] = []
        try:
            os.mkdir(folder)
            made.append(top)
        except FileExistsError:
            pass
        except FileNotFoundError:
            with contextlib.suppress(FileExistsError):
                os.mkdir(top)
                made.append(self.root)
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder)
                made.append(top)
        self._folders.add(leaf)
        return made

    def _copy_hashing(
        self, chunks: Iterator[bytes], tmp: Path, size_hint: int, label: str
    ) -> Task[tuple[str, str, str, int]]:
        h256, h1, h5 = hashlib.sha256(), hashlib.sha1(), hashlib.md5()  # noqa: S324 - evidence interop, not security
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        out = os.fdopen(fd, "wb", buffering=0)
        if size_hint <= CHUNK:
            # A small file (most emails) is hashed on this thread: starting four threads costs
            # more than hashing a few hundred kilobytes.
            size = 0
            try:
                for chunk in chunks:
                    for h in (h256, h1, h5):
                        h.update(chunk)
                    _write_all(out, chunk)
                    size += len(chunk)
                    yield Progress(label, size, max(size_hint, size))
                os.fsync(out.fileno())
            finally:
                out.close()
            return h256.hexdigest(), h1.hexdigest(), h5.hexdigest(), size
        workers = [_Consumer(h.update) for h in (h5, h1, h256)] + [_Consumer(lambda c: _write_all(out, c))]
        for w in workers:
            w.start()
        size = 0
        try:
            for chunk in chunks:
                for w in workers:
                    w.q.put(chunk)
                size += len(chunk)
                yield Progress(label, size, max(size_hint, size))
        finally:
            for w in workers:
                w.q.put(None)
            for w in workers:
                w.join()
            try:
                errors = [w.error for w in workers if w.error is not None]
                if errors:
                    raise errors[0]
                out.flush()
                os.fsync(out.fileno())
            finally:
                out.close()
        return h256.hexdigest(), h1.hexdigest(), h5.hexdigest(), size

    def verify_blob(self, sha256: str) -> str:
        """Re-hash one blob: ``ok``, ``modified`` or ``missing``."""
        path = self.blob_path(sha256)
        try:
            actual = sha256_on_disk(path)
        except FileNotFoundError:
            return "missing"
        except OSError:
            return "modified"  # fail closed: unreadable is not intact
        return "ok" if actual == sha256 else "modified"

    def damaged_chunks(self, sha256: str, expected: list[str]) -> list[int]:
        """Return the indexes of the chunks of a blob whose SHA-256 differs from ``expected``.

        Chunks beyond the expected list (the blob grew) and expected chunks the blob no longer
        has (it shrank) count as damaged.
        """
        damaged: list[int] = []
        index = 0
        fd = os.open(self.blob_path(sha256), os.O_RDONLY)
        try:
            while chunk := _read_exactly(fd, CHUNK):
                if index >= len(expected) or hashlib.sha256(chunk).hexdigest() != expected[index]:
                    damaged.append(index)
                index += 1
        finally:
            os.close(fd)
        damaged += range(index, len(expected))
        return damaged

    def blobs(self) -> Iterator[Path]:
        """Every file under the vault's hash folders (not temp files)."""
        for first in sorted(self.root.iterdir()):
            if first.name in ("tmp", "journal") or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if second.is_dir():
                    yield from sorted(p for p in second.iterdir())

    def temp_files(self) -> list[Path]:
        """Temp files a crash left behind."""
        return sorted(self.tmp.iterdir()) if self.tmp.is_dir() else []


def _read_small(source: Path, kinds: dict[int, str] | None = None) -> tuple[bytes, str, str]:
    """Read a whole (small) source file, refusing one that is not regular or changes meanwhile.

    It is read twice, the second time through a new opening of its path, and both reads must
    agree: a small file costs little to read again (from the page cache), and that second read
    is what shows a rewrite that restored its modification time.

    Args:
        source: the file.
        kinds: pseudo file system by device (``st_dev``), filled as sources are read: the
            ``fstatfs`` of each file was a syscall a file for what all of a folder share.

    Returns:
        The bytes, how the source was found unchanged, and its pseudo file system ("" for none).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        raise AcquisitionError(f"cannot read {source}: {exc.strerror}") from exc
    try:
        try:  # the bare descriptor: a file object around it cost a stat and an allocation a file
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise AcquisitionError(f"{source} is not a regular file")
            if kinds is None:
                pseudo = pseudo_file_system(fd)
            elif (known := kinds.get(before.st_dev)) is not None:
                pseudo = known
            else:
                pseudo = kinds[before.st_dev] = pseudo_file_system(fd)
            limit = PSEUDO_MAX if pseudo else before.st_size
            pieces: list[bytes] = []
            read = 0
            # Reads sized to the file (one more byte shows growth): a read of CHUNK allocated
            # 4 MiB for a file of a few kilobytes, twice a file.
            for chunk in _read_chunks(fd, min(CHUNK, limit + 1) if not pseudo else 64 << 10):
                pieces.append(chunk)
                read += len(chunk)
                if read > limit:
                    break  # it grew: enough to know, and a live log is not read forever
            data = b"".join(pieces)
            after = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AcquisitionError(f"cannot read {source}: {exc.strerror}") from exc
    if pseudo:
        if len(data) > PSEUDO_MAX:
            raise AcquisitionError(f"{source} is a pseudo file ({pseudo}) longer than "
                                   f"{PSEUDO_MAX >> 20} MiB; it was not acquired")
        return data, (f"a pseudo file ({pseudo}): read to its end, {len(data):,} bytes; it reported "
                      f"{before.st_size:,} bytes in stat, and its content is what the kernel reported "
                      "at that moment"), pseudo
    try:
        now: os.stat_result | None = os.stat(source, follow_symlinks=False)
    except OSError:
        now = None
    if len(data) != before.st_size or not _same_file_state(before, after) or (
            now is None or not _same_file_state(before, now)):
        raise _changed(source, f"size {before.st_size} -> {after.st_size}, {len(data)} bytes read")
    try:
        again = os.open(source, flags)
    except OSError as exc:
        raise _changed(source, f"it could not be opened again after the copy: {exc.strerror}") from exc
    try:
        if not _same_file_state(before, os.fstat(again)) or _read_exactly(again, len(data) + 1) != data:
            raise _changed(source, "it was replaced or rewritten while it was copied")
    finally:
        os.close(again)
    return data, "the source was read again after the copy and holds the same bytes", ""


def _write_hashed(tmp: Path, data: bytes) -> tuple[str, str, str, int]:
    """Write ``data`` to a new temp file (not synced) and return its three hashes and size."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb", buffering=0) as out:
        _write_all(out, data)
    return (hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(),  # noqa: S324
            hashlib.md5(data).hexdigest(), len(data))  # noqa: S324 - evidence interop, not security


def _read_chunks(src: BinaryIO | int, size: int = CHUNK) -> Iterator[bytes]:
    # Whole chunks (short only at the end): the per-chunk hashes must fall on CHUNK boundaries.
    fd = src if isinstance(src, int) else src.fileno()
    while chunk := _read_exactly(fd, size):
        yield chunk


def _read_exactly(fd: int, size: int) -> bytes:
    """Read ``size`` bytes (fewer only at the end of the file): chunk boundaries must not drift."""
    parts: list[bytes] = []
    left = size
    while left and (piece := os.read(fd, left)):
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts)


def _drop_and_prefetch(copy: StagedCopy) -> None:
    """Drop a (synced, so clean) copy from the page cache and start reading it back from disk."""
    if not hasattr(os, "posix_fadvise"):
        return
    if copy.tmp is None:
        os.posix_fadvise(copy.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(copy.fd, 0, 0, os.POSIX_FADV_WILLNEED)
        return
    fd = os.open(copy.tmp, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)


def sha256_of_copy(copy: StagedCopy) -> str:
    """SHA-256 of a staged copy as the disk holds it (after :func:`_drop_and_prefetch`)."""
    if copy.tmp is not None:
        return sha256_on_disk(copy.tmp, dropped=True)
    h = hashlib.sha256()
    offset = 0
    # Reads sized to the copy (a read of CHUNK allocates 4 MiB); a longer copy hashes differently.
    while chunk := os.pread(copy.fd, min(CHUNK, copy.size - offset + 1), offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


class _CopyWriteError(Exception):
    """A writer thread could not write the copy of the source at ``index``."""

    def __init__(self, index: int, error: OSError) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


MAX_OPEN_COPIES = 512  # anonymous copies open at once in one batch; named temp files beyond
_WRITERS = 3  # threads writing anonymous copies: they mostly wait on the file system, not the CPU
_writer_pool: ThreadPoolExecutor | None = None
_writer_lock = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    global _writer_pool
    with _writer_lock:
        if _writer_pool is None:
            _writer_pool = ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="vault-write")
        return _writer_pool


def _forget_writers_in_child() -> None:
    """A forked child has none of its parent's threads: an inherited pool would never write."""
    global _writer_pool, _writer_lock
    _writer_pool = None
    _writer_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_writers_in_child)


def _write_anonymous(folder: Path, index: int, data: bytes) -> StagedCopy:
    """Write ``data`` to a new anonymous, read-only file in ``folder`` (not synced); hash it."""
    fd = os.open(folder, os.O_RDWR | os.O_TMPFILE, 0o444)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if not written:
                raise OSError("the vault's disk accepted no more bytes")
            view = view[written:]
    except BaseException:
        os.close(fd)
        raise
    return StagedCopy(index, fd, None, hashlib.sha256(data).hexdigest(),
                      hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest(),  # noqa: S324
                      len(data))


def _link_fd(fd: int, final: Path) -> None:
    """Give the anonymous file open as ``fd`` the name ``final`` (never replacing a file).

    ``linkat(AT_FDCWD, "/proc/self/fd/N", …, AT_SYMLINK_FOLLOW)`` is how open(2) documents it
    for an unprivileged process. ``os.link`` calls ``linkat`` with that flag only when given a
    directory descriptor, so it gets one it ignores (the source path is absolute).
    """
    os.link(f"/proc/self/fd/{fd}", final, src_dir_fd=fd, follow_symlinks=True)


def _link_copy(copy: StagedCopy, final: Path) -> None:
    if copy.tmp is None:
        _link_fd(copy.fd, final)
    else:
        os.link(copy.tmp, final)


def _release(copy: StagedCopy, *, quiet: bool = False) -> None:
    """Close an anonymous copy (the file system frees it unless it was linked) or unlink a temp name."""
    try:
        if copy.tmp is None:
            os.close(copy.fd)
        else:
            os.unlink(copy.tmp)
    except OSError:
        if not quiet:
            raise


def sha256_on_disk(path: Path, pieces: list[str] | None = None, *, dropped: bool = False) -> str:
    """SHA-256 of a file as it is on disk, not as the page cache remembers writing it.

    Args:
        path: the file.
        pieces: when given, the SHA-256 of each :data:`CHUNK` is appended to it, on a second
            thread (measured: hashing the chunks while the source was copied made a 1 GiB
            import 1 s slower; during this re-read the other core is idle).
        dropped: the caller dropped the file from the page cache since it was synced, and
            started reading it back from disk (:func:`_drop_and_prefetch`): what is cached
            now came from the disk and is not dropped again.
    """
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    chunker = None
    if pieces is not None:
        chunker = _Consumer(lambda c: pieces.append(hashlib.sha256(c).hexdigest()))
        chunker.start()
    try:
        if hasattr(os, "posix_fadvise") and not dropped:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while chunk := _read_exactly(fd, CHUNK):
            h.update(chunk)
            if chunker is not None:
                chunker.q.put(chunk)
    finally:
        os.close(fd)
        if chunker is not None:
            chunker.q.put(None)
            chunker.join()
    if chunker is not None and chunker.error is not None:
        raise chunker.error
    return h.hexdigest()
