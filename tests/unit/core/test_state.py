# SPDX-License-Identifier: GPL-3.0-or-later
"""Custody binds all state: edits behind the application's back are named by verify (issue 11)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core import analysis, custody, state, store
from desktop.core.case import Case
from desktop.core.errors import CaseOpenError
from desktop.core.progress import run_to_end
from desktop.core.tags import apply_tags
from desktop.core.verify import verify_case
from desktop.ingest.pipeline import import_and_analyse

LEGACY = Path(__file__).resolve().parents[2] / "data" / "legacy" / "legacy-case.tar.gz"


def raw(case_path: Path) -> sqlite3.Connection:
    """A connection behind the application's back, with the append-only triggers dropped."""
    conn = sqlite3.connect(case_path / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS custody_no_update")
    conn.execute("DROP TRIGGER IF EXISTS custody_no_delete")
    return conn


def tamper(case_path: Path, *sql: str) -> None:
    """Run SQL on the case as an insider would (the triggers are put back as they were)."""
    conn = raw(case_path)
    for statement in sql:
        conn.execute(statement)
    conn.executescript(store.MIGRATIONS[0][store.MIGRATIONS[0].index("CREATE TRIGGER custody_no_update"):
                                           store.MIGRATIONS[0].index("CREATE TABLE recovery")])
    conn.close()


def verify(path: Path) -> list[str]:
    with Case.open(path) as case:
        report = run_to_end(verify_case(case, record=False))
        return [] if report.ok else report.findings()


@pytest.fixture(scope="module")
def analysed_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case with analysed evidence and every kind of analyst state (built once, copied per test)."""
    root = tmp_path_factory.mktemp("bound")
    ev = root / "ev"
    ev.mkdir()
    (ev / "note.txt").write_text("Seen 192.0.2.44 and hxxp://bad-example[.]com/x\n")
    (ev / "other.txt").write_text("Other text with 198.51.100.7\n")
    # the same content as note.txt: shares item 1's analysis (items.same_as)
    (ev / "zz-copy.txt").write_text("Seen 192.0.2.44 and hxxp://bad-example[.]com/x\n")
    path = root / "c.casetrail"
    with Case.create(path, title="Bound", examiner="A. Examiner") as case:
        run_to_end(import_and_analyse(case, [ev], "test"))
        h = analysis.add_hypothesis(case, "State actor")
        h2 = analysis.add_hypothesis(case, "Hacktivist")
        e = analysis.add_evidence(case, "IP seen before")
        analysis.set_rating(case, e.id, h.id, "C")
        analysis.set_rating(case, e.id, h2.id, "II")
        j = analysis.add_judgment(case, "A state actor sent it", confidence="moderate", likelihood="likely")
        analysis.update_judgment(case, j.id, confidence="high")
        n = analysis.add_note(case, "Check the IP", item_id=1)
        analysis.update_note(case, n.id, "Checked the IP")
        analysis.add_event(case, "2020-10-05T10:00:00Z", "Mail sent")
        apply_tags(case, indicator="192.0.2.44", tags=["tlp:amber", "suspicious"])
        apply_tags(case, indicator="192.0.2.44", tags=["-suspicious"])
        analysis.delete_hypothesis(case, h2.id)
        assert run_to_end(verify_case(case)).ok
    return path


@pytest.fixture
def bound(analysed_case: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "c.casetrail"
    shutil.copytree(analysed_case, dest)
    return dest


def test_honest_case_replays_clean(bound: Path) -> None:
    with Case.open(bound) as case:
        copy = next(i for i in case.items() if i.name == "zz-copy.txt")
        assert copy.same_as == 1  # the shared-analysis path is bound too
        assert copy.status == "analysed"
        report = run_to_end(verify_case(case))
        assert report.ok, report.findings()
        assert report.replay is not None
        assert report.replay.rows_checked >= 10
        assert report.statement().startswith("Verified intact:")


@pytest.mark.parametrize(("sql", "named"), [
    ("UPDATE judgments SET likelihood = 'almost certain' WHERE id = 1", "judgments row 1 differs"),
    ("UPDATE judgments SET text = 'Hacktivists sent it' WHERE id = 1", "judgments row 1 differs"),
    ("UPDATE ach_ratings SET rating = 'CC'", "ach_ratings row"),
    ("DELETE FROM notes", "notes row 1"),
    ("INSERT INTO hypotheses (title, created_at, created_by) VALUES ('x', 'y', 'z')", "hypotheses row"),
    ("UPDATE case_meta SET value = 'clear' WHERE key = 'tlp'", "case_meta row tlp"),
    ("DELETE FROM tags", "tags row"),
    ("UPDATE occurrences SET time_s = 12.5 WHERE id = 1", "findings were changed"),
    ("UPDATE indicators SET value = '203.0.113.9' WHERE value = '192.0.2.44'", "findings were changed"),
    ("UPDATE items SET status = 'acquired' WHERE id = 1", "its status is 'acquired'"),
    ("UPDATE items SET name = 'innocent.txt' WHERE id = 1", "its name differs"),
    ("UPDATE items SET same_as = NULL WHERE name = 'zz-copy.txt'", "custody recorded 1"),
    ("DELETE FROM occurrences WHERE item_id = 3", "item 3: its analysis findings were changed"),
])
def test_edit_behind_the_back_is_named(bound: Path, sql: str, named: str) -> None:
    tamper(bound, sql)
    found = verify(bound)
    assert found, f"{sql} was not caught"
    assert any(named in f for f in found), found


def test_item_pointed_at_another_items_blob(bound: Path) -> None:
    tamper(bound, "UPDATE items SET sha256 = (SELECT sha256 FROM items WHERE id = 2), "
                  "sha1 = (SELECT sha1 FROM items WHERE id = 2), md5 = (SELECT md5 FROM items WHERE id = 2), "
                  "size = (SELECT size FROM items WHERE id = 2) WHERE id = 1")
    found = verify(bound)
    assert any("item 1: its SHA-256 differs from custody entry" in f for f in found), found


def test_item_row_deleted_with_its_blob(bound: Path) -> None:
    with Case.open(bound) as case:
        sha = case.item(2).sha256  # type: ignore[union-attr]
        blob = case.vault.blob_path(sha)
    tamper(bound, "DELETE FROM occurrences WHERE item_id = 2", "DELETE FROM items WHERE id = 2")
    blob.unlink()
    found = verify(bound)
    assert any("item 2, acquired in custody entry" in f and "missing from the items table" in f
               for f in found), found


def test_status_set_to_analysed_on_an_unanalysed_item(tmp_path: Path) -> None:
    from desktop.core.acquire import import_paths

    (tmp_path / "x.txt").write_text("x")
    with Case.create(tmp_path / "c.casetrail", title="t", examiner="e") as case:
        run_to_end(import_paths(case, [tmp_path / "x.txt"]))
    tamper(tmp_path / "c.casetrail", "UPDATE items SET status = 'analysed'")
    assert any("its status is 'analysed' but custody (never analysed) says 'acquired'" in f
               for f in verify(tmp_path / "c.casetrail"))


@pytest.mark.parametrize(("sql", "named"), [
    ("CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody BEGIN SELECT 1; END",
     "trigger custody_no_update is not the one this version creates"),
    ("CREATE TRIGGER judgments_rewrite AFTER INSERT ON judgments BEGIN SELECT 1; END",
     "extra trigger judgments_rewrite"),
    ("CREATE VIEW v AS SELECT 1", "extra view v"),
])
def test_schema_is_checked_by_exact_sql(bound: Path, sql: str, named: str) -> None:
    conn = raw(bound)
    conn.execute(sql)
    if "custody_no_update" not in sql:
        conn.execute("CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody "
                     "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: UPDATE refused'); END")
    conn.execute("CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody "
                 "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: DELETE refused'); END")
    conn.close()
    found = verify(bound)
    assert any(named in f for f in found), found


def test_empty_database_is_refused(bound: Path) -> None:
    (bound / "case.sqlite").write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        (bound / f"case.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(CaseOpenError, match="holds no Casetrail schema"):
        Case.open(bound)
    assert (bound / "case.sqlite").stat().st_size == 0, "a refused database must not be given a schema"


def test_every_table_is_bound_or_declared_derived() -> None:
    """A table added by a migration must join the replay (see desktop/core/state.py)."""
    tables = {n for (t, n), _ in store.expected_schema().items() if t == "table"}
    fts_shadow = {t for t in tables if t.startswith("text_index_")}
    snapshot_tables = {t for tables_ in state.SNAPSHOTS.values() for t in tables_}
    unbound = (tables - set(state.REPLAYED) - set(state.FINDINGS) - state.DERIVED - fts_shadow
               - snapshot_tables)
    assert not unbound, f"tables not bound to custody: {sorted(unbound)} (register them in core/state.py)"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(custody.FIELDS),
                       st.one_of(st.none(), st.integers(-(2**53) + 1, 2**53 - 1),
                                 st.text(st.characters(exclude_categories=("Cs",))))))
def test_old_canonical_form_is_rfc8785(entry: dict[str, object]) -> None:
    """Entries hashed before RFC 8785 was named hash the same: old cases verify unchanged."""
    old = json.dumps({k: entry.get(k) for k in custody.FIELDS}, sort_keys=True, separators=(",", ":"),
                     ensure_ascii=False).encode()
    assert custody.canonical(entry) == old


def test_case_made_by_the_previous_release_upgrades_and_verifies(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/data/legacy: a case and key built by Casetrail at 403685d (see build.py there)."""
    with tarfile.open(LEGACY) as tar:
        tar.extractall(tmp_path, filter="data")
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "home"))
    path = tmp_path / "legacy.casetrail"
    old = sqlite3.connect(f"{(path / 'case.sqlite').as_uri()}?mode=ro", uri=True)
    assert not state.is_bound(old)
    assert any("predates state binding" in p for p in state.replay(old).problems)
    old.close()
    with Case.open(path) as case:  # the upgrade writes the baseline
        assert state.is_bound(case.db.conn)
        report = run_to_end(verify_case(case))
        assert report.ok, report.findings()
        assert report.checkpoints == 1
        analysis.add_judgment(case, "Later work", confidence="low", likelihood="unlikely")
        assert run_to_end(verify_case(case)).ok
    tamper(path, "UPDATE judgments SET confidence = 'high' WHERE id = 1")
    assert any("judgments row 1 differs" in f for f in verify(path))
