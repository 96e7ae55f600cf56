# SPDX-License-Identifier: GPL-3.0-or-later
"""The Campaigns tab: campaigns listed, a choice filters the evidence and indicators, tagging."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_generator import generate
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import campaigns
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.ingest.pipeline import import_and_analyse
from desktop.ui.campaigns_view import CampaignsView, describe
from desktop.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def casetrail_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))
    return home


@pytest.fixture
def campaign_case(tmp_path: Path) -> Path:
    made = generate(tmp_path / "mail", campaigns=2, per_campaign=6, seed=11)
    (tmp_path / "mail" / "lone.eml").write_bytes(b"From: x@y.example\nTo: z@y.example\nSubject: alone\n\n"
                                                 b"nothing like the others\n")
    path = tmp_path / "c.casetrail"
    with Case.create(path, title="campaigns", examiner="Test Examiner") as case:
        run_to_end(import_and_analyse(case, [tmp_path / "mail"]))
    assert sum(len(c.files) for c in made) == 12
    return path


def test_choosing_a_campaign_filters_the_evidence_and_indicators_and_it_can_be_tagged(
        qtbot: QtBot, window: MainWindow, campaign_case: Path, qtmodeltester: ModelTester,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert window.open_case(campaign_case)
    all_items = window.model.rowCount()
    all_indicators = window.panels.indicators_view.proxy.rowCount()
    view: CampaignsView = window.campaigns_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=TASK_MS)
    qtmodeltester.check(view.model)
    first = view.current()
    assert first is not None
    assert len(first.items) == 6
    assert "sender" in view.text.toPlainText()
    assert "SEND TIMES" in view.text.toPlainText()

    view.filter_button.click()
    assert window.tabs.currentIndex() == 0
    assert window.model.rowCount() < all_items
    shown = {window.model.item_id_at(r) for r in range(window.model.rowCount())}
    assert shown == set(first.items)
    assert f"of campaign {first.id}" in window.status_label.text()
    assert 0 < window.panels.indicators_view.proxy.rowCount() < all_indicators
    view.clear_button.click()
    assert window.model.rowCount() == all_items
    assert window.panels.indicators_view.proxy.rowCount() == all_indicators

    window.tabs.setCurrentWidget(view)
    monkeypatch.setattr(view, "_on_tag_button_clicked",
                        lambda: view._tag(window.case, first.id, ["wave:october"]))  # type: ignore[arg-type]
    view.tag_button.click()
    qtbot.waitUntil(lambda: "wave:october" in str(view.model.data(view.model.index(0, 5))), timeout=TASK_MS)
    assert window.case is not None
    reader = window.case.reader()
    try:
        assert campaigns.tags_of(reader.conn) == {first.id: ["wave:october"]}
    finally:
        reader.conn.close()


def test_a_campaign_is_described_as_plain_text() -> None:
    c = campaigns.Campaign("C1", [1, 2], "2020-10-20T06:00:00+00:00", "2020-10-20T07:00:00+00:00",
                           {"sender": "<b>x</b>@evil.example", "template": "dear name"},
                           {"subjects": ["a\u202eb"], "recipients": ["r@x"], "names": [],
                            "send_time_histogram": [{"from": "2020-10-20T06:00:00Z", "to": "t", "count": 2}]},
                           [{"type": "domain", "value": "evil.example"}], {"body": 1})
    text = describe(c, ["tlp:amber"])
    assert "<b>x</b>@evil.example" in text  # shown literally in a plain-text widget
    assert "Tags: tlp:amber" in text
    assert "domain\tevil.example" in text
