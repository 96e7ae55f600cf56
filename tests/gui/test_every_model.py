# SPDX-License-Identifier: GPL-3.0-or-later
"""Qt's model checker (pytest-qt's ``qtmodeltester``) over every model of the window, filled.

One case is built through the core — messages with attachments, a duplicate, indicators, an
ACH matrix, judgments, notes, a timeline event — and opened in the real window; every view is
brought to show it, and then every ``QAbstractItemModel`` the window owns is checked, with its
rows. A model class added to ``desktop/ui`` that no view instantiates here fails the coverage
test, so a new model cannot skip the checker. The evidence tree is also checked while it grows,
sorts and filters (the checker watches every insert and layout change as it happens).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import analysis
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ingest.pipeline import import_and_analyse
from desktop.ui.evidence_model import Column, EvidenceModel
from desktop.ui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "core"))
from window_case import build

UI = Path(__file__).resolve().parents[2] / "desktop" / "ui"
_QT_MODELS = ("QAbstractItemModel", "QAbstractTableModel", "QAbstractListModel", "QStandardItemModel",
              "QSortFilterProxyModel", "ReadOnlyTableModel", "RowTableModel")


def model_classes() -> set[str]:
    """Every model class ``desktop/ui`` defines, and the Qt model classes it makes directly."""
    found: set[str] = set()
    for path in UI.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(getattr(b, "value", None), "id", "")
                         for b in node.bases}
                if bases & set(_QT_MODELS) and node.name not in _QT_MODELS:
                    found.add(node.name)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in _QT_MODELS):
                found.add(node.func.id)
    return found


MAIL = """Received: from relay.example (relay.example [198.51.100.7]) by mx.example;
 Mon, 11 Mar 2024 09:00:00 +0000
From: Sender <sender@relay.example>
To: analyst@example.org
Subject: invoice attached
Message-ID: <1@relay.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Please see the invoice; pay to 203.0.113.5.
--b
Content-Type: text/plain; name="invoice.txt"
Content-Disposition: attachment; filename="invoice.txt"

invoice from 203.0.113.5
--b--
"""


@pytest.fixture
def filled_case(tmp_path: Path) -> Path:
    """A case with something in every table the window shows."""
    path = tmp_path / "Every.casetrail"
    with Case.create(path, title="Every model", examiner="Test Examiner") as case:
        ids = build(case, tmp_path / "src")
        mail = tmp_path / "analysed.eml"
        mail.write_text(MAIL)
        run_to_end(import_and_analyse(case, [mail], "test"))  # the real analysers: hops, headers, parts
        h1 = analysis.add_hypothesis(case, "State-linked operators")
        h2 = analysis.add_hypothesis(case, "False flag")
        e1 = analysis.add_evidence(case, "Hop from a VPS range")
        analysis.set_rating(case, e1.id, h1.id, "C")
        analysis.set_rating(case, e1.id, h2.id, "I")
        analysis.add_judgment(case, "The sender controls 10.0.0.10", confidence="moderate",
                              likelihood="likely")
        analysis.add_note(case, "The copy is the same note", item_id=ids["copy.txt"])
        analysis.add_event(case, "2024-03-11T09:00:00Z", "First message sent", item_id=ids["b-mail.eml"])
    return path


def test_every_model_of_the_window_passes_the_model_tester(
        qtbot: QtBot, window: MainWindow, filled_case: Path, pytestconfig: pytest.Config) -> None:
    with qtbot.waitSignal(window.chain_checked, timeout=TASK_MS):
        assert window.open_case(filled_case)
    for tab in range(window.tabs.count()):  # every view loads what it shows when first shown
        window.tabs.setCurrentIndex(tab)
        qtbot.waitUntil(lambda: not window.tasks.running(), timeout=TASK_MS)
    window.tabs.setCurrentIndex(0)
    mail = window.model.index_of(next(i.id for i in window.case.items() if i.name == "analysed.eml"))  # type: ignore[union-attr]
    window.table.select_index(mail)
    window.table.expand(mail)
    indicators = window.panels.indicators_view
    indicators.table.selectRow(0)
    window.panels.search_view.search("invoice")
    qtbot.waitUntil(lambda: not window.tasks.running(), timeout=TASK_MS)

    models = [m for m in window.findChildren(QAbstractItemModel)
              if type(m).__module__.startswith(("desktop.", "PySide6."))]
    checked: set[str] = set()
    for model in models:
        tester = ModelTester(pytestconfig)  # one per model: a tester follows the signals of one
        try:
            tester.check(model, force_py=True)
        finally:
            tester._cleanup()
        checked.add(type(model).__name__)
    filled = {type(m).__name__ for m in models if m.rowCount() > 0}
    missing = model_classes() - checked
    assert not missing, f"models no view instantiated here (give them data in this test): {sorted(missing)}"
    for name in ("EvidenceModel", "IndicatorsModel", "IndicatorFilter", "CustodyModel", "AchModel",
                 "RankingModel", "JudgmentsModel", "NotesModel", "TimelineModel", "TimelineFilter",
                 "HopModel", "HeaderModel", "AttachmentModel", "OccurrenceModel", "SearchModel"):
        assert name in filled, f"{name} was checked empty ({sorted(filled)})"


def test_the_evidence_tree_passes_while_it_grows_sorts_and_filters(
        qtbot: QtBot, tmp_path: Path, pytestconfig: pytest.Config) -> None:
    def checked(model: EvidenceModel) -> ModelTester:
        tester = ModelTester(pytestconfig)
        tester.check(model, force_py=True)  # it also opens every row that has children
        return tester

    with Case.create(tmp_path / "T.casetrail", title="T", examiner="E") as case:
        ids = build(case, tmp_path / "src")
        reader = case.reader()
        model = EvidenceModel()
        try:
            checked(model)._cleanup()  # empty, no reader
            model.set_reader(reader)
            mail = model.index_of(ids["b-mail.eml"], expand=False)
            assert model.hasChildren(mail)
            assert model.rowCount(mail) == 0, "children are not read before expand"
            assert model.canFetchMore(mail)
            model.fetchMore(mail)
            assert model.rowCount(mail) == 2
            # The tester watches each change as it happens: a sort (a layout change keeping the
            # opened parent), then new items inserted into the sorted lists.
            tester = checked(model)
            model.sort(Column.SIZE, Qt.SortOrder.DescendingOrder)
            assert model.rowCount(model.index_of(ids["b-mail.eml"], expand=False)) == 2, "still open"
            (tmp_path / "later.txt").write_text("later\n")
            run_to_end(import_paths(case, [tmp_path / "later.txt"]))
            model.refresh()
            assert model.rowCount() == 5
            tester._cleanup()
            # A filter is a reset, which both Qt's tester and pytest-qt's check from their
            # modelReset slot before noting that the reset ended: check each state afresh.
            model.set_text_filter("note")
            checked(model)._cleanup()
            assert [model.item_at(r).name for r in range(model.rowCount())] == ["a-note.txt"]  # type: ignore[union-attr]
            model.set_text_filter("")
            checked(model)._cleanup()
            assert model.rowCount() == 5
        finally:
            model.set_reader(None)
            reader.conn.close()


def test_the_evidence_tree_hands_its_top_level_to_the_view_a_page_at_a_time(
        qtbot: QtBot, tmp_path: Path, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A QTreeView lays out every row it is told of: 60,000 top-level rows at once stalled it."""
    from desktop.ui import evidence_model

    monkeypatch.setattr(evidence_model, "TOP_PAGE", 2)
    with Case.create(tmp_path / "P.casetrail", title="P", examiner="E") as case:
        ids = build(case, tmp_path / "src")
        reader = case.reader()
        model = EvidenceModel()
        try:
            model.set_reader(reader)
            assert model.rowCount() == 2, "one page of the four top-level rows"
            assert model.total == 6
            assert model.canFetchMore(model.index(-1, -1).parent())
            tester = ModelTester(pytestconfig)
            tester.check(model, force_py=True)  # watches the page inserts below as they happen
            model.fetchMore(model.index(-1, -1).parent())
            assert model.rowCount() == 4
            assert not model.canFetchMore(model.index(-1, -1).parent())
            model.sort(Column.NAME, Qt.SortOrder.DescendingOrder)
            assert model.rowCount() == 2, "a sort shows the first page of the new order again"
            model.fetchMore(model.index(-1, -1).parent())
            assert model.rowCount() == 4
            (tmp_path / "later.txt").write_text("later\n")
            run_to_end(import_paths(case, [tmp_path / "later.txt"]))
            model.refresh()
            assert model.rowCount() == 5, "a list shown to its end shows what is added"
            tester._cleanup()
            model.set_text_filter("")
            model.sort(Column.ID, Qt.SortOrder.AscendingOrder)
            model.set_reader(reader)
            assert model.rowCount() == 2
            last = max(i.id for i in case.items() if i.parent_id is None)
            index = model.index_of(last)  # a jump shows the rows down to the item
            assert index.isValid()
            assert model.item_id_at(index) == last
            assert model.rowCount() == 5
            checked = ModelTester(pytestconfig)
            checked.check(model, force_py=True)
            checked._cleanup()
            assert ids
        finally:
            model.set_reader(None)
            reader.conn.close()
