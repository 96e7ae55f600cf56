# SPDX-License-Identifier: GPL-3.0-or-later
"""The write-once, content-addressed vault: hashes, dedupe, read-only blobs, changing sources."""

from __future__ import annotations

import hashlib
import os
import random
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core import vault as vault_mod
from desktop.core.errors import AcquisitionError, CopyMismatchError, SourceChangedError
from desktop.core.progress import Progress, run_to_end
from desktop.core.vault import CHUNK, Vault


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    v = Vault(tmp_path / "vault")
    v.ensure()
    return v


def _data(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _all_files(v: Vault) -> list[Path]:
    """Every file of the vault but its journal entries (settled by the case; tested on their own)."""
    return sorted(p for p in v.root.rglob("*") if p.is_file() and p.parent != v.journal)


@pytest.mark.parametrize(
    "size", [0, 1, 1000, CHUNK - 1, CHUNK, 2 * CHUNK + 12345],
    ids=["empty", "one-byte", "small", "chunk-minus-1", "one-chunk", "multi-chunk"],
)
def test_hashes_equal_hashlib(vault: Vault, tmp_path: Path, size: int) -> None:
    data = _data(size)
    src = _write(tmp_path / "src.bin", data)
    blob = run_to_end(vault.store_file(src))
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.sha1 == hashlib.sha1(data).hexdigest()  # noqa: S324
    assert blob.md5 == hashlib.md5(data).hexdigest()  # noqa: S324
    assert blob.size == size
    assert not blob.existed
    assert blob.path == vault.root / blob.sha256[:2] / blob.sha256[2:4] / blob.sha256
    assert blob.path.read_bytes() == data
    assert vault.temp_files() == [], "the temp copy must be gone once the blob is linked"
    assert blob.journal is not None
    assert blob.journal.is_file()
    assert _all_files(vault) == [blob.path]
    assert [shas for _entry, shas in vault.in_flight()] == [[blob.sha256]], "named until recorded"
    vault.settle(blob.journal)
    assert vault.in_flight() == []


def test_store_bytes_equals_store_file(vault: Vault, tmp_path: Path) -> None:
    data = _data(CHUNK + 5, seed=3)
    from_bytes = vault.store_bytes(data, label="attachment")
    assert from_bytes.sha256 == hashlib.sha256(data).hexdigest()
    assert from_bytes.md5 == hashlib.md5(data).hexdigest()  # noqa: S324
    from_file = run_to_end(vault.store_file(_write(tmp_path / "same.bin", data)))
    assert from_file.existed
    assert from_file.path == from_bytes.path


def test_progress_counts_every_byte(vault: Vault, tmp_path: Path) -> None:
    size = 3 * CHUNK + 1
    src = _write(tmp_path / "big.bin", _data(size))
    task = vault.store_file(src)
    ticks: list[Progress] = []
    while True:
        try:
            ticks.append(next(task))
        except StopIteration as stop:
            blob = stop.value
            break
    assert [t.done for t in ticks] == [CHUNK, 2 * CHUNK, 3 * CHUNK, size]
    assert all(t.total == size and t.label == "big.bin" for t in ticks)
    assert blob.size == size


def test_blob_is_read_only(vault: Vault, tmp_path: Path) -> None:
    blob = run_to_end(vault.store_file(_write(tmp_path / "a.txt", b"evidence")))
    assert stat.S_IMODE(blob.path.stat().st_mode) == 0o444


def test_identical_content_stored_once_and_never_replaced(vault: Vault, tmp_path: Path) -> None:
    data = _data(50_000)
    first = run_to_end(vault.store_file(_write(tmp_path / "a.bin", data)))
    before = first.path.stat()
    second = run_to_end(vault.store_file(_write(tmp_path / "b.bin", data)))
    after = first.path.stat()
    assert second.existed
    assert not first.existed
    assert second.path == first.path
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (before.st_ino, before.st_mtime_ns, 1)
    assert _all_files(vault) == [first.path]


def test_damaged_existing_blob_is_neither_replaced_nor_vouched_for(vault: Vault, tmp_path: Path) -> None:
    data = b"original evidence " * 1000
    blob = run_to_end(vault.store_file(_write(tmp_path / "a.bin", data)))
    os.chmod(blob.path, 0o644)
    damaged = bytearray(data)
    damaged[100] ^= 0xFF
    blob.path.write_bytes(bytes(damaged))
    os.chmod(blob.path, 0o444)
    inode = blob.path.stat().st_ino
    with pytest.raises(AcquisitionError, match="does not match"):
        run_to_end(vault.store_file(_write(tmp_path / "again.bin", data)))
    assert blob.path.stat().st_ino == inode, "an existing blob must never be replaced"
    assert blob.path.read_bytes() == bytes(damaged)
    assert vault.temp_files() == []


def _appending_reader(path: Path, extra: bytes) -> object:
    """A ``_read_chunks`` that grows the source after handing out its first chunk."""
    original = vault_mod._read_chunks

    def reader(src: object) -> Iterator[bytes]:
        for n, chunk in enumerate(original(src)):
            yield chunk
            if n == 0:
                with path.open("ab") as f:
                    f.write(extra)

    return reader


@pytest.mark.parametrize("size", [10, 2 * CHUNK + 7], ids=["small", "multi-chunk"])
def test_source_growing_while_read_is_refused(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    src = _write(tmp_path / "live.log", _data(size))
    monkeypatch.setattr(vault_mod, "_read_chunks", _appending_reader(src, b"appended line\n"))
    with pytest.raises(SourceChangedError, match="changed while it was being read"):
        run_to_end(vault.store_file(src))
    assert _all_files(vault) == [], "a changed source must leave nothing in the vault"


def test_source_rewritten_in_place_while_read_is_refused(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(2 * CHUNK)
    src = _write(tmp_path / "disk.img", data)
    original = vault_mod._read_chunks

    def reader(src_file: object) -> Iterator[bytes]:
        for n, chunk in enumerate(original(src_file)):
            yield chunk
            if n == 0:  # same size, new content in the part not read yet, new mtime
                with src.open("r+b") as f:
                    f.seek(CHUNK)
                    f.write(b"\x00" * 4096)
                st = src.stat()
                os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    monkeypatch.setattr(vault_mod, "_read_chunks", reader)
    with pytest.raises(SourceChangedError):
        run_to_end(vault.store_file(src))
    assert _all_files(vault) == []


def test_copy_that_reads_back_wrong_is_refused(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault_mod, "sha256_on_disk", lambda _p, _pieces=None: "0" * 64)
    with pytest.raises(CopyMismatchError, match="reads back"):
        run_to_end(vault.store_file(_write(tmp_path / "a.bin", b"data")))
    assert _all_files(vault) == []


def test_cancel_between_chunks_leaves_nothing(vault: Vault, tmp_path: Path) -> None:
    task = vault.store_file(_write(tmp_path / "big.bin", _data(3 * CHUNK)))
    next(task)
    task.close()
    assert _all_files(vault) == []


def test_missing_source(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(AcquisitionError, match="cannot read"):
        run_to_end(vault.store_file(tmp_path / "nope.bin"))


def test_directory_source(vault: Vault, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(AcquisitionError, match="not a regular file"):
        run_to_end(vault.store_file(tmp_path / "d"))


def test_symlink_source_is_not_followed_by_the_vault(vault: Vault, tmp_path: Path) -> None:
    target = _write(tmp_path / "target.txt", b"x")
    (tmp_path / "link.txt").symlink_to(target)
    with pytest.raises(AcquisitionError):
        run_to_end(vault.store_file(tmp_path / "link.txt"))
    assert _all_files(vault) == []


def test_verify_blob_statuses(vault: Vault, tmp_path: Path) -> None:
    good = run_to_end(vault.store_file(_write(tmp_path / "a", b"aaa")))
    bad = run_to_end(vault.store_file(_write(tmp_path / "b", b"bbb")))
    gone = run_to_end(vault.store_file(_write(tmp_path / "c", b"ccc")))
    os.chmod(bad.path, 0o644)
    bad.path.write_bytes(b"bbc")
    gone.path.unlink()
    assert vault.verify_blob(good.sha256) == "ok"
    assert vault.verify_blob(bad.sha256) == "modified"
    assert vault.verify_blob(gone.sha256) == "missing"


def test_blobs_and_temp_files_listing(vault: Vault, tmp_path: Path) -> None:
    blob = run_to_end(vault.store_file(_write(tmp_path / "a", b"aaa")))
    leftover = vault.tmp / "crash.part"
    leftover.write_bytes(b"half")
    assert list(vault.blobs()) == [blob.path]
    assert vault.temp_files() == [leftover]


def test_fifo_source_is_refused_without_blocking(vault: Vault, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(AcquisitionError, match="not a regular file"):
        run_to_end(vault.store_file(fifo))


def test_source_that_keeps_growing_is_refused_not_read_forever(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _write(tmp_path / "live.log", b"x" * 100)
    original = vault_mod._read_chunks

    def reader(src_file: object) -> Iterator[bytes]:
        for n, chunk in enumerate(original(src_file)):
            assert n < 50, "the vault kept reading a source that never stops growing"
            with src.open("ab") as f:
                f.write(b"y" * 100)
            yield chunk

    monkeypatch.setattr(vault_mod, "_read_chunks", reader)
    with pytest.raises(SourceChangedError, match="grew"):
        run_to_end(vault.store_file(src))
    assert _all_files(vault) == []


# ---------------------------------------------------------------------------- the batch path

@pytest.fixture(params=["anonymous copies", "named temp files"])
def batch_vault(request: pytest.FixtureRequest, vault: Vault) -> Vault:
    """The batch path both ways: O_TMPFILE copies where the file system has them, named temp files
    elsewhere (forced here)."""
    if request.param == "named temp files":
        vault._anonymous = False
    elif not vault._anonymous_temps():
        pytest.skip("this file system makes no anonymous (O_TMPFILE) files")
    return vault


def test_a_batch_stores_each_source_with_its_hashes_and_dedupes(batch_vault: Vault, tmp_path: Path) -> None:
    datas = [_data(n, seed=n) for n in (0, 1, 5000, 70_000)] + [_data(5000, seed=5000)]
    sources = [_write(tmp_path / f"s{i}", d) for i, d in enumerate(datas)]
    result = batch_vault.store_batch(sources)
    assert result.errors == [None] * 5
    for blob, data in zip(result.blobs, datas, strict=True):
        assert blob is not None
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        assert blob.md5 == hashlib.md5(data).hexdigest()  # noqa: S324
        assert blob.path.read_bytes() == data
        assert stat.S_IMODE(blob.path.stat().st_mode) == 0o444
    assert [b.existed for b in result.blobs if b] == [False, False, False, False, True]  # same content twice
    assert batch_vault.temp_files() == []
    again = batch_vault.store_batch([sources[2], b"in memory"])
    assert again.blobs[0] is not None
    assert again.blobs[0].existed
    assert again.blobs[1] is not None
    assert again.blobs[1].path.read_bytes() == b"in memory"


def test_one_bad_source_in_a_batch_is_reported_and_the_others_stored(batch_vault: Vault,
                                                                     tmp_path: Path) -> None:
    good = _write(tmp_path / "good", b"good")
    result = batch_vault.store_batch([tmp_path / "missing", good, tmp_path])
    assert result.blobs[1] is not None
    assert result.blobs[0] is None
    assert "cannot read" in (result.errors[0] or "")
    assert result.blobs[2] is None
    assert "not a regular file" in (result.errors[2] or "")
    assert batch_vault.temp_files() == []


def test_a_batch_whose_sync_fails_stores_nothing_and_leaves_no_temp_file(
        batch_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(directory: Path, files: object = ()) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(vault_mod, "sync_filesystem", broken)
    with pytest.raises(AcquisitionError, match="Input/output error"):
        batch_vault.store_batch([_write(tmp_path / "a", b"a"), _write(tmp_path / "b", b"b")])
    assert _all_files(batch_vault) == []


def test_a_batch_copy_that_reads_back_differently_is_refused(
        batch_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vault_mod, "sha256_of_copy", lambda _copy: "0" * 64)
    with pytest.raises(CopyMismatchError, match="reads back differently"):
        batch_vault.store_batch([_write(tmp_path / "a", b"a")])
    assert _all_files(batch_vault) == []


def test_a_discarded_batch_leaves_nothing(batch_vault: Vault, tmp_path: Path) -> None:
    batch = vault_mod.StagedBatch()
    batch_vault.stage(batch, _write(tmp_path / "a", b"a"))
    [copy] = batch.staged + [f.result() for f in batch.writing]  # (written on a writer thread)
    if copy.tmp is None:  # an anonymous copy: open, and nameless
        assert os.fstat(copy.fd).st_nlink == 0
        assert batch_vault.temp_files() == []
    else:
        assert batch_vault.temp_files() == [copy.tmp]
    batch_vault.discard(batch)
    assert _all_files(batch_vault) == []
    if copy.tmp is None:
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(copy.fd)  # closed: the file system frees it


def test_a_blob_folder_removed_behind_the_vaults_back_is_made_again(batch_vault: Vault,
                                                                    tmp_path: Path) -> None:
    # The vault remembers the folders it made; one that went away must not fail the next store.
    first = batch_vault.store_batch([_write(tmp_path / "a", b"content")]).blobs[0]
    assert first is not None
    first.path.unlink()
    first.path.parent.rmdir()
    first.path.parent.parent.rmdir()
    again = batch_vault.store_batch([_write(tmp_path / "b", b"content")]).blobs[0]
    assert again is not None
    assert not again.existed
    assert batch_vault.verify_blob(again.sha256) == "ok"
    assert batch_vault.temp_files() == []
