# SPDX-License-Identifier: GPL-3.0-or-later
"""The indicators tab: filters, the detail with occurrences and matches, tagging with custody."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ui.indicator_detail import MatchModel, OccurrenceModel
from desktop.ui.indicators_view import (
    COL_MATCHES,
    COL_TAGS,
    CorrelationResult,
    IndicatorsModel,
    IndicatorsView,
    WarninglistedRole,
    correlate_task,
)
from desktop.ui.main_window import MainWindow
from desktop.ui.tag_editor import TagDialog, TagLineEdit


@pytest.fixture(autouse=True)
def workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workstation of its own: correlation must not read the real library of this machine."""
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))
    return home


def fill(case: Case, tmp_path: Path) -> list[int]:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (src / name).write_text(f"evidence {name}\n")
    items = [a.item.id for a in run_to_end(import_paths(case, sorted(src.iterdir()))).acquired]
    body = {"source": "body", "where": "text body"}
    with case.transaction() as conn:
        findings.record_occurrences(conn, items[0], [
            {"type": "ipv4", "value": "185.141.63.120", **body, "offset": 3},
            {"type": "domain", "value": "evil.example", **body},
            {"type": "ipv4", "value": "10.0.0.1", "source": "header", "where": "Received (hop 1 of 2)"}])
        findings.record_occurrences(conn, items[1], [
            {"type": "ipv4", "value": "185.141.63.120", "source": "ocr", "status": "certain",
             "where": "image", "bbox": [1, 2, 3, 4]},
            {"type": "url", "value": "http://evil.example/login", **body}])
        findings.record_occurrences(conn, items[2], [{"type": "email", "value": "ops@evil.example", **body}])
        for item in case.items():  # findings are bound in custody (issue 11)
            findings.mark_analysed(conn, examiner=case.examiner, item_id=item.id, sha256=item.sha256,
                                   kind=item.kind)
    return items


def values(view: IndicatorsView) -> list[str]:
    return [str(view.proxy.index(r, 1).data()) for r in range(view.proxy.rowCount())]


def open_indicators(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> IndicatorsView:
    assert window.case is not None
    fill(window.case, tmp_path)
    window._refresh_views()
    view = window.panels.indicators_view
    with qtbot.waitSignal(view.correlations_ready, timeout=TASK_MS):
        window.tabs.setCurrentWidget(view)  # correlation starts when the tab is first shown
    assert not window.panels.item_tabs.isVisible()  # a full-height tab
    return view


def test_filters_by_type_search_match_and_warninglist(qtbot: QtBot, case_window: MainWindow,
                                                      tmp_path: Path) -> None:
    view = open_indicators(qtbot, case_window, tmp_path)
    assert view.model.correlation_state == "ready"
    assert view.model.rowCount() == 5
    view.type_filter.setCurrentIndex(view.type_filter.findData("ipv4"))
    assert sorted(values(view)) == ["10.0.0.1", "185.141.63.120"]
    view.type_filter.setCurrentIndex(0)
    view.search.setText("EVIL.example/")
    assert values(view) == ["http://evil.example/login"]
    view.search.clear()
    view.match_filter.setCurrentIndex(view.match_filter.findData("matched"))
    # 185.141.63.120 is in two items of this case: that links the case to nothing else, so it
    # is no match (issue 10); matches by a feed or another case: test_walk_defects.
    assert values(view) == []
    view.match_filter.setCurrentIndex(view.match_filter.findData("unmatched"))
    assert "185.141.63.120" in values(view)
    assert len(values(view)) == 5
    view.match_filter.setCurrentIndex(0)
    view.warn_filter.setCurrentIndex(view.warn_filter.findData("only"))
    listed = values(view)
    assert "10.0.0.1" in listed  # a private address: flagged, never hidden by default
    assert all(view.proxy.index(r, 0).data(WarninglistedRole) for r in range(view.proxy.rowCount()))
    view.warn_filter.setCurrentIndex(view.warn_filter.findData("hide"))
    assert "10.0.0.1" not in values(view)
    hidden = values(view)
    view.clear_filters()
    assert sorted(listed + hidden) == sorted(values(view))
    assert view.proxy.rowCount() == 5
    assert "5 indicators" in view.count_label.text()


def test_detail_lists_occurrences_and_matches_and_jumps(qtbot: QtBot, case_window: MainWindow,
                                                        tmp_path: Path) -> None:
    view = open_indicators(qtbot, case_window, tmp_path)
    ind_id = case_window.reader.execute(  # type: ignore[union-attr]
        "SELECT id FROM indicators WHERE value = '185.141.63.120'").fetchone()[0]
    assert view.select_indicator(ind_id)
    detail = view.detail
    assert detail.value == "185.141.63.120"
    assert detail.occ_model.rowCount() == 2
    assert {detail.occ_model.index(r, 1).data() for r in range(2)} == {"body", "ocr"}
    assert detail.match_model.rowCount() >= 1
    assert "this case" in str(detail.match_model.index(0, 1).data())
    with qtbot.waitSignal(view.occurrence_activated) as blocker:
        detail.occ_table.doubleClicked.emit(detail.occ_model.index(0, 0))
    item_id, occurrence = blocker.args
    assert occurrence["where"] == "text body"
    assert occurrence["offset"] == 3
    assert case_window.tabs.currentIndex() == 0  # the window went to the item
    assert case_window.panels.item is not None
    assert case_window.panels.item.id == item_id


def test_bulk_tagging_records_custody_and_filters_by_tag(qtbot: QtBot, case_window: MainWindow,
                                                        tmp_path: Path) -> None:
    view = open_indicators(qtbot, case_window, tmp_path)
    view.type_filter.setCurrentIndex(view.type_filter.findData("ipv4"))
    view.table.selectAll()
    assert view.tag_button.isEnabled()
    assert view.tag_button.text() == "Tag 2 selected\u2026"
    with qtbot.waitSignal(view.tags_changed, timeout=TASK_MS):
        view.tag_selected(["TLP:AMBER"])
    assert view.proxy.index(0, COL_TAGS).data() == "TLP:AMBER"
    with qtbot.waitSignal(view.tags_changed, timeout=TASK_MS):
        view.tag_selected(["attack-pattern:T1566"])
    view.clear_filters()
    view.tag_filter.setCurrentIndex(view.tag_filter.findData("tlp:amber"))
    assert sorted(values(view)) == ["10.0.0.1", "185.141.63.120"]
    case = case_window.case
    assert case is not None
    tagged = [e for e in case.custody() if e["action"] == "tagged"]
    assert len(tagged) == 4
    assert case_window.custody_view.model.rowCount() == len(case.custody())  # the log was reloaded
    # Removing through the detail pane, one indicator.
    view.table.selectRow(0)
    with qtbot.waitSignal(view.tags_changed, timeout=TASK_MS):
        view.detail.remove_tag("tlp:amber")
    assert len([e for e in case.custody() if e["action"] == "tagged"]) == 5
    assert view.proxy.rowCount() == 1  # the filter follows the change


def test_the_detail_refuses_a_malformed_tag(qtbot: QtBot, case_window: MainWindow, tmp_path: Path) -> None:
    view = open_indicators(qtbot, case_window, tmp_path)
    view.table.selectRow(0)
    assert not view.detail.add_tag("tlp:purple")
    assert "TLP" in view.detail.tag_problem.text()


def test_tag_entry_completes_from_the_taxonomies(qtbot: QtBot) -> None:
    edit = TagLineEdit()
    qtbot.addWidget(edit)
    assert "tlp:amber" in edit.update_completions("tlp:a")
    found = edit.update_completions("phish")
    assert any(t.startswith("attack-pattern:T1566") for t in found)
    model = edit.completion_model
    assert "Phishing" in str(model.index(0, 0).data()) or model.rowCount() > 0
    assert edit.update_completions("-tlp:r") == ["tlp:red"]
    assert str(model.index(0, 0).data(edit.completer().completionRole())) == "-tlp:red"
    dialog = TagDialog(3)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.edit.setText("tlp:white")
    assert ok.isEnabled()
    assert "TLP:CLEAR" in dialog.meaning.text()
    dialog.remove_button.setChecked(True)
    assert dialog.tags() == ["-tlp:white"]


def test_a_broken_completion_source_degrades_to_no_completion(qtbot: QtBot) -> None:
    def broken(_prefix: str) -> list[str]:
        raise RuntimeError("the taxonomies are missing")

    edit = TagLineEdit(completions=broken)
    qtbot.addWidget(edit)
    assert edit.update_completions("tlp") == []
    assert not edit.completions_available


def test_correlation_failure_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop.core.correlate as correlate_module

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("library written by a newer version")

    monkeypatch.setattr(correlate_module, "correlate", broken)
    with Case.create(tmp_path / "C.casetrail", title="C", examiner="E") as case:
        result = run_to_end(correlate_task(case))
    assert result.by_id == {}
    assert "newer version" in result.error


def test_models_pass_the_model_tester(qtmodeltester: ModelTester, tmp_path: Path) -> None:
    model = IndicatorsModel()
    qtmodeltester.check(model)
    occ = OccurrenceModel()
    matches = MatchModel()
    qtmodeltester.check(occ)
    qtmodeltester.check(matches)
    with Case.create(tmp_path / "M.casetrail", title="M", examiner="E") as case:
        fill(case, tmp_path)
        reader = case.reader()
        try:
            model.set_reader(reader)
            qtmodeltester.check(model)
            model.set_correlations(run_to_end(correlate_task(case)))
            qtmodeltester.check(model)
            assert model.correlation_state == "ready"
            row = model.row_of(1)
            assert row is not None
            assert model.index(row, COL_MATCHES).data()  # this case: two items
            model.set_correlations(CorrelationResult(error="boom"))
            qtmodeltester.check(model)
            occ.load(reader, 1)
            qtmodeltester.check(occ)
            assert occ.rowCount() == 2
            corr = run_to_end(correlate_task(case)).by_id
            matches.set_matches(list(corr[1].matches))
            qtmodeltester.check(matches)
        finally:
            model.set_reader(None)
            occ.load(None, None)
            reader.conn.close()


def test_a_big_case_lists_its_indicators_off_the_gui_thread(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The id query of 100,000 indicators took 0.3 s on the GUI thread at open, each sort and filter."""
    import threading

    from desktop.core import indicator_list
    from desktop.ui import indicators_view
    from desktop.ui.indicators_view import COL_OCC, IndicatorIdRole

    monkeypatch.setattr(indicators_view, "ASYNC_ABOVE", 0, raising=False)  # every case counts as big
    threads: list[bool] = []
    real = indicator_list.ids

    def ids(*args: object, **kwargs: object) -> list[int]:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indicator_list, "ids", ids)
    view = open_indicators(qtbot, case_window, tmp_path)
    qtbot.waitUntil(lambda: not view.model.loading, timeout=TASK_MS)
    assert view.model.rowCount() == 5
    threads.clear()
    with qtbot.waitSignal(view.model.loaded, timeout=TASK_MS):
        view.table.horizontalHeader().setSortIndicator(COL_OCC, Qt.SortOrder.DescendingOrder)
        assert view.model.loading, "the list is being read"
        assert view.model.rowCount() == 5, "and the table keeps showing the previous one meanwhile"
    assert threads == [False], "read on the read pool, never on the GUI thread"
    assert values(view)[0] == "185.141.63.120"
    with qtbot.waitSignal(view.model.loaded, timeout=TASK_MS):
        view.search.setText("evil")
    assert sorted(values(view)) == ["evil.example", "http://evil.example/login", "ops@evil.example"]
    assert case_window.case is not None
    found = case_window.case.db.execute("SELECT id FROM indicators WHERE value = '10.0.0.1'").fetchone()
    hidden = int(found[0])
    assert view.select_indicator(hidden)  # the filter hides it: cleared, and selected once listed again
    qtbot.waitUntil(lambda: view.current_indicator_id() == hidden, timeout=TASK_MS)
    assert view.search.text() == ""
    assert view.table.currentIndex().data(IndicatorIdRole) == hidden
    assert threads
    assert not any(threads)


def test_a_case_of_a_few_thousand_indicators_lists_them_off_the_gui_thread(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """14,186 indicators were listed in place (below the old 20,000): 320 ms of the window's opening."""
    from desktop.core import indicator_list
    from desktop.ui.indicators_view import IndicatorsModel

    with Case.create(tmp_path / "I.casetrail", title="I", examiner="E") as case:
        reader = case.reader()
        model = IndicatorsModel()
        asked: list[object] = []
        model.loader = lambda query, done: asked.append(query)
        try:
            monkeypatch.setattr(indicator_list, "count", lambda _conn: 5_000)
            model.set_reader(reader)
            assert asked, "5,000 indicators are read on the read pool"
            assert model.loading
            monkeypatch.setattr(indicator_list, "count", lambda _conn: 50)
            asked.clear()
            model.refresh()
            assert not asked, "a small case is answered in place"
            assert not model.loading
        finally:
            model.set_reader(None)
            reader.conn.close()
