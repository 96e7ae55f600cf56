# SPDX-License-Identifier: GPL-3.0-or-later
"""Feeds, exports and case packages from the window's Case menu (issue 15)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core.intel import Library
from desktop.ui.main_window import MainWindow

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"


def test_feeds_exports_and_a_package_round_trip_from_the_window(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path], tmp_path: Path,
        no_reason_dialog: list[list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    monkeypatch.setattr(window, "show_message", lambda *a, **k: None)  # the summaries are checked below
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS):
        window.start_import(evidence_files, "exports test")
    with qtbot.waitSignal(window.feeds_imported, timeout=TASK_MS) as blocker:
        window.import_feeds([DATA / "circl-osint-event.json"])
    assert blocker.args == ["succeeded"]
    with Library.open() as library:
        assert len(library.feeds()) == 1
    case = window.case
    assert case is not None
    out = tmp_path / "out"
    out.mkdir()
    with qtbot.waitSignal(window.export_finished, timeout=TASK_MS) as blocker:
        window.export("csv", out / "indicators.csv")
    assert blocker.args == ["succeeded"]
    rows = list(csv.reader((out / "indicators.csv").read_text(encoding="utf-8").splitlines()))
    assert any("185.141.63.120" in row for row in rows)
    assert window.export_actions["stix"].isEnabled()
    with qtbot.waitSignal(window.export_finished, timeout=TASK_MS) as blocker:
        window.export("package", out / "case.zip")
    assert blocker.args == ["succeeded"]
    actions = [e["action"] for e in case.custody()]
    assert actions.count("exported") >= 2 or actions.count("checkpoint") >= 2, actions[-6:]
    assert window.custody_view.model.rowCount() == len(case.custody())
    assert window.import_package(out / "case.zip", tmp_path / "received.casetrail")
    assert window.case is not None
    assert window.case.path.name == "received.casetrail"
    assert len(window.case.items()) == 3
