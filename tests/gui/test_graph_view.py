# SPDX-License-Identifier: GPL-3.0-or-later
"""The link graph: built and drawn for a case of hundreds of nodes, zoom, select, open."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QWheelEvent
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.correlate import Correlation, Match
from desktop.core.progress import run_to_end
from desktop.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "home"))
    return


def fill(case: Case, tmp_path: Path, items: int = 30, per_item: int = 9) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(items):
        (src / f"note-{i:03d}.txt").write_text(f"note {i}\n")
    ids = [a.item.id for a in run_to_end(import_paths(case, sorted(src.iterdir()))).acquired]
    with case.transaction() as conn:
        for n, item_id in enumerate(ids):
            occ = [{"type": "domain", "value": f"host{n}-{k}.evil.example", "source": "body", "where": "text"}
                   for k in range(per_item)]
            occ.append({"type": "ipv4", "value": f"185.141.63.{n % 5}", "source": "body", "where": "text"})
            findings.record_occurrences(conn, item_id, occ)


def test_three_hundred_nodes_are_built_and_drawn_quickly(qtbot: QtBot, case_window: MainWindow,
                                                         tmp_path: Path) -> None:
    case = case_window.case
    assert case is not None
    fill(case, tmp_path)
    feed = {ind: Correlation(ind, "ipv4", "x", (), (Match("feed", "APT-Lantern", "partner.json: indicates",
                                                          "intrusion-set"),))
            for (ind,) in case.db.execute("SELECT id FROM indicators WHERE type = 'ipv4'").fetchall()}
    view = case_window.panels.graph_view
    view._correlations = lambda: feed  # as if a partner's feed had been imported
    case_window._refresh_views()
    started = time.perf_counter()
    with qtbot.waitSignal(view.graph_built, timeout=TASK_MS) as blocker:
        case_window.tabs.setCurrentWidget(view)
    elapsed = time.perf_counter() - started
    nodes = blocker.args[0]
    assert nodes == 30 + 30 * 9 + 5 + 1  # items, domains, shared IPs, one actor
    assert elapsed < 2.0, f"{nodes} nodes took {elapsed:.2f} s"
    canvas = view.canvas
    assert len(canvas.node_items) == nodes
    assert "links" in view.count.text()
    assert {item.node.kind for item in canvas.node_items} == {"item", "indicator", "actor"}
    # The wheel zooms around the mouse.
    before = canvas.transform().m11()
    wheel = QWheelEvent(QPointF(300, 300), QPointF(canvas.mapToGlobal(QPoint(300, 300))), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(wheel)
    assert canvas.transform().m11() == pytest.approx(before * 1.44)
    # A click on a node selects it and highlights its links.
    actor = next(i for i in canvas.node_items if i.node.kind == "actor")
    canvas.centerOn(actor)
    with qtbot.waitSignal(canvas.node_selected) as selected:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=canvas.mapFromScene(actor.scenePos()))
    assert selected.args[0] is actor.node
    assert "APT-Lantern" in view.info.text()
    assert not canvas.highlight_item.path().isEmpty()
    assert sum(1 for i in canvas.node_items if i.emphasised) == 5
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)


def test_double_clicking_an_indicator_node_opens_it(qtbot: QtBot, case_window: MainWindow,
                                                    tmp_path: Path) -> None:
    assert case_window.case is not None
    fill(case_window.case, tmp_path, items=3, per_item=2)
    case_window._refresh_views()
    graph = case_window.panels.graph_view
    with qtbot.waitSignal(graph.graph_built, timeout=TASK_MS):
        case_window.tabs.setCurrentWidget(graph)
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)
    node = next(i.node for i in graph.canvas.node_items if i.node.kind == "indicator")
    graph.canvas.node_activated.emit(node)
    assert case_window.tabs.currentWidget() is case_window.panels.indicators_view
    assert case_window.panels.indicators_view.current_indicator_id() == node.ref
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)


def test_changes_while_the_graph_is_shown_rebuild_it_once_and_redraw_only_what_changed(
        qtbot: QtBot, case_window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every import batch and correlation marked the shown graph stale: each built and drew it anew."""
    from desktop.ui import graph_view

    case = case_window.case
    assert case is not None
    fill(case, tmp_path, items=10, per_item=3)
    view = case_window.panels.graph_view
    case_window._refresh_views()
    with qtbot.waitSignal(view.graph_built, timeout=TASK_MS):
        case_window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)
    builds: list[str] = []
    real_task = graph_view.graph_task
    monkeypatch.setattr(graph_view, "graph_task", lambda *a: (builds.append("built"), real_task(*a))[1])
    draws: list[int] = []
    real_set = view.canvas.set_graph
    monkeypatch.setattr(view.canvas, "set_graph", lambda g, done=None: (draws.append(len(g.nodes)),
                                                                         real_set(g, done))[1])
    drawn_before = list(view.canvas.node_items)
    for _ in range(5):  # five batches in a row
        view.mark_stale()
    qtbot.waitUntil(lambda: not case_window.tasks.running() and not getattr(view, "_building", None),
                    timeout=TASK_MS)
    assert len(builds) <= 2, "one build in flight, one more after it for what came meanwhile"
    assert draws == [], "the nodes and links were the same: nothing was cleared and drawn again"
    assert view.canvas.node_items == drawn_before
    assert "links" in view.count.text()


def test_the_labels_shown_never_overlap_at_any_zoom(qtbot: QtBot, case_window: MainWindow,
                                                     tmp_path: Path) -> None:
    """On the 100,000-item case every item and cluster was labelled: a block of overlapping text."""
    case = case_window.case
    assert case is not None
    fill(case, tmp_path)
    view = case_window.panels.graph_view
    case_window._refresh_views()
    with qtbot.waitSignal(view.graph_built, timeout=TASK_MS):
        case_window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: not case_window.tasks.running(), timeout=TASK_MS)
    canvas = view.canvas

    def shown() -> list[QRectF]:
        return [item.label.deviceTransform(canvas.viewportTransform()).mapRect(item.label.boundingRect())
                for item in canvas.node_items if item.label is not None and item.label.isVisible()]

    def zoom(steps: int) -> None:  # the wheel, as the analyst zooms
        canvas.wheelEvent(QWheelEvent(QPointF(300, 300), QPointF(canvas.mapToGlobal(QPoint(300, 300))),
                                      QPoint(0, 0), QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                                      Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))

    counts = []
    for steps in (-6, 0, 8):  # zoomed out, as fitted, zoomed in
        canvas.fit()
        zoom(steps)
        rects = shown()
        counts.append(len(rects))
        assert rects, "the labels that fit are shown"
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                assert not a.adjusted(1, 1, -1, -1).intersects(b.adjusted(1, 1, -1, -1)), (steps, a, b)
    assert counts[0] < len(canvas.node_items), "zoomed out, not every label fits"
    assert counts[0] <= counts[2], "zooming in shows more of them"
    view.labels_toggle.setChecked(True)  # "All labels": the analyst asked for every one
    assert len(shown()) == len(canvas.node_items)
