# SPDX-License-Identifier: GPL-3.0-or-later
"""Import fidelity: feeds read the way their authors wrote them, every object used or accounted for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.feeds import PARTS, parse_feed
from desktop.core.feeds.stix import observations, pattern_values
from desktop.core.indicators import normalise
from desktop.core.intel import FeedFailure, FeedImport, Library

DATA = Path(__file__).resolve().parents[2] / "data" / "feeds"
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


def values(lib: Library, feed_id: int) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for t, v, n in lib.conn.execute("SELECT e.type, e.value, c.name FROM feed_entries e JOIN contexts c "
                                    "ON c.id = e.context_id WHERE c.feed_id = ?", (feed_id,)):
        out.setdefault((str(t), str(v)), set()).add(str(n))
    return out


def stix_objects(path: Path) -> int:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return len(doc["objects"]) if isinstance(doc, dict) and "objects" in doc else 1


def test_in_lists_keep_commas_inside_quotes_and_observations_stay_apart() -> None:
    found = pattern_values("[url:value IN ('http://a.example.com/?x=1,2', 'http://b.example.net/')] AND "
                           "[file:name = 'a.exe' AND file:parent_directory_ref.path = 'C:\\\\Temp']", "2.1")
    assert found.values == [("url", "http://a.example.com/?x=1,2"), ("url", "http://b.example.net/"),
                            ("file_path", "C:\\Temp\\a.exe")]
    assert observations("[a:b = ']['] OR [c:d = 'x\\'y]']") == ["[a:b = '][']", "[c:d = 'x\\'y]']"]


def test_hash_algorithm_names_in_any_spelling() -> None:
    for spelling in ("md5", "MD5", "'MD5'"):
        found = pattern_values(f"[file:hashes.{spelling} = '001dd76872d80801692ff942308c64e6']", "2.1")
        assert found.values == [("md5", "001dd76872d80801692ff942308c64e6")], spelling
    assert pattern_values("[file:hashes.'SHA-256' = '" + "ab" * 32 + "']", "2.0").values[0][0] == "sha256"
    assert pattern_values("[file:hashes.SHA256 = '" + "ab" * 32 + "']", "2.1").values[0][0] == "sha256"


def test_alternative_roots_are_domains() -> None:
    assert normalise("domain", "k3tt3n5nkhyl5ryp.ONION") == "k3tt3n5nkhyl5ryp.onion"
    assert normalise("domain", "kittenmail.i2p") == "kittenmail.i2p"
    assert normalise("domain", "nmc-c2.bit") == "nmc-c2.bit"


def test_stix20_observed_data_is_read_with_its_embedded_references(lib: Library) -> None:
    r = lib.import_feed(DATA / "stix20-observed-data.json")
    got = values(lib, r.feed_id)
    assert got[("file_path", "C:\\Users\\Public\\Libraries\\svchost32.exe")] == {"Charming Kitten"}
    assert ("md5", "3773a88f65a5e780c8dff9cdc3a056f3") in got
    assert ("ipv4", "185.82.202.174") in got
    assert ("email", "support@account-verify-mail.onion") in got
    assert ("url", "http://login-live-verify.com/signin?next=a,b") in got  # IN list, comma in the value
    assert ("domain", "kittenmail.i2p") in got
    assert ("sha1", "6bf4cbac4b6d4e2b9e0d8a3a1d5e9f4c3b2a1f0e") in got  # upper-case hash, 2.0 pattern
    assert r.accounting.not_used["mutex in observed-data"] == {"no value Casetrail keeps": 1}
    assert r.accounting.not_used["pattern comparison"] == {"file:size is not an indicator value": 1}
    assert r.accounting.used["observed-data"] == 1
    assert r.accounting.total == stix_objects(DATA / "stix20-observed-data.json") + 7  # + the embedded ones


def test_attack_slice_accounts_for_every_object(lib: Library) -> None:
    r = lib.import_feed(DATA / "attack-slice.json")
    assert r.entries == 0
    assert r.accounting.total == stix_objects(DATA / "attack-slice.json")
    assert r.accounting.not_used["attack-pattern"] == {"an ATT&CK technique, not an indicator value": 1}
    assert r.accounting.not_used["x-mitre-tactic"] == {"a custom object type": 1}
    assert "not used: " in r.summary()


def test_circl_osint_events(lib: Library) -> None:
    r = lib.import_feed(DATA / "circl-osint-event.json")
    got = values(lib, r.feed_id)
    assert got[("domain", "dailynkkorea.com")] == {"APT37"}
    assert ("url", "http://www.dailynkkorea.com/spot/bbs/board.php") in got  # schemeless and defanged
    assert ("file_name", "imecmnt.exe") in got
    acc = r.accounting
    assert acc.not_used["sighting"]
    assert acc.not_used["github-user object"] == {"no attribute of an indicator type": 1}
    counted = {k: acc.used.get(k, 0) + sum(acc.not_used.get(k, {}).values())
               for k in {*acc.used, *acc.not_used}}
    attributes = sum(n for k, n in counted.items() if k.endswith(" attribute"))
    assert attributes == 7 + 4  # every attribute, those inside objects too
    empty = lib.import_feed(DATA / "circl-osint-no-attributes.json")
    assert (empty.format, empty.entries, empty.name) == (
        "misp", 0, "OSINT - Turla renews its arsenal with Topinambour (report only)")
    assert "holds no attributes" in empty.summary()


def test_u32_and_dotted_ip2asn_layouts_answer_alike(lib: Library, tmp_path: Path) -> None:
    u32 = lib.import_feed(DATA / "ip2asn-v4-u32.tsv")
    assert (u32.entries, u32.skipped) == (3, {"range: not routed (AS 0)": 1})
    rec = lib.asn_of("5.79.71.205")
    assert rec is not None
    assert (rec.number, rec.country) == (60781, "NL")
    dotted = lib.import_feed(DATA / "ip2asn-v4.tsv")  # the same ranges: nothing changes, no question
    assert dotted.replaced is not None
    assert not dotted.replaced.differs
    assert lib.asn_of("1.0.4.1").number == 38803  # type: ignore[union-attr]


def test_accounting_is_kept_with_the_feed(lib: Library) -> None:
    first = lib.import_feed(DATA / "circl-osint-event.json")
    again = lib.import_feed(DATA / "circl-osint-event.json")
    assert again.already_imported
    assert again.accounting == first.accounting
    assert "not used: " in again.summary()


def test_a_bad_file_does_not_stop_the_others(lib: Library, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a feed"}')
    results = lib.import_feeds([DATA / "attack-slice.json", bad, tmp_path / "missing.csv",
                                DATA / "circl-osint-event.json"])
    assert [type(r) for r in results] == [FeedImport, FeedFailure, FeedFailure, FeedImport]
    assert "neither a STIX bundle nor a MISP event" in results[1].summary()
    assert "cannot read" in results[2].summary()


@needs_corpora
def test_apt1_md5s_are_kept(lib: Library) -> None:
    r = lib.import_feed(CORPORA / "stix" / "apt1.json")
    md5 = {v for t, v in values(lib, r.feed_id) if t == "md5"}
    assert md5 == {"001dd76872d80801692ff942308c64e6", "002325a0a67fded0381b5648d7fe9b8e",
                   "00dbb9e1c09dbdafb360f3163ba5a3de"}
    assert not any("MATCHES" in why for why in r.skipped)


@needs_corpora
@pytest.mark.parametrize("path", sorted((CORPORA / "stix").glob("*.json")) if CORPORA.is_dir() else [],
                         ids=lambda p: p.name)
def test_every_stix_object_is_used_or_accounted_for(path: Path) -> None:
    parsed = parse_feed(path.read_text(encoding="utf-8"), path.name)
    assert parsed.accounting.total == stix_objects(path)
    acc = parsed.accounting
    not_used = sum(n for k, r in acc.not_used.items() if k not in PARTS for n in r.values())
    assert acc.used_objects + not_used == stix_objects(path)


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_misp_produced_stix_is_read_and_accounted_for(version: str, tmp_path: Path) -> None:
    """The CIRCL-style event, as MISP's own exporter (misp-stix) writes it in STIX 2.0 and 2.1."""
    from misp_stix_converter import misp_to_stix2

    out = tmp_path / f"event.stix{version}.json"
    result = misp_to_stix2(DATA / "circl-osint-event.json", version=version, output_dir=tmp_path,
                           output_name=out)
    assert result.get("success"), result
    parsed = parse_feed(out.read_text(encoding="utf-8"), out.name)
    acc = parsed.accounting
    doc = json.loads(out.read_text(encoding="utf-8"))
    embedded = sum(len(o.get("objects") or {}) for o in doc["objects"] if o["type"] == "observed-data")
    assert acc.total == len(doc["objects"]) + embedded
    assert ("url", "http://www.dailynkkorea.com/spot/bbs/board.php") in parsed.entries  # no scheme
    assert ("domain", "dailynkkorea.com") in parsed.entries
    assert ("md5", "3b3e9b1a1a9ca6c04a0d5cbd1c9b9a51") in parsed.entries
