# SPDX-License-Identifier: GPL-3.0-or-later
"""The indicator table's queries, the counts kept by triggers, and addresses sorted as numbers."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from window_case import build

from desktop.core import indicator_list, store
from desktop.core.case import Case
from desktop.core.findings import clear_item, record_occurrences, share_analysis
from desktop.core.indicator_list import IndicatorQuery
from desktop.core.indicator_order import sort_key
from desktop.core.tags import apply_tags


@pytest.fixture
def ids(case: Case, tmp_path: Path) -> dict[str, int]:
    return build(case, tmp_path / "evidence")


def _values(case: Case, query: IndicatorQuery = IndicatorQuery()) -> list[str]:
    got = indicator_list.ids(case.db.conn, query)
    rows = indicator_list.rows(case.db.conn, got)
    return [rows[i].value for i in got]


def test_addresses_sort_as_numbers(case: Case, ids: dict[str, int]) -> None:
    assert _values(case, IndicatorQuery(type="ipv4")) == ["9.9.9.9", "10.0.0.9", "10.0.0.10"]
    assert _values(case, IndicatorQuery(sort="value", descending=True))[-1] == "9.9.9.9"


@given(st.lists(st.ip_addresses(), min_size=2, max_size=40))
@settings(max_examples=60, deadline=None)
def test_the_key_orders_like_the_addresses(
        addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> None:
    def as_v6(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
        return int(ipaddress.IPv6Address(f"::ffff:{a}")) if a.version == 4 else int(a)

    by_key = sorted(addresses, key=lambda a: sort_key(f"ipv{a.version}", str(a)))
    assert [as_v6(a) for a in by_key] == sorted(as_v6(a) for a in addresses)
    assert sort_key("ipv6", "::ffff:1.2.3.4") == sort_key("ipv4", "1.2.3.4"), "one host, one key"


def test_counts_items_and_sources_come_with_each_row(case: Case, ids: dict[str, int]) -> None:
    conn = case.db.conn
    found = indicator_list.lookup(conn, "ipv4", "10.0.0.10")
    assert found is not None
    row = indicator_list.rows(conn, [found])[found]
    assert (row.occurrences, row.items, row.sources) == (3, 2, ("header", "body", "attachment"))
    by_count = _values(case, IndicatorQuery(sort="occurrences", descending=True))
    assert by_count[0] == "10.0.0.10"


def test_filters(case: Case, ids: dict[str, int]) -> None:
    conn = case.db.conn
    assert _values(case, IndicatorQuery(text="example")) == ["a@example.org"]
    assert _values(case, IndicatorQuery(source="attachment")) == ["10.0.0.10"]
    apply_tags(case, indicator="9.9.9.9", tags=["tlp:amber"])
    assert _values(case, IndicatorQuery(tag="tlp:amber")) == ["9.9.9.9"]
    nine = indicator_list.lookup(conn, "ipv4", "9.9.9.9")
    assert nine is not None
    assert _values(case, IndicatorQuery(match="matched", matched=frozenset({nine}))) == ["9.9.9.9"]
    assert "9.9.9.9" not in _values(case, IndicatorQuery(match="unmatched", matched=frozenset({nine})))
    assert _values(case, IndicatorQuery(only=frozenset({("email", "a@example.org")}))) == ["a@example.org"]
    counts = {nine: 5}
    assert _values(case, IndicatorQuery(sort="matches", descending=True, match_counts=counts))[0] == "9.9.9.9"
    assert indicator_list.tags_used(conn) == ["tlp:amber"]
    assert dict(indicator_list.types(conn)) == {"email": 1, "ipv4": 3}


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", sorted(indicator_list.SORTS))
def test_sorting_reads_an_index(case: Case, ids: dict[str, int], sort: str, descending: bool) -> None:
    order = indicator_list.order_by(sort, descending)
    plan = " ".join(str(r[-1]) for r in case.db.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM indicators WHERE n_occurrences > 0{order}"))  # noqa: S608
    assert "TEMP B-TREE" not in plan, plan


def _aggregate(case: Case) -> dict[int, tuple[int, ...]]:
    cols = ", ".join(f"SUM(source = '{s}')" for s in indicator_list.SOURCES)
    return {int(r[0]): tuple(int(v) for v in r[1:]) for r in case.db.conn.execute(
        f"SELECT indicator_id, COUNT(*), COUNT(DISTINCT item_id), {cols} "  # noqa: S608
        "FROM occurrences GROUP BY indicator_id")}


def _stored(case: Case) -> dict[int, tuple[int, ...]]:
    cols = ", ".join(f"n_{s}" for s in indicator_list.SOURCES)
    return {int(r[0]): tuple(int(v) for v in r[1:]) for r in case.db.conn.execute(
        f"SELECT id, n_occurrences, n_items, {cols} FROM indicators WHERE n_occurrences > 0")}  # noqa: S608


def test_the_counts_follow_every_write_of_occurrences(case: Case, ids: dict[str, int]) -> None:
    assert _stored(case) == _aggregate(case)
    with case.transaction() as conn:
        share_analysis(conn, ids["copy.txt"], ids["a-note.txt"])
    assert _stored(case) == _aggregate(case)
    with case.transaction() as conn:
        clear_item(conn, ids["b-mail.eml"])
        conn.execute("UPDATE occurrences SET source = 'ocr' WHERE item_id = ?", (ids["a-note.txt"],))
    assert _stored(case) == _aggregate(case)
    with case.transaction() as conn:
        record_occurrences(conn, ids["logo.png"], [
            {"type": "ipv4", "value": "10.0.0.9", "source": "ocr", "where": "image"}] * 3)
        conn.execute("UPDATE occurrences SET item_id = ? WHERE item_id = ?",
                     (ids["c-big.bin"], ids["logo.png"]))
    assert _stored(case) == _aggregate(case)


def test_an_older_case_gets_its_counts_and_keys_when_upgraded(tmp_path: Path, ids: dict[str, int],
                                                               case: Case) -> None:
    expected = _stored(case)
    keys = dict(case.db.conn.execute("SELECT id, sort_key FROM indicators").fetchall())
    case.db.conn.executescript(
        "BEGIN; DROP TRIGGER occurrences_counted; DROP TRIGGER occurrences_uncounted; "
        "DROP TRIGGER occurrences_recounted; UPDATE indicators SET n_occurrences = 0, n_items = 0, "
        "n_body = 0, n_header = 0, n_attachment = 0, sort_key = NULL; COMMIT;")
    # Replay migration 13 as an older case would see it, from its own SQL.
    case.db.conn.executescript(
        "BEGIN; " + store.MIGRATIONS[12].split("CREATE TRIGGER occurrences_counted")[0]
        .split("DROP INDEX occurrences_indicator;")[1] + " COMMIT;")
    store.BACKFILLS[13](case.db.conn)
    assert _stored(case) == expected
    assert dict(case.db.conn.execute("SELECT id, sort_key FROM indicators").fetchall()) == keys
