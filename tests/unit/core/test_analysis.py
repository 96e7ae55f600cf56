# SPDX-License-Identifier: GPL-3.0-or-later
"""The assessment: ACH scoring by hand, ICD 203 terms, custody of every change, the timeline."""

from __future__ import annotations

import json
import math

import pytest

from desktop.core import analysis, custody, findings
from desktop.core.analysis import AssessmentError, Evidence, Hypothesis
from desktop.core.case import Case


def _h(i: int) -> Hypothesis:
    return Hypothesis(i, f"H{i}", "", i, "t", "x")


def _e(i: int, cred: str, rel: str) -> Evidence:
    return Evidence(i, f"E{i}", "other", None, cred, rel, i, "t")


def test_weighted_inconsistency_by_hand() -> None:
    hs = [_h(1), _h(2), _h(3)]
    ev = [_e(1, "high", "high"), _e(2, "medium", "low"), _e(3, "low", "low")]
    ratings = {(1, 1): "I", (2, 1): "II", (3, 1): "C",
               (1, 2): "C", (2, 2): "N", (3, 2): "II",
               (1, 3): "NA", (2, 3): "CC"}
    scores = analysis.score(hs, ev, ratings)
    # H1: I on high x high = 1 * sqrt2 * sqrt2 = 2; II on medium x low = 2 * 1 * (1/sqrt2) = 1.4142
    # H2: II on low x low = 2 * 0.5 = 1.  H3: NA and CC add nothing = 0.
    assert [s.hypothesis.id for s in scores] == [3, 2, 1]
    assert scores[2].weighted == pytest.approx(2 + math.sqrt(2), abs=1e-6)
    assert scores[1].weighted == pytest.approx(1.0)
    assert scores[0].weighted == 0.0
    assert [s.rank for s in scores] == [1, 2, 3]
    assert (scores[2].inconsistent, scores[2].consistent, scores[2].rated) == (2, 1, 3)
    assert (scores[0].inconsistent, scores[0].consistent, scores[0].rated) == (0, 1, 1)  # NA not rated


def test_ties_share_a_rank_and_keep_the_analysts_order() -> None:
    hs = [_h(1), _h(2), _h(3)]
    ev = [_e(1, "medium", "medium")]
    scores = analysis.score(hs, ev, {(1, 1): "I", (1, 2): "I", (1, 3): "C"})
    assert [(s.hypothesis.id, s.rank) for s in scores] == [(3, 1), (1, 2), (2, 2)]


def test_matrix_crud_is_recorded_in_custody(case: Case) -> None:
    h1 = analysis.add_hypothesis(case, "State-linked operators", "overlap")
    h2 = analysis.add_hypothesis(case, "False flag")
    e1 = analysis.add_evidence(case, "Reply-To differs", credibility="high", relevance="HIGH")
    analysis.set_rating(case, e1.id, h1.id, "c")
    analysis.set_rating(case, e1.id, h2.id, "II")
    m = analysis.matrix(case)
    assert m.rating(e1.id, h1.id) == "C"
    assert m.scores[0].hypothesis.id == h1.id
    assert m.scores[1].weighted == pytest.approx(4.0)
    analysis.update_hypothesis(case, h2.id, title="False flag by another actor")
    analysis.set_rating(case, e1.id, h2.id, None)
    analysis.delete_hypothesis(case, h1.id)
    notes = [e for e in case.custody() if e["action"] == "note"]
    whats = [e["detail"]["what"] for e in notes]
    assert whats == ["hypothesis added", "hypothesis added", "ACH evidence added", "ACH rating set",
                     "ACH rating set", "hypothesis edited", "ACH rating set", "hypothesis deleted"]
    renamed = {"title": {"old": "False flag", "new": "False flag by another actor"}}
    assert notes[5]["detail"]["changed"] == renamed
    assert notes[6]["detail"]["old"] == "II"
    assert notes[6]["detail"]["new"] is None
    assert notes[7]["detail"]["ratings"] == {str(e1.id): "C"}
    assert [h.title for h in analysis.list_hypotheses(case)] == ["False flag by another actor"]
    assert case.db.conn.execute("SELECT COUNT(*) FROM ach_ratings").fetchone()[0] == 0
    assert custody.verify_chain(case.db.conn).ok


def test_invalid_input_is_refused_and_nothing_recorded(case: Case) -> None:
    before = len(case.custody())
    h = analysis.add_hypothesis(case, "H")
    e = analysis.add_evidence(case, "E")
    with pytest.raises(AssessmentError, match="unknown ACH rating"):
        analysis.set_rating(case, e.id, h.id, "X")
    with pytest.raises(AssessmentError, match="no hypothesis 99"):
        analysis.set_rating(case, e.id, 99, "C")
    with pytest.raises(AssessmentError, match="credibility"):
        analysis.add_evidence(case, "E2", credibility="very")
    with pytest.raises(AssessmentError, match="must name"):
        analysis.add_evidence(case, "E3", kind="item")
    with pytest.raises(AssessmentError, match="no item 42"):
        analysis.add_evidence(case, "E4", kind="item", ref_id=42)
    with pytest.raises(AssessmentError, match="needs a title"):
        analysis.add_hypothesis(case, "  ")
    assert len(case.custody()) == before + 2


def test_icd203_terms_and_confidence(case: Case) -> None:
    j = analysis.add_judgment(case, "X did it", confidence="Moderate", likelihood="probable")
    assert (j.likelihood, j.confidence, j.probability) == ("likely", "moderate", (55, 80))
    assert j.statement() == "Likely (55-80%); moderate confidence."
    with pytest.raises(AssessmentError, match="ICD 203"):
        analysis.add_judgment(case, "Y", confidence="high", likelihood="maybe")
    with pytest.raises(AssessmentError, match="confidence"):
        analysis.add_judgment(case, "Y", confidence="medium", likelihood="likely")
    j2 = analysis.update_judgment(case, j.id, likelihood="almost certainly")
    assert j2.likelihood == "almost certain"
    assert list(analysis.LIKELIHOOD) == ["almost no chance", "very unlikely", "unlikely",
                                         "roughly even chance", "likely", "very likely", "almost certain"]
    assert [analysis.likelihood_for(p) for p in (0.01, 0.5, 0.55, 0.9, 0.99)] == [
        "almost no chance", "roughly even chance", "likely", "very likely", "almost certain"]
    analysis.delete_judgment(case, j.id)
    assert analysis.list_judgments(case) == []
    last = case.custody()[-1]
    assert last["detail"]["what"] == "key judgment deleted"
    assert last["detail"]["text"] == "X did it"


def test_notes_and_events(case: Case) -> None:
    n = analysis.add_note(case, "first")
    analysis.update_note(case, n.id, "second")
    assert analysis.list_notes(case)[0].text == "second"
    ev = analysis.add_evidence(case, "the note", kind="note", ref_id=n.id)
    with pytest.raises(AssessmentError, match="ACH evidence"):
        analysis.delete_note(case, n.id)
    analysis.delete_evidence(case, ev.id)
    analysis.delete_note(case, n.id)
    e = analysis.add_event(case, "2024-03-05T10:30:00+01:00", "SOC informed")
    assert e.at == "2024-03-05T09:30:00.000000Z"
    with pytest.raises(AssessmentError, match="ISO 8601"):
        analysis.add_event(case, "yesterday", "x")
    analysis.update_event(case, e.event_id or 0, title="SOC informed by phone")
    assert analysis.list_events(case)[0].title == "SOC informed by phone"
    texts = [x["detail"].get("old") for x in case.custody() if x["detail"].get("what") == "note edited"]
    assert texts == ["first"]


def test_the_timeline_sorts_instants_not_text(case: Case, evidence) -> None:  # type: ignore[no-untyped-def]
    """``...07.500000Z`` is after ``...07Z`` (as text it sorted before: ``.`` < ``Z``), issue 10."""
    from desktop.core.acquire import import_paths
    from desktop.core.progress import run_to_end

    (evidence / "m.eml").write_bytes(b"From: a\r\n\r\nx")
    item = run_to_end(import_paths(case, [evidence / "m.eml"])).acquired[0].item.id
    with case.transaction() as conn:  # times as an older case stored them: mixed precision
        findings.record_email(conn, item, {
            "date_utc": "2024-03-05T08:14:07Z", "subject": "s", "hops": [
                {"index": 0, "from_host": "mx.a", "by_host": "mx.b",
                 "time_utc": "2024-03-05T08:14:07.500000Z"},
                {"index": 1, "from_host": "mx.b", "by_host": "mx.c",
                 "time_utc": "2024-03-05T09:14:06+01:00"}]})
        for at in ("2024-03-05T08:14:07.250000Z", "2024-03-05T08:14:07Z"):
            conn.execute("INSERT INTO events (at, title, detail, created_at, created_by) "
                         "VALUES (?, ?, '', ?, ?)", (at, at, at, "x"))
    events = list(analysis.timeline(case, custody_events="none"))
    assert [(e.source, e.at) for e in events] == [
        ("hop", "2024-03-05T08:14:06.000000Z"),
        ("email", "2024-03-05T08:14:07.000000Z"), ("analyst", "2024-03-05T08:14:07.000000Z"),
        ("analyst", "2024-03-05T08:14:07.250000Z"), ("hop", "2024-03-05T08:14:07.500000Z")]
    assert [e.title for e in analysis.list_events(case)] == ["2024-03-05T08:14:07Z",
                                                            "2024-03-05T08:14:07.250000Z"]
    # Hops are numbered as people count them: hop 1 is the first server (desktop.core.hop_numbers).
    hops = [e.title.split(":")[0] for e in events if e.source == "hop"]
    assert hops == ["Received hop 2", "Received hop 1"]


def test_timeline_from_every_source(case: Case, evidence) -> None:  # type: ignore[no-untyped-def]
    from desktop.core.acquire import import_paths
    from desktop.core.progress import run_to_end

    (evidence / "m.eml").write_bytes(b"From: a\r\n\r\nx")
    (evidence / "v.mp4").write_bytes(b"video")
    (evidence / "i.png").write_bytes(b"image")
    rep = run_to_end(import_paths(case, [evidence]))
    ids = {a.item.name: a.item.id for a in rep.acquired}
    with case.transaction() as conn:
        findings.record_email(conn, ids["m.eml"], {
            "date_utc": "2024-03-05T08:14:03Z", "date_raw": "Tue, 5 Mar 2024 09:14:03 +0100",
            "subject": "invoice", "from_addr": "a@b.example", "hops": [
                {"index": 1, "from_host": "mx.a", "by_host": "mx.b", "time_utc": "2024-03-05T08:14:05Z"},
                {"index": 2, "from_host": "mx.b", "by_host": "mx.c", "time_utc": "not a time"}]})
        findings.record_media(conn, ids["v.mp4"], "video", {"creation_time": "2024-03-04T22:01:00Z"})
        exif = {"exif": {"DateTimeOriginal": "2024:03:05 10:00:00"}}
        findings.record_media(conn, ids["i.png"], "image", exif)
        conn.execute("INSERT INTO media (item_id, kind, detail) SELECT id, 'image', 'not json' FROM items "
                     "WHERE name = 'i.png' AND 0")  # a broken detail elsewhere must not break the timeline
        findings.record_occurrences(conn, ids["v.mp4"], [
            {"type": "ipv4", "value": "203.0.113.7", "source": "ocr", "where": "frame", "time_s": 30.0},
            {"type": "ipv4", "value": "203.0.113.7", "source": "ocr", "where": "frame", "time_s": 12.5}])
    analysis.add_event(case, "2024-03-05T09:30:00Z", "Reported")
    events = analysis.timeline(case)
    assert [e.at for e in events] == sorted(e.at for e in events)
    by_source = {s: [e for e in events if e.source == s] for s in analysis.TIMELINE_SOURCES}
    assert [e.at for e in by_source["email"]] == ["2024-03-05T08:14:03.000000Z"]
    # The unreadable hop is left out.
    assert [e.at for e in by_source["hop"]] == ["2024-03-05T08:14:05.000000Z"]
    assert sorted(e.at for e in by_source["media"]) == ["2024-03-04T22:01:00.000000Z",
                                                        "2024-03-05T10:00:00.000000Z"]
    assert [(e.at, e.item_id) for e in by_source["ocr"]] == [("2024-03-04T22:01:12.500000Z", ids["v.mp4"])]
    assert [e.title for e in by_source["analyst"]] == ["Reported"]
    assert len(by_source["custody"]) == len(case.custody())
    grouped = analysis.timeline(case, custody_events="grouped")
    acquired = [e for e in grouped if e.source == "custody" and "acquired" in e.title]
    assert len(acquired) == 1
    assert acquired[0].title == "Custody: acquired x 3"
    assert not [e for e in analysis.timeline(case, custody_events="none") if e.source == "custody"]
    json.dumps([e.__dict__ for e in events])  # plain data, for the window and exports
