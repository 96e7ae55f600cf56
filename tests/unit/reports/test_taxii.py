# SPDX-License-Identifier: GPL-3.0-or-later
"""TAXII rules that hold before any connection: URLs, credentials in URLs, TLP:RED stays home."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.case import Case
from reports.stix_export import TLP2_MARKING_IDS
from reports.taxii import Credentials, TaxiiError, collection_url, push_case, withhold_red

RED, AMBER = TLP2_MARKING_IDS["red"], TLP2_MARKING_IDS["amber"]


def test_collection_urls() -> None:
    c = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    assert collection_url("https://taxii.example.org/api1", c) == f"https://taxii.example.org/api1/collections/{c}/"
    assert collection_url(f"https://t.example/api1/collections/{c}/", c) == f"https://t.example/api1/collections/{c}/"
    assert collection_url("http://[::1]:9000/r/", c).startswith("http://[::1]:9000/r/collections/")
    assert collection_url("http://localhost:9000/r/", c).startswith("http://localhost:9000/")
    for bad, why in (("http://192.0.2.1/api1/", "plain http"), ("ftp://x.example/", "not an http"),
                     ("https://u:p@x.example/api1/", "carries a user name"),
                     ("https://x.example/", "not a coll")):
        with pytest.raises(TaxiiError, match=why):
            collection_url(bad, "a/b" if why == "not a coll" else c)


def test_red_objects_and_what_refers_to_them_are_withheld() -> None:
    objs = [{"id": "indicator--1", "type": "indicator", "object_marking_refs": [RED]},
            {"id": "sighting--1", "type": "sighting", "sighting_of_ref": "indicator--1",
             "object_marking_refs": [AMBER]},
            {"id": "note--1", "type": "note", "object_refs": ["sighting--1"], "object_marking_refs": [AMBER]},
            {"id": "indicator--2", "type": "indicator", "object_marking_refs": [AMBER]},
            {"id": "grouping--1", "type": "grouping",
             "object_refs": ["indicator--1", "indicator--2", "note--1"], "object_marking_refs": [AMBER]}]
    kept, withheld = withhold_red(objs)
    assert withheld == 3
    assert [o["id"] for o in kept] == ["indicator--2", "grouping--1"]
    assert kept[1]["object_refs"] == ["indicator--2"]


def test_a_red_case_is_not_pushed(tmp_path: Path) -> None:
    with Case.create(tmp_path / "r.casetrail", title="Red", examiner="A", tlp="red") as case:
        with pytest.raises(TaxiiError, match="TLP:RED"):
            push_case(case, "http://127.0.0.1:9/api1/", "x", Credentials())
        assert not (case.path / "exports").exists() or not list((case.path / "exports").iterdir())
