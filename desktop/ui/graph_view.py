# SPDX-License-Identifier: GPL-3.0-or-later
"""The link graph: items ↔ indicators ↔ other cases, actors and feeds, for a case of hundreds of nodes.

Two halves with a thread boundary between them:

- :func:`build_graph` and :func:`layout` are plain Python and NumPy (no Qt): they read the case
  through a read-only connection and the correlations the indicators view already computed, and
  place the nodes with a Fruchterman-Reingold force layout vectorised over all pairs. They run on
  the read pool; 300 nodes take a few tens of milliseconds, 2,000 about a second.
- :class:`GraphView` draws the result: one light item per node, labelled only where its label
  overlaps no other label and no other node at the zoom shown (the core's ``place_labels``, most
  important first: the selection and its neighbours, actors and cases, items, then indicators by
  how much they link), and all edges as a single path, so a few thousand edges cost one paint
  call. The wheel zooms around the mouse; a click selects a node and highlights its links; a
  double click asks the window to open the item or indicator.

Only the graph's *shape* comes from here; what links to what is the core's data (occurrences,
derivation, correlation matches).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.case import Case
from desktop.core.graph import Graph, Node, build, label_order, layout, place_labels
from desktop.core.progress import Progress, Task
from desktop.ui import case_text, theme
from desktop.ui.tasks import TaskManager

KIND_COLOURS = {"item": QColor("#1565c0"), "indicator": QColor("#ef6c00"), "case": QColor("#2e7d32"),
                "actor": QColor("#c62828"), "feed": QColor("#6a1b9a")}
KIND_RADIUS = {"item": 9.0, "indicator": 6.0, "case": 12.0, "actor": 12.0, "feed": 10.0}
KIND_TITLES = {"item": "Evidence item", "indicator": "Indicator", "case": "Other case",
               "actor": "Actor / campaign / malware", "feed": "Feed"}
NODES_PER_TURN = 120  # nodes added to the scene per event-loop turn (a few tens of ms on a loaded machine)


def graph_task(case: Case, correlations: dict[int, Any], focus: str = "") -> Task[Graph]:
    """Build and lay out the graph on a read-pool thread, through a connection of its own.

    ``focus`` (``indicator:ID`` or ``item:ID``): only that node and what links to it.
    """
    yield Progress("reading the case")
    db = case.reader()
    try:
        graph = build(db.conn, correlations, focus=focus)
    finally:
        db.conn.close()
    yield Progress("laying out")
    graph.positions = layout(graph)
    return graph


class NodeItem(QGraphicsItem):
    """One node: a dot coloured by kind, and its label when zoomed in (or selected)."""

    def __init__(self, index: int, node: Node, degree: int) -> None:
        super().__init__()
        self.index = index
        self.node = node
        self.radius = KIND_RADIUS.get(node.kind, 7.0) + min(8.0, math.sqrt(degree))
        self.colour = KIND_COLOURS.get(node.kind, QColor("#455a64"))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setToolTip(case_text.tooltip(node.detail or node.label))
        self.setZValue(2)
        self.emphasised = False  # a neighbour of the selected node
        self.force_label = False  # "All labels" is on
        self.label: QGraphicsSimpleTextItem | None = None  # shown where it fits (GraphCanvas.place_labels)

    def show_label(self, on: bool) -> None:
        """Name the node at a readable size whatever the zoom.

        The text item is created on first use: hundreds of indicators would otherwise carry hundreds
        of idle text items.
        """
        if on and self.label is None:
            self.label = QGraphicsSimpleTextItem(case_text.shown(self.node.label), self)
            self.label.setFont(_label_font(self.node.kind not in ("item", "indicator")))
            self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            self.label.setPos(self.radius + 2, -self.radius)
        if self.label is not None:
            self.label.setVisible(on)

    def boundingRect(self) -> QRectF:
        """The dot and the space its label may take."""
        r = self.radius + 2
        return QRectF(-r, -r, 2 * r + 8 + 7 * len(self.node.label), 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        """Draw the dot; the label only where it can be read."""
        selected = self.isSelected()
        pen = QPen(theme.text() if selected else self.colour.darker(140), 3 if selected else 1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QBrush(self.colour.lighter(130) if self.emphasised else self.colour))
        painter.drawEllipse(QPointF(0, 0), self.radius, self.radius)
        # The label is a text item of its own, shown only where it overlaps no other label and
        # no other node (GraphCanvas.place_labels); the rest are left to the tooltip.

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Ask the view to open what this node stands for."""
        view = self.scene().views()[0] if self.scene() and self.scene().views() else None
        if isinstance(view, GraphCanvas):
            view.node_activated.emit(self.node)
        event.accept()


def _label_font(bold: bool) -> QFont:
    font = QFont()
    font.setPointSizeF(8.5)
    font.setBold(bold)
    return font


class GraphCanvas(QGraphicsView):
    """The scene's view: wheel zoom around the mouse, drag to pan, click to select.

    Signals:
        node_selected: the selected node (a :class:`Node`), or None.
        node_activated: a node was double-clicked.
    """

    node_selected = Signal(object)
    node_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphCanvas")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setBackgroundBrush(QBrush(theme.base()))
        self.graph = Graph()
        self.node_items: list[NodeItem] = []
        self.edge_item = QGraphicsPathItem()
        self.highlight_item = QGraphicsPathItem()
        self._drawing = 0  # bumped per graph set: chunks of an older graph stop
        self.scene().selectionChanged.connect(self._on_scene_selection_changed)

    def set_graph(self, graph: Graph, done: Callable[[], None] | None = None) -> None:
        """Draw a laid-out graph (replacing what was drawn); ``done`` runs once every node is on.

        The nodes are added :data:`NODES_PER_TURN` at a time, one event-loop turn each: a
        thousand nodes built in one go held the GUI thread for half a second.
        """
        self._drawing += 1
        self.scene().blockSignals(True)
        self.scene().clearSelection()
        self.scene().clear()
        self.scene().blockSignals(False)
        self.node_items = []
        self.graph = graph
        degree = [0] * len(graph.nodes)
        for a, b in graph.edges:
            degree[a] += 1
            degree[b] += 1
        path = QPainterPath()
        pos = graph.positions
        for a, b in graph.edges:
            path.moveTo(float(pos[a, 0]), float(pos[a, 1]))
            path.lineTo(float(pos[b, 0]), float(pos[b, 1]))
        self.edge_item = QGraphicsPathItem(path)
        pen = QPen(QColor(120, 144, 156, 110), 1)
        pen.setCosmetic(True)
        self.edge_item.setPen(pen)
        self.edge_item.setZValue(0)
        self.scene().addItem(self.edge_item)
        self.highlight_item = QGraphicsPathItem()
        hpen = QPen(QColor("#d84315"), 2.5)
        hpen.setCosmetic(True)
        self.highlight_item.setPen(hpen)
        self.highlight_item.setZValue(1)
        self.scene().addItem(self.highlight_item)
        self._add_nodes(self._drawing, 0, degree, done)

    def _add_nodes(self, drawing: int, start: int, degree: list[int],
                   done: Callable[[], None] | None) -> None:
        if drawing != self._drawing or not shiboken6.isValid(self):
            return  # another graph was set meanwhile
        graph, pos = self.graph, self.graph.positions
        end = min(len(graph.nodes), start + NODES_PER_TURN)
        for i in range(start, end):
            item = NodeItem(i, graph.nodes[i], degree[i])
            item.setPos(float(pos[i, 0]), float(pos[i, 1]))
            self.scene().addItem(item)
            self.node_items.append(item)
        if end < len(graph.nodes):
            QTimer.singleShot(0, lambda: self._add_nodes(drawing, end, degree, done))
            return
        rect = self.scene().itemsBoundingRect().adjusted(-60, -60, 60, 60)
        self.scene().setSceneRect(rect)
        self.fit()
        if done is not None:
            done()

    def fit(self) -> None:
        """Show the whole graph."""
        if self.node_items:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self.place_labels()

    def place_labels(self) -> None:
        """Show the labels that fit at this zoom, most important first; no two overlap, none covers a node.

        The core's :func:`~desktop.core.graph.place_labels` chooses from each label's and each
        dot's rectangle on screen; "All labels" shows every one. Run after a zoom, a fit and a
        change of selection (the selection and its neighbours are labelled first).
        """
        items = self.node_items
        if not items or len(items) != len(self.graph.nodes):
            return  # not every node is drawn yet
        zoom = self.transform().m11()
        metrics = QFontMetricsF(_label_font(True))  # bold is the wider: a label never exceeds it
        labels: list[tuple[float, float, float, float]] = []
        dots: list[tuple[float, float, float, float]] = []
        for item in items:
            at = self.mapFromScene(item.pos())
            r = item.radius * zoom
            dots.append((at.x() - r, at.y() - r, 2 * r, 2 * r))
            text = case_text.shown(item.node.label)
            labels.append((at.x() + (item.radius + 2) * zoom, at.y() - r,
                           metrics.horizontalAdvance(text) + 2, metrics.height()))
        if items[0].force_label:
            chosen = set(range(len(items)))
        else:
            selected = next((i.index for i in items if i.isSelected()), None)
            chosen = place_labels(labels, dots, label_order(self.graph, selected))
        for item in items:
            item.show_label(item.index in chosen)

    def select_node(self, key: str) -> bool:
        """Select a node by key and centre on it; False if there is none."""
        for item in self.node_items:
            if item.node.key == key:
                self.scene().clearSelection()
                item.setSelected(True)
                self.centerOn(item)
                return True
        return False

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom around the mouse, between a whole-case overview and a few nodes."""
        steps = event.angleDelta().y() / 120
        if steps:
            factor = 1.2 ** steps
            zoom = self.transform().m11() * factor
            if 0.02 <= zoom <= 8:
                self.scale(factor, factor)
                self.place_labels()
        event.accept()

    def _on_scene_selection_changed(self) -> None:
        # A scene being destroyed announces the loss of its selection: nothing left to update.
        if not shiboken6.isValid(self.highlight_item) or not shiboken6.isValid(self):
            return
        selected = [i for i in self.scene().selectedItems() if isinstance(i, NodeItem)]
        for item in self.node_items:
            item.emphasised = False
        path = QPainterPath()
        node: Node | None = None
        if selected:
            item = selected[0]
            node = item.node
            pos = self.graph.positions
            for other in self.graph.neighbours(item.index):
                if other >= len(self.node_items):
                    continue  # not drawn yet (nodes are added a few per event-loop turn)
                path.moveTo(float(pos[item.index, 0]), float(pos[item.index, 1]))
                path.lineTo(float(pos[other, 0]), float(pos[other, 1]))
                self.node_items[other].emphasised = True
        self.place_labels()
        self.highlight_item.setPath(path)
        self.scene().update()
        self.node_selected.emit(node)


class GraphView(QWidget):
    """The Graph tab: the canvas, a legend, and what the selected node is.

    Args:
        tasks: the window's task manager (layout runs on its read pool).
        correlations: where to get the current correlations (the indicators view's model).
        parent: the owning widget.

    Signals:
        graph_built: a graph was drawn; carries its number of nodes.
        node_activated: a node was double-clicked (the window opens it).
    """

    graph_built = Signal(int)
    node_activated = Signal(object)

    hides_detail_pane = True  # a full-height tab: the window hides the item views below it

    def __init__(self, tasks: TaskManager, correlations: Callable[[], dict[int, Any]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self._correlations = correlations
        self.case: Case | None = None
        self._generation = 0
        self.stale = True
        self._building: int | None = None  # the generation of the build in flight
        self._again = False  # the case changed while a build was in flight: build once more after it
        self.focus = ""  # the node the graph is built around ("" for the whole case)
        self.canvas = GraphCanvas(self)
        self.canvas.node_selected.connect(self._on_canvas_node_selected)
        self.canvas.node_activated.connect(self.node_activated)
        self.info = QLabel("Select a node to see what it is; double-click to open it.", self)
        self.info.setTextFormat(Qt.TextFormat.RichText)  # our markup, the node's detail escaped into it
        self.info.setObjectName("graphInfo")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.relayout_button = QPushButton("Rebuild", self)
        self.relayout_button.setToolTip("Read the case again and lay the graph out anew")
        self.relayout_button.clicked.connect(self._on_relayout_button_clicked)
        self.fit_button = QPushButton("Fit", self)
        self.fit_button.clicked.connect(self.canvas.fit)
        self.labels_toggle = QCheckBox("All labels", self)
        self.labels_toggle.setToolTip("Label every indicator, whatever the zoom")
        self.labels_toggle.toggled.connect(self._on_labels_toggle_toggled)
        legend = QHBoxLayout()
        legend.setSpacing(10)
        for kind in ("item", "indicator", "case", "actor", "feed"):
            swatch = QLabel(f"<span style='color:{KIND_COLOURS[kind].name()}; font-size:14pt'>\u25cf</span> "
                            f"{KIND_TITLES[kind]}", self)
            legend.addWidget(swatch)
        legend.addStretch(1)
        self.count = QLabel(self)
        legend.addWidget(self.count)
        legend.addWidget(self.labels_toggle)
        legend.addWidget(self.fit_button)
        legend.addWidget(self.relayout_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(legend)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.info)

    def set_case(self, case: Case | None) -> None:
        """Follow a case (None: draw nothing); the graph is built when first shown."""
        self._generation += 1
        self.case = case
        self.stale = True
        self._building, self._again = None, False
        self.canvas.set_graph(Graph())
        self.count.setText("")
        if case is not None and self.isVisible():
            self.rebuild()

    def mark_stale(self) -> None:
        """The case changed: rebuild now if visible, else when next shown."""
        self.stale = True
        if self.isVisible():
            self.rebuild()

    def rebuild(self) -> None:
        """Build and lay out the graph on the read pool, then draw it.

        One build at a time: the batches of an import, a correlation and a tag edit each mark the
        graph stale, and building (and clearing and drawing a scene of a thousand nodes) for each
        of them held the GUI thread again and again. A change while a build is in flight starts
        one more build when it ends; a build that finds the nodes and links already drawn draws
        nothing.
        """
        if self.case is None:
            return
        if self._building == self._generation:
            self._again = True
            return
        case, generation, correlations, focus = self.case, self._generation, self._correlations(), self.focus
        self.stale = False
        self._building, self._again = generation, False
        self.count.setText("laying out\u2026")

        def shown(graph: Graph) -> None:
            if generation != self._generation:
                return
            self._apply_labels()
            around = f" around {focus}" if focus else ""
            self.count.setText(f"{len(graph.nodes)} nodes \u00b7 {len(graph.edges)} links{around}")
            if focus:
                self.canvas.select_node(focus)
            self.graph_built.emit(len(graph.nodes))

        def drawn(graph: Graph) -> None:
            if generation != self._generation:
                return
            drawn_now = self.canvas.graph
            if (graph.nodes == drawn_now.nodes and graph.edges == drawn_now.edges
                    and len(self.canvas.node_items) == len(graph.nodes) and graph.nodes):
                shown(drawn_now)  # the same nodes and links: what is drawn stays (and where it was)
                return
            self.count.setText(f"drawing {len(graph.nodes)} nodes\u2026")
            self.canvas.set_graph(graph, lambda: shown(graph))

        def ended(_outcome: str) -> None:
            if self._building != generation:
                return
            self._building = None
            if self._again and generation == self._generation:
                self._again = False
                if self.isVisible():
                    self.rebuild()
                else:
                    self.stale = True

        self.tasks.run_read("Lay out graph", lambda: graph_task(case, correlations, focus), on_success=drawn,
                            on_done=ended, listed=True)

    def show_around(self, key: str) -> None:
        """Build the graph around one node (``indicator:ID``), or the whole case again ("")."""
        self.focus = key
        self.mark_stale()

    def showEvent(self, event: Any) -> None:
        """Build lazily: a case with thousands of links costs nothing until the tab is opened."""
        super().showEvent(event)
        if self.stale and self.case is not None:
            self.rebuild()

    def _on_relayout_button_clicked(self) -> None:
        self.focus = ""  # Rebuild draws the whole case again
        self.rebuild()

    def _on_labels_toggle_toggled(self, _on: bool) -> None:
        self._apply_labels()

    def _apply_labels(self) -> None:
        for item in self.canvas.node_items:
            item.force_label = self.labels_toggle.isChecked()
        self.canvas.place_labels()
        self.canvas.scene().update()

    def _on_canvas_node_selected(self, node: Node | None) -> None:
        if node is None:
            self.info.setText("Select a node to see what it is; double-click to open it.")
            return
        links = len(self.canvas.graph.neighbours(self.canvas.graph.nodes.index(node)))
        what = case_text.rich("<b>{}</b> \u2014 {} ", KIND_TITLES.get(node.kind, node.kind), node.detail)
        self.info.setText(what + f"\u00b7 {links} link{'s' if links != 1 else ''}"
                          + (" \u00b7 double-click to open" if node.ref is not None else ""))
