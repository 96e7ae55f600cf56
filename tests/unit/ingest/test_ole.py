# SPDX-License-Identifier: GPL-3.0-or-later
"""A compound file that claims more than it holds is refused before olefile reads it."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from desktop.ingest.email import MailParseError, parse_msg
from desktop.ingest.ole import CompoundFileError, check_compound_file

MSG = Path(__file__).resolve().parents[3].parent / "shared" / "corpora" / "msg"
needs_msg = pytest.mark.skipif(not MSG.is_dir(), reason="../shared/corpora/msg is absent")


def _real() -> bytearray:
    return bytearray((MSG / "strangeDate.msg").read_bytes())


def _dir_offset(data: bytearray) -> int:
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    return 512 + struct.unpack_from("<I", data, 0x30)[0] * (1 << shift)


@needs_msg
def test_real_messages_pass() -> None:
    for path in sorted(MSG.glob("*.msg")):
        check_compound_file(path.read_bytes())


@needs_msg
@pytest.mark.parametrize(("offset", "value", "reason"), [
    (0x2C, 0x00FFFFFF, "allocation table claims 16,777,215 sectors"),
    (0x40, 0x7FFFFFFF, "mini allocation table claims"),
    (0x48, 0x7FFFFFFF, "extended allocation table claims"),
])
def test_a_table_larger_than_the_file_is_refused_fast(offset: int, value: int, reason: str) -> None:
    data = _real()
    struct.pack_into("<I", data, offset, value)
    started = time.monotonic()
    with pytest.raises(MailParseError, match=reason):
        parse_msg(bytes(data))
    assert time.monotonic() - started < 5


@needs_msg
def test_a_4_gb_stream_is_refused_with_its_name() -> None:
    data = _real()
    struct.pack_into("<I", data, _dir_offset(data) + 0x78, 0xFFFFFFF0)  # the root entry's size
    with pytest.raises(CompoundFileError, match=r"'Root Entry' claims 4,294,967,280 bytes"):
        check_compound_file(bytes(data))


@needs_msg
def test_a_looping_chain_is_refused() -> None:
    data = _real()
    fat0 = struct.unpack_from("<I", data, 0x4C)[0]
    for k in range(128):
        struct.pack_into("<I", data, 512 + fat0 * 512 + 4 * k, k)  # every sector points to itself
    with pytest.raises(CompoundFileError, match="loop"):
        check_compound_file(bytes(data))


def test_not_a_compound_file() -> None:
    with pytest.raises(CompoundFileError, match="no compound-file signature"):
        check_compound_file(b"PK\x03\x04" + bytes(600))
