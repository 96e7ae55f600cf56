# SPDX-License-Identifier: GPL-3.0-or-later
"""Key findings: drafted from sightings and correlations, decided by the analyst, bound to custody."""

from __future__ import annotations

import pytest

from desktop.core import findings
from desktop.core.acquire import acquire_derived, import_paths
from desktop.core.case import Case, Item
from desktop.core.citations import refs_in
from desktop.core.correlate import Correlation, Match
from desktop.core.intel import AsnRecord
from desktop.core.key_findings import (
    FindingError,
    add_finding,
    decide,
    decisions,
    draft_findings,
    forget,
    key_findings,
    update_finding,
)
from desktop.core.progress import run_to_end


def _message_with_video(case: Case, png: bytes, status: str = "certain") -> tuple[Item, Item, Item]:
    source = case.path.parent / "mail.eml"
    source.write_bytes(b"From: a@b\r\nSubject: hi\r\n\r\nbody")
    mail = run_to_end(import_paths(case, [source], "test")).acquired[0].item
    video = acquire_derived(case, mail, "video.mp4", b"\x00\x00\x00\x18ftypmp42" * 8, "attachment").item
    frame = acquire_derived(
        case, video, "frame-00000.500s.png", png, "video frame", {"time_s": 0.5, "frame_index": 5}
    ).item
    with case.transaction() as conn:
        findings.record_email(conn, mail.id, {"subject": "Vote or else", "from_addr": "a@b", "hops": []})
        findings.record_ocr_lines(
            conn,
            video.id,
            [
                {
                    "text": "ssh root@185.141.63.120",
                    "box": [1, 2, 30, 4],
                    "time_s": 0.5,
                    "frame_index": 5,
                    "confidence": 0.97,
                }
            ],
        )
        findings.record_occurrences(
            conn,
            video.id,
            [
                {
                    "type": "ipv4",
                    "value": "185.141.63.120",
                    "source": "ocr",
                    "where": "frame at 0.50 s",
                    "time_s": 0.5,
                    "bbox": [1, 2, 30, 4],
                    "frame_item_id": frame.id,
                    "status": status,
                }
            ],
        )
        findings.record_occurrences(
            conn,
            mail.id,
            [
                {
                    "type": "ipv4",
                    "value": "185.141.63.120",
                    "source": "header",
                    "where": "Received (hop 1 of 2)",
                },
                {"type": "domain", "value": "example.com", "source": "body", "where": "text body"},
                {
                    "type": "domain",
                    "value": "sender.example.org",
                    "source": "header",
                    "where": "Message-ID",
                },
            ],
        )
    return mail, video, frame


def _corr(case: Case, **extra: tuple[Match, ...]) -> dict[int, Correlation]:
    out = {}
    for ind, t, v in case.db.conn.execute("SELECT id, type, value FROM indicators"):
        matches = extra.get(v.replace(".", "_"), ())
        asn = AsnRecord(64500, "DEMO-HOSTING-NL", "NL") if t == "ipv4" else None
        out[int(ind)] = Correlation(int(ind), t, v, (), matches, asn)
    return out


FEED = Match(
    "feed",
    "SANDSTORM-7",
    "partner.stix.json: indicator 'VPS' indicates intrusion-set 'SANDSTORM-7'",
    "intrusion-set",
)
BENIGN = Match("warninglist", "RFC 6761 special-use domains", "special use", "rfc6761")


def test_a_feed_match_on_screen_is_drafted_with_its_exhibits(case: Case, png: bytes) -> None:
    mail, video, frame = _message_with_video(case, png)
    drafts = draft_findings(case, _corr(case, **{"185_141_63_120": (FEED,)}))
    ip = drafts[0]
    assert ip.key == "indicator:ipv4:185.141.63.120"
    assert "185[.]141[.]63[.]120" in ip.text
    assert "185.141.63.120" not in ip.text
    assert "on screen at 0.50\u00a0s (frame 5" in ip.text
    assert "SANDSTORM-7" in ip.text
    assert "AS64500 DEMO-HOSTING-NL" in ip.text
    assert "Received (hop 1 of 2)" in ip.text
    cited = [r.number for r in refs_in(ip.text) if r.kind == "item"]
    assert cited[0] == frame.id
    assert {video.id, mail.id} <= set(cited)
    assert frame.id in ip.items
    assert mail.id in ip.items
    assert draft_findings(case, _corr(case, **{"185_141_63_120": (FEED,)})) == drafts  # a pure function


@pytest.mark.parametrize("status", ["uncertain", "enhanced"])
def test_an_uncertain_reading_is_no_ground_and_an_enhanced_one_says_so(case: Case, png: bytes,
                                                                       status: str) -> None:
    _message_with_video(case, png, status=status)
    ip = draft_findings(case, _corr(case, **{"185_141_63_120": (FEED,)}))[0]
    assert "Received (hop 1 of 2)" in ip.text
    if status == "uncertain":  # a possible misread (issue 14) is not a sighting the finding rests on
        assert "on screen" not in ip.text
    else:
        assert "(read on an enhanced image)" in ip.text


def test_common_or_unmatched_indicators_are_not_findings(case: Case, png: bytes) -> None:
    _message_with_video(case, png)
    keys = [d.key for d in draft_findings(case, _corr(case, example_com=(BENIGN,)))]
    assert "indicator:domain:example.com" not in keys  # warninglisted, no feed
    assert "indicator:domain:sender.example.org" not in keys  # one header, nothing known
    # On screen and in a parsed header of another item: strong even without intelligence.
    assert "indicator:ipv4:185.141.63.120" in keys


def test_decisions_are_recorded_with_their_complete_value(case: Case, png: bytes) -> None:
    _message_with_video(case, png)
    corr = _corr(case, **{"185_141_63_120": (FEED,)})
    drafts = draft_findings(case, corr)
    draft = drafts[0]
    assert key_findings(drafts, decisions(case))[0].status == "draft"
    decide(case, draft, "accepted")
    last = case.custody()[-1]
    assert last["detail"]["what"] == "key finding accepted"
    assert last["detail"]["new"]["text"] == draft.text
    assert last["detail"]["new"]["status"] == "accepted"
    decide(case, draft, "edited", "The address on screen is SANDSTORM-7's server [item 3].")
    found = key_findings(drafts, decisions(case))
    assert found[0].status == "edited"
    assert found[0].text.startswith("The address on screen")
    assert case.custody()[-1]["detail"]["old"]["status"] == "accepted"
    # A later draft with more evidence is noticed as changed; the analyst's text stays.
    again = draft_findings(
        case,
        _corr(case, **{"185_141_63_120": (FEED, Match("case", "Op X", "items 1", "other-case", "id-x"))}),
    )
    assert key_findings(again, decisions(case))[0].draft_changed
    decide(case, draft, "rejected")
    assert all(f.key != draft.key for f in key_findings(drafts, decisions(case)))
    forget(case, draft.key)
    assert key_findings(drafts, decisions(case))[0].status == "draft"
    assert case.custody()[-1]["detail"]["new"] is None


def test_the_analyst_writes_findings_of_their_own(case: Case, png: bytes) -> None:
    mail, _video, frame = _message_with_video(case, png)
    own = add_finding(case, "The sender reused the server [item 3].", items=[frame.id])
    found = key_findings([], decisions(case))
    assert found[0].key == f"analyst:{own.id}"
    assert found[0].status == "analyst"
    assert found[0].items == (frame.id,)
    update_finding(case, own.id, "Reworded.")
    assert key_findings([], decisions(case))[0].text == "Reworded."
    with pytest.raises(FindingError):
        add_finding(case, "   ")
    with pytest.raises(FindingError, match="no item 999"):
        add_finding(case, "x", items=[999])
    with pytest.raises(FindingError):
        decide(case, draft_findings(case, _corr(case))[0], "edited", "")
    assert mail.id != frame.id


def test_indicators_shared_with_an_earlier_case_make_one_finding_per_item(case: Case, png: bytes) -> None:
    mail, _video, _frame = _message_with_video(case, png)
    earlier = Match("case", "Phishing wave, September", "created 2024-09-01; items 4, 12", "other-case",
                    "case-9")
    common = Match("warninglist", "Top 10K most-used sites", "tranco", "tranco")
    corr = {}
    for ind, t, v in case.db.conn.execute("SELECT id, type, value FROM indicators"):
        matches = (earlier, common) if v == "example.com" else (earlier,)
        corr[int(ind)] = Correlation(int(ind), t, v, (), matches, None)
    drafts = draft_findings(case, corr)
    shared = [d for d in drafts if d.key.startswith("case:case-9:")]
    assert len(shared) == 1
    assert shared[0].key == f"case:case-9:item:{mail.id}"
    # The address on screen and in a header is a finding of its own, which names the earlier case too.
    assert "shares 1 indicator with the earlier case “Phishing wave, September”" in shared[0].text
    assert "sender[.]example[.]org" in shared[0].text
    ip = next(d for d in drafts if d.key == "indicator:ipv4:185.141.63.120")
    assert "seen before in the case “Phishing wave, September”" in ip.text
    assert "items 4, 12 there" in shared[0].text
    assert "example[.]com" not in shared[0].text  # a common domain is not a link between cases
    assert len(draft_findings(case, corr, limit=1)) == 1


def test_what_an_item_shares_names_the_senders_own_values_before_relays(case: Case, png: bytes) -> None:
    """A relay's address is shared by every message through that provider: it comes last."""
    mail, _video, _frame = _message_with_video(case, png)
    with case.transaction() as conn:
        findings.record_occurrences(conn, mail.id, [
            {"type": "ipv4", "value": "203.0.113.9", "source": "header", "where": "Received (hop 1 of 2)"},
            {"type": "url", "value": "http://drop.example.net/x", "source": "body", "where": "text body"},
        ])
    earlier = Match("case", "Wave 1", "created 2024-09-01; items 4", "other-case", "case-1")
    corr = {
        int(ind): Correlation(int(ind), t, v, (), (earlier,), None)
        for ind, t, v in case.db.conn.execute("SELECT id, type, value FROM indicators")
        if v in ("203.0.113.9", "http://drop.example.net/x")
    }
    text = next(d.text for d in draft_findings(case, corr) if d.key.startswith("case:case-1:"))
    assert text.index("hxxp://drop[.]example[.]net/x") < text.index("203[.]0[.]113[.]9"), text
