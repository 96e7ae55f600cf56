# SPDX-License-Identifier: GPL-3.0-or-later
"""Typing a file from the bytes acquisition read gives the type libmagic gives the file itself.

Acquisition types a small file from the bytes the vault staged (:func:`detect.mime_of_content`)
instead of opening the vault copy again; no recorded type may change by it. Checked on every file
of the shared corpora and of tests/data, and on the two cases where libmagic looks at the file
itself (an empty file, ELF), which must fall back to the file.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desktop.core import detect

ROOT = Path(__file__).resolve().parents[3]
CORPORA = ROOT.parent / "shared" / "corpora"


def _files(top: Path) -> list[Path]:
    return sorted(p for p in top.rglob("*") if p.is_file() and not p.is_symlink()
                  and p.stat().st_size <= detect._CONTENT_MAX)


def _compare(paths: list[Path]) -> tuple[list[tuple[str, str | None, str]], int]:
    """Files whose type from their bytes differs from their type as a file; how many fell back."""
    differ, fell_back = [], 0
    contents = [p.read_bytes() for p in paths]
    from_bytes = detect.mimes_of_contents_later(contents)()
    assert len(from_bytes) == len(paths)
    for path, data, mime in zip(paths, contents, from_bytes, strict=True):
        assert mime == detect.mime_of_content(data)  # the two threads deal files in order
        if mime is None:
            fell_back += 1
            continue
        as_file = detect.detect_file(path).mime
        if mime != as_file:
            differ.append((str(path), mime, as_file))
    return differ, fell_back


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")
def test_the_corpora_type_the_same_from_bytes() -> None:
    paths = _files(CORPORA)
    assert len(paths) > 100
    differ, fell_back = _compare(paths)
    assert differ == []
    assert fell_back == sum(1 for p in paths if p.stat().st_size == 0 or p.read_bytes()[:4] == b"\x7fELF")


def test_tests_data_types_the_same_from_bytes() -> None:
    paths = _files(ROOT / "tests" / "data")
    assert paths
    assert _compare(paths)[0] == []


def test_what_only_the_file_answers_is_typed_as_a_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert detect.mime_of_content(b"") is None
    assert detect.detect_file(empty).mime == "inode/x-empty"  # from bytes libmagic says x-empty
    elf = Path(sys.executable).resolve()
    head = elf.read_bytes()[: 1 << 20]
    assert head.startswith(b"\x7fELF")
    assert detect.mime_of_content(head) is None
    assert detect.mime_of_content(b"x" * (detect._CONTENT_MAX + 1)) is None


def test_mail_is_recognised_from_bytes_as_from_the_file(tmp_path: Path) -> None:
    # libmagic calls this text/plain; the header block makes it a message (refine_mime).
    data = b"Subject: hello\nFrom: a@example.com\nTo: b@example.org\n\nbody\n"
    path = tmp_path / "m"
    path.write_bytes(data)
    assert detect.mime_of_content(data) == detect.detect_file(path).mime == "message/rfc822"


def test_a_thread_types_files_and_contents_in_either_order(tmp_path: Path) -> None:
    # The typing threads type files (large ones, ELF) and contents with the same handle.
    path = tmp_path / "notes.txt"
    path.write_bytes(b"plain words\n")

    def files_first() -> str | None:
        assert detect._mime_here(path) == "text/plain"
        return detect.mime_of_content(b"plain words\n")

    def contents_first() -> str:
        assert detect.mime_of_content(b"plain words\n") == "text/plain"
        return detect._mime_here(path)

    with ThreadPoolExecutor(max_workers=1) as one, ThreadPoolExecutor(max_workers=1) as other:
        assert one.submit(files_first).result() == "text/plain"
        assert other.submit(contents_first).result() == "text/plain"
