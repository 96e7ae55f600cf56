# SPDX-License-Identifier: GPL-3.0-or-later
"""The analysis pipeline: one analysis per content, derived parts in slices, cancel and re-run."""

from __future__ import annotations

import email.message
from pathlib import Path

import pytest

from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from desktop.ingest import pipeline
from desktop.ingest.pipeline import analyse_items, import_and_analyse
from desktop.ingest.sandbox import Sandbox


def _mail(i: int, attachment: bytes = b"shared attachment http://shared.example/x\n") -> bytes:
    m = email.message.EmailMessage()
    m["From"] = f"a{i}@evil.example"
    m["To"] = "v@example.org"
    m["Subject"] = f"hi {i}"
    m.set_content(f"visit http://evil.example/{i}")
    m.add_attachment(attachment, maintype="text", subtype="plain", filename="note.txt")
    m.set_boundary(f"boundary-{i}")  # the same message twice is the same bytes
    return bytes(m)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the items each analysis child was asked to read."""
    seen: list[str] = []
    real = Sandbox.run

    def counting(self: Sandbox, job: dict[str, object], timeout_s: float) -> dict[str, object]:
        seen.append(str(job["name"]))
        return real(self, job, timeout_s)

    monkeypatch.setattr(Sandbox, "run", counting)
    return seen


def test_content_already_in_the_case_is_analysed_once_and_shared(tmp_path: Path, jobs: list[str]) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    for i in range(3):
        (ev / f"m{i}.eml").write_bytes(_mail(i))
    (ev / "m0-again.eml").write_bytes(_mail(0))
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        report = run_to_end(import_and_analyse(case, [ev]))
        items = case.items()
        assert len(report.analysed) == len(items) == 7
        assert sorted(jobs) == ["m0-again.eml", "m1.eml", "m2.eml", "note.txt"]  # one per content
        by_name: dict[str, list[int]] = {}
        for item in items:
            by_name.setdefault(item.name, []).append(item.id)
        notes = [case.item(i) for i in by_name["note.txt"]]
        owner = next(n for n in notes if n is not None and n.same_as is None)
        shared = [n for n in notes if n is not None and n.same_as is not None]
        assert len(shared) == 2
        assert all(n.same_as == owner.id and n.status == "analysed" for n in shared)
        twin = case.item(by_name["m0.eml"][0])
        assert twin is not None
        assert twin.same_as == by_name["m0-again.eml"][0]
        # Indicators still record every item they occur in; exhibits stay the owner's.
        rows = case.db.execute(
            "SELECT o.item_id FROM occurrences o JOIN indicators i ON i.id = o.indicator_id "
            "WHERE i.value = 'http://shared.example/x'").fetchall()
        assert sorted(r[0] for r in rows) == sorted(by_name["note.txt"])
        entries = [e for e in case.custody() if e["action"] == "analysed" and e["detail"].get("same_as")]
        assert {e["item_id"] for e in entries} == {n.id for n in shared} | {twin.id}
        assert all(e["result"].startswith("same content as item ") for e in entries)
        from desktop.core.findings import email_of

        assert email_of(case.db.conn, twin.id) == email_of(case.db.conn, twin.same_as)

        # Analysed again: once per content, and the sharing items follow the new analysis.
        jobs.clear()
        again = run_to_end(analyse_items(case, [i.id for i in items]))
        assert len(again.analysed) == 7
        assert sorted(jobs) == ["m0-again.eml", "m1.eml", "m2.eml", "note.txt"]
        assert case.item(shared[0].id).same_as == owner.id  # type: ignore[union-attr]
        jobs.clear()
        run_to_end(analyse_items(case, [owner.id]))  # the owner alone: its sharers are refreshed
        assert jobs == ["note.txt"]
        assert len(case.db.execute("SELECT id FROM occurrences WHERE item_id = ?", (shared[0].id,))
                   .fetchall()) == len(case.db.execute("SELECT id FROM occurrences WHERE item_id = ?",
                                                       (owner.id,)).fetchall())
        assert run_to_end(verify_case(case)).ok


def test_a_failed_analysis_is_shared_as_a_failure_with_its_reason(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_bytes(b"same text http://x.example\n")
    (ev / "b.txt").write_bytes(b"same text http://x.example\n")
    monkeypatch.setitem(pipeline.__dict__, "_BATCH", 1)
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        run_to_end(import_and_analyse(case, [ev / "a.txt"]))
        first = case.items()[0]
        with case.transaction() as conn:
            conn.execute("UPDATE items SET status = 'analysis failed: injected' WHERE id = ?", (first.id,))
        report = run_to_end(import_and_analyse(case, [ev / "b.txt"]))
        second = case.items()[1]
        assert second.same_as == first.id
        assert second.status == (f"analysis failed: same content as item {first.id}, "
                                 "whose analysis failed: injected")
        assert report.analysis_failed == [(second.id, second.status.removeprefix("analysis failed: "))]


def test_a_mailbox_is_derived_in_slices_and_a_cancel_leaves_a_case_that_converges(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_DERIVE_SLICE", 7)
    box = tmp_path / "box.mbox"
    box.write_bytes(b"".join(b"From x@example.com Mon Jan  1 00:00:00 2024\n"
                             + f"Subject: m{i}\nFrom: x{i}@example.com\n\nbody {i} http://h{i}.example\n".encode()
                             for i in range(40)))
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        task = import_and_analyse(case, [box])
        derived_seen = 0
        for _tick in task:
            derived_seen = len([i for i in case.items() if i.parent_id is not None])
            if derived_seen >= 14:
                break
        task.close()
        assert 14 <= derived_seen < 40
        assert case.items()[0].status == "acquired"  # the mailbox's analysis was not recorded
        assert not (case.path / "work").exists() or not any((case.path / "work").iterdir())
        assert run_to_end(verify_case(case)).ok
        report = run_to_end(import_and_analyse(case, [box]))  # a plain re-import finishes the work
        items = case.items()
        messages = [i for i in items if i.parent_id == items[0].id]
        assert len(messages) == 40
        assert all(i.status == "analysed" for i in items), [i.status for i in items]
        assert report.failed == []
        assert run_to_end(verify_case(case)).ok


def test_a_failed_analysis_leaves_a_case_that_verifies(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The file type read for a failed item is recorded with the failure (issue 11 binds it)."""
    from desktop.ingest.sandbox import AnalysisFailed

    def failing(self: Sandbox, job: dict[str, object], timeout_s: float) -> dict[str, object]:
        raise AnalysisFailed("injected: the analyser died")

    monkeypatch.setattr(Sandbox, "run", failing)
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "m.eml").write_bytes(_mail(1))
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        run_to_end(import_and_analyse(case, [ev]))
        item = case.items()[0]
        assert item.status.startswith("analysis failed: injected")
        assert item.magic
        report = run_to_end(verify_case(case, record=False))
        assert report.ok, report.findings()
