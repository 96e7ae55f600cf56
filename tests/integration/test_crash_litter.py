# SPDX-License-Identifier: GPL-3.0-or-later
"""What a kill leaves behind is removed and said on the next run; a re-import finishes pending work.

A package export or briefing killed before its rename leaves a hidden temp file beside its
destination and a database copy; an analysis killed mid-way leaves scratch parts in the case.
The next ``casetrail`` command removes the temp files (one sentence each), the next opening of
the case removes its scratch folder (recorded in custody), and nothing else is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core import scratch
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case
from desktop.ingest import pipeline
from desktop.ingest.pipeline import import_and_analyse

CT = [sys.executable, "-m", "desktop.cli"]


def _ct(*args: str, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CASETRAIL_CRASH_AT", None)
    if crash_at:
        env["CASETRAIL_CRASH_AT"] = crash_at
    return subprocess.run([*CT, *args], capture_output=True, text=True, env=env, timeout=600, check=False)


@pytest.fixture
def case(tmp_path: Path) -> Path:
    path = tmp_path / "c.casetrail"
    Case.create(path, title="t", examiner="e").close()
    note = tmp_path / "note.txt"
    note.write_text("a note naming http://litter.example/x\n")
    assert _ct("import", str(path), str(note)).returncode == 0
    return path


# The package (a zip and a database copy) and write_atomic (every other export and the briefing).
@pytest.mark.parametrize("export", [["export", "--package", "out.zip"], ["export", "--csv", "out.csv"]])
def test_a_killed_export_leaves_nothing_the_next_run_does_not_remove(case: Path, tmp_path: Path,
                                                                    export: list[str]) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    args = [export[0], str(case), *export[1:-1], str(dest / export[-1])]
    killed = _ct(*args, crash_at="export_before_rename")
    assert killed.returncode == 137, killed.stderr
    litter = list(dest.iterdir())
    assert litter, "the kill came too late to leave anything"
    assert all(scratch.MARK in p.name for p in litter)
    copies = list((case / "work").iterdir()) if export[1] == "--package" else []
    if export[1] == "--package":
        assert copies, "the package's database copy should be there"
    p = _ct("items", str(case))
    assert p.returncode == 0
    for left in litter + copies:
        assert f"removed {left}" in p.stderr
    assert list(dest.iterdir()) == []
    with Case.open(case) as c:
        assert not (case / "work").exists()
        assert run_to_end(verify_case(c)).ok
    again = _ct(*args)  # and the export then works
    assert again.returncode == 0, again.stderr
    assert [p.name for p in dest.iterdir()] == [export[-1]]


def test_scratch_left_in_a_case_by_a_killed_analysis_is_removed_and_recorded(case: Path) -> None:
    leftover = case / "work" / "0123abcd"
    leftover.mkdir(parents=True)
    (leftover / "part-000000").write_bytes(b"a part cut from an item, never acquired")
    with Case.open(case) as c:
        assert not (case / "work").exists()
        entry = c.custody()[-1]
        assert entry["action"] == "recovered"
        assert entry["detail"] == {"kind": "scratch", "folders": 1, "files": 1, "bytes": 39}
        assert run_to_end(verify_case(c)).ok


def test_a_registration_cannot_make_the_sweep_delete_anything_else(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(b"never delete me")
    registry = Path(os.environ["CASETRAIL_HOME"]) / "partials"
    registry.mkdir(parents=True, exist_ok=True)
    (registry / "forged.json").write_text(f'{{"path": "{evidence}", "pid": 999999999, "started": ""}}')
    assert scratch.sweep() == []
    assert evidence.read_bytes() == b"never delete me"


def test_a_reimport_after_a_kill_analyses_what_is_pending(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    box = tmp_path / "box.mbox"
    box.write_bytes(b"".join(b"From x@example.com Mon Jan  1 00:00:00 2024\n"
                             + f"Subject: m{i}\nFrom: x{i}@example.com\n\nbody {i}\n".encode()
                             for i in range(150)))
    real = pipeline._apply_batch

    def dies_after_the_mailbox(case: Case, finished: list[pipeline._Done], shares: list) -> list:  # type: ignore[type-arg]
        outcome = real(case, finished, shares)
        if any(entry.item.parent_id is None for entry in finished):
            raise SystemExit("killed right after the mailbox's own analysis was recorded")
        return outcome

    monkeypatch.setattr(pipeline, "_apply_batch", dies_after_the_mailbox)
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as c:
        with pytest.raises(SystemExit):
            run_to_end(import_and_analyse(c, [box]))
        monkeypatch.setattr(pipeline, "_apply_batch", real)
        mailbox = c.items()[0]
        assert mailbox.status == "analysed"
        assert [i for i in c.items() if i.status == "acquired"], "nothing was left pending"
        report = run_to_end(import_and_analyse(c, [box]))  # a plain re-import, not `analyse`
        assert report.analysis_failed == []
        assert [i.id for i in c.items() if i.status != "analysed"] == []
        assert len(c.items(parent_id=mailbox.id)) == 150
