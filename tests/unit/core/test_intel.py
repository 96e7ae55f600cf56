# SPDX-License-Identifier: GPL-3.0-or-later
"""The workstation library: feed formats detected by content, relationships followed, idempotence."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.intel import FeedError, Library, ReplaceRefusedError, library_path

CORPORA = (Path(__file__).resolve().parents[3] / "../shared/corpora").resolve()
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora ({CORPORA}) are absent")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(h))
    return h


@pytest.fixture
def lib() -> Iterator[Library]:
    with Library.open() as library:
        yield library


def entries(lib: Library, value: str) -> set[tuple[str, str, str]]:
    rows = lib.conn.execute("SELECT e.type, c.name, c.kind FROM feed_entries e "
                            "JOIN contexts c ON c.id = e.context_id "
                            "WHERE e.value = ?", (value,))
    return {(str(t), str(n), str(k)) for t, n, k in rows}


def test_library_lives_under_casetrail_home(home: Path, lib: Library) -> None:
    assert library_path() == home / "library.sqlite"
    assert lib.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@needs_corpora
def test_apt1_indicators_map_to_the_threat_actors_and_intrusion_set(lib: Library) -> None:
    r = lib.import_feed(CORPORA / "stix" / "apt1.json")
    assert r.format == "stix"
    assert r.name.startswith("APT1")
    assert "APT1" in r.actors
    assert "Ugly Gorilla" in r.actors
    assert r.skipped  # MATCHES patterns are reported as not used, not silently dropped
    # The HTRAN hop-point ranges indicate a malware no actor in the report `uses`: named by it.
    assert entries(lib, "223.166.0.0/15") == {("cidr", "HUC Packet Transmit Tool (HTRAN)", "malware")}
    names = {n for _, n, _ in entries(lib, "arrowservice.net")}
    assert {"Ugly Gorilla", "APT1"} <= names  # APT1 via intrusion-set --attributed-to--> threat-actor
    path = lib.conn.execute("SELECT path FROM contexts WHERE name = 'APT1' LIMIT 1").fetchone()[0]
    assert "attributed-to" in path
    assert "indicates" in path


@needs_corpora
def test_poison_ivy_indicators_map_to_campaigns_and_are_idempotent(lib: Library) -> None:
    r = lib.import_feed(CORPORA / "stix" / "poisonivy.json")
    assert {"admin@338", "menuPass", "th3bug"} <= set(r.actors)
    assert ("ipv4", "admin@338", "campaign") in entries(lib, "113.10.246.30")
    assert any(t == "domain" for t, _, _ in entries(lib, "www.webserver.dynssl.com"))
    count = lib.conn.execute("SELECT count(*) FROM feed_entries").fetchone()[0]
    again = lib.import_feed(CORPORA / "stix" / "poisonivy.json")
    assert again.already_imported
    assert again.feed_id == r.feed_id
    assert "already imported" in again.summary()
    assert lib.conn.execute("SELECT count(*) FROM feed_entries").fetchone()[0] == count
    assert len(lib.feeds()) == 1


@needs_corpora
def test_stix_observables_via_infrastructure(lib: Library) -> None:
    lib.import_feed(CORPORA / "stix" / "infrastructure.json")
    found = {(t, k) for t, _, k in entries(lib, "198.51.100.3")} | {
        (t, k) for row in lib.conn.execute("SELECT type, value FROM feed_entries") for t, k in [row]}
    assert found


@needs_corpora
@pytest.mark.parametrize("name", ["57c4445b-c548-4654-af0b-4be3950d210f.json", "HTML_event.json",
                                  "long_event.json", "misp_event.json", "event_obj_attr_tag.json"])
def test_misp_events_import(lib: Library, name: str) -> None:
    r = lib.import_feed(CORPORA / "misp-events" / name)
    assert r.format == "misp"
    assert r.entries > 0
    assert json.dumps(r.to_json())


@needs_corpora
def test_misp_objects_and_unknown_types_are_counted(lib: Library) -> None:
    r = lib.import_feed(CORPORA / "misp-events" / "long_event.json")
    assert r.entries > 200
    assert any("link" in why for why in r.skipped)


@needs_corpora
def test_not_a_feed_is_an_error_with_a_reason(lib: Library) -> None:
    with pytest.raises(FeedError, match=r"neither a STIX bundle nor a MISP event \(it is a MISP galaxy"):
        lib.import_feed(CORPORA / "misp-events" / "galaxy.json")


def test_misp_galaxy_threat_actor_names_the_match(lib: Library, tmp_path: Path) -> None:
    event = {"Event": {"info": "Spear-phish wave", "uuid": "5b0a1c2e-0000-4000-8000-000000000001",
                       "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"value": "Sofacy"}]}],
                       "Tag": [{"name": 'misp-galaxy:mitre-intrusion-set="APT28"'}, {"name": "tlp:green"}],
                       "Attribute": [{"type": "ip-dst|port", "value": "203.0.113.10|443"},
                                     {"type": "filename|sha256", "value": "a.exe|" + "ab" * 32},
                                     {"type": "domain", "value": "EVIL-Example.com."},
                                     {"type": "comment", "value": "nothing"}],
                       "Object": [{"name": "url",
                                   "Attribute": [{"type": "url", "value": "hxxp://evil-example[.]com/x"}]}]}}
    f = tmp_path / "ev.json"
    f.write_text(json.dumps(event))
    r = lib.import_feed(f)
    assert r.actors == ("APT28", "Sofacy")
    assert entries(lib, "203.0.113.10") == {("ipv4", "APT28", "intrusion-set"),
                                            ("ipv4", "Sofacy", "threat-actor")}
    assert {t for t, _, _ in entries(lib, "evil-example.com")} == {"domain"}
    assert entries(lib, "http://evil-example.com/x")
    assert entries(lib, "a.exe")
    assert entries(lib, "ab" * 32)
    assert r.skipped == {"comment attribute: not an indicator type Casetrail keeps": 1}


def test_csv_list_with_and_without_type(lib: Library, tmp_path: Path) -> None:
    f = tmp_path / "partner.csv"
    f.write_text("indicator;type;actor;comment\n198.51.100.7;;Kimsuky;c2\nevil-example.org;domain;;\n"
                 "not an indicator;;;\nhxxps://bad-example[.]net/p;url;Kimsuky;\n")
    r = lib.import_feed(f)
    assert r.format == "csv"
    assert r.entries == 3
    assert r.actors == ("Kimsuky",)
    assert r.skipped == {"row: value of no known indicator type": 1}
    assert entries(lib, "198.51.100.7") == {("ipv4", "Kimsuky", "threat-actor")}
    assert entries(lib, "evil-example.org") == {("domain", "partner.csv", "feed")}
    assert entries(lib, "https://bad-example.net/p")


def test_csv_without_value_column_is_refused(lib: Library, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("foo,bar\n1,2\n")
    with pytest.raises(FeedError, match="cannot tell the format"):
        lib.import_feed(f)


IP2ASN_V4 = ("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
             "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
             "203.0.113.0\t203.0.113.255\t64500\tNL\tEXAMPLE-HOSTING Example Hosting B.V.\n")
IP2ASN_V6 = "2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64501\tDE\tDOC-NET\n"


def test_ip2asn_tables_v4_v6_gzip(lib: Library, tmp_path: Path) -> None:
    f4 = tmp_path / "ip2asn-v4.tsv"
    f4.write_text(IP2ASN_V4)
    r = lib.import_feed(f4)
    assert (r.format, r.entries) == ("ip2asn", 2)
    assert r.skipped == {"range: not routed (AS 0)": 1}
    f6 = tmp_path / "ip2asn-v6.tsv.gz"
    f6.write_bytes(gzip.compress(IP2ASN_V6.encode()))
    assert lib.import_feed(f6).entries == 1
    rec = lib.asn_of("203.0.113.77")
    assert rec is not None
    assert (rec.number, rec.country) == (64500, "NL")
    assert "Hosting" in rec.name
    assert lib.asn_of("1.0.0.1").number == 13335  # type: ignore[union-attr]
    assert lib.asn_of("1.0.2.1") is None  # not routed
    assert lib.asn_of("9.9.9.9") is None
    assert lib.asn_of("2001:db8::42").number == 64501  # type: ignore[union-attr]
    assert lib.asn_lookup([(1, "203.0.113.1"), (2, "8.8.8.8"), (3, "2001:db8::1")]).keys() == {1, 3}


def test_newer_ip2asn_table_replaces_the_older(lib: Library, tmp_path: Path) -> None:
    old = tmp_path / "old.tsv"
    old.write_text(IP2ASN_V4)
    lib.import_feed(old)
    new = tmp_path / "new.tsv"
    new.write_text("203.0.113.0\t203.0.113.255\t64999\tFR\tNEW-OWNER\n")
    with pytest.raises(ReplaceRefusedError, match=r"2 ranges.* by 1 ranges: 0 added, 1 removed, 1 with"):
        lib.import_feed(new)
    assert lib.asn_of("203.0.113.5").number == 64500  # type: ignore[union-attr]
    r = lib.import_feed(new, replace=True)
    assert r.replaced is not None
    assert (r.replaced.old_ranges, r.replaced.removed, r.replaced.changed) == (2, 1, 1)
    assert "replaced" in r.summary()
    assert lib.asn_of("203.0.113.5").number == 64999  # type: ignore[union-attr]
    assert lib.asn_of("1.0.0.1") is None


def test_unreadable_and_binary_files(lib: Library, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read"):
        lib.import_feed(tmp_path / "missing.json")
    b = tmp_path / "blob.bin"
    b.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FeedError):
        lib.import_feed(b)
    j = tmp_path / "bad.json"
    j.write_text("{not json")
    with pytest.raises(FeedError, match="cannot be parsed"):
        lib.import_feed(j)
