# SPDX-License-Identifier: GPL-3.0-or-later
"""Tags: TLP 2.0, ATT&CK, machine and free tags; apply/remove with custody; completions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.findings import record_occurrences
from desktop.core.tags import (
    TagError,
    apply_tags,
    attack_techniques,
    attack_version,
    completions,
    describe_tag,
    parse_tag,
    tags_of,
)
from desktop.resources import resource_path


def _add(case: Case, *pairs: tuple[str, str]) -> int:
    with case.transaction() as conn:
        conn.execute(
            "INSERT INTO items (kind, name, source_path, size, sha256, sha1, md5, mime, magic, acquired_at, "
            "acquired_by) VALUES ('generic', 'n.txt', '/x/n.txt', 1, ?, ?, ?, 'text/plain', 'text', "
            "'2026-01-01T00:00:00Z', 't')", ("1" * 64, "1" * 40, "1" * 32))
        item_id = int(conn.execute("SELECT max(id) FROM items").fetchone()[0])
        record_occurrences(conn, item_id, [{"type": t, "value": v, "source": "body", "where": "body"}
                                           for t, v in pairs])
    return item_id


@pytest.mark.parametrize(("text", "stored", "kind"), [
    ("TLP:AMBER", "tlp:amber", "tlp"),
    ("tlp:amber+strict", "tlp:amber+strict", "tlp"),
    ("TLP:WHITE", "tlp:clear", "tlp"),
    (" tlp:red ", "tlp:red", "tlp"),
    ("attack-pattern:T1566", "attack-pattern:T1566", "attack"),
    ("T1566.001", "T1566.001", "attack"),
    ('misp:tool="x"', 'misp:tool="x"', "machine"),
    ('admiralty-scale:source-reliability="b"', 'admiralty-scale:source-reliability="b"', "machine"),
    ("kill-chain:Delivery", "kill-chain:Delivery", "machine"),
    ("phishing wave 3", "phishing wave 3", "free"),
    ("Needs review", "Needs review", "free"),
])
def test_parse_keeps_tags_as_typed_but_normalises_tlp(text: str, stored: str, kind: str) -> None:
    tag = parse_tag(text)
    assert (tag.text, tag.kind) == (stored, kind)


@pytest.mark.parametrize("bad", ["", "   ", "tlp:purple", 'ns:pred="unclosed', "x" * 300, "a\x00b"])
def test_invalid_tags_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(TagError):
        parse_tag(bad)


def test_describe_names_tlp_attack_and_taxonomy_values() -> None:
    assert describe_tag("tlp:amber+strict") == "TLP:AMBER+STRICT"
    assert describe_tag("attack-pattern:T1566") == "T1566 Phishing"
    assert describe_tag("T1566.001") == "T1566.001 Spearphishing Attachment"
    assert describe_tag('admiralty-scale:source-reliability="b"') == "Source Reliability: Usually reliable"
    assert describe_tag("T9999") == f"T9999 (not in ATT&CK {attack_version()})"
    assert describe_tag("just words") == "just words"


def test_shipped_attack_list_records_its_version_and_source() -> None:
    data = json.loads(resource_path("data", "attack-techniques.json").read_text(encoding="utf-8"))
    assert data["attack_version"] == attack_version() != "unknown"
    assert data["source"]["derived_from"].startswith("enterprise-attack-")
    assert len(attack_techniques()["techniques"]) > 500


def test_completions() -> None:
    assert completions("tlp:a") == ["tlp:amber", "tlp:amber+strict"]
    assert "T1566.001" in completions("T1566")
    assert "attack-pattern:T1566" in completions("attack-pattern:T156")
    assert "attack-pattern:T1566" in completions("phish")
    assert 'admiralty-scale:source-reliability="a"' in completions("admiralty")
    assert all(c.startswith("pap:") for c in completions("PAP:"))
    assert len(completions("", limit=10)) == 10


def test_apply_add_remove_on_indicator_with_custody(case: Case) -> None:
    _add(case, ("ipv4", "185.141.63.120"), ("domain", "evil.example.com"))
    before = len(case.custody())
    lines = apply_tags(case, indicator="185.141.63[.]120", tags=["TLP:AMBER", "T1566", "wave-3"])
    assert lines[0] == "ipv4 185.141.63.120: added tlp:amber (TLP:AMBER)"
    assert "T1566 Phishing" in lines[1]
    ind_id = case.db.conn.execute("SELECT id FROM indicators WHERE value = '185.141.63.120'").fetchone()[0]
    assert tags_of(case.db.conn, "indicator", ind_id) == ["tlp:amber", "T1566", "wave-3"]
    again = apply_tags(case, indicator="185.141.63.120", tags=["tlp:amber", "-wave-3", "-absent"])
    assert again[0].endswith("already tagged tlp:amber (TLP:AMBER)")
    assert again[1] == "ipv4 185.141.63.120: removed wave-3"
    assert "nothing removed" in again[2]
    assert tags_of(case.db.conn, "indicator", ind_id) == ["tlp:amber", "T1566"]
    entries = case.custody()[before:]
    assert [(e["action"], e["result"], e["detail"]["tag"]) for e in entries] == [
        ("tagged", "added tlp:amber on ipv4 185.141.63.120", "tlp:amber"),
        ("tagged", "added T1566 on ipv4 185.141.63.120", "T1566"),
        ("tagged", "added wave-3 on ipv4 185.141.63.120", "wave-3"),
        ("tagged", "removed wave-3 on ipv4 185.141.63.120", "wave-3")]
    assert entries[0]["detail"]["value"] == "185.141.63.120"


def test_apply_on_item_and_errors(case: Case) -> None:
    item_id = _add(case, ("domain", "evil.example.com"))
    lines = apply_tags(case, item_id=item_id, tags=["tlp:red"])
    assert lines == [f"item {item_id} (n.txt): added tlp:red (TLP:RED)"]
    assert case.custody()[-1]["item_id"] == item_id
    with pytest.raises(CasetrailError, match="no indicator"):
        apply_tags(case, indicator="203.0.113.9", tags=["x"])
    with pytest.raises(CasetrailError, match="no item"):
        apply_tags(case, item_id=999, tags=["x"])
    before = len(case.custody())
    with pytest.raises(TagError):
        apply_tags(case, item_id=item_id, tags=["ok-tag", "tlp:purple"])
    assert len(case.custody()) == before  # all or nothing: the valid tag was not added either
    assert tags_of(case.db.conn, "item", item_id) == ["tlp:red"]


def test_read_only_case_refuses_tags(case: Case, tmp_path: Path) -> None:
    _add(case, ("domain", "evil.example.com"))
    other = Case.open(case.path, read_only=True)
    try:
        with pytest.raises(CasetrailError):
            apply_tags(other, indicator="evil.example.com", tags=["x"])
    finally:
        other.close()
