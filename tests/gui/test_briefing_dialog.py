# SPDX-License-Identifier: GPL-3.0-or-later
"""Case → Export briefing…: options, a rendered preview, and a save recorded in custody."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.core import analysis, custody
from desktop.ui.briefing_dialog import PDFIUM_LOCK, BriefingDialog
from desktop.ui.main_window import MainWindow
from reports.briefing import SECTIONS

# Shared fixtures come from tests/gui/conftest.py.


@pytest.fixture(autouse=True)
def casetrail_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CASETRAIL_HOME", str(home))  # the examiner's signing key is made here
    return home


@pytest.fixture
def assessed_window(case_window: MainWindow) -> MainWindow:
    case = case_window.case
    assert case is not None
    h1 = analysis.add_hypothesis(case, "State-linked operators")
    h2 = analysis.add_hypothesis(case, "Criminal group reusing leaked tooling")
    e1 = analysis.add_evidence(case, "Infrastructure overlaps a reported campaign", credibility="high")
    analysis.set_rating(case, e1.id, h1.id, "C")
    analysis.set_rating(case, e1.id, h2.id, "I")
    analysis.add_judgment(case, "The sender is the operator behind victim-portal.example.",
                          confidence="moderate", likelihood="likely")
    return case_window


def pdf_text(data: bytes) -> str:
    # The dialog may still be rendering pages on a pool thread: PDFium allows one caller at a time.
    with PDFIUM_LOCK:
        doc = pdfium.PdfDocument(data)
        try:
            return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        finally:
            doc.close()


def open_dialog(qtbot: QtBot, window: MainWindow) -> BriefingDialog:
    window.export_briefing_action.trigger()
    dialog = window.briefing_dialog
    assert dialog is not None
    # The dialog and its first render start together; wait for the page in view.
    qtbot.waitUntil(lambda: dialog.page_image() is not None, timeout=TASK_MS)
    return dialog


def test_preview_renders_pages(qtbot: QtBot, assessed_window: MainWindow) -> None:
    assert assessed_window.export_briefing_action.isEnabled()
    dialog = open_dialog(qtbot, assessed_window)
    preview = dialog.preview
    assert preview is not None
    assert preview.pages > 0
    assert preview.data.startswith(b"%PDF")
    assert len(preview.thumbnails) == min(preview.pages, 300)
    assert all(not t.isNull() and t.width() > 0 and t.height() > 0 for t in preview.thumbnails)
    image = dialog.page_image()
    assert image is not None
    assert image.width() > 0
    assert image.height() > image.width()  # a portrait A4 page
    assert dialog.strip.count() == len(preview.thumbnails)
    assert f"{preview.pages} page" in dialog.status.text()
    assert "State-linked operators" in pdf_text(preview.data)

    # Next page, and a zoom: each rendered off the GUI thread and shown.
    if preview.pages > 1:
        with qtbot.waitSignal(dialog.page_shown, timeout=TASK_MS) as shown:
            dialog.next_button.click()
        assert shown.args == [1]
    first_width = dialog.page_image().width()  # type: ignore[union-attr]
    with qtbot.waitSignal(dialog.page_shown, timeout=TASK_MS):
        dialog.zoom.setCurrentIndex(dialog.zoom.findData(2.0))
    assert dialog.page_image().width() != first_width  # type: ignore[union-attr]
    dialog.reject()


def test_options_reach_the_preview(qtbot: QtBot, assessed_window: MainWindow) -> None:
    dialog = open_dialog(qtbot, assessed_window)
    full = dialog.preview
    assert full is not None
    assert set(dialog.options().sections or ()) == set(SECTIONS)
    dialog.section_boxes["appendix"].setChecked(False)
    dialog.tlp.setCurrentIndex(dialog.tlp.findData("red"))
    dialog.add_redaction("victim-portal.example")
    dialog.add_redaction("victim-portal.example")  # listed once
    assert dialog.redact_list.count() == 1
    dialog.role_boxes["recipients"].setChecked(True)
    dialog.other_cases.setChecked(False)
    opts = dialog.options()
    assert "appendix" not in (opts.sections or ())
    assert (opts.tlp, opts.redact) == ("red", ["victim-portal.example"])
    assert opts.redact_roles == frozenset({"recipients"})
    assert not opts.other_cases
    with qtbot.waitSignal(dialog.preview_ready, timeout=TASK_MS):
        pass  # the debounce timer starts the render
    preview = dialog.preview
    assert preview is not None
    assert preview.options.tlp == "red"
    text = pdf_text(preview.data)
    assert "TLP:RED" in text
    assert "victim-portal.example" not in text
    assert "victim-portal.example" in pdf_text(full.data)
    qtbot.waitUntil(lambda: dialog.page_image() is not None, timeout=TASK_MS)
    dialog.reject()


def test_save_writes_the_pdf_and_records_it(qtbot: QtBot, assessed_window: MainWindow,
                                            tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, assessed_window)
    target = tmp_path / "out" / "briefing.pdf"
    target.parent.mkdir()
    with qtbot.waitSignals([dialog.saved, assessed_window.chain_checked], timeout=TASK_MS):
        assert dialog.save_to(target) is not None
    result = dialog.export_result
    assert result is not None
    assert result.path == target
    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == result.sha256
    assert result.sha256 in dialog.result_label.text()
    assert str(target) in dialog.result_label.text()
    case = assessed_window.case
    assert case is not None
    reader = case.reader()
    try:
        exported = [e for e in custody.entries(reader.conn) if e["action"] == "exported"]
    finally:
        reader.conn.close()
    assert [(e["sha256"], e["source"]) for e in exported] == [(result.sha256, str(target))]
    assert assessed_window.custody_view.banner.property("state") == "ok"
    dialog.reject()
    assert assessed_window.briefing_dialog is None


def test_closing_the_case_closes_the_dialog(qtbot: QtBot, assessed_window: MainWindow) -> None:
    dialog = open_dialog(qtbot, assessed_window)
    assert dialog.isVisible()
    assessed_window.close_case()
    assert assessed_window.briefing_dialog is None
    assert not assessed_window.export_briefing_action.isEnabled()
