# SPDX-License-Identifier: GPL-3.0-or-later
"""Sorting and filtering a big evidence tree: read off the GUI thread, the old order shown meanwhile.

On a case of 100,000 items a sort stalled the window for 7.9 s: the query ran on the GUI thread,
and the tree then laid out every top-level row it had ever been shown (60,000 after a scroll to
the end; Qt asks the model for each one, in Python). These tests check the model shows the first
page of a new order, keeps the old order until the read pool's answer is back, drops an answer
overtaken by another sort, re-reads when items were recorded meanwhile, and that the window
hands its sorts and filters to the read pool.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.store import Database
from desktop.ui import evidence_model
from desktop.ui.evidence_model import Column, EvidenceModel
from desktop.ui.evidence_tree import EvidenceTree
from desktop.ui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "core"))
from window_case import build

Work = Callable[[sqlite3.Connection], Any]


class HeldLoader:
    """A loader that holds each read until the test runs it (as the read pool would, later)."""

    def __init__(self, reader: sqlite3.Connection) -> None:
        self.reader = reader
        self.held: list[tuple[Work, Callable[[Any], None]]] = []

    def __call__(self, work: Work, done: Callable[[Any], None]) -> None:
        self.held.append((work, done))

    def run(self, which: int = 0) -> None:
        work, done = self.held.pop(which)
        done(work(self.reader))


def _names(model: EvidenceModel) -> list[str]:
    return [model.item_at(r).name for r in range(model.rowCount())]  # type: ignore[union-attr]


def test_a_sort_of_a_big_list_shows_its_first_page_and_keeps_a_selection_on_it(
        qtbot: QtBot, tmp_path: Path, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_model, "TOP_PAGE", 2)
    with Case.create(tmp_path / "S.casetrail", title="S", examiner="E") as case:
        build(case, tmp_path / "src")
        reader = case.reader()
        model = EvidenceModel()
        tree = EvidenceTree(model)
        qtbot.addWidget(tree)
        try:
            model.set_reader(reader)
            root = QModelIndex()
            model.fetchMore(root)
            assert model.rowCount() == 4, "scrolled to the end: every top-level row shown"
            tree.setCurrentIndex(model.index(0, 0))  # a-note.txt
            tester = ModelTester(pytestconfig)
            tester.check(model, force_py=True)
            model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
            assert model.rowCount() == 2, "the tree lays out what it is shown: one page, not all"
            assert _names(model) == ["a-note.txt", "b-mail.eml"]
            assert model.item_id_at(tree.currentIndex()) is not None
            assert model.item_at(tree.currentIndex()).name == "a-note.txt"  # type: ignore[union-attr]
            model.sort(Column.NAME, Qt.SortOrder.DescendingOrder)
            assert _names(model) == ["copy.txt", "c-big.bin"]
            assert not tree.currentIndex().isValid(), "a selection beyond the first page is let go"
            model.fetchMore(root)
            assert _names(model) == ["copy.txt", "c-big.bin", "b-mail.eml", "a-note.txt"]
            tester._cleanup()
        finally:
            model.set_reader(None)
            reader.conn.close()


@contextmanager
def held_model(case: Case) -> Iterator[tuple[Database, EvidenceModel, HeldLoader]]:
    """An evidence model over the case whose reads wait until the test runs them."""
    reader = case.reader()
    model = EvidenceModel()
    loader = HeldLoader(reader.conn)
    model.loader = loader
    try:
        model.set_reader(reader)
        yield reader, model, loader
    finally:
        reader.conn.set_trace_callback(None)
        model.set_reader(None)
        reader.conn.close()


def test_a_big_case_sorts_on_the_read_pool_and_shows_the_old_order_meanwhile(
        qtbot: QtBot, tmp_path: Path, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_model, "ASYNC_ABOVE", 0)
    with Case.create(tmp_path / "A.casetrail", title="A", examiner="E") as case:
        ids = build(case, tmp_path / "src")
        with held_model(case) as (reader, model, loader):
            mail = model.index_of(ids["b-mail.eml"], expand=False)
            model.fetchMore(mail)  # an open parent: its children are re-ordered too
            before = _names(model)
            tester = ModelTester(pytestconfig)
            tester.check(model, force_py=True)
            seen: list[str] = []
            reader.conn.set_trace_callback(seen.append)
            model.sort(Column.NAME, Qt.SortOrder.DescendingOrder)
            assert not seen, "no query on the GUI thread"
            assert model.loading
            assert _names(model) == before, "the old order until the new one is back"
            assert model.query.sort == "id"
            with qtbot.waitSignal(model.loaded, timeout=1000):
                loader.run()
            assert not model.loading
            assert _names(model) == ["copy.txt", "c-big.bin", "b-mail.eml", "a-note.txt"]
            assert model.query.sort == "name"
            mail = model.index_of(ids["b-mail.eml"], expand=False)
            assert [model.item_at(model.index(r, 0, mail)).name  # type: ignore[union-attr]
                    for r in range(model.rowCount(mail))] == ["logo.png", "invoice.pdf"]
            # Overtaken: a second sort asked for before the first is back; only the second counts.
            model.sort(Column.SIZE, Qt.SortOrder.DescendingOrder)
            model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
            loader.run(0)
            assert model.loading
            assert model.query.sort == "name", "the overtaken answer is dropped"
            loader.run(0)
            assert (model.query.sort, model.query.descending) == ("id", True)
            assert _names(model) == ["copy.txt", "c-big.bin", "b-mail.eml", "a-note.txt"]
            # Items recorded while it read: the answer may miss them, so it is read again in place.
            model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
            (tmp_path / "later.txt").write_text("later\n")
            run_to_end(import_paths(case, [tmp_path / "later.txt"]))
            work, done = loader.held.pop()
            answer = work(reader.conn)
            (tmp_path / "zzz.txt").write_text("zzz\n")
            run_to_end(import_paths(case, [tmp_path / "zzz.txt"]))
            model.refresh()
            done(answer)
            assert _names(model) == ["a-note.txt", "b-mail.eml", "c-big.bin", "copy.txt", "later.txt",
                                     "zzz.txt"]
            tester._cleanup()


def test_a_big_case_filters_on_the_read_pool_and_a_failed_read_keeps_the_list(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_model, "ASYNC_ABOVE", 0)
    with Case.create(tmp_path / "F.casetrail", title="F", examiner="E") as case:
        build(case, tmp_path / "src")
        with held_model(case) as (_reader, model, loader):
            model.set_text_filter("note")
            assert _names(model) == ["a-note.txt", "b-mail.eml", "c-big.bin", "copy.txt"]
            with qtbot.waitSignal(model.modelReset, timeout=1000):
                loader.run()
            assert _names(model) == ["a-note.txt"]
            assert model.filtered
            model.set_text_filter("")
            _work, done = loader.held.pop()
            done(None)  # the read failed (the window reported it): what is shown stays
            assert _names(model) == ["a-note.txt"]
            assert not model.loading
            model.set_text_filter("copy")
            model.set_text_filter("note")  # back to what is shown: nothing to read
            assert not model.loading
            assert len(loader.held) == 1
            loader.run()
            assert _names(model) == ["a-note.txt"]


def test_the_window_sorts_a_big_case_on_the_read_pool(
        qtbot: QtBot, case_window: MainWindow, evidence_files: list[Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = case_window
    assert window.case is not None
    run_to_end(import_paths(window.case, evidence_files))
    window.model.refresh()
    monkeypatch.setattr(evidence_model, "ASYNC_ABOVE", 0)
    window.table.horizontalHeader().setSortIndicator(Column.NAME, Qt.SortOrder.DescendingOrder)
    assert window.model.loading
    with qtbot.waitSignal(window.model.loaded, timeout=TASK_MS):
        pass
    assert _names(window.model) == ["photo.jpg", "note.txt", "mail.eml"]
    with qtbot.waitSignal(window.model.loaded, timeout=TASK_MS):
        window.evidence_filter.setText("NOTE")
    assert _names(window.model) == ["note.txt"]
    assert "matching the filter" in window.status_label.text()
