# SPDX-License-Identifier: GPL-3.0-or-later
"""Qt's model checker over the evidence and custody models, empty and filled."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ui.custody_view import ALL_COLUMNS, CustodyModel
from desktop.ui.evidence_model import Column, EvidenceModel, ItemIdRole


@pytest.fixture
def filled_case(tmp_path: Path, evidence_files: list[Path]) -> Case:
    case = Case.create(tmp_path / "M.casetrail", title="M", examiner="E")
    run_to_end(import_paths(case, evidence_files))
    return case


def test_evidence_model_passes_the_model_tester(qtmodeltester: ModelTester, filled_case: Case) -> None:
    model = EvidenceModel()
    qtmodeltester.check(model)  # empty, no reader
    reader = filled_case.reader()
    try:
        model.set_reader(reader)
        assert model.rowCount() == 3
        model.set_verify_results({1: "ok", 2: "modified", 3: "missing"})
        qtmodeltester.check(model)
        assert model.data(model.index(1, Column.VERIFY)) == "MODIFIED"
        assert model.data(model.index(2, Column.VERIFY)) == "MISSING"
        assert model.data(model.index(0, Column.ID), ItemIdRole) == 1
        assert model.headerData(Column.SHA256, Qt.Orientation.Horizontal) == "SHA-256"
    finally:
        model.set_reader(None)
        reader.conn.close()
        filled_case.close()


def test_evidence_model_appends_new_rows_without_a_reset(qtbot: QtBot, tmp_path: Path,
                                                         filled_case: Case) -> None:
    model = EvidenceModel()
    reader = filled_case.reader()
    try:
        model.set_reader(reader)
        extra = tmp_path / "extra.txt"
        extra.write_text("later\n")
        run_to_end(import_paths(filled_case, [extra]))
        with qtbot.assertNotEmitted(model.modelReset), \
                qtbot.waitSignal(model.rowsInserted, timeout=1000) as blocker:
            model.refresh()
        assert blocker.args[1:] == [3, 3]
        assert model.data(model.index(3, Column.NAME)) == "extra.txt"
    finally:
        model.set_reader(None)
        reader.conn.close()
        filled_case.close()


def test_custody_model_passes_the_model_tester(qtmodeltester: ModelTester, filled_case: Case) -> None:
    model = CustodyModel(ALL_COLUMNS)
    qtmodeltester.check(model)
    reader = filled_case.reader()
    try:
        model.load(reader)
        assert model.rowCount() == 4
        qtmodeltester.check(model)
        model.load(reader, item_id=2)
        assert model.rowCount() == 1
        assert model.data(model.index(0, 2)) == "acquired"
    finally:
        reader.conn.close()
        filled_case.close()


def test_custody_model_reads_the_end_of_the_log_by_sequence_number(
        qtmodeltester: ModelTester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The custody tab opens at the newest entry: ``LIMIT … OFFSET`` there stepped over the whole log."""
    from desktop.ui import custody_view

    monkeypatch.setattr(custody_view, "_PAGE", 4)
    with Case.create(tmp_path / "L.casetrail", title="L", examiner="E") as case:
        for n in range(10):
            case.record("note", result=f"note {n}")
        reader = case.reader()
        model = CustodyModel(ALL_COLUMNS)
        try:
            model.load(reader)
            seen: list[str] = []
            reader.conn.set_trace_callback(seen.append)
            assert [model.data(model.index(r, 0)) for r in (10, 3, 0)] == ["11", "4", "1"]
            assert seen
            assert not any("OFFSET" in s for s in seen)
            case.record("note", result="later")
            model.load(reader)  # the log grew: the new entry is inserted and read by number too
            assert model.rowCount() == 12
            assert model.data(model.index(11, 2)) == "note"
            assert model.data(model.index(11, 0)) == "12"
            assert not any("OFFSET" in s for s in seen)
            qtmodeltester.check(model)
        finally:
            reader.conn.set_trace_callback(None)
            reader.conn.close()
