# SPDX-License-Identifier: GPL-3.0-or-later
"""The link graph of a case: items ↔ indicators ↔ other cases, actors and feeds — and its layout.

What links to what is the case's data (occurrences, derivation, correlation matches); this module
chooses what to *draw* so the picture stays readable at any size, places the nodes, and decides
which labels fit. It is plain Python and NumPy, run on the window's read pool.

- **Small cases** (up to :data:`MAX_NODES` nodes) are drawn whole: every item with an indicator,
  every indicator, every match.
- **Big cases are clustered**, the way an analyst reads them: what attributes is an indicator
  that several items share, or that intelligence or another case knows. Those indicators are
  kept, most shared first, within the node budget; the items they link are kept, but an
  indicator shared by more than :data:`ITEMS_PER_INDICATOR` items links to that many and one
  cluster node that stands for the rest ("2,314 more items"); an item's indicators found nowhere
  else become one cluster node per item ("17 indicators only here"). What the budget leaves out
  is counted in :attr:`Graph.hidden`, and a *focus* (one item or indicator and what links to it,
  "Show in graph") draws any part of the case in full.
- **Layout**: Fruchterman-Reingold per connected component, vectorised over all pairs (a few
  hundred nodes: tens of milliseconds), components packed in rows; deterministic.
- **Labels never overlap**: :func:`place_labels` chooses, for the zoom on screen, the labels that
  fit — most important first (the selection and its neighbours, actors and cases, items, then
  indicators by how much they link) — and leaves the others to the tooltip.

This module never imports Qt and never writes.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_NODES = 400  # beyond this a force layout is a hairball and a label is unreadable: cluster
ITEMS_PER_INDICATOR = 12  # items drawn around one shared indicator; the rest are one cluster node
ACTOR_KINDS = ("intrusion-set", "threat-actor", "campaign", "malware")
KIND_PRIORITY = {"actor": 0, "case": 1, "feed": 2, "item": 3, "cluster": 4, "indicator": 5}


@dataclass(frozen=True)
class Node:
    """One node of the graph.

    Attributes:
        key: unique within the graph (``item:12``, ``indicator:40``, ``actor:APT1``,
            ``more-items:40``, ``only-here:12``).
        kind: ``item``, ``indicator``, ``case``, ``actor``, ``feed`` or ``cluster``.
        label: what is written beside it.
        ref: the item or indicator id, for jumping (for a cluster: the node it hangs off).
        detail: a longer description for the info line and the tooltip.
        size: how many things a cluster node stands for (1 otherwise).
    """

    key: str
    kind: str
    label: str
    ref: int | None = None
    detail: str = ""
    size: int = 1


@dataclass
class Graph:
    """Nodes, undirected edges as index pairs, and (once laid out) positions.

    Attributes:
        hidden: how many indicators a big case's budget left out (0 when everything is drawn).
        total_indicators: indicators of the case (or of the focus) before clustering.
        focus: the node key the graph is centred on, if it was built around one.
    """

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    positions: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)))
    hidden: int = 0
    total_indicators: int = 0
    focus: str = ""

    def neighbours(self, index: int) -> set[int]:
        """Indexes of the nodes linked to one node."""
        return {b if a == index else a for a, b in self.edges if index in (a, b)}

    def index_of(self, key: str) -> int | None:
        """The index of the node with this key, or None."""
        for i, node in enumerate(self.nodes):
            if node.key == key:
                return i
        return None

    def degrees(self) -> list[int]:
        """How many links each node has."""
        degree = [0] * len(self.nodes)
        for a, b in self.edges:
            degree[a] += 1
            degree[b] += 1
        return degree


def _short(text: str, limit: int = 42) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class _Builder:
    """Collects nodes and edges without duplicates."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.index: dict[str, int] = {}
        self.edges: set[tuple[int, int]] = set()

    def add(self, node: Node) -> int:
        if node.key not in self.index:
            self.index[node.key] = len(self.graph.nodes)
            self.graph.nodes.append(node)
        return self.index[node.key]

    def link(self, a: int, b: int) -> None:
        if a != b:
            self.edges.add((min(a, b), max(a, b)))

    def done(self) -> Graph:
        self.graph.edges = sorted(self.edges)
        return self.graph


def _items(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str, int | None, str | None]]:
    return {int(r[0]): (str(r[1]), None if r[2] is None else int(r[2]), r[3]) for r in conn.execute(
        "SELECT id, name, parent_id, derived_how FROM items WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(set(ids))),))}


def _add_items(b: _Builder, conn: sqlite3.Connection, item_ids: set[int]) -> None:
    """Items and the parents they hang off (attachments under their message)."""
    known = _items(conn, sorted(item_ids))
    wanted = set(known)
    frontier = {p for _n, p, _h in known.values() if p is not None} - wanted
    for _ in range(16):  # derivation is shallow (message → attachment → frame); bounded anyway
        if not frontier:
            break
        parents = _items(conn, sorted(frontier))
        known.update(parents)
        wanted |= set(parents)
        frontier = {p for _n, p, _h in parents.values() if p is not None} - wanted
    for item_id in sorted(wanted):
        name, _parent, how = known[item_id]
        b.add(Node(f"item:{item_id}", "item", _short(name), item_id,
                   f"item {item_id}: {name}" + (f" ({how})" if how else "")))
    for item_id in sorted(wanted):
        parent = known[item_id][1]
        if parent is not None and f"item:{parent}" in b.index:
            b.link(b.index[f"item:{parent}"], b.index[f"item:{item_id}"])


def _add_matches(b: _Builder, correlations: Mapping[int, Any]) -> None:
    for ind_id, corr in sorted(correlations.items()):
        key = f"indicator:{ind_id}"
        if key not in b.index:
            continue
        for match in getattr(corr, "matches", ()):
            kind = str(getattr(match, "kind", ""))
            if match.source == "case" and kind == "other-case":
                other = b.add(Node(f"case:{match.name}", "case", _short(match.name), None,
                                   f"case {match.name}: {match.detail}"))
            elif match.source == "feed":
                node_kind = "actor" if kind in ACTOR_KINDS else "feed"
                other = b.add(Node(f"{node_kind}:{match.name}", node_kind, _short(match.name), None,
                                   f"{kind or 'feed'} {match.name}: {match.detail}"))
            else:
                continue  # warninglists would link half the graph to "benign" and explain nothing
            b.link(b.index[key], other)


def _indicator_node(ind_id: int, type_: str, value: str, items: int) -> Node:
    where = f" \u00b7 in {items} items" if items > 1 else ""
    return Node(f"indicator:{ind_id}", "indicator", _short(value), ind_id, f"{type_} {value}{where}")


def _matched_ids(correlations: Mapping[int, Any]) -> set[int]:
    return {i for i, c in correlations.items()
            if any(m.source == "feed" or (m.source == "case" and getattr(m, "kind", "") == "other-case")
                   for m in getattr(c, "matches", ()))}


def build(conn: sqlite3.Connection, correlations: Mapping[int, Any] | None = None, *,
          focus: str = "", max_nodes: int = MAX_NODES) -> Graph:
    """Build the graph of a case (whole, clustered, or around one node).

    Args:
        conn: a connection to the case (read-only is enough).
        correlations: ``indicator id → Correlation`` (other cases, actors and feeds come from
            their matches); None or empty before correlation has run.
        focus: ``item:ID`` or ``indicator:ID`` to draw that node, what links to it, and what those
            link to — whatever the size of the case.
        max_nodes: the node budget beyond which the case is clustered.
    """
    corr = correlations or {}
    if focus:
        return _focused(conn, corr, focus, max_nodes)
    total, links = (int(v or 0) for v in conn.execute(
        "SELECT COUNT(*), SUM(n_items) FROM indicators WHERE n_occurrences > 0").fetchone())
    if total <= max_nodes and (total + links <= max_nodes or (links <= 50 * max_nodes and total + int(
            conn.execute("SELECT COUNT(DISTINCT item_id) FROM occurrences").fetchone()[0]) <= max_nodes)):
        return _whole(conn, corr, total)
    return _clustered(conn, corr, total, max_nodes)


def _whole(conn: sqlite3.Connection, corr: Mapping[int, Any], total: int) -> Graph:
    b = _Builder()
    links = conn.execute("SELECT DISTINCT item_id, indicator_id FROM occurrences ORDER BY 1, 2").fetchall()
    _add_items(b, conn, {int(r[0]) for r in links})
    indicators = {int(r[0]): (str(r[1]), str(r[2]), int(r[3])) for r in conn.execute(
        "SELECT id, type, value, n_items FROM indicators WHERE n_occurrences > 0")}
    for item_id, ind_id in links:
        type_, value, items = indicators.get(int(ind_id), ("?", "?", 0))
        node = b.add(_indicator_node(int(ind_id), type_, value, items))
        b.link(b.index[f"item:{item_id}"], node)
    _add_matches(b, corr)
    graph = b.done()
    graph.total_indicators = total
    return graph


def _clustered(conn: sqlite3.Connection, corr: Mapping[int, Any], total: int, max_nodes: int) -> Graph:
    """Shared and matched indicators within the budget, their items, and cluster nodes for the rest."""
    matched = _matched_ids(corr)
    budget = max(8, max_nodes // 4)  # indicators; each brings up to ITEMS_PER_INDICATOR items
    chosen: dict[int, tuple[str, str, int]] = {}
    if matched:
        for r in conn.execute("SELECT id, type, value, n_items FROM indicators WHERE id IN "
                              "(SELECT value FROM json_each(?)) ORDER BY n_items DESC, id LIMIT ?",
                              (json.dumps(sorted(matched)), budget)):
            chosen[int(r[0])] = (str(r[1]), str(r[2]), int(r[3]))
    for r in conn.execute("SELECT id, type, value, n_items FROM indicators WHERE n_items >= 2 "
                          "ORDER BY n_items DESC, id LIMIT ?", (budget,)):
        if len(chosen) >= budget:
            break
        chosen.setdefault(int(r[0]), (str(r[1]), str(r[2]), int(r[3])))
    # Each indicator brings its items, their parents and clusters: fewer indicators until the
    # picture fits the budget (1,273 nodes were drawn for a budget of 400 on a 100,000-item case).
    order = list(chosen)
    keep = len(order)
    while True:
        graph = _cluster_graph(conn, corr, {i: chosen[i] for i in order[:keep]})
        if len(graph.nodes) <= max_nodes or keep <= 1:
            break
        keep = max(1, min(keep - 1, keep * max_nodes // len(graph.nodes)))
    graph.total_indicators = total
    graph.hidden = max(0, total - keep)
    return graph


def _cluster_graph(conn: sqlite3.Connection, corr: Mapping[int, Any],
                   chosen: Mapping[int, tuple[str, str, int]]) -> Graph:
    """The chosen indicators, up to ITEMS_PER_INDICATOR of their items each, and cluster nodes."""
    b = _Builder()
    per_indicator: dict[int, list[int]] = {}
    for ind_id in chosen:
        per_indicator[ind_id] = [int(r[0]) for r in conn.execute(
            "SELECT DISTINCT item_id FROM occurrences WHERE indicator_id = ? ORDER BY item_id LIMIT ?",
            (ind_id, ITEMS_PER_INDICATOR))]
    _add_items(b, conn, {i for ids in per_indicator.values() for i in ids})
    for ind_id, (type_, value, items) in chosen.items():
        node = b.add(_indicator_node(ind_id, type_, value, items))
        for item_id in per_indicator[ind_id]:
            b.link(node, b.index[f"item:{item_id}"])
        rest = items - len(per_indicator[ind_id])
        if rest > 0:
            cluster = b.add(Node(f"more-items:{ind_id}", "cluster", f"{rest:,} more items", ind_id,
                                 f"{rest:,} more items hold {type_} {value}; double-click to draw them "
                                 "around it", rest))
            b.link(node, cluster)
    drawn_items = [n.ref for n in b.graph.nodes if n.kind == "item" and n.ref is not None]
    if drawn_items:
        shown = json.dumps(sorted(chosen))
        for item_id, only_here in conn.execute(
                "SELECT o.item_id, COUNT(DISTINCT o.indicator_id) FROM occurrences o "
                "JOIN indicators i ON i.id = o.indicator_id "
                "WHERE o.item_id IN (SELECT value FROM json_each(?)) AND i.n_items = 1 "
                "AND o.indicator_id NOT IN (SELECT value FROM json_each(?)) "
                "GROUP BY o.item_id", (json.dumps(drawn_items), shown)):
            cluster = b.add(Node(f"only-here:{item_id}", "cluster", f"{only_here} only here", int(item_id),
                                 f"{only_here} indicators found only in item {item_id}; double-click to "
                                 "draw them", int(only_here)))
            b.link(b.index[f"item:{item_id}"], cluster)
    _add_matches(b, corr)
    return b.done()


def _focused(conn: sqlite3.Connection, corr: Mapping[int, Any], focus: str, max_nodes: int) -> Graph:
    """One node, everything it links to, and what those link to (within the budget)."""
    kind, _, raw = focus.partition(":")
    ref = int(raw) if raw.isdigit() else -1
    b = _Builder()
    if kind in ("indicator", "more-items"):
        items = [int(r[0]) for r in conn.execute(
            "SELECT DISTINCT item_id FROM occurrences WHERE indicator_id = ? ORDER BY item_id LIMIT ?",
            (ref, max_nodes))]
        indicator_ids = [ref]
    elif kind in ("item", "only-here"):
        items = [ref]
        indicator_ids = [int(r[0]) for r in conn.execute(
            "SELECT DISTINCT indicator_id FROM occurrences WHERE item_id = ? ORDER BY indicator_id LIMIT ?",
            (ref, max_nodes))]
    else:
        raise ValueError(f"cannot centre the graph on {focus!r}; use item:ID or indicator:ID")
    facts = {int(r[0]): (str(r[1]), str(r[2]), int(r[3])) for r in conn.execute(
        "SELECT id, type, value, n_items FROM indicators WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(indicator_ids),))}
    links = conn.execute(
        "SELECT DISTINCT item_id, indicator_id FROM occurrences WHERE indicator_id IN "
        "(SELECT value FROM json_each(?)) AND item_id IN (SELECT value FROM json_each(?))",
        (json.dumps(indicator_ids), json.dumps(items))).fetchall()
    _add_items(b, conn, set(items))
    for item_id, ind_id in links:
        type_, value, n = facts.get(int(ind_id), ("?", "?", 0))
        node = b.add(_indicator_node(int(ind_id), type_, value, n))
        b.link(b.index[f"item:{item_id}"], node)
    if kind in ("indicator", "more-items"):
        type_, value, n = facts.get(ref, ("?", "?", 0))
        if n > len(items):
            node = b.add(_indicator_node(ref, type_, value, n))
            cluster = b.add(Node(f"more-items:{ref}", "cluster", f"{n - len(items):,} more items", ref,
                                 f"{n - len(items):,} more items hold it (beyond the {max_nodes} drawn)",
                                 n - len(items)))
            b.link(node, cluster)
    _add_matches(b, {i: c for i, c in corr.items() if i in facts})
    graph = b.done()
    graph.total_indicators = len(facts)
    graph.focus = "indicator:" + str(ref) if kind in ("indicator", "more-items") else f"item:{ref}"
    return graph


# -- layout ----------------------------------------------------------------------------------


def _components(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """Connected components (union-find), largest first."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def _force_layout(n: int, edges: npt.NDArray[np.int64], kinds: list[str], iterations: int,
                  rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Fruchterman-Reingold on one connected component, in units of the ideal edge length."""
    if n == 1:
        return np.zeros((1, 2))
    # Start kinds on rings (actors in the middle, indicators outside): the forces then only untangle.
    ring = {"actor": 0.3, "case": 0.4, "feed": 0.4, "item": 0.6, "cluster": 0.9, "indicator": 1.0}
    angles = rng.uniform(0, 2 * math.pi, n)
    radius = np.array([ring.get(kind, 1.0) for kind in kinds]) * math.sqrt(n) * (1 + 0.2 * rng.random(n))
    pos = np.column_stack([np.cos(angles) * radius, np.sin(angles) * radius]).astype(np.float32)
    # Big components get fewer steps: all-pairs repulsion is O(n²) a step, and past a few hundred
    # nodes the picture stops improving long before 150 steps.
    iterations = max(40, min(iterations, 40_000 // n))
    temperature = math.sqrt(n)
    cooling = temperature / (iterations + 1)
    for _ in range(iterations):
        dx = np.subtract.outer(pos[:, 0], pos[:, 0])
        dy = np.subtract.outer(pos[:, 1], pos[:, 1])
        inv = dx * dx
        inv += dy * dy
        np.maximum(inv, 1e-4, out=inv)
        np.reciprocal(inv, out=inv)  # repulsion 1/d along delta/d (ideal length k = 1)
        disp = np.column_stack([(dx * inv).sum(axis=1), (dy * inv).sum(axis=1)])
        if len(edges):
            d = pos[edges[:, 0]] - pos[edges[:, 1]]
            length = np.sqrt((d ** 2).sum(axis=1))[:, None]
            pull = d * length  # attraction d² along d/|d|
            np.add.at(disp, edges[:, 0], -pull)
            np.add.at(disp, edges[:, 1], pull)
        length = np.maximum(np.sqrt((disp ** 2).sum(axis=1)), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, max(temperature, 0.05))[:, None]
        temperature -= cooling
    return np.asarray(pos - pos.mean(axis=0), dtype=np.float64)


def layout(graph: Graph, *, iterations: int = 150, seed: int = 7, edge_px: float = 46.0,
           ) -> npt.NDArray[np.float64]:
    """Place the nodes; returns ``(n, 2)`` scene positions.

    Each connected component gets its own layout (so unrelated messages do not fly apart or pile
    up), scaled so an ideal link is ``edge_px`` long, and the components are packed in rows,
    largest first. Deterministic for a given graph (seeded), so the same case always looks the same.
    """
    n = len(graph.nodes)
    out = np.zeros((n, 2))
    if n == 0:
        return out
    rng = np.random.default_rng(seed)
    comps = _components(n, graph.edges)
    where = {}
    for c, members in enumerate(comps):
        for local, node in enumerate(members):
            where[node] = (c, local)
    comp_edges: list[list[tuple[int, int]]] = [[] for _ in comps]
    for a, b in graph.edges:
        ca, la = where[a]
        _cb, lb = where[b]
        comp_edges[ca].append((la, lb))
    placed: list[tuple[list[int], npt.NDArray[np.float64], float, float]] = []
    for members, edges in zip(comps, comp_edges, strict=True):
        kinds = [graph.nodes[i].kind for i in members]
        arr = np.array(edges, dtype=np.int64).reshape(-1, 2)
        pos = _force_layout(len(members), arr, kinds, iterations, rng) * edge_px
        width = float(np.ptp(pos[:, 0])) + 4 * edge_px
        height = float(np.ptp(pos[:, 1])) + 2 * edge_px
        placed.append((members, pos - pos.min(axis=0), width, height))
    # Shelf packing: rows about as wide as the square root of the total area, a little wider
    # than tall, which is the shape of the tab.
    row_width = max(max(p[2] for p in placed), math.sqrt(sum(p[2] * p[3] for p in placed)) * 1.5)
    x = y = row_height = 0.0
    for members, pos, width, height in placed:
        if x > 0 and x + width > row_width:
            x, y, row_height = 0.0, y + row_height, 0.0
        out[members] = pos + np.array([x + 2 * edge_px, y + edge_px])
        x += width
        row_height = max(row_height, height)
    return np.asarray(out - out.mean(axis=0), dtype=np.float64)


# -- labels ----------------------------------------------------------------------------------

Rect = tuple[float, float, float, float]  # x, y, width, height


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def place_labels(labels: Sequence[Rect], obstacles: Sequence[Rect], order: Sequence[int]) -> set[int]:
    """Choose the labels to draw so that no two overlap and none covers a node.

    Args:
        labels: each node's label rectangle on screen (where it would be drawn at this zoom).
        obstacles: each node's dot on screen; a label may not cover another node's dot.
        order: node indexes, most important label first.

    Returns:
        The indexes whose labels fit; the others are left to the tooltip.
    """
    if not labels:
        return set()
    cell = max(16.0, float(np.median([r[3] for r in labels])) * 2)
    grid: dict[tuple[int, int], list[Rect]] = {}

    def cells(r: Rect) -> list[tuple[int, int]]:
        x0, y0 = math.floor(r[0] / cell), math.floor(r[1] / cell)
        x1, y1 = math.floor((r[0] + r[2]) / cell), math.floor((r[1] + r[3]) / cell)
        return [(cx, cy) for cx in range(x0, x1 + 1) for cy in range(y0, y1 + 1)]

    dots: dict[tuple[int, int], list[tuple[int, Rect]]] = {}
    for i, dot in enumerate(obstacles):
        for c in cells(dot):
            dots.setdefault(c, []).append((i, dot))
    chosen: set[int] = set()
    for i in order:
        rect = labels[i]
        spots = cells(rect)
        if len(spots) > 400:  # a label wider than the screen many times over: never drawn
            continue
        if any(_overlaps(rect, other) for c in spots for other in grid.get(c, ())):
            continue
        if any(j != i and _overlaps(rect, dot) for c in spots for j, dot in dots.get(c, ())):
            continue
        chosen.add(i)
        for c in spots:
            grid.setdefault(c, []).append(rect)
    return chosen


def label_order(graph: Graph, selected: int | None = None) -> list[int]:
    """Node indexes by how much their label matters: the selection and its neighbours first."""
    degree = graph.degrees()
    near = graph.neighbours(selected) if selected is not None else set()
    return sorted(range(len(graph.nodes)), key=lambda i: (
        i != selected, i not in near, KIND_PRIORITY.get(graph.nodes[i].kind, 9), -degree[i], i))
