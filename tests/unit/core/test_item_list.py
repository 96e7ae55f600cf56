# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence tree's queries: levels, sort orders from indexes, flat filters, rows and flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from window_case import build

from desktop.core import item_list
from desktop.core.case import Case
from desktop.core.intel import Library
from desktop.core.item_list import ItemQuery
from desktop.core.tags import apply_tags


@pytest.fixture
def ids(case: Case, tmp_path: Path) -> dict[str, int]:
    return build(case, tmp_path / "evidence")


def _names(case: Case, item_ids: list[int]) -> list[str]:
    rows = item_list.rows(case.db.conn, item_ids)
    return [rows[i].item.name for i in item_ids]


def test_the_top_level_holds_what_was_imported_and_children_hang_below(case: Case,
                                                                       ids: dict[str, int]) -> None:
    conn = case.db.conn
    assert _names(case, item_list.top_ids(conn)) == ["a-note.txt", "b-mail.eml", "c-big.bin", "copy.txt"]
    assert _names(case, item_list.child_ids(conn, ids["b-mail.eml"])) == ["invoice.pdf", "logo.png"]
    assert item_list.rows(conn, [ids["b-mail.eml"]])[ids["b-mail.eml"]].children == 2
    assert item_list.ancestors(conn, ids["logo.png"]) == [ids["b-mail.eml"]]
    assert item_list.count(conn) == 6


@pytest.mark.parametrize(("sort", "descending", "first"), [
    ("name", False, "a-note.txt"), ("name", True, "copy.txt"), ("size", True, "c-big.bin"),
    ("size", False, "b-mail.eml"), ("id", True, "copy.txt")])
def test_every_column_sorts_in_sql(case: Case, ids: dict[str, int], sort: str, descending: bool,
                                   first: str) -> None:
    got = item_list.top_ids(case.db.conn, ItemQuery(sort=sort, descending=descending))
    assert _names(case, got)[0] == first


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", sorted(item_list.SORTS))
def test_sorting_reads_an_index(case: Case, sort: str, descending: bool) -> None:
    order = item_list.order_by(ItemQuery(sort=sort, descending=descending))
    plan = " ".join(str(r[-1]) for r in case.db.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM items WHERE parent_id IS NULL{order}"))  # noqa: S608
    assert "TEMP B-TREE" not in plan, f"sorting by {sort} must read an index, not sort rows: {plan}"
    child = " ".join(str(r[-1]) for r in case.db.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM items WHERE parent_id = 1{order}"))  # noqa: S608
    assert "TEMP B-TREE" not in child, child
    flat = " ".join(str(r[-1]) for r in case.db.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM items{order}"))  # noqa: S608
    assert "TEMP B-TREE" not in flat, f"the flat table sorted by {sort} must read an index: {flat}"


def test_a_filter_lists_matches_flat_from_every_level(case: Case, ids: dict[str, int]) -> None:
    conn = case.db.conn
    assert _names(case, item_list.top_ids(conn, ItemQuery(text="logo"))) == ["logo.png"]
    assert _names(case, item_list.top_ids(conn, ItemQuery(text="100%"))) == [], "LIKE wildcards are literal"
    sha = item_list.rows(conn, [ids["c-big.bin"]])[ids["c-big.bin"]].item.sha256
    assert _names(case, item_list.top_ids(conn, ItemQuery(text=sha[:12]))) == ["c-big.bin"]


def test_duplicates_and_tags_are_flags(case: Case, ids: dict[str, int]) -> None:
    conn = case.db.conn
    dup = item_list.top_ids(conn, ItemQuery(flags=frozenset({"duplicate"})))
    assert sorted(_names(case, dup)) == ["a-note.txt", "copy.txt"]
    assert item_list.rows(conn, [ids["copy.txt"]])[ids["copy.txt"]].duplicates == 1
    first = min(ids["a-note.txt"], ids["copy.txt"])
    both = item_list.rows(conn, [ids["a-note.txt"], ids["copy.txt"]])
    assert {r.first_copy for r in both.values()} == {first}, "both name the first copy"
    alone = item_list.rows(conn, [ids["c-big.bin"]])[ids["c-big.bin"]]
    assert (alone.duplicates, alone.first_copy) == (0, ids["c-big.bin"])
    apply_tags(case, item_id=ids["c-big.bin"], tags=["tlp:red"])
    tagged = item_list.top_ids(conn, ItemQuery(flags=frozenset({"tagged"})))
    assert _names(case, tagged) == ["c-big.bin"]
    assert item_list.rows(conn, tagged)[ids["c-big.bin"]].tags == ("tlp:red",)
    with pytest.raises(ValueError, match="unknown item flag"):
        item_list.top_ids(conn, ItemQuery(flags=frozenset({"nonsense"})))


def test_a_hash_a_feed_lists_is_known(case: Case, ids: dict[str, int], tmp_path: Path) -> None:
    sha = item_list.rows(case.db.conn, [ids["invoice.pdf"]])[ids["invoice.pdf"]].item.sha256
    feed = tmp_path / "partner.csv"
    feed.write_text(f"type,value,actor\nsha256,{sha},Partner report 7\n")
    with Library.open() as library:
        library.import_feed(feed)
        known = item_list.known_items(case.db.conn, library, case_id=str(case.meta["case_id"]))
    assert set(known) == {ids["invoice.pdf"]}
    got = item_list.top_ids(case.db.conn, ItemQuery(flags=frozenset({"known"}), known=frozenset(known)))
    assert got == [ids["invoice.pdf"]]


def test_a_listing_holds_the_first_level_and_the_open_parents_in_the_new_order(
        case: Case, ids: dict[str, int]) -> None:
    """What a sort reads off the GUI thread: every list the tree shows, in one new order."""
    conn = case.db.conn
    query = ItemQuery(sort="name", descending=True)
    got = item_list.listing(conn, query, [ids["b-mail.eml"]])
    assert got.query == query
    assert got.top == item_list.top_ids(conn, query)
    assert _names(case, got.top) == ["copy.txt", "c-big.bin", "b-mail.eml", "a-note.txt"]
    assert got.children == {ids["b-mail.eml"]: [ids["logo.png"], ids["invoice.pdf"]]}
    assert item_list.listing(conn, ItemQuery()).children == {}
