# SPDX-License-Identifier: GPL-3.0-or-later
"""The Assessment and Timeline tabs: ACH from the keyboard, judgments, notes, the timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import analysis, custody
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ingest.pipeline import import_and_analyse
from desktop.ui.ach_view import AchModel, EvidenceDialog, HypothesisDialog, step_level, step_rating
from desktop.ui.case_snapshot import read_only_view
from desktop.ui.main_window import MainWindow

# Shared fixtures come from tests/gui/conftest.py.


@pytest.fixture(autouse=True)
def casetrail_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))
    return home


def show_assessment(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.assessment_view.loaded, timeout=TASK_MS):
        window.tabs.setCurrentWidget(window.assessment_view)


def notes_about(window: MainWindow, what: str) -> list[dict[str, object]]:
    assert window.case is not None
    reader = window.case.reader()
    try:
        return [e for e in custody.entries(reader.conn)
                if e["action"] == "note" and isinstance(e["detail"], dict)
                and e["detail"].get("what") == what]
    finally:
        reader.conn.close()


def test_rating_steps() -> None:
    assert step_rating(None, 1) == "C"
    assert step_rating(None, -1) == "I"
    assert step_rating("NA", 1) == "C"
    assert step_rating("C", 1) == "CC"
    assert step_rating("CC", 1) == "CC"
    assert step_rating("I", -1) == "II"
    assert step_level("medium", 1) == "high"
    assert step_level("low", -1) == "low"


def test_ach_matrix_from_the_keyboard(qtbot: QtBot, case_window: MainWindow,
                                      qtmodeltester: ModelTester) -> None:
    case = case_window.case
    assert case is not None
    h1 = analysis.add_hypothesis(case, "State-linked operators")
    h2 = analysis.add_hypothesis(case, "False flag by another actor")
    e1 = analysis.add_evidence(case, "Hop from a VPS range")
    e2 = analysis.add_evidence(case, "Cyrillic keyboard layout in metadata")
    show_assessment(qtbot, case_window)
    assert not case_window.detail.isVisible()  # the analysis tabs take the whole height
    view = case_window.assessment_view.ach
    model = view.model
    qtmodeltester.check(model)
    qtmodeltester.check(view.ranking)
    assert model.rowCount() == 2 + len(AchModel.SCORE_ROWS)
    assert model.columnCount() == AchModel.FIRST_HYPOTHESIS + 2
    header = model.headerData(AchModel.FIRST_HYPOTHESIS, Qt.Orientation.Horizontal)
    assert header == "H1\nState-linked operators"
    assert [s.rank for s in model.scores] == [1, 1]  # nothing rated: a tie

    # "II" is complete as typed: set at once, scored at once, written on the write pool.
    view.focus_cell(e1.id, h1.id)
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.keyClicks(view.table, "II")
        assert view.table.pending == ""
        assert model.rating_at(model.index_of(e1.id, h1.id)) == "II"
        assert [s.hypothesis.id for s in model.scores] == [h2.id, h1.id]  # live, before the write
    assert model.rating_at(model.index_of(e1.id, h1.id)) == "II"  # and still so after the reload
    score_row = model.evidence_rows
    assert model.data(model.index(score_row, AchModel.FIRST_HYPOTHESIS)) == "2.00"
    assert model.data(model.index(score_row + 1, AchModel.FIRST_HYPOTHESIS)) == "2"
    assert view.ranking.data(view.ranking.index(0, 1)) == "H2: False flag by another actor"

    # "C" could become "CC": it waits for Enter, which also moves down the column.
    view.focus_cell(e1.id, h2.id)
    qtbot.keyClicks(view.table, "C")
    assert view.table.pending == "C"
    assert model.rating_at(model.index_of(e1.id, h2.id)) is None
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert model.rating_at(model.index_of(e1.id, h2.id)) == "C"
    assert view.table.currentIndex() == model.index_of(e2.id, h2.id)

    # "-" steps an unrated cell to I; moving away sets it.
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.keyClicks(view.table, "--")
        assert view.table.pending == "II"
        qtbot.keyClick(view.table, Qt.Key.Key_Left)
    assert model.rating_at(model.index_of(e2.id, h2.id)) == "II"
    assert [s.rank for s in model.scores] == [1, 1]  # 2.0 each: a tie, in the analyst's order
    # H, on the credibility column, weights E1 up: H1's II now counts 2 x 1.414.
    view.table.setCurrentIndex(model.index_of(e1.id, column=AchModel.CREDIBILITY))
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.keyClick(view.table, Qt.Key.Key_H)
    assert model.evidence_at(0) is not None
    assert model.evidence_at(0).credibility == "high"  # type: ignore[union-attr]
    assert model.data(model.index(score_row, AchModel.FIRST_HYPOTHESIS)) == "2.83"
    assert [s.hypothesis.id for s in model.scores] == [h2.id, h1.id]

    # Delete clears a cell.
    view.focus_cell(e2.id, h2.id)
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    assert model.rating_at(model.index_of(e2.id, h2.id)) is None
    qtmodeltester.check(model)

    # Every change is in custody, with old and new values, and in the case.
    rated = notes_about(case_window, "ACH rating set")
    assert [(e["detail"]["old"], e["detail"]["new"]) for e in rated] == [  # type: ignore[index]
        (None, "II"), (None, "C"), (None, "II"), ("II", None)]
    assert len(notes_about(case_window, "ACH evidence edited")) == 1
    with read_only_view(case) as view_case:
        m = analysis.matrix(view_case)
    assert m.rating(e1.id, h1.id) == "II"
    assert m.rating(e1.id, h2.id) == "C"
    assert m.scores[0].hypothesis.id == h2.id


def test_typing_on_a_read_only_case_changes_nothing(qtbot: QtBot, case_window: MainWindow) -> None:
    case = case_window.case
    assert case is not None
    h1 = analysis.add_hypothesis(case, "H")
    e1 = analysis.add_evidence(case, "E")
    path = case.path
    case_window.close_case()
    ro = Case.open(path, read_only=True)
    case_window._show_case(ro)
    show_assessment(qtbot, case_window)
    view = case_window.assessment_view.ach
    assert not view.add_hypothesis_action.isEnabled()
    # Opening reads the case on the read pool; under load those reads may still be running, and
    # they are not what this test is about: wait for them, then type.
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)
    view.focus_cell(e1.id, h1.id)
    qtbot.keyClicks(view.table, "CC")
    assert view.model.rating_at(view.model.index_of(e1.id, h1.id)) is None
    assert not case_window.tasks.writing
    assert case_window.tasks.running() == []


def test_judgments_add_and_edit(qtbot: QtBot, case_window: MainWindow, qtmodeltester: ModelTester) -> None:
    show_assessment(qtbot, case_window)
    jv = case_window.assessment_view.judgments
    qtmodeltester.check(jv.model)
    assert not jv.add_button.isEnabled()  # no text yet
    assert [jv.likelihood.itemData(i) for i in range(jv.likelihood.count())] == list(analysis.LIKELIHOOD)
    assert jv.likelihood.itemText(jv.likelihood.findData("likely")) == "likely (55\u201380 %)"
    jv.text.setPlainText("The message was sent by the group named in the From line.")
    jv.likelihood.setCurrentIndex(jv.likelihood.findData("very likely"))
    jv.confidence.setCurrentIndex(jv.confidence.findData("moderate"))
    assert "credibly sourced" in jv.meaning.text()
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.mouseClick(jv.add_button, Qt.MouseButton.LeftButton)
    assert jv.model.rowCount() == 1
    assert jv.model.data(jv.model.index(0, 2)) == "very likely (80\u201395 %)"
    assert jv.model.data(jv.model.index(0, 3)) == "moderate"
    qtmodeltester.check(jv.model)

    jv.table.selectRow(0)
    assert jv.text.toPlainText().startswith("The message was sent")
    jv.likelihood.setCurrentIndex(jv.likelihood.findData("almost certain"))
    jv.confidence.setCurrentIndex(jv.confidence.findData("high"))
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.mouseClick(jv.save_button, Qt.MouseButton.LeftButton)
    assert jv.model.data(jv.model.index(0, 2)) == "almost certain (95\u201399 %)"
    assert jv.current_judgment() is not None  # the edited judgment stays selected
    edited = notes_about(case_window, "key judgment edited")
    assert edited[0]["detail"]["changed"]["likelihood"] == {  # type: ignore[index]
        "old": "very likely", "new": "almost certain"}
    assert len(notes_about(case_window, "key judgment added")) == 1


def test_notes_add(qtbot: QtBot, case_window: MainWindow, qtmodeltester: ModelTester) -> None:
    show_assessment(qtbot, case_window)
    nv = case_window.assessment_view.notes
    nv.text.setPlainText("Sender domain registered two days before the message.")
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        qtbot.mouseClick(nv.add_button, Qt.MouseButton.LeftButton)
    assert nv.model.rowCount() == 1
    assert nv.model.data(nv.model.index(0, 2)) == "case"
    qtmodeltester.check(nv.model)
    assert len(notes_about(case_window, "note added")) == 1


EML = (
    "Received: from relay.example.net (relay.example.net [203.0.113.9]) by mx.victim.example;\n"
    " Mon, 11 Mar 2024 09:00:05 +0000\n"
    "Received: from sender.example.org (unknown [198.51.100.7]) by relay.example.net;\n"
    " Mon, 11 Mar 2024 08:59:58 +0000\n"
    "From: Ops <ops@sender.example.org>\n"
    "To: victim@victim.example\n"
    "Subject: Quarterly invoice\n"
    "Date: Mon, 11 Mar 2024 08:59:50 +0000\n"
    "Message-ID: <abc@sender.example.org>\n"
    "\n"
    "Please see hxxp://pay-portal[.]example/invoice\n"
)


def test_timeline_shows_mail_events_and_an_analyst_event(qtbot: QtBot, case_window: MainWindow,
                                                         tmp_path: Path, qtmodeltester: ModelTester) -> None:
    case = case_window.case
    assert case is not None
    eml = tmp_path / "invoice.eml"
    eml.write_text(EML)
    run_to_end(import_and_analyse(case, [eml], "test"))
    tv = case_window.timeline_view
    with qtbot.waitSignal(tv.loaded, timeout=TASK_MS):
        case_window.tabs.setCurrentWidget(tv)
    qtmodeltester.check(tv.model)
    qtmodeltester.check(tv.proxy)
    events = tv.visible_events()
    sources = [e.source for e in events]
    assert "email" in sources
    assert sources.count("hop") == 2
    assert "custody" in sources
    mail = next(e for e in events if e.source == "email")
    assert mail.at == "2024-03-11T08:59:50.000000Z"
    assert "Quarterly invoice" in mail.title
    assert [e.at for e in events] == sorted(e.at for e in events)

    with qtbot.waitSignal(tv.loaded, timeout=TASK_MS):
        tv.add_event("2024-03-11T09:30:00Z", "Victim reports the message to the SOC")
    analyst = [e for e in tv.visible_events() if e.source == "analyst"]
    assert [(e.at, e.title) for e in analyst] == [("2024-03-11T09:30:00.000000Z",
                                                   "Victim reports the message to the SOC")]
    assert len(notes_about(case_window, "timeline event added")) == 1

    # The source filter: only the analyst's own events, then only mail.
    for source, button in tv.source_buttons.items():
        button.setChecked(source == "analyst")
    assert [e.source for e in tv.visible_events()] == ["analyst"]
    assert "1 of" in tv.summary.text()
    for source, button in tv.source_buttons.items():
        button.setChecked(source in ("email", "hop"))
    assert {e.source for e in tv.visible_events()} == {"email", "hop"}
    tv.search.setText("relay.example.net")
    assert len(tv.visible_events()) >= 1
    assert all("relay.example.net" in f"{e.title} {e.detail}" for e in tv.visible_events())
    qtmodeltester.check(tv.proxy)

    # Custody shown entry by entry reads again.
    for button in tv.source_buttons.values():
        button.setChecked(True)
    tv.search.clear()
    grouped = sum(1 for e in tv.visible_events() if e.source == "custody")
    with qtbot.waitSignal(tv.loaded, timeout=TASK_MS):
        tv.custody_mode.setCurrentIndex(tv.custody_mode.findData("all"))
    assert sum(1 for e in tv.visible_events() if e.source == "custody") >= grouped
    with qtbot.waitSignal(tv.loaded, timeout=TASK_MS):
        tv.custody_mode.setCurrentIndex(tv.custody_mode.findData("none"))
    assert not any(e.source == "custody" for e in tv.visible_events())


def test_hypotheses_and_evidence_through_their_dialogs(qtbot: QtBot, case_window: MainWindow,
                                                       evidence_files: list[Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    case = case_window.case
    assert case is not None
    run_to_end(import_and_analyse(case, evidence_files[:1], "test"))  # an item to refer to
    show_assessment(qtbot, case_window)
    view = case_window.assessment_view.ach

    def fill_hypothesis(dialog: HypothesisDialog) -> QDialog.DialogCode:
        dialog.title.setText("The group named in the From line")
        dialog.description.setPlainText("Its own mailer sent it.")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(HypothesisDialog, "exec", fill_hypothesis)
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        view.add_hypothesis_action.trigger()

    def fill_evidence(dialog: EvidenceDialog) -> QDialog.DialogCode:
        dialog.label.setText("The message itself")
        dialog.kind.setCurrentIndex(dialog.kind.findData("item"))
        assert dialog.ref.count() >= 1
        dialog.credibility.setCurrentIndex(dialog.credibility.findData("high"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(EvidenceDialog, "exec", fill_evidence)
    with qtbot.waitSignal(case_window.assessment_view.loaded, timeout=TASK_MS):
        view.add_evidence_action.trigger()
    model = view.model
    assert model.hypotheses[0].title == "The group named in the From line"
    ev = model.evidence_at(0)
    assert ev is not None
    assert (ev.label, ev.kind, ev.ref_id, ev.credibility) == ("The message itself", "item", 1, "high")
    assert "item 1: mail.eml" in str(model.data(model.index(0, AchModel.LABEL), Qt.ItemDataRole.ToolTipRole))
    assert len(notes_about(case_window, "hypothesis added")) == 1
    assert len(notes_about(case_window, "ACH evidence added")) == 1
