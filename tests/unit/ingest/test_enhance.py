# SPDX-License-Identifier: GPL-3.0-or-later
"""A region the analyst marks is enhanced in a child, each variant kept as an item with its recipe."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from desktop.core import findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ingest.enhance import HOW, enhance_region

from .recordings import font


def test_a_marked_faint_region_is_enhanced_read_and_kept_with_its_recipe(tmp_path: Path) -> None:
    with Case.create(tmp_path / "t.casetrail", title="Enhance", examiner="A. Examiner") as case:
        _check_enhancement(case, tmp_path)


def _check_enhancement(case: Case, tmp_path: Path) -> None:
    # grey on grey, 22 levels apart: legible to a person, faint to a recogniser
    image = Image.new("RGB", (700, 80), (60, 60, 60))
    text = "relay 185.141.63.120 mx2.mailpanel.ru"
    ImageDraw.Draw(image).text((12, 26), text, font=font("dejavu-mono", 22), fill=(82, 82, 82))
    path = tmp_path / "faint.png"
    image.save(path)
    item = run_to_end(import_paths(case, [path])).acquired[0].item
    outcome = run_to_end(enhance_region(case, item, None, (0, 10, 700, 60)))
    assert len(outcome.variants) >= 2
    read = " ".join(t for v in outcome.variants for t, _ in v.lines)
    assert "185.141.63.120" in read, read
    assert ("ipv4", "185.141.63.120") in outcome.indicators
    children = [i for i in case.items() if i.parent_id == item.id]
    assert {c.derived_how for c in children} == {HOW}
    assert {c.id for c in children} == {v.item_id for v in outcome.variants}
    for child in children:
        derived = [e for e in case.custody(child.id) if e["action"] == "derived"]
        assert derived
        assert derived[0]["detail"]["recipe"]  # the recipe is in custody
        assert derived[0]["detail"]["box"] == [0, 10, 700, 60]
        assert derived[0]["detail"]["enhanced"] is True
    notes = [e for e in case.custody(item.id) if e["action"] == "note"]
    assert notes
    assert notes[-1]["detail"]["what"] == "enhanced a marked region"
    rows = {r["value"]: r for r in findings.list_indicators(case.db.conn)}
    occ = rows["185.141.63.120"]["occurrences"][0]
    assert occ["status"] == "enhanced"
    assert occ["enhanced_item_id"] in {c.id for c in children}
    assert "enhanced image" in occ["where"]
    listed = findings.enhanced_images(case.db.conn, item.id)
    assert {e.item_id for e in listed} == {c.id for c in children}
    assert all(e.marked_by == "A. Examiner" for e in listed)
    json.dumps([e.__dict__ for e in listed])
    from desktop.core.verify import verify_case

    report = run_to_end(verify_case(case))  # the enhanced findings are bound in custody
    assert report.ok, report
