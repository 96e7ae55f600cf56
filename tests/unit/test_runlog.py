# SPDX-License-Identifier: GPL-3.0-or-later
"""The run log: what ran, what was refused, and the traceback of an internal error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from desktop import runlog
from desktop.cli import main
from desktop.core.case import Case


@pytest.fixture(autouse=True)
def _no_handler_left() -> object:
    yield None
    runlog.stop_run_log()


def test_a_command_and_its_refusal_are_logged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["items", str(tmp_path / "missing")]) == 2
    text = runlog.log_path().read_text()
    assert f"started: casetrail items {tmp_path / 'missing'}" in text
    assert "WARNING casetrail: refused:" in text
    assert "finished: items with exit code 2" in text
    assert "Traceback" not in capsys.readouterr().err


def test_an_internal_error_goes_to_the_log_with_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def boom(*_args: object, **_kw: object) -> Case:
        raise RuntimeError("the disk said no")

    monkeypatch.setattr(Case, "open", boom)
    assert main(["items", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(runlog.log_path()) in err  # the sentence says where the details are
    text = runlog.log_path().read_text()
    assert "ERROR casetrail: internal error in items" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: the disk said no" in text


def test_log_level_debug_records_debug_lines(tmp_path: Path) -> None:
    assert main(["--log-level", "debug", "items", str(tmp_path / "missing")]) == 2
    logging.getLogger("casetrail.test").debug("a debug line")
    assert "DEBUG casetrail.test: a debug line" in runlog.log_path().read_text()
    assert main(["--log-level", "warning", "items", str(tmp_path / "missing")]) == 2
    logging.getLogger("casetrail.test").info("an info line")
    assert "an info line" not in runlog.log_path().read_text()


def test_the_log_rotates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runlog, "_MAX_BYTES", 4096)
    path = runlog.start_run_log("info")
    assert path is not None
    for i in range(200):
        logging.getLogger("casetrail.test").info("line %d %s", i, "x" * 100)
    assert path.with_name(f"{runlog.LOG_NAME}.1").is_file()
    assert not path.with_name(f"{runlog.LOG_NAME}.6").exists()  # five old files at most
    assert path.stat().st_size <= 4096


def test_an_unwritable_workstation_runs_without_a_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CASETRAIL_HOME", str(blocker))
    assert runlog.start_run_log() is None
    assert "running without a log file" in capsys.readouterr().err
