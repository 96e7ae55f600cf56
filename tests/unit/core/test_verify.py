# SPDX-License-Identifier: GPL-3.0-or-later
"""Verification of a case: re-hash every blob, recompute the chain, record the result."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import VerifyReport, verify_case

FILES = {
    "a.txt": b"alpha\n" * 100,
    "b.bin": bytes(range(256)) * 64,
    "c.txt": b"charlie\n",
    "d.txt": b"alpha\n" * 100,  # same content as a.txt: one blob, two items
}


@pytest.fixture
def filled(case: Case, evidence: Path) -> Case:
    for name, data in FILES.items():
        (evidence / name).write_bytes(data)
    run_to_end(import_paths(case, [evidence]))
    assert len(case.items()) == len(FILES)
    return case


def _ids(case: Case, name: str) -> int:
    return next(i.id for i in case.items() if i.name == name)


def _flip(path: Path, offset: int, bit: int = 0) -> None:
    os.chmod(path, 0o644)
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))
    os.chmod(path, 0o444)


def _vault_state(case: Case) -> dict[str, tuple[int, str]]:
    return {str(p): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in case.vault.blobs()}


def test_intact_case_verifies_and_is_recorded(filled: Case) -> None:
    before = len(filled.custody())
    report = run_to_end(verify_case(filled))
    assert report.ok, report.to_json()
    assert report.items == {i.id: "ok" for i in filled.items()}
    assert report.recorded
    entries = filled.custody()
    assert len(entries) == before + 1
    last = entries[-1]
    assert last["action"] == "verified"
    assert last["result"] == "intact"
    assert last["detail"]["items_checked"] == len(FILES)
    assert last["detail"]["blobs_checked"] == len(FILES) - 1
    # the recorded result is itself part of the chain, and the chain still holds
    assert run_to_end(verify_case(filled)).ok


def test_json_shape(filled: Case) -> None:
    out = run_to_end(verify_case(filled)).to_json()
    assert out["ok"] is True
    assert [set(i) for i in out["items"]] == [{"id", "status"}] * len(FILES)
    assert out["custody"]["ok"] is True
    assert out["custody"]["first_bad_seq"] is None


@pytest.mark.parametrize("seed", range(5))
def test_flipped_bit_names_exactly_that_blobs_items(filled: Case, seed: int) -> None:
    rng = random.Random(seed)
    name = rng.choice(sorted(FILES))
    sha = hashlib.sha256(FILES[name]).hexdigest()
    _flip(filled.vault.blob_path(sha), rng.randrange(len(FILES[name])), rng.randrange(8))
    damaged = {i.id for i in filled.items() if i.sha256 == sha}
    vault_before = _vault_state(filled)
    report = run_to_end(verify_case(filled))
    assert not report.ok
    assert {i for i, s in report.items.items() if s != "ok"} == damaged, f"seed {seed}"
    assert all(report.items[i] == "modified" for i in damaged)
    assert report.chain is not None
    assert report.chain.ok
    assert _vault_state(filled) == vault_before, "verify must not write to the vault"
    last = filled.custody()[-1]
    assert last["action"] == "verified"
    assert last["result"] == "discrepancies found"
    assert set(last["detail"]["bad_items"]) == {str(i) for i in damaged}


def test_deleted_blob_is_missing(filled: Case) -> None:
    c_sha = hashlib.sha256(FILES["c.txt"]).hexdigest()
    filled.vault.blob_path(c_sha).unlink()
    report = run_to_end(verify_case(filled))
    assert not report.ok
    assert report.items[_ids(filled, "c.txt")] == "missing"
    assert {s for i, s in report.items.items() if i != _ids(filled, "c.txt")} == {"ok"}
    assert filled.custody()[-1]["detail"]["bad_items"] == {str(_ids(filled, "c.txt")): "missing"}


def test_truncated_and_emptied_blobs_are_modified(filled: Case) -> None:
    b_path = filled.vault.blob_path(hashlib.sha256(FILES["b.bin"]).hexdigest())
    os.chmod(b_path, 0o644)
    os.truncate(b_path, 10)
    c_path = filled.vault.blob_path(hashlib.sha256(FILES["c.txt"]).hexdigest())
    os.chmod(c_path, 0o644)
    os.truncate(c_path, 0)
    report = run_to_end(verify_case(filled))
    assert report.items[_ids(filled, "b.bin")] == "modified"
    assert report.items[_ids(filled, "c.txt")] == "modified"
    assert report.items[_ids(filled, "a.txt")] == "ok"


def test_blob_replaced_by_a_directory_fails_closed(filled: Case) -> None:
    c_path = filled.vault.blob_path(hashlib.sha256(FILES["c.txt"]).hexdigest())
    c_path.unlink()
    c_path.mkdir()
    report = run_to_end(verify_case(filled))
    assert report.items[_ids(filled, "c.txt")] != "ok"
    assert not report.ok


def test_read_only_verify_is_not_recorded(filled: Case) -> None:
    path = filled.path
    with Case.open(path) as ro:
        assert ro.read_only
        before = ro.custody()
        report = run_to_end(verify_case(ro))
        assert report.ok
        assert not report.recorded
        assert ro.custody() == before


def test_empty_case_verifies(case: Case) -> None:
    report = run_to_end(verify_case(case))
    assert report.ok
    assert report.items == {}


def test_report_without_chain_is_not_ok() -> None:
    assert not VerifyReport().ok, "fail closed: a check that did not run is not a pass"


def test_verify_names_the_damaged_chunk_of_a_large_blob(tmp_path: Path) -> None:
    from desktop.core.acquire import import_paths
    from desktop.core.case import Case
    from desktop.core.progress import run_to_end
    from desktop.core.vault import CHUNK
    from desktop.core.verify import verify_case

    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 * CHUNK + 1000))  # four chunks, the last one short
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        item = run_to_end(import_paths(case, [src])).acquired[0].item
        blob = case.vault.blob_path(item.sha256)
        os.chmod(blob, 0o644)
        with blob.open("r+b") as fh:
            fh.seek(2 * CHUNK + 17)
            byte = fh.read(1)
            fh.seek(2 * CHUNK + 17)
            fh.write(bytes([byte[0] ^ 0x01]))
        report = run_to_end(verify_case(case))
        entry = next(i for i in report.to_json()["items"] if i["id"] == item.id)
        assert entry["status"] == "modified"
        assert entry["damaged_chunks"] == [2]
        assert entry["chunk_size"] == CHUNK
        recorded = case.custody()[-1]
        assert recorded["action"] == "verified"
        assert recorded["detail"]["damaged_chunks"] == {str(item.id): [2]}
