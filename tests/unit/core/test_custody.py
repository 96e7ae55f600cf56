# SPDX-License-Identifier: GPL-3.0-or-later
"""The custody log: hash chain, append-only triggers, and tamper detection by an insider."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core import custody, store
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.verify import verify_case

N_ENTRIES = 8  # "created" + 7 notes


@pytest.fixture
def case_path(tmp_path: Path) -> Path:
    """A closed case whose custody log holds N_ENTRIES entries."""
    path = tmp_path / "c.casetrail"
    with Case.create(path, title="t", examiner="E") as c:
        for n in range(N_ENTRIES - 1):
            c.record("note", result=f"note {n}", detail={"n": n})
    return path


@contextlib.contextmanager
def insider(case_path: Path) -> Iterator[sqlite3.Connection]:
    """Raw sqlite3 on the case file with the append-only triggers dropped, as an insider would."""
    conn = sqlite3.connect(case_path / "case.sqlite", isolation_level=None)
    try:
        conn.execute("DROP TRIGGER custody_no_update")
        conn.execute("DROP TRIGGER custody_no_delete")
        yield conn
    finally:
        conn.close()


def _chain(case_path: Path) -> custody.ChainReport:
    with Case.open(case_path, read_only=True) as c:
        return custody.verify_chain(c.db.conn)


def _row(conn: sqlite3.Connection, seq: int) -> dict[str, object]:
    cur = conn.execute("SELECT * FROM custody WHERE seq = ?", (seq,))
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def _insert(conn: sqlite3.Connection, row: dict[str, object]) -> None:
    cols = ", ".join(row)
    conn.execute(f"INSERT INTO custody ({cols}) VALUES ({', '.join('?' for _ in row)})",  # noqa: S608
                 tuple(row.values()))


def _memory_db() -> sqlite_utils.Database:
    db = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None))
    store.migrate(db)
    return db


# -- the chain as written ------------------------------------------------------------------


def test_chain_verifies_and_links(case_path: Path) -> None:
    report = _chain(case_path)
    assert report.ok
    assert report.first_bad_seq is None
    assert report.reason == ""
    assert report.length == N_ENTRIES
    with Case.open(case_path, read_only=True) as c:
        entries = c.custody()
    assert [e["seq"] for e in entries] == list(range(1, N_ENTRIES + 1))
    assert entries[0]["prev_hash"] == custody.GENESIS
    assert entries[0]["action"] == "created"
    for prev, entry in itertools.pairwise(entries):
        assert entry["prev_hash"] == prev["entry_hash"]
    assert report.head == entries[-1]["entry_hash"]


def test_entry_hash_is_sha256_of_prev_and_canonical_json() -> None:
    db = _memory_db()
    e = custody.append(db.conn, action="note", examiner="E", detail={"b": 1, "a": "é"})
    body = {k: e[k] for k in (
        "seq", "at", "action", "item_id", "examiner", "os_user", "host", "source", "reason", "tool",
        "sha256", "hash_before", "hash_after", "result", "detail", "prev_hash")}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert e["entry_hash"] == hashlib.sha256(bytes.fromhex(custody.GENESIS) + canon).hexdigest()
    assert e["detail"] == '{"a": "é", "b": 1}'


def test_entry_records_who_what_when_where_how() -> None:
    db = _memory_db()
    e = custody.append(db.conn, action="acquired", examiner="E. Xaminer", item_id=3, source="/ev/a",
                       reason="court order 7", sha256="ab" * 32, result="copy verified")
    assert e["examiner"] == "E. Xaminer"
    assert e["os_user"] == custody.os_user()
    assert e["os_user"]
    assert e["host"] == custody.host_name()
    assert e["host"]
    assert e["tool"].startswith("casetrail ")
    assert e["at"].endswith("Z")
    assert "T" in e["at"]
    assert (e["source"], e["reason"], e["item_id"]) == ("/ev/a", "court order 7", 3)


def test_unknown_action_is_refused() -> None:
    db = _memory_db()
    with pytest.raises(ValueError, match="unknown custody action"):
        custody.append(db.conn, action="deleted", examiner="E")
    assert db.conn.execute("SELECT count(*) FROM custody").fetchone()[0] == 0


# -- the triggers --------------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE custody SET result = 'nothing to see' WHERE seq = 2",
    "UPDATE custody SET seq = 99 WHERE seq = 2",
    "DELETE FROM custody WHERE seq = 2",
    "DELETE FROM custody",
])
def test_triggers_refuse_update_and_delete(case_path: Path, sql: str) -> None:
    conn = sqlite3.connect(case_path / "case.sqlite", isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert _chain(case_path).ok
    assert _chain(case_path).length == N_ENTRIES


def test_triggers_refuse_writes_through_the_case_connection(case_path: Path) -> None:
    with Case.open(case_path) as c, pytest.raises(sqlite3.DatabaseError), c.transaction() as conn:
        conn.execute("DELETE FROM custody WHERE seq = 1")
    assert _chain(case_path).length == N_ENTRIES


# -- tampering by someone who removed the triggers ----------------------------------------


@pytest.mark.parametrize("seq", [1, 4, N_ENTRIES])
@pytest.mark.parametrize(("column", "value"), [
    ("result", "nothing happened"), ("examiner", "Someone Else"), ("sha256", "0" * 64),
    ("at", "2001-01-01T00:00:00.000000Z"), ("detail", "{}"),
])
def test_edited_row_is_named(case_path: Path, seq: int, column: str, value: str) -> None:
    with insider(case_path) as conn:
        conn.execute(f"UPDATE custody SET {column} = ? WHERE seq = ?", (value, seq))  # noqa: S608
    report = _chain(case_path)
    assert not report.ok
    assert report.first_bad_seq == seq
    assert "altered" in report.reason


def test_edited_row_with_recomputed_hash_breaks_the_next_link(case_path: Path) -> None:
    with insider(case_path) as conn:
        row = _row(conn, 3)
        row["result"] = "forged"
        new_hash = custody.entry_hash(row)
        conn.execute("UPDATE custody SET result = ?, entry_hash = ? WHERE seq = 3", ("forged", new_hash))
    report = _chain(case_path)
    assert report.first_bad_seq == 4
    assert "does not link" in report.reason


@pytest.mark.parametrize("seq", [1, 3, N_ENTRIES - 1])
def test_deleted_row_is_named(case_path: Path, seq: int) -> None:
    with insider(case_path) as conn:
        conn.execute("DELETE FROM custody WHERE seq = ?", (seq,))
    report = _chain(case_path)
    assert not report.ok
    assert report.first_bad_seq == seq
    assert "missing" in report.reason


def test_deleted_rows_renumbered_are_named(case_path: Path) -> None:
    """Delete entry 3 and shift the later ones down, so no gap in seq shows."""
    with insider(case_path) as conn:
        conn.execute("DELETE FROM custody WHERE seq = 3")
        conn.execute("UPDATE custody SET seq = seq + 1000 WHERE seq > 3")
        conn.execute("UPDATE custody SET seq = seq - 1001 WHERE seq > 1000")
    report = _chain(case_path)
    assert report.first_bad_seq == 3


def test_forged_row_appended_with_bad_hash_is_named(case_path: Path) -> None:
    with insider(case_path) as conn:
        row = _row(conn, N_ENTRIES)
        row.update(seq=N_ENTRIES + 1, prev_hash=row["entry_hash"], result="forged", entry_hash="f" * 64)
        _insert(conn, row)
    assert _chain(case_path).first_bad_seq == N_ENTRIES + 1


def test_forged_row_inserted_in_the_middle_is_named(case_path: Path) -> None:
    """A careful forger: renumbers the later rows and gives the forged row a correct hash."""
    with insider(case_path) as conn:
        conn.execute("UPDATE custody SET seq = seq + 1000 WHERE seq >= 4")
        conn.execute("UPDATE custody SET seq = seq - 999 WHERE seq > 1000")
        row = _row(conn, 3)
        row.update(seq=4, prev_hash=row["entry_hash"], result="forged entry", action="note")
        row["entry_hash"] = custody.entry_hash(row)
        _insert(conn, row)
    report = _chain(case_path)
    # Entry 4 (the forgery) chains correctly onto 3; the first entry that cannot be right is 5,
    # the displaced original, whose seq and prev_hash no longer match what it was hashed with.
    assert report.first_bad_seq == 5


def test_forged_row_inserted_naively_is_named(case_path: Path) -> None:
    with insider(case_path) as conn:
        conn.execute("UPDATE custody SET seq = seq + 1000 WHERE seq >= 4")
        conn.execute("UPDATE custody SET seq = seq - 999 WHERE seq > 1000")
        row = _row(conn, 3)
        row.update(seq=4, result="forged entry")  # prev_hash and entry_hash copied from entry 3
        _insert(conn, row)
    assert _chain(case_path).first_bad_seq == 4


@pytest.mark.parametrize(("a", "b"), [(2, 3), (3, 7), (1, N_ENTRIES)])
def test_reordered_rows_are_named(case_path: Path, a: int, b: int) -> None:
    with insider(case_path) as conn:
        conn.execute("UPDATE custody SET seq = -1 WHERE seq = ?", (a,))
        conn.execute("UPDATE custody SET seq = ? WHERE seq = ?", (a, b))
        conn.execute("UPDATE custody SET seq = ? WHERE seq = -1", (b,))
    report = _chain(case_path)
    assert not report.ok
    assert report.first_bad_seq == a


def test_tampered_detail_that_is_not_json_is_still_shown(case_path: Path) -> None:
    with insider(case_path) as conn:
        conn.execute("UPDATE custody SET detail = 'not json {' WHERE seq = 2")
    with Case.open(case_path, read_only=True) as c:
        assert c.custody()[1]["detail"] == "not json {"
    assert _chain(case_path).first_bad_seq == 2


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_any_single_edit_is_named_exactly(n: int, data: st.DataObject) -> None:
    db = _memory_db()
    for i in range(n):
        custody.append(db.conn, action="note", examiner="E", result=f"r{i}", detail={"i": i})
    seq = data.draw(st.integers(min_value=1, max_value=n), label="seq")
    column = data.draw(st.sampled_from(
        ["at", "action", "examiner", "os_user", "host", "tool", "result", "detail", "prev_hash",
         "entry_hash"]), label="column")
    old = db.conn.execute(f"SELECT {column} FROM custody WHERE seq = ?", (seq,)).fetchone()[0]  # noqa: S608
    new = data.draw(st.text(min_size=1, max_size=20).filter(lambda s: s != old), label="value")
    db.conn.execute("DROP TRIGGER custody_no_update")
    db.conn.execute(f"UPDATE custody SET {column} = ? WHERE seq = ?", (new, seq))  # noqa: S608
    report = custody.verify_chain(db.conn)
    assert not report.ok
    assert report.first_bad_seq == seq


# -- verify reports what the chain and the schema say -------------------------------------


def test_verify_reports_missing_triggers(case_path: Path) -> None:
    conn = sqlite3.connect(case_path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER custody_no_delete")
    conn.close()
    with Case.open(case_path) as c:
        assert store.missing_custody_triggers(c.db) == ["custody_no_delete"]
        report = run_to_end(verify_case(c))
    assert report.chain is not None
    assert report.chain.ok, "the chain itself is intact"
    assert not report.custody_ok
    assert not report.ok
    assert any("custody_no_delete" in p for p in report.problems)
    assert report.to_json()["custody"]["ok"] is False


def test_verify_reports_first_bad_seq(case_path: Path) -> None:
    with insider(case_path) as conn:
        conn.execute("UPDATE custody SET result = 'x' WHERE seq = 5")
        # Put the triggers back so only the chain, not the schema, shows the tampering.
        conn.executescript(
            "CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody BEGIN SELECT RAISE(ABORT, 'x'); END;"
            "CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody BEGIN SELECT RAISE(ABORT, 'x'); END;")
    with Case.open(case_path) as c:
        report = run_to_end(verify_case(c))
        last = c.custody()[-1]
    out = report.to_json()
    assert out["ok"] is False
    assert out["custody"] == {**out["custody"], "ok": False, "first_bad_seq": 5}
    assert last["action"] == "verified"
    assert last["detail"]["first_bad_seq"] == 5
    assert last["result"] == "discrepancies found"
