# SPDX-License-Identifier: GPL-3.0-or-later
"""Acquisition: walking what the examiner named, dedupe, symlinks, true types, custody per file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core import vault as vault_mod
from desktop.core.acquire import ImportReport, acquire_derived, import_paths, plan
from desktop.core.case import Case
from desktop.core.errors import AcquisitionError
from desktop.core.progress import Progress, run_to_end


def _import(case: Case, *paths: Path, reason: str = "") -> ImportReport:
    return run_to_end(import_paths(case, list(paths), reason))


def _blobs(case: Case) -> list[Path]:
    return list(case.vault.blobs())


def _actions(case: Case) -> list[str]:
    return [e["action"] for e in case.custody()]


def test_directories_recurse(case: Case, evidence: Path) -> None:
    files = {
        "top.txt": b"top level\n",
        "a/one.txt": b"one\n",
        "a/b/two.bin": bytes(range(256)),
        "a/b/c/three.txt": b"three\n",
    }
    for rel, data in files.items():
        (evidence / rel).parent.mkdir(parents=True, exist_ok=True)
        (evidence / rel).write_bytes(data)
    report = _import(case, evidence, reason="warrant 42")
    assert report.failed == []
    assert report.skipped == []
    got = {Path(a.item.source_path).relative_to(evidence).as_posix(): a.item for a in report.acquired}
    assert set(got) == set(files)
    for rel, data in files.items():
        assert got[rel].sha256 == hashlib.sha256(data).hexdigest()
        assert got[rel].size == len(data)
        assert got[rel].name == Path(rel).name
        assert got[rel].status == "acquired"
        assert got[rel].parent_id is None
    assert len(case.items()) == len(files)
    entries = [e for e in case.custody() if e["action"] == "acquired"]
    assert len(entries) == len(files)
    for e in entries:
        assert e["reason"] == "warrant 42"
        assert e["examiner"] == "A. Examiner"
        assert e["hash_before"] == e["hash_after"] == e["sha256"]
        assert e["item_id"] is not None


def test_second_import_of_same_file_records_custody_only(case: Case, evidence: Path) -> None:
    f = evidence / "mail.eml"
    f.write_bytes(b"From: a@example.com\n\nhello\n")
    first = _import(case, f)
    blobs = _blobs(case)
    custody_len = len(case.custody())
    second = _import(case, f)
    assert len(case.items()) == 1, "a re-import must not add an item"
    assert _blobs(case) == blobs, "a re-import must not add a blob"
    assert len(case.custody()) == custody_len + 1
    last = case.custody()[-1]
    assert last["action"] == "acquired"
    assert last["item_id"] == first.acquired[0].item.id
    assert last["detail"]["item"] == "re-acquired into existing item"
    assert last["detail"]["blob"] == "already in vault"
    assert not second.acquired[0].new_item
    assert second.acquired[0].blob_existed


def test_same_content_other_path_is_new_item_sharing_blob(case: Case, evidence: Path) -> None:
    (evidence / "a.txt").write_bytes(b"same bytes")
    (evidence / "sub").mkdir()
    (evidence / "sub" / "a-copy.txt").write_bytes(b"same bytes")
    report = _import(case, evidence)
    items = case.items()
    assert len(items) == 2
    assert items[0].sha256 == items[1].sha256
    assert {i.source_path for i in items} == {str(evidence / "a.txt"), str(evidence / "sub" / "a-copy.txt")}
    assert len(_blobs(case)) == 1
    assert [a.blob_existed for a in report.acquired] == [False, True]
    assert all(a.new_item for a in report.acquired)


def test_symlink_outside_tree_is_skipped_with_reason(case: Case, tmp_path: Path, evidence: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"not part of the evidence")
    (tmp_path / "outdir").mkdir()
    (evidence / "real.txt").write_bytes(b"real")
    (evidence / "escape.txt").symlink_to(outside)
    (evidence / "escape-dir").symlink_to(tmp_path / "outdir")
    report = _import(case, evidence)
    assert [a.item.name for a in report.acquired] == ["real.txt"]
    skipped = dict(report.skipped)
    assert set(skipped) == {str(evidence / "escape.txt"), str(evidence / "escape-dir")}
    assert all("outside" in why for why in skipped.values())
    assert all(hashlib.sha256(b"not part of the evidence").hexdigest() not in p.name for p in _blobs(case))


def test_symlink_inside_tree_is_followed_once(case: Case, evidence: Path) -> None:
    (evidence / "docs").mkdir()
    target = evidence / "docs" / "target.txt"
    target.write_bytes(b"linked content")
    (evidence / "alias.txt").symlink_to(target)
    (evidence / "docs-alias").symlink_to(evidence / "docs")
    report = _import(case, evidence)
    assert report.failed == []
    assert [a.item.source_path for a in report.acquired] == [str(target)]
    assert len(case.items()) == 1
    assert dict(report.skipped).keys() == {str(evidence / "docs-alias")}


def test_named_symlink_is_followed(case: Case, tmp_path: Path, evidence: Path) -> None:
    target = evidence / "t.txt"
    target.write_bytes(b"x")
    link = tmp_path / "named-link.txt"
    link.symlink_to(target)
    report = _import(case, link)
    assert [a.item.source_path for a in report.acquired] == [str(target)]


def test_nonexistent_path_raises_and_records_nothing(case: Case, tmp_path: Path) -> None:
    before = case.custody()
    with pytest.raises(AcquisitionError, match="does not exist"):
        _import(case, tmp_path / "no-such-file")
    assert case.items() == []
    assert case.custody() == before


def test_special_file_is_reported_not_silently_skipped(evidence: Path) -> None:
    os.mkfifo(evidence / "pipe")
    (evidence / "f.txt").write_bytes(b"f")
    files, skipped = plan([evidence])
    assert files == [evidence / "f.txt"]
    assert skipped == [(str(evidence / "pipe"), "not a regular file (device, socket or pipe)")]


def test_extension_mismatch_and_true_mime(case: Case, evidence: Path, png: bytes) -> None:
    (evidence / "photo.jpg").write_bytes(png)
    (evidence / "frame.png").write_bytes(png[:-1] + png[-1:])  # same bytes, honest name
    (evidence / "notes.txt").write_bytes(b"plain words\n")
    _import(case, evidence)
    by_name = {i.name: i for i in case.items()}
    assert by_name["photo.jpg"].mime == "image/png"
    assert by_name["photo.jpg"].ext_mismatch is True
    assert by_name["photo.jpg"].kind == "image"
    assert by_name["frame.png"].mime == "image/png"
    assert by_name["frame.png"].ext_mismatch is False
    assert by_name["notes.txt"].mime == "text/plain"
    assert by_name["notes.txt"].ext_mismatch is False
    facts = {e["detail"]["name"]: e["detail"] for e in case.custody() if e["action"] == "acquired"}
    assert facts["photo.jpg"]["extension_mismatch"] is True


def test_empty_file(case: Case, evidence: Path) -> None:
    (evidence / "empty.dat").write_bytes(b"")
    item = _import(case, evidence).acquired[0].item
    assert item.size == 0
    assert item.sha256 == hashlib.sha256(b"").hexdigest()
    assert item.md5 == hashlib.md5(b"").hexdigest()  # noqa: S324


def test_source_changing_during_import_leaves_nothing(
    case: Case, evidence: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = evidence / "live.log"
    live.write_bytes(b"line 1\n" * 1000)
    original = vault_mod._read_chunks

    def growing(*args: Any) -> Iterator[bytes]:
        for n, chunk in enumerate(original(*args)):
            yield chunk
            if n == 0:
                with live.open("ab") as f:
                    f.write(b"line appended while reading\n")

    monkeypatch.setattr(vault_mod, "_read_chunks", growing)
    before = case.custody()
    report = _import(case, evidence)
    assert report.acquired == []
    assert [p for p, _ in report.failed] == [str(live)]
    assert "changed while it was being read" in report.failed[0][1]
    assert case.items() == []
    assert _blobs(case) == []
    assert case.vault.temp_files() == []
    # Nothing about the file is recorded as evidence; the failed attempt itself is, with its reason.
    after = case.custody()
    assert after[:-1] == before
    assert after[-1]["action"] == "note"
    assert after[-1]["item_id"] is None
    assert after[-1]["detail"]["files"] == [{"path": str(live), "reason": report.failed[0][1]}]
    assert report.failure_record == f"recorded in custody entry {after[-1]['seq']}"


def test_one_failure_does_not_stop_the_others(
    case: Case, evidence: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (evidence / "a.txt").write_bytes(b"a")
    (evidence / "b.txt").write_bytes(b"b")
    real = vault_mod._read_small  # small files go through the vault's batch path

    def read(source: Path, kinds: dict[int, str] | None = None) -> tuple[bytes, str, str]:
        if source.name == "a.txt":
            raise AcquisitionError(f"cannot read {source}: injected")
        return real(source, kinds)

    monkeypatch.setattr(vault_mod, "_read_small", read)
    report = _import(case, evidence)
    assert [a.item.name for a in report.acquired] == ["b.txt"]
    assert report.failed == [(str(evidence / "a.txt"), f"cannot read {evidence / 'a.txt'}: injected")]


def test_progress_reports_files(case: Case, evidence: Path) -> None:
    for n in range(3):
        (evidence / f"{n}.txt").write_bytes(b"x" * (n + 1))
    ticks: list[Progress] = []
    task = import_paths(case, [evidence])
    while True:
        try:
            ticks.append(next(task))
        except StopIteration:
            break
    assert ticks[-1].overall_done == ticks[-1].overall_total == 3
    assert {t.overall_total for t in ticks} == {3}


def test_acquire_derived_links_to_parent(case: Case, evidence: Path, png: bytes) -> None:
    (evidence / "mail.eml").write_bytes(b"From: a@example.com\n\nsee attachment\n")
    parent = _import(case, evidence).acquired[0].item
    child = acquire_derived(case, parent, "logo.png", png, "attachment", {"part": "1.2"})
    assert child.new_item
    assert child.item.parent_id == parent.id
    assert child.item.derived_how == "attachment"
    assert child.item.sha256 == hashlib.sha256(png).hexdigest()
    assert case.vault.blob_path(child.item.sha256).read_bytes() == png
    entry = case.custody(child.item.id)[-1]
    assert entry["action"] == "derived"
    assert entry["detail"]["parent_sha256"] == parent.sha256
    assert entry["detail"]["part"] == "1.2"
    assert case.items(parent_id=parent.id) == [child.item]
    assert case.items(parent_id=None) == [parent]


def test_small_files_are_recorded_several_to_a_commit_and_all_on_cancel(tmp_path: Path) -> None:
    from desktop.core.acquire import import_paths as run_import

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10):
        (folder / f"m{i}.eml").write_text(f"Subject: {i}\n\nbody {i}\n")
    with Case.create(tmp_path / "b.casetrail", title="t", examiner="e") as case:
        commits: list[int] = []
        real = case.transaction

        def counting():  # type: ignore[no-untyped-def]
            commits.append(1)
            return real()

        case.transaction = counting  # type: ignore[method-assign]
        report = run_to_end(run_import(case, [folder]))
        assert len(report.acquired) == 10
        assert len(commits) < 10  # batched, not one commit per file
        case.transaction = real  # type: ignore[method-assign]

        # Cancelled mid-way: every file already copied is recorded, nothing is left unnamed.
        other = tmp_path / "more"
        other.mkdir()
        for i in range(5):
            (other / f"n{i}.eml").write_text(f"Subject: n{i}\n\nbody\n")
        gen = run_import(case, [other])
        seen = 0
        for tick in gen:
            if tick.overall_done == 3:
                seen = tick.overall_done
                break
        gen.close()
        assert seen == 3
        names = {i.name for i in case.items()}
        assert {"n0.eml", "n1.eml", "n2.eml"} <= names
        assert not list(case.vault.temp_files())
        recorded = {i.sha256 for i in case.items()}
        assert all(p.name in recorded for p in case.vault.blobs())  # no unnamed blob


def test_a_name_that_is_not_utf8_is_acquired_losslessly(case: Case, evidence: Path) -> None:
    """Names are bytes (issue 10): one such name once aborted the import and lost its batch."""
    raw_dir = os.fsencode(evidence) + b"/caf\xe9 dir"  # a Latin-1 folder name, too
    os.mkdir(raw_dir)
    bad = raw_dir + b"/report-\xff\xfe.pdf"
    with open(bad, "wb") as fh:
        fh.write(b"%PDF-1.4 not utf-8 named\n")
    for n in range(20):  # the rest of its batch
        (evidence / f"ok-{n}.txt").write_text(f"file {n}\n")
    report = _import(case, evidence)
    assert report.failed == []
    assert len(report.acquired) == 21
    item = next(a.item for a in report.acquired if a.item.name.startswith("report-"))
    assert item.name == "report-\\xff\\xfe.pdf"  # shown: valid Unicode, the bytes visible
    assert item.name_bytes == b"report-\xff\xfe.pdf"  # kept: exactly what the file system holds
    assert item.source_bytes == bad
    assert item.source_path == os.fsencode(evidence).decode() + "/caf\\xe9 dir/report-\\xff\\xfe.pdf"
    entry = next(e for e in case.custody() if e["item_id"] == item.id and e["action"] == "acquired")
    assert bytes.fromhex(entry["detail"]["name_bytes"]) == b"report-\xff\xfe.pdf"
    assert bytes.fromhex(entry["detail"]["source_bytes"]) == bad
    assert entry["detail"]["name"] == item.name
    assert entry["source"] == item.source_path
    assert item.to_json()["name_bytes"] == b"report-\xff\xfe.pdf".hex()
    ok = next(a.item for a in report.acquired if a.item.name == "ok-0.txt")
    assert ok.name_bytes is None  # a UTF-8 name needs nothing beside it
    assert "name_bytes" not in ok.to_json()
    again = _import(case, evidence)  # and the same folder again: re-acquisition, not a new item
    assert not next(a for a in again.acquired if a.item.id == item.id).new_item


def test_messages_and_mailboxes_are_typed_by_content(case: Case, evidence: Path) -> None:
    """libmagic calls a message without a leading Received: "text/plain" (issue 10): recognised
    by its header block, it is mail, and an mbox named .mbox raises no extension warning."""
    (evidence / "no-received.eml").write_bytes(
        b"Subject: Invoice\r\nFrom: a@a.example\r\nTo: b@b.example\r\n"
        b"Date: Tue, 1 Aug 2023 12:00:00 +0000\r\n\r\nPay now.\r\n")
    (evidence / "old-syntax.eml").write_bytes(b"From : a@a.example\nSubject: hi\nDate: x\n\nbody\n")
    (evidence / "inbox.mbox").write_bytes(
        b"From a@a.example Tue Aug  1 12:00:00 2023\nSubject: one\nFrom: a@a.example\n\nfirst\n\n"
        b"From b@b.example Tue Aug  1 12:05:00 2023\nSubject: two\nFrom: b@b.example\n\nsecond\n")
    (evidence / "notes.txt").write_bytes(b"Subject: notes\n\nfrom the meeting\n")
    _import(case, evidence)
    by_name = {i.name: i for i in case.items()}
    for name in ("no-received.eml", "old-syntax.eml"):
        assert (by_name[name].mime, by_name[name].kind, by_name[name].ext_mismatch) == (
            "message/rfc822", "email", False), name
    assert (by_name["inbox.mbox"].mime, by_name["inbox.mbox"].kind) == ("application/mbox", "email")
    assert by_name["inbox.mbox"].ext_mismatch is False
    assert (by_name["notes.txt"].mime, by_name["notes.txt"].kind) == ("text/plain", "text")
