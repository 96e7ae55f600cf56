# SPDX-License-Identifier: GPL-3.0-or-later
"""The link graph: whole for small cases, clustered for big ones, focused on demand; layout; labels."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.correlate import Correlation, Match
from desktop.core.graph import MAX_NODES, Graph, Node, build, label_order, layout, place_labels
from desktop.core.progress import run_to_end


def fill(case: Case, tmp_path: Path, items: int, per_item: int, shared: int = 5) -> list[int]:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(items):
        (src / f"note-{i:04d}.txt").write_text(f"note {i}\n")
    ids = [a.item.id for a in run_to_end(import_paths(case, sorted(src.iterdir()))).acquired]
    with case.transaction() as conn:
        for n, item_id in enumerate(ids):
            occ = [{"type": "domain", "value": f"host{n}-{k}.evil.example", "source": "body", "where": "text"}
                   for k in range(per_item)]
            occ.append({"type": "ipv4", "value": f"185.141.63.{n % shared}", "source": "body",
                        "where": "text"})
            findings.record_occurrences(conn, item_id, occ)
    return ids


def test_a_small_case_is_drawn_whole(case: Case, tmp_path: Path) -> None:
    fill(case, tmp_path, items=30, per_item=9)
    graph = build(case.db.conn, {})
    kinds = [n.kind for n in graph.nodes]
    assert (kinds.count("item"), kinds.count("indicator")) == (30, 30 * 9 + 5)
    assert graph.hidden == 0
    assert len(graph.edges) == 30 * 10


def test_attachments_hang_off_their_message(case: Case, tmp_path: Path) -> None:
    fill(case, tmp_path, items=2, per_item=1)
    case.db.execute("UPDATE items SET parent_id = 1, derived_how = 'attachment' WHERE id = 2")
    graph = build(case.db.conn, {})
    keys = [n.key for n in graph.nodes]
    assert (keys.index("item:1"), keys.index("item:2")) in graph.edges


def test_a_big_case_is_clustered_within_the_budget(case: Case, tmp_path: Path) -> None:
    ids = fill(case, tmp_path, items=600, per_item=6, shared=4)
    ipv4 = {int(r[0]) for r in case.db.execute("SELECT id FROM indicators WHERE type = 'ipv4'")}
    match = Match("feed", "APT-Lantern", "partner.json", "intrusion-set")
    feed = {i: Correlation(i, "ipv4", "x", (), (match,)) for i in ipv4}
    graph = build(case.db.conn, feed)
    assert len(graph.nodes) <= MAX_NODES
    kinds = [n.kind for n in graph.nodes]
    assert kinds.count("actor") == 1
    shared = {n.ref for n in graph.nodes if n.kind == "indicator"}
    assert shared == ipv4, "the shared, matched addresses are what is drawn"
    more = [n for n in graph.nodes if n.key.startswith("more-items:")]
    assert sorted(n.size for n in more) == [150 - 12] * 4, "each address: 12 items, a cluster for the rest"
    only = [n for n in graph.nodes if n.key.startswith("only-here:")]
    assert only
    assert all(n.size == 6 for n in only), "an item's own indicators are one node"
    assert graph.hidden == 600 * 6, "what the budget leaves out is counted"
    assert graph.total_indicators == 600 * 6 + 4
    focused = build(case.db.conn, feed, focus=f"item:{ids[7]}")
    assert {n.kind for n in focused.nodes} == {"item", "indicator", "actor"}
    assert sum(1 for n in focused.nodes if n.kind == "indicator") == 7
    around = build(case.db.conn, feed, focus=f"indicator:{min(ipv4)}")
    assert sum(1 for n in around.nodes if n.kind == "item") == 150
    with pytest.raises(ValueError, match="cannot centre"):
        build(case.db.conn, feed, focus="nonsense")


def test_many_shared_indicators_still_fit_the_budget(case: Case, tmp_path: Path) -> None:
    """Each shared indicator brings items and clusters: 1,273 nodes were drawn for a budget of 400."""
    fill(case, tmp_path, items=60, per_item=1, shared=30)  # 30 addresses, each in two items
    budget = 60  # a quarter of it in indicators, five nodes each: 75 before the budget held
    graph = build(case.db.conn, {}, max_nodes=budget)
    assert len(graph.nodes) <= budget
    drawn = sum(1 for n in graph.nodes if n.kind == "indicator")
    assert drawn >= budget // 8, "as many shared indicators as fit are drawn"
    assert graph.hidden == graph.total_indicators - drawn, "and every one left out is counted"
    assert len(build(case.db.conn, {}, max_nodes=30).nodes) <= 30


def test_layout_is_deterministic_and_keeps_nodes_apart() -> None:
    graph = Graph(nodes=[Node("item:1", "item", "a", 1)] + [Node(f"indicator:{i}", "indicator", str(i), i)
                                                           for i in range(40)],
                  edges=[(0, i) for i in range(1, 41)])
    first, second = layout(graph), layout(graph)
    assert np.array_equal(first, second)
    dist = np.sqrt(((first[:, None, :] - first[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    assert dist.min() > 5  # no two dots on top of each other
    assert layout(Graph()).shape == (0, 2)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("zoom", [0.2, 1.0, 4.0])
def test_chosen_labels_never_overlap_each_other_or_a_node(zoom: float) -> None:
    rng = random.Random(3)
    nodes = [Node(f"indicator:{i}", "indicator" if i % 7 else "actor", f"value-{i}" * rng.randint(1, 3), i)
             for i in range(300)]
    graph = Graph(nodes=nodes, edges=[(i, (i * 7) % 300) for i in range(1, 300)])
    pos = layout(graph) * zoom
    labels = [(float(x) + 8, float(y) - 6, 7.0 * len(n.label), 13.0)
              for (x, y), n in zip(pos, nodes, strict=True)]
    dots = [(float(x) - 6, float(y) - 6, 12.0, 12.0) for x, y in pos]
    order = label_order(graph, selected=5)
    chosen = place_labels(labels, dots, order)
    assert chosen, "something is always labelled"
    assert order[0] == 5
    for a in chosen:
        assert not any(_overlap(labels[a], labels[b]) for b in chosen if b != a)
        assert not any(_overlap(labels[a], dots[b]) for b in range(len(nodes)) if b != a)
    if zoom == 4.0:
        assert len(chosen) > len(place_labels([(x * 0.05, y * 0.05, w, h) for x, y, w, h in labels],
                                              [(x * 0.05, y * 0.05, w, h) for x, y, w, h in dots], order))
