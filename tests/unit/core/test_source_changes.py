# SPDX-License-Identifier: GPL-3.0-or-later
"""A source that changes while it is read is refused, however it changed; pseudo files are read whole.

Each way a file can change under an acquisition (cut short, renamed over, rewritten in place
with its modification time put back) is done between two reads of the vault, on the batch path
of small files and on the streaming path of large ones. Nothing may be recorded or left in the
vault for a changed source; the import says so in one sentence and goes on with the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core import vault as vault_mod
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.vault import CHUNK

SMALL, LARGE = 3000, CHUNK + 17


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _rename_over(path: Path) -> None:
    other = path.with_name("replacement")
    other.write_bytes(b"R" * path.stat().st_size)  # same size, other content, other inode
    os.replace(other, path)


def _rewrite_keeping_mtime(path: Path) -> None:
    st = path.stat()
    with path.open("r+b") as fh:
        fh.seek(0)  # a part already read: only reading it again can see this
        fh.write(b"\x00" * 64)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns
    assert path.stat().st_size == st.st_size


CHANGES = {"truncated": _truncate, "renamed over": _rename_over,
           "rewritten, mtime restored": _rewrite_keeping_mtime}


def _after_first_chunk(change: Callable[..., None], path: Path) -> Callable[..., Iterator[bytes]]:
    original = vault_mod._read_chunks
    done: list[bool] = []

    def reader(*args: Any) -> Iterator[bytes]:
        for chunk in original(*args):
            yield chunk
            if not done:
                done.append(True)
                change(path)

    return reader


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["batch path", "streaming path"])
@pytest.mark.parametrize("how", list(CHANGES))
def test_a_source_changed_during_the_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      how: str, size: int) -> None:
    src = tmp_path / "ev" / "evidence.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(size))
    steady = tmp_path / "ev" / "steady.txt"
    steady.write_bytes(b"this one does not change\n")
    monkeypatch.setattr(vault_mod, "_read_chunks", _after_first_chunk(CHANGES[how], src))
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        report = run_to_end(import_paths(case, [src.parent]))
        assert [Path(p).name for p, _e in report.failed] == ["evidence.bin"], report
        assert "changed while it was being read" in report.failed[0][1]
        assert [a.item.name for a in report.acquired] == ["steady.txt"]
        assert len(list(case.vault.blobs())) == 1
        assert case.vault.temp_files() == []


def test_the_second_read_catches_a_rewrite_even_if_the_times_agreed(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Belt and braces: were the change time not to move (a file system that does not keep it),
    # the comparison with a second read of the source still refuses the copy.
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(LARGE))
    monkeypatch.setattr(vault_mod, "_read_chunks", _after_first_chunk(_rewrite_keeping_mtime, src))
    real = vault_mod._same_file_state
    monkeypatch.setattr(vault_mod, "_same_file_state", lambda a, b, pseudo="": real(a, b, pseudo="x"))
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        report = run_to_end(import_paths(case, [src]))
        assert report.acquired == []
        assert "read again after the copy differs" in report.failed[0][1]


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["batch path", "streaming path"])
def test_an_unchanged_source_says_how_it_was_checked(tmp_path: Path, size: int) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(size))
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        report = run_to_end(import_paths(case, [src]))
        assert report.failed == []
        entry = next(e for e in case.custody() if e["action"] == "acquired")
        assert "read again after the copy" in entry["detail"]["source_check"]


PSEUDO = [Path("/proc/cpuinfo"), Path("/proc/self/status"),
          Path("/sys/kernel/mm/transparent_hugepage/enabled")]


@pytest.mark.parametrize("path", PSEUDO, ids=[str(p) for p in PSEUDO])
def test_a_pseudo_file_is_read_to_its_end_and_recorded_as_such(tmp_path: Path, path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine")
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        report = run_to_end(import_paths(case, [path]))
        assert report.failed == [], report.failed
        item = report.acquired[0].item
        assert item.size > 0
        assert path.stat().st_size in (0, 4096)
        assert case.vault.blob_path(item.sha256).read_bytes()  # the content, not an empty file
        entry = next(e for e in case.custody() if e["action"] == "acquired")
        assert entry["detail"]["pseudo_file"]["read_to_end"] is True
        assert "pseudo file" in entry["result"]
        assert "read to its end" in entry["detail"]["source_check"]
