# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence vault: a content-addressed, write-once store of every acquired file.

A blob lives at ``vault/ab/cd/<sha256>``, read-only, and is never replaced or rewritten. One read
of the source feeds SHA-256, SHA-1 and MD5 on their own threads (hashlib releases the GIL) while
the bytes go to a temp file in ``vault/tmp``; the copy is fsynced, dropped from the page cache and
re-read from disk to prove it equals what was read; only then is it linked into place with
``os.link`` (which cannot overwrite) and the directory fsynced. A crash therefore leaves either a
temp file or a complete, verified blob, never a half-written blob under a hash name.

This module knows nothing of items or custody: the case records what the vault did.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from desktop.core import failpoints
from desktop.core.errors import AcquisitionError, CopyMismatchError, SourceChangedError
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
    """

    sha256: str
    sha1: str
    md5: str
    size: int
    path: Path
    existed: bool
    chunk_hashes: tuple[str, ...] = ()


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


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ino, a.st_dev) == (b.st_size, b.st_mtime_ns, b.st_ino, b.st_dev)


class Vault:
    """The blob store of one case.

    Args:
        root: the case's ``vault`` folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def ensure(self) -> None:
        """Create the vault folders of a new case."""
        self.tmp.mkdir(parents=True, exist_ok=True)

    def blob_path(self, sha256: str) -> Path:
        """Return where the blob with this SHA-256 lives (whether or not it exists)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def store_file(self, source: Path, label: str = "") -> Task[Blob]:
        """Copy a file into the vault, hashing it on the way; yield progress per chunk.

        Raises:
            SourceChangedError: the file changed size, time or identity while it was read.
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
        with os.fdopen(fd, "rb", buffering=0) as src:

            def unchanged(read: int) -> None:
                # Checked before the blob is linked, so a changed source leaves nothing behind.
                after = os.fstat(src.fileno())
                try:
                    now = os.stat(source, follow_symlinks=False)
                except OSError:
                    now = None
                if read != before.st_size or not _same_file_state(before, after) or (
                    now is None or not _same_file_state(before, now)
                ):
                    raise SourceChangedError(
                        f"{source} changed while it was being read (size {before.st_size} -> "
                        f"{after.st_size}, {read} bytes read); acquire it again once it is stable"
                    )

            def bounded() -> Iterator[bytes]:
                # A source that keeps growing (a live log) would otherwise be read forever.
                read = 0
                for chunk in _read_chunks(src):
                    read += len(chunk)
                    if read > before.st_size:
                        raise SourceChangedError(
                            f"{source} changed while it was being read (it grew past its "
                            f"{before.st_size} bytes); acquire it again once it is stable"
                        )
                    yield chunk

            return (yield from self._store_stream(bounded(), before.st_size, label, unchanged))

    def store_bytes(self, data: bytes, label: str = "") -> Blob:
        """Store content that is already in memory (derived items: attachments, frames)."""
        pieces = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
        return run_to_end(self._store_stream(pieces, len(data), label))

    def _store_stream(
        self,
        chunks: Iterator[bytes],
        size_hint: int,
        label: str,
        check: Callable[[int], None] | None = None,
    ) -> Task[Blob]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}.part"
        linked = False
        try:
            sha256, sha1, md5, size = yield from self._copy_hashing(chunks, tmp, size_hint, label)
            failpoints.hit("after_tmp_fsync")
            if check is not None:
                check(size)
            pieces: list[str] | None = [] if size > CHUNK else None
            copy = sha256_on_disk(tmp, pieces)
            if copy != sha256:
                raise CopyMismatchError(
                    f"the vault copy of {label} reads back as {copy[:16]}…, not {sha256[:16]}…; "
                    "the disk may be failing"
                )
            failpoints.hit("after_reread")
            os.chmod(tmp, 0o444)
            final = self.blob_path(sha256)
            new_dirs = [d for d in (final.parent.parent, final.parent) if not d.is_dir()]
            final.parent.mkdir(parents=True, exist_ok=True)
            existed = False
            try:
                os.link(tmp, final)  # never replaces: an existing blob is kept as it is
                linked = True
            except FileExistsError:
                existed = True
                # The caller records "copy verified" for this blob: prove the one already in
                # place is the same content, or refuse (it is kept as it is, never replaced).
                if sha256_on_disk(final) != sha256:
                    raise CopyMismatchError(
                        f"the vault already holds {final.name[:16]}… for {label}, but its content "
                        "does not match its name; it was not replaced — run verify on this case"
                    ) from None
            failpoints.hit("after_link")
            # The blob's directory entry must be durable; a directory made just now must be too,
            # in its own parent. (Measured: each fsync of a directory costs ~1-2 ms, which for
            # thousands of small emails is most of the acquisition time.)
            for directory in [final.parent, *(d.parent for d in new_dirs)]:
                _fsync_dir(directory)
            os.unlink(tmp)
            failpoints.hit("after_unlink_tmp")
            # No fsync of vault/tmp: a temp name that reappears after a power cut is a second
            # link to this blob, which recovery recognises and removes.
            return Blob(sha256, sha1, md5, size, final, existed, tuple(pieces or ()))
        except OSError as exc:
            raise AcquisitionError(f"cannot write {label} into the vault: {exc}") from exc
        finally:
            if not linked:
                # Our own partial copy, never evidence: the source is untouched and was not recorded.
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

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
            if first.name == "tmp" or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if second.is_dir():
                    yield from sorted(p for p in second.iterdir())

    def temp_files(self) -> list[Path]:
        """Temp files a crash left behind."""
        return sorted(self.tmp.iterdir()) if self.tmp.is_dir() else []


def _read_chunks(src: BinaryIO) -> Iterator[bytes]:
    # Whole chunks (short only at the end): the per-chunk hashes must fall on CHUNK boundaries.
    while chunk := _read_exactly(src.fileno(), CHUNK):
        yield chunk


def _read_exactly(fd: int, size: int) -> bytes:
    """Read ``size`` bytes (fewer only at the end of the file): chunk boundaries must not drift."""
    parts: list[bytes] = []
    left = size
    while left and (piece := os.read(fd, left)):
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts)


def sha256_on_disk(path: Path, pieces: list[str] | None = None) -> str:
    """SHA-256 of a file as it is on disk, not as the page cache remembers writing it.

    Args:
        path: the file.
        pieces: when given, the SHA-256 of each :data:`CHUNK` is appended to it, on a second
            thread (measured: hashing the chunks while the source was copied made a 1 GiB
            import 1 s slower; during this re-read the other core is idle).
    """
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    chunker = None
    if pieces is not None:
        chunker = _Consumer(lambda c: pieces.append(hashlib.sha256(c).hexdigest()))
        chunker.start()
    try:
        if hasattr(os, "posix_fadvise"):
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
