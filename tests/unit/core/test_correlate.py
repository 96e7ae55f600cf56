# SPDX-License-Identifier: GPL-3.0-or-later
"""Correlation across cases, feeds, warninglists and ASN tables; the indicators --json shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.correlate import correlate, indicators_with_matches
from desktop.core.findings import record_occurrences
from desktop.core.intel import Library, index_case
from desktop.core.progress import run_to_end
from desktop.core.tags import apply_tags

CORPORA = (Path(__file__).resolve().parents[3] / "../shared/corpora").resolve()
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora ({CORPORA}) are absent")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(h))
    return h


def new_case(tmp_path: Path, name: str, title: str, files: dict[str, list[tuple[str, str]]]) -> Case:
    """A case whose items (acquired for real) hold the given indicators."""
    case = Case.create(tmp_path / f"{name}.casetrail", title=title, examiner="A. Examiner")
    for file_name, pairs in files.items():
        src = tmp_path / f"{name}-{file_name}"
        src.write_text("\n".join(v for _, v in pairs) + "\n")
        report = run_to_end(import_paths(case, [src], "test"))
        item_id = report.acquired[0].item.id
        with case.transaction() as conn:
            record_occurrences(conn, item_id, [{"type": t, "value": v, "source": "body", "where": "body"}
                                               for t, v in pairs])
    return case


@pytest.fixture
def cases(tmp_path: Path) -> Iterator[tuple[Case, Case]]:
    old = new_case(tmp_path, "old", "Operation Old Harbour", {
        "a.txt": [("ipv4", "203.0.113.10"), ("domain", "shared-c2-7.net")],
        "b.txt": [("domain", "shared-c2-7.net"), ("sha256", "ab" * 32)]})
    new = new_case(tmp_path, "new", "New phishing wave", {
        "mail.txt": [("ipv4", "203.0.113.10"), ("ipv4", "10.0.0.5"), ("domain", "fresh-lure-7.net")],
        "note.txt": [("domain", "fresh-lure-7.net"), ("domain", "shared-c2-7.net")]})
    try:
        yield old, new
    finally:
        old.close()
        new.close()


def by_value(case: Case, **kw: object) -> dict[str, object]:
    return {c.value: c for c in correlate(case, **kw).values()}  # type: ignore[arg-type]


def test_matches_in_this_case_and_in_another_case(cases: tuple[Case, Case]) -> None:
    old, new = cases
    assert index_case(old) == 3
    corr = by_value(new)
    c2 = corr["shared-c2-7.net"]
    other = [m for m in c2.matches if m.kind == "other-case"]  # type: ignore[attr-defined]
    assert len(other) == 1
    assert other[0].name == "Operation Old Harbour"
    assert other[0].detail.startswith(f"created {old.meta['created_at'][:10]}; items ")
    assert c2.seen_before  # type: ignore[attr-defined]
    fresh = corr["fresh-lure-7.net"]
    assert [m.kind for m in fresh.matches] == ["this-case"]  # type: ignore[attr-defined]
    assert fresh.matches[0].detail.startswith("items ")  # type: ignore[attr-defined]
    assert not fresh.seen_before  # type: ignore[attr-defined]


def test_a_case_never_matches_itself_and_reindexing_replaces(cases: tuple[Case, Case]) -> None:
    old, new = cases
    index_case(old)
    index_case(new)
    index_case(new)
    corr = by_value(new)
    assert all(m.name != new.title for m in corr["203.0.113.10"].matches)  # type: ignore[attr-defined]
    with Library.open() as lib:
        assert [c.title for c in lib.cases()] == sorted([old.title, new.title], key=lambda t: t != new.title)
        assert lib.conn.execute("SELECT count(*) FROM case_indicators").fetchone()[0] == 3 + 4


def test_warninglisted_indicators_are_flagged_not_dropped(cases: tuple[Case, Case]) -> None:
    _, new = cases
    corr = by_value(new, use_library=False)
    private = corr["10.0.0.5"]
    assert private.warninglisted  # type: ignore[attr-defined]
    assert "List of RFC 1918 CIDR blocks" in [m.name for m in private.matches]  # type: ignore[attr-defined]
    rows = indicators_with_matches(new, use_library=False)
    assert "10.0.0.5" in [r["value"] for r in rows]


def test_warninglist_hits_are_stored_when_an_indicator_is_recorded(
        cases: tuple[Case, Case], monkeypatch: pytest.MonkeyPatch) -> None:
    _, new = cases
    stored = dict(new.db.execute("SELECT value, warnings FROM indicators").fetchall())
    assert "rfc1918" in stored["10.0.0.5"]
    assert stored["fresh-lure-7.net"] == "[]"  # checked, on no list
    # Correlation reads the stored hits: it does not check a recorded value again.
    def refuse(*_a: object) -> None:
        raise AssertionError("warninglists checked again")

    monkeypatch.setattr("desktop.core.warninglists.Warninglists.check_many", refuse)
    assert by_value(new, use_library=False)["10.0.0.5"].warninglisted  # type: ignore[attr-defined]


def test_feed_and_asn_matches_in_the_json_shape(cases: tuple[Case, Case], tmp_path: Path) -> None:
    old, new = cases
    index_case(old)
    feed = tmp_path / "partner.csv"
    feed.write_text("value,actor\n203.0.113.10,Sandworm\nfresh-lure-7.net,\n")
    table = tmp_path / "ip2asn-v4.tsv"
    table.write_text("203.0.113.0\t203.0.113.255\t64500\tNL\tEXAMPLE-HOSTING Example B.V.\n")
    with Library.open() as lib:
        lib.import_feed(feed)
        lib.import_feed(table)
    apply_tags(new, indicator="203.0.113.10", tags=["tlp:amber", "T1566"])
    rows = {r["value"]: r for r in indicators_with_matches(new)}
    ip = rows["203.0.113.10"]
    assert ip["tags"] == ["tlp:amber", "T1566"]
    assert ip["asn"] == {"number": 64500, "name": "EXAMPLE-HOSTING Example B.V.", "country": "NL"}
    assert {"source": "feed", "name": "Sandworm", "detail": "partner.csv: partner.csv"} in ip["matches"]
    assert any(m["source"] == "case" and m["name"] == "Operation Old Harbour" for m in ip["matches"])
    assert all(set(m) == {"source", "name", "detail"} for r in rows.values() for m in r["matches"])
    assert {"source": "feed", "name": "partner.csv", "detail": "partner.csv: partner.csv"} in rows[
        "fresh-lure-7.net"]["matches"]
    assert "asn" not in rows["fresh-lure-7.net"]
    only_ips = indicators_with_matches(new, "ipv4")
    assert {r["type"] for r in only_ips} == {"ipv4"}


@needs_corpora
def test_stix_feed_attributes_through_relationships_and_networks(tmp_path: Path) -> None:
    case = new_case(tmp_path, "pi", "Poison Ivy look-alike", {
        "log.txt": [("ipv4", "113.10.246.30"), ("ipv4", "223.167.1.2"),
                    ("domain", "www.webserver.dynssl.com")]})
    try:
        with Library.open() as lib:
            lib.import_feed(CORPORA / "stix" / "poisonivy.json")
            lib.import_feed(CORPORA / "stix" / "apt1.json")
        corr = by_value(case)
        ip = corr["113.10.246.30"]
        names = {m.name for m in ip.matches if m.source == "feed"}  # type: ignore[attr-defined]
        assert "admin@338" in names
        detail = next(m.detail for m in ip.matches if m.name == "admin@338")  # type: ignore[attr-defined]
        assert detail.startswith("poisonivy.json: indicator ")
        assert "indicates campaign 'admin@338'" in detail
        inside = corr["223.167.1.2"]  # inside APT1's 223.166.0.0/15 HTRAN hop-point range
        assert any(m.source == "feed" and "HTRAN" in m.name for m in inside.matches)  # type: ignore[attr-defined]
    finally:
        case.close()


def test_no_library_yet_is_not_created_by_reading(cases: tuple[Case, Case], home: Path) -> None:
    _, new = cases
    correlate(new)
    assert not (home / "library.sqlite").exists()
