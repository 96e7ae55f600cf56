# SPDX-License-Identifier: GPL-3.0-or-later
"""The analyst's briefing state (statements, distribution, settings, grades), redaction by role, markings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop.core import dissemination, findings, grading, statements
from desktop.core.case import Case
from desktop.core.correlate import Correlation, Match
from desktop.core.errors import CasetrailError
from desktop.core.markings import case_marking, printable_cases, printable_correlations, stricter
from desktop.core.redaction import parse_redactions, role_values
from desktop.core.tags import apply_tags


def test_statements_by_kind_with_custody(case: Case) -> None:
    a = statements.add_statement(case, "assumption", "The video is the sender's own screen.")
    statements.add_statement(case, "watch", "The provider names another customer.")
    statements.add_statement(case, "gap", "No provider records.")
    assert [s.kind for s in statements.list_statements(case)] == ["assumption", "gap", "watch"]
    assert case.custody()[-1]["detail"]["new"]["text"] == "No provider records."
    statements.update_statement(case, a.id, "Edited.")
    entry = case.custody()[-1]["detail"]
    assert entry["old"]["text"] == "The video is the sender's own screen."
    assert entry["new"]["text"] == "Edited."
    statements.delete_statement(case, a.id)
    assert case.custody()[-1]["detail"]["new"] is None
    with pytest.raises(statements.StatementError, match="unknown kind"):
        statements.add_statement(case, "rumour", "x")
    with pytest.raises(statements.StatementError):
        statements.add_statement(case, "gap", " ")


def test_distribution_settings_and_declaration(case: Case) -> None:
    r = dissemination.add_recipient(case, "Task force", "State board", "copy 1 of 2")
    assert case.custody()[-1]["detail"]["new"]["recipient"] == "Task force"
    assert [x.recipient for x in dissemination.distribution(case)] == ["Task force"]
    dissemination.remove_recipient(case, r.id)
    assert dissemination.distribution(case) == []
    text, written = dissemination.declaration(case)
    assert not written
    assert "A. Examiner" in text
    dissemination.set_setting(case, "declaration", "I declare it.")
    dissemination.set_setting(case, "poc_name", "Dana")
    assert dissemination.declaration(case) == ("I declare it.", True)
    detail = case.custody()[-1]["detail"]
    assert {k: detail[k] for k in ("what", "key", "new", "old")} == {
        "what": "briefing setting poc_name set",
        "key": "poc_name",
        "new": "Dana",
        "old": None,
    }
    assert detail["state"][0]["row"]["value"] == "Dana"  # the complete row, replayed by verify
    dissemination.set_setting(case, "poc_name", "")
    assert "poc_name" not in dissemination.settings(case)
    with pytest.raises(dissemination.DisseminationError):
        dissemination.set_setting(case, "colour", "red")


def test_grades_from_the_analyst_and_from_the_source() -> None:
    misp = {
        "Event": {
            "info": "x",
            "Tag": [
                {"name": 'admiralty-scale:source-reliability="b"'},
                {"name": 'admiralty-scale:information-credibility="2"'},
            ],
        }
    }
    g = grading.source_markings(json.dumps(misp).encode())
    assert g is not None
    assert g.code == "B2"
    assert g.by == "source"
    assert g.describe() == "B2: source usually reliable; information probably true"
    stix = {
        "type": "bundle",
        "objects": [{"type": "indicator", "confidence": 85}, {"type": "report", "confidence": 90}],
    }
    g = grading.source_markings(json.dumps(stix).encode())
    assert g is not None
    assert g.code == "?1"
    assert grading.source_markings(b'{"type": "bundle", "objects": []}') is None
    assert grading.source_markings(b"not json") is None
    assert [grading.credibility_of_confidence(c) for c in (100, 80, 79, 40, 20, 0)] == [
        "1",
        "1",
        "2",
        "3",
        "4",
        "5",
    ]


def test_the_analyst_grades_a_source(case: Case) -> None:
    digest = "ab" * 32
    g = grading.grade_source(case, digest, "Partner report", "b2", "good record")
    assert (g.reliability, g.credibility) == ("B", "2")
    assert grading.analyst_grades(case)[digest].grade().describe().startswith("B2: source usually reliable")
    assert case.custody()[-1]["detail"]["new"]["reliability"] == "B"
    with pytest.raises(grading.GradingError):
        grading.grade_source(case, digest, "x", "Z9")
    with pytest.raises(grading.GradingError):
        grading.grade_source(case, "not-a-hash", "x", "A1")
    grading.grade_source(case, digest, "", "")
    assert grading.analyst_grades(case) == {}


def test_redaction_by_role(case: Case) -> None:
    with case.transaction() as conn:
        item = conn.execute(
            "INSERT INTO items (kind, name, source_path, size, sha256, sha1, md5, mime, magic, "
            "acquired_at, acquired_by) VALUES ('email', 'm.eml', '/m', 1, 'a', 'b', 'c', "
            "'message/rfc822', 'x', 'now', 'me')"
        ).lastrowid
        findings.record_email(
            conn,
            int(item or 0),
            {
                "to": [{"name": "Jane Voter", "addr": "jane@county.example"}],
                "cc": [{"name": "", "addr": "cc@x.example"}],
                "hops": [{"index": 1, "for_addr": "jane@county.example"}],
            },
        )
        findings.record_occurrences(
            conn,
            int(item or 0),
            [{"type": "email", "value": "victim2@corp.example", "source": "body", "where": "text body"}],
        )
    apply_tags(case, indicator="victim2@corp.example", tags=["role:victim"])
    conn = case.db.conn
    assert role_values(conn, ["recipients"]) == ["Jane Voter", "cc@x.example", "jane@county.example"]
    assert "victim2@corp.example" in role_values(conn, ["victims"])
    with pytest.raises(CasetrailError, match="unknown redaction role"):
        role_values(conn, ["neighbours"])
    assert parse_redactions(["recipients", "value:victims", "a@b"]) == (["recipients"], ["victims", "a@b"])


def test_other_cases_are_named_only_within_their_marking(tmp_path: Path) -> None:
    cases = {}
    for name, tlp in (("red", "red"), ("green", "green")):
        c = Case.create(tmp_path / f"{name}.casetrail", title=f"Case {name}", examiner="E", tlp=tlp)
        cases[name] = (str(c.meta["case_id"]), str(c.path))
        c.close()
    paths = dict(cases.values())
    red, green = cases["red"][0], cases["green"][0]
    assert case_marking(cases["red"][1]) == "red"
    assert case_marking(tmp_path / "gone.casetrail") is None
    assert stricter("red", "amber")
    assert not stricter("green", "amber")
    assert stricter("bogus", "red")
    assert printable_cases(paths, "amber", {red, green, "unknown-id"}) == {green}
    assert printable_cases(paths, "red", {red, green}) == {red, green}

    class _Library:
        def cases(self) -> list[object]:
            from desktop.core.intel import CaseInfo

            return [CaseInfo(cid, "t", "", path, "", 0) for cid, path in paths.items()]

    corr = {
        1: Correlation(
            1,
            "ipv4",
            "203.0.113.7",
            (1,),
            (
                Match("case", "Case red", "items 1", "other-case", red),
                Match("case", "Case green", "items 2", "other-case", green),
                Match("feed", "X", "f.json: p", "feed"),
            ),
        )
    }
    shown, hidden = printable_correlations(corr, _Library(), "amber")  # type: ignore[arg-type]
    assert [m.name for m in shown[1].matches] == ["Case green", "X"]
    assert hidden == 1
    shown, hidden = printable_correlations(corr, _Library(), "red", other_cases=False)  # type: ignore[arg-type]
    assert [m.name for m in shown[1].matches] == ["X"]
    assert hidden == 2
    # The green case's folder now holds another case (deleted and made again): not the one indexed.
    shutil.rmtree(cases["green"][1])
    Case.create(Path(cases["green"][1]), title="Case green", examiner="E", tlp="green").close()
    assert case_marking(cases["green"][1]) == "green"
    assert case_marking(cases["green"][1], green) is None
    assert printable_cases(paths, "red", {red, green}) == {red}


def test_verify_replays_the_briefing_state_and_names_an_edit_behind_its_back(case: Case) -> None:
    from desktop.core import state

    statements.add_statement(case, "gap", "No provider records.")
    dissemination.add_recipient(case, "Task force")
    dissemination.set_setting(case, "poc_name", "Dana")
    grading.grade_source(case, "cd" * 32, "Feed", "C3")
    assert state.replay(case.db.conn).problems == []
    assert _standalone_replay(case) == []  # packaging/verify_case.py knows these tables too
    case.db.conn.execute("UPDATE statements SET text = 'Provider records say it was someone else.'")
    case.db.conn.execute("UPDATE source_grades SET reliability = 'A'")
    found = state.replay(case.db.conn).problems
    assert any("statements row 1 differs" in f for f in found), found
    assert any("source_grades row" in f for f in found), found
    assert len(_standalone_replay(case)) == 2


def _standalone_replay(case: Case) -> list[str]:
    """The replay of the standalone verifier (stdlib + cryptography), written apart from the core."""
    import importlib.util

    from desktop.core import state

    path = Path(__file__).resolve().parents[3] / "packaging" / "verify_case.py"
    spec = importlib.util.spec_from_file_location("verify_case_i12", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.REPLAYED == state.REPLAYED
    case.db.conn.commit()
    verifier = module.Verifier(case.path, None, None)
    verifier.replay()
    return list(verifier.problems)
