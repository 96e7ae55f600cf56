# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's writes: what each says it changed, and undo/redo through the same core functions."""

from __future__ import annotations

from pathlib import Path

import pytest
from window_case import build

from desktop.core import analysis, custody, edits, indicator_list, state
from desktop.core.case import Case
from desktop.core.changes import Changes, Edit, History
from desktop.core.errors import CasetrailError
from desktop.core.tags import apply_tags, tags_of


@pytest.fixture
def ids(case: Case, tmp_path: Path) -> dict[str, int]:
    return build(case, tmp_path / "evidence")


def _indicator(case: Case, value: str) -> int:
    found = indicator_list.lookup(case.db.conn, "ipv4", value)
    assert found is not None
    return found


def _undo(case: Case, history: History) -> Changes:
    edit = history.take_undo()
    assert edit is not None
    changes = edit.apply(case)
    history.undone(edit, changes)
    return changes


def _redo(case: Case, history: History) -> Changes:
    edit = history.take_redo()
    assert edit is not None
    changes = edit.apply(case)
    history.redone(edit, changes)
    return changes


def test_tagging_says_whose_tags_changed_and_undo_removes_only_what_it_added(
        case: Case, ids: dict[str, int]) -> None:
    nine, ten = _indicator(case, "9.9.9.9"), _indicator(case, "10.0.0.10")
    apply_tags(case, indicator="9.9.9.9", tags=["tlp:amber"])  # already there before the edit
    before = custody.last_seq(case.db.conn)
    changes = edits.tag(case, "indicator", [nine, ten], add=["tlp:amber"])
    assert changes.tags == {("indicator", ten)}
    assert changes.custody == 1 == custody.last_seq(case.db.conn) - before
    history = History()
    history.record(changes)
    assert history.undo_label == "tag tlp:amber on 2 indicators"
    undone = _undo(case, history)
    assert undone.tags == {("indicator", ten)}
    assert tags_of(case.db.conn, "indicator", nine) == ["tlp:amber"], "a tag it did not add stays"
    assert tags_of(case.db.conn, "indicator", ten) == []
    assert history.redo_label == "tag tlp:amber on 2 indicators"
    assert history.undo_label == ""
    _redo(case, history)
    assert tags_of(case.db.conn, "indicator", ten) == ["tlp:amber"]
    entries = [e for e in case.custody() if e["action"] == "tagged"]
    assert [e["detail"]["op"] for e in entries] == ["add", "add", "remove", "add"], "undo is history too"
    assert custody.verify_chain(case.db.conn).ok
    assert state.replay(case.db.conn).problems == [], "an undo is an analyst change custody replays"


def test_tags_on_items_name_the_item(case: Case, ids: dict[str, int]) -> None:
    changes = edits.tag(case, "item", [ids["c-big.bin"]], add=["needs review"])
    assert changes.items == {ids["c-big.bin"]}
    assert changes.tags == {("item", ids["c-big.bin"])}
    again = edits.tag(case, "item", [ids["c-big.bin"]], add=["needs review"])
    assert again.empty, "nothing new, nothing said"
    with pytest.raises(CasetrailError):
        edits.tag(case, "item", [99999], add=["x"])


def test_undo_of_a_deleted_hypothesis_brings_back_its_ratings(case: Case, ids: dict[str, int]) -> None:
    history = History()
    h = edits.add_hypothesis(case, "State-linked operators", "would reuse infrastructure")
    history.record(h)
    hyp = analysis.list_hypotheses(case)[0]
    other = edits.add_hypothesis(case, "Criminal group")
    e = edits.add_evidence(case, "Hop from a VPS range", kind="item", ref_id=ids["b-mail.eml"])
    ev = analysis.list_evidence(case)[0]
    history.record(edits.set_rating(case, ev.id, hyp.id, "CC"))
    same = edits.set_rating(case, ev.id, hyp.id, "CC")
    assert same.inverse is None, "setting the same rating changes nothing"
    deleted = edits.delete_hypothesis(case, hyp.id)
    assert deleted.assessment
    assert deleted.custody == 1
    history.record(deleted)
    _undo(case, history)
    back = [x for x in analysis.list_hypotheses(case) if x.title == "State-linked operators"]
    assert len(back) == 1
    assert back[0].id != hyp.id
    assert back[0].position == hyp.position
    assert analysis.matrix(case).ratings[(ev.id, back[0].id)] == "CC"
    _redo(case, history)  # deletes the hypothesis again: the one with the new id
    assert [x.title for x in analysis.list_hypotheses(case)] == ["Criminal group"]
    _undo(case, history)
    _undo(case, history)  # the rating, set back to unrated
    restored = next(x for x in analysis.list_hypotheses(case) if x.title == "State-linked operators")
    assert (ev.id, restored.id) not in analysis.matrix(case).ratings
    assert other.assessment
    assert e.assessment


def test_every_assessment_edit_can_be_undone(case: Case, ids: dict[str, int]) -> None:
    history = History()
    history.record(edits.add_judgment(case, "The sender is state-linked", confidence="moderate",
                                      likelihood="likely"))
    judgment = analysis.list_judgments(case)[0]
    history.record(edits.update_judgment(case, judgment.id, confidence="high"))
    history.record(edits.add_note(case, "check the hop", item_id=ids["b-mail.eml"]))
    note = analysis.list_notes(case)[0]
    history.record(edits.update_note(case, note.id, "checked the hop"))
    history.record(edits.delete_note(case, note.id))
    ev = edits.add_event(case, "2024-03-01T14:05:00Z", "Victim reports the mail")
    assert ev.timeline
    assert not ev.assessment
    history.record(ev)
    event = analysis.list_events(case)[0]
    history.record(edits.update_event(case, event.event_id or 0, title="SOC ticket opened"))
    for _ in range(7):
        _undo(case, history)
    assert analysis.list_judgments(case) == []
    assert analysis.list_notes(case) == []
    assert analysis.list_events(case) == []
    assert history.undo_label == ""
    for _ in range(7):
        _redo(case, history)
    assert analysis.list_judgments(case)[0].confidence == "high"
    assert analysis.list_notes(case) == []  # the note was written, edited and deleted again
    assert [e.title for e in analysis.list_events(case)] == ["SOC ticket opened"]
    assert custody.verify_chain(case.db.conn).ok
    assert state.replay(case.db.conn).problems == [], "an undo is an analyst change custody replays"


def test_a_new_edit_clears_what_could_be_redone() -> None:
    history = History()
    calls: list[str] = []

    def step(name: str) -> Changes:
        calls.append(name)
        return Changes(label=name, inverse=Edit(name, lambda _case: step(f"undo {name}")))

    history.record(step("a"))
    edit = history.take_undo()
    assert edit is not None
    history.undone(edit, edit.apply(None))  # type: ignore[arg-type]
    assert history.redo_label == "a"
    history.record(step("b"))
    assert history.redo_label == ""
    assert history.undo_label == "b"


def test_exporting_an_original_is_verified_and_recorded(case: Case, ids: dict[str, int],
                                                        tmp_path: Path) -> None:
    dest = tmp_path / "out" / "invoice.pdf"
    dest.parent.mkdir()
    done = edits.export_original(case, ids["invoice.pdf"], dest)
    assert dest.read_bytes() == b"%PDF-1.4 fake"
    assert done.changes.custody == 1
    entry = case.custody()[-1]
    assert (entry["action"], entry["item_id"]) == ("exported", ids["invoice.pdf"])
    assert entry["sha256"] == done.sha256
    with pytest.raises(CasetrailError, match="exists already"):
        edits.export_original(case, ids["invoice.pdf"], dest)
    assert list(dest.parent.iterdir()) == [dest], "no temp file is left"


def test_removing_a_feed_takes_a_new_bound_snapshot_naming_it(
        case: Case, ids: dict[str, int], tmp_path: Path) -> None:
    from desktop.core import references
    from desktop.core.intel import Library

    feed = tmp_path / "partner.csv"
    feed.write_text("value,type\n9.9.9.9,ipv4\n", encoding="utf-8")
    library = tmp_path / "library.sqlite"
    with Library.open(library) as lib:
        lib.import_feed(feed)
    listed = edits.list_feeds(library_path=library)
    assert [f.file_name for f in listed] == ["partner.csv"]
    looked = edits.refresh_lookups(case, library_path=library)
    assert looked.feeds
    assert looked.custody >= 1
    assert [m for m in references.snapshot(case.db.conn)[0] if m.source == "feed"]
    removed = edits.remove_feed(listed[0].id, case=case, library_path=library)
    assert removed.feeds
    assert removed.custody == 1
    entry = case.custody()[-1]
    assert entry["detail"]["what"] == "intelligence snapshot"
    assert listed[0].sha256 in entry["reason"]
    assert entry["detail"]["snapshot_sha256"] == state.snapshot_digest(case.db.conn, references.SNAPSHOT)
    assert not [m for m in references.snapshot(case.db.conn)[0] if m.source == "feed"]
    assert edits.list_feeds(library_path=library) == []
    with pytest.raises(CasetrailError):
        edits.remove_feed(listed[0].id, library_path=library)
    assert edits.list_feeds(library_path=tmp_path / "none.sqlite") == []
