# SPDX-License-Identifier: GPL-3.0-or-later
"""Evidence text is data, never markup: hostile text through every view of the window (issue 10).

A case is built whose subjects, display names, file names, OCR lines, tags, hypotheses, evidence
rows, judgments, notes, timeline events, indicator values and title carry rich-text markup
(``<img src='file://…'>`` and ``http:`` images, bold), a right-to-left override, terminal escapes,
BEL and NUL. The window is then walked like an analyst would — every item in every item view,
the indicators and their detail, the graph and its nodes, the assessment, the timeline, search,
custody, the dialogs and message boxes that quote case text — and painted. Then:

- **nothing opened a file** the markup names: inotify watches the folder the ``file:`` images
  point into (and the working folder, where relative ones resolve), and no socket was touched;
- **the text is shown as text**: every string the window shows (label text as Qt renders it,
  table cells and headers, tooltips as Qt would render them, list and combo entries, tabs,
  titles, graph labels) that contains one of the payloads' markers also shows its markup
  literally, and no raw control or bidi character reaches the screen;
- **every payload was really shown** somewhere (the walk covered it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from file_watch import FileWatch, available  # tests/gui is on sys.path (pytest imports its conftest)
from PIL import Image
from PySide6.QtCore import QModelIndex, QRectF, Qt
from PySide6.QtGui import Qt as QtGuiNamespace
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QGraphicsItem,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QTabBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.core import analysis, findings
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.printable import visible
from desktop.core.progress import Progress, run_to_end
from desktop.core.tags import apply_tags
from desktop.ingest.pipeline import import_and_analyse
from desktop.ui import case_text
from desktop.ui.analysis_panels import MEDIA_TAB
from desktop.ui.import_dialog import ImportReasonDialog, TaskProgressDialog
from desktop.ui.main_window import MainWindow
from desktop.ui.media_view import RegionIndicatorDialog, record_analyst_indicator
from desktop.ui.tag_editor import TagDialog

pytestmark = pytest.mark.skipif(not available(), reason="inotify is needed to see file opens")

# What must never reach the screen raw: it acts instead of showing.
RAW = ("\u202e", "\x1b", "\x00", "\x07", "\u2028", "\u200b")


def payloads(canary: Path) -> dict[str, str]:
    """One hostile text per place, each with its own marker word."""
    img = f"<img src='file://{canary}/%s.png'>"
    return {
        "subject": f"URGENT {img % 'subject'}hidden CANARY-SUBJECT \u202egpj.exe \x1b[2K",
        "from": "<b>Chief</b> <img src='http://127.0.0.1:9/p.png'> CANARY-FROM",
        "body": f"Dear user {img % 'body'} CANARY-BODY\u200b click \x1b[31m",
        "file": "report <img src=canary-name.png> CANARY-FILE \u202egpj.exe \x1b]0;x\x07.txt",
        "attachment": f"<i>invoice</i> {img % 'attachment'} CANARY-ATTACH.pdf",
        "ocr": f"ssh {img % 'ocr'} CANARY-OCR \u202e\x00 185.141.63.120",
        "tag": "<b>CANARY-TAG</b>\u202etag",
        "machine_tag": f'misp:tool="{img % "tag"} CANARY-MTAG"',
        "hypothesis": f"<u>State</u> {img % 'hypothesis'} CANARY-HYP",
        "hypothesis_detail": f"because {img % 'hypdetail'} CANARY-HYPDETAIL\u2028next",
        "evidence": f"<i>seen</i> {img % 'evidence'} CANARY-EVID",
        "judgment": f"<h1>We assess</h1> {img % 'judgment'} CANARY-JUDGE",
        "note": f"<b>note</b> {img % 'note'} CANARY-NOTE\nline two",
        "event": f"<b>called</b> {img % 'event'} CANARY-EVENT",
        "selector": f"<s>sel</s> {img % 'selector'} CANARY-SELECTOR",
        "title": f"<b>Op</b> {img % 'title'} CANARY-TITLE",
    }


def hostile_mail(p: dict[str, str]) -> bytes:
    """A message whose headers, body and attachment name are hostile (RFC 2047 / 2231 encoded)."""
    import base64
    from urllib.parse import quote

    def word(text: str) -> str:
        return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="

    body = base64.b64encode(p["body"].encode()).decode()
    html = base64.b64encode(f"<p>{p['body']}</p><img src='file:///etc/hostname'>".encode()).decode()
    return (
        "Received: from relay.example (relay.example [185.141.63.120]) by mx.example with ESMTP;\r\n"
        " Tue, 20 Oct 2020 08:29:00 +0000\r\n"
        f"From: {word(p['from'])} <ceo@pb-notices-demo.com>\r\n"
        "To: voter@example.org\r\n"
        f"Subject: {word(p['subject'])}\r\n"
        "Date: Tue, 20 Oct 2020 08:30:00 +0000\r\n"
        "X-Mailer: <img src='file:///etc/passwd'> CANARY-MAILER\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        '--b1\r\nContent-Type: multipart/alternative; boundary="b2"\r\n\r\n'
        "--b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{body}\r\n"
        "--b2\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{html}\r\n--b2--\r\n"
        "--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename*=utf-8''{quote(p['attachment'])}\r\n\r\n"
        f"{base64.b64encode(b'%PDF-1.4 hostile').decode()}\r\n--b1--\r\n").encode()


def build_case(root: Path, canary: Path) -> tuple[Path, dict[str, str]]:
    p = payloads(canary)
    evidence = root / "evidence"
    evidence.mkdir()
    (evidence / "message.eml").write_bytes(hostile_mail(p))
    (evidence / p["file"]).write_text("notes about 185.141.63.120\n")
    Image.new("RGB", (320, 80), (20, 20, 20)).save(evidence / "screen.png")
    path = root / "hostile.casetrail"
    with Case.create(path, title=p["title"], examiner="Test Examiner", tlp="amber") as case:
        report = run_to_end(import_and_analyse(case, [evidence / "message.eml"], "hostile test"))
        assert not report.failed, report.failed
        acquired = run_to_end(import_paths(case, [evidence / p["file"], evidence / "screen.png"]))
        by_name = {a.item.name: a.item.id for a in acquired.acquired}
        screen = by_name["screen.png"]
        with case.transaction() as conn:
            findings.record_media(conn, screen, "image", {"format": "PNG", "mode": "RGB", "width": 320,
                                                          "height": 80, "orientation": None, "exif": {}})
            findings.record_ocr_lines(conn, screen, [{"text": p["ocr"], "confidence": 0.9,
                                                      "box": [4, 4, 300, 20]}])
            findings.record_occurrences(conn, screen, [
                {"type": "ipv4", "value": "185.141.63.120", "source": "ocr", "where": "image",
                 "bbox": [4, 4, 300, 20], "confidence": 0.9}])
            conn.execute("UPDATE items SET status = 'analysed', kind = 'image' WHERE id = ?", (screen,))
        run_to_end(record_analyst_indicator(case, screen, "selector", p["selector"], [4, 30, 100, 20], None,
                                            p["note"]))
        apply_tags(case, indicator="185.141.63.120", tags=[p["tag"], p["machine_tag"]])
        hyp = analysis.add_hypothesis(case, p["hypothesis"], p["hypothesis_detail"])
        other = analysis.add_hypothesis(case, "Another actor")
        note = analysis.add_note(case, p["note"])
        ev = analysis.add_evidence(case, p["evidence"], kind="note", ref_id=note.id)
        analysis.set_rating(case, ev.id, hyp.id, "CC")
        analysis.set_rating(case, ev.id, other.id, "I")
        analysis.add_judgment(case, p["judgment"], confidence="moderate", likelihood="likely")
        analysis.add_event(case, "2020-10-20T15:30:00Z", p["event"], p["note"])
    return path, p


# -- what the window shows -------------------------------------------------------------------------


Shown = tuple[str, str]  # (the text given to Qt, what Qt puts on screen)


def rendered(text: str, fmt: Qt.TextFormat = Qt.TextFormat.AutoText) -> Shown:
    """What Qt puts on screen for ``text`` in a widget of format ``fmt`` (tooltips are AutoText)."""
    rich = fmt == Qt.TextFormat.RichText or (fmt != Qt.TextFormat.PlainText
                                              and QtGuiNamespace.mightBeRichText(text))
    if not rich:
        return text, text
    doc = QTextDocument()
    doc.setHtml(text)
    return text, doc.toPlainText()


def same(text: str) -> Shown:
    """Text that Qt draws as it is (cells, list entries, titles, tab and button texts)."""
    return text, text


def model_texts(view: QAbstractItemView) -> Iterator[Shown]:
    model = view.model()
    if model is None:
        return
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    for orientation in (Qt.Orientation.Horizontal, Qt.Orientation.Vertical):
        count = model.columnCount() if orientation == Qt.Orientation.Horizontal else model.rowCount()
        for section in range(count):
            for role in roles:
                value = model.headerData(section, orientation, role)
                if isinstance(value, str):
                    yield rendered(value) if role == Qt.ItemDataRole.ToolTipRole else same(value)
    for row in range(model.rowCount()):
        for col in range(model.columnCount()):
            index = model.index(row, col, QModelIndex())
            for role in roles:
                value = model.data(index, role)
                if isinstance(value, str):
                    yield rendered(value) if role == Qt.ItemDataRole.ToolTipRole else same(value)


def scene_texts(view: QGraphicsView) -> Iterator[Shown]:
    for item in view.scene().items():
        assert isinstance(item, QGraphicsItem)
        if item.toolTip():
            yield rendered(item.toolTip())
        if isinstance(item, QGraphicsSimpleTextItem):
            yield same(item.text())
        label = getattr(getattr(item, "node", None), "label", None)
        if isinstance(label, str):
            yield same(case_text.shown(label))  # what NodeItem.paint draws


def texts_of(widget: QWidget) -> Iterator[Shown]:
    """Every string ``widget`` and its children show, as they appear on screen."""
    for w in [widget, *widget.findChildren(QWidget)]:
        if w.windowTitle():
            yield same(w.windowTitle())
        if w.toolTip():
            yield rendered(w.toolTip())
        if isinstance(w, QLabel | QMessageBox):
            yield rendered(w.text(), w.textFormat())
        elif isinstance(w, QAbstractButton) or (isinstance(w, QLineEdit) and w.isReadOnly()):
            yield same(w.text())  # an editable field holds what the analyst types, exactly
        elif isinstance(w, QComboBox):
            yield from (same(w.itemText(i)) for i in range(w.count()))
            yield from (rendered(str(w.itemData(i, Qt.ItemDataRole.ToolTipRole) or ""))
                        for i in range(w.count()))
        elif isinstance(w, QListWidget):
            for i in range(w.count()):
                yield same(w.item(i).text())
                yield rendered(w.item(i).toolTip())
        elif isinstance(w, QTextEdit) and w.isReadOnly():  # the message body
            yield same(w.toPlainText())
        elif isinstance(w, QTabBar):
            yield from (same(w.tabText(i)) for i in range(w.count()))
        if isinstance(w, QAbstractItemView) and not isinstance(w, QListWidget):
            yield from model_texts(w)
        if isinstance(w, QGraphicsView):
            yield from scene_texts(w)


class Screen:
    """Everything the walk saw, and the checks on it."""

    def __init__(self, markers: dict[str, str]) -> None:
        self.markers = markers  # marker -> payload
        self.seen: dict[str, list[str]] = {m: [] for m in markers}
        self.bad: list[str] = []

    def look(self, widget: QWidget, where: str) -> None:
        widget.grab()  # paint it: rich text would load its images now
        for given, text in texts_of(widget):
            self.check(given, text, where)

    def check(self, given: str, text: str, where: str) -> None:
        """``given`` is what the window handed Qt, ``text`` what Qt shows of it."""
        raw = [ch for ch in RAW if ch in text]
        if raw:
            self.bad.append(f"{where}: raw {raw!r} on screen in {text[:120]!r}")
        for marker in self.markers:
            if marker not in text:
                continue
            self.seen[marker].append(where)
            # The payload's markup was interpreted if Qt rendered the string as rich text while it
            # held that markup unescaped.
            tag = re.search(r"<[^>]*>", self.markers[marker])
            if text != given and tag is not None and tag.group() in given:
                self.bad.append(f"{where}: {marker} shown with its markup interpreted: {text[:160]!r}")


# -- the walk --------------------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str], FileWatch]:
    canary = tmp_path / "canary"
    canary.mkdir()
    p = payloads(canary)
    names = ["subject", "body", "attachment", "ocr", "tag", "hypothesis", "hypdetail", "evidence",
             "judgment", "note", "event", "selector", "title", "canary-name"]
    for name in names:  # real pictures: a file that exists is one Qt would happily load
        Image.new("RGB", (4, 4), (255, 0, 0)).save(canary / f"{name}.png")
    monkeypatch.chdir(canary)  # where a relative <img src=canary-name.png> resolves
    path, p = build_case(tmp_path, canary)
    watch = FileWatch([canary])
    return path, p, watch


def _audit(events: list[str]) -> Callable[[str, tuple[Any, ...]], None]:
    def hook(event: str, _args: tuple[Any, ...]) -> None:
        if _RECORDING and event.startswith(("socket.", "urllib.")):
            events.append(event)
    return hook


_RECORDING = False
_SOCKET_EVENTS: list[str] = []
sys.addaudithook(_audit(_SOCKET_EVENTS))  # audit hooks cannot be removed: it records only in this test


def test_hostile_text_is_shown_literally_everywhere_and_loads_nothing(
        qtbot: QtBot, window: MainWindow, hostile: tuple[Path, dict[str, str], FileWatch],
        monkeypatch: pytest.MonkeyPatch) -> None:
    global _RECORDING
    path, p, watch = hostile
    title, subject = "", ("", Qt.TextFormat.AutoText)
    markers = {m.group(): text for text in p.values() if (m := re.search(r"CANARY-[A-Z]+", text))}
    screen = Screen(markers | {"CANARY-MAILER": "x-mailer"})
    _RECORDING = True
    try:
        with qtbot.waitSignal(window.chain_checked, timeout=20000):
            assert window.open_case(path)
        screen.look(window, "window")
        title = window.windowTitle()

        # Every item in every item view.
        panels = window.panels
        for row in range(window.model.rowCount()):
            window.table.selectRow(row)
            for tab in range(panels.item_tabs.count()):
                if panels.item_tabs.isTabEnabled(tab):
                    if tab == MEDIA_TAB and panels.media_view.item is not None:
                        with qtbot.waitSignal(panels.media_view.picture_shown, timeout=30000):
                            panels.item_tabs.setCurrentIndex(tab)
                    else:
                        panels.item_tabs.setCurrentIndex(tab)
                    screen.look(window, f"item row {row} tab {tab}")
            email = panels.email_view
            if email.mail is not None:
                for button in (email.html_button, email.text_button):
                    if button.isEnabled():
                        button.setChecked(True)
                        screen.look(email, "message body")
                email.source_toggle.setChecked(True)
                screen.look(email, "message source")
                for inner in range(email.inner_tabs.count()):
                    email.inner_tabs.setCurrentIndex(inner)
                    screen.look(email, f"message inner tab {inner}")
                subject = (email.subject.text(), email.subject.textFormat())
            if panels.media_view.mode:
                media = panels.media_view
                for box, item in media.canvas.box_items:
                    screen.check(*rendered(item.toolTip()), "OCR box tooltip")
                    assert box.text  # the raw text stays data
                region = RegionIndicatorDialog(QRectF(4, 4, 300, 20), None, media._suggestions(
                    QRectF(4, 4, 300, 20)), window)
                qtbot.addWidget(region)
                screen.look(region, "region dialog")

        # Indicators, their detail, and the bulk tag dialog.
        view = panels.indicators_view
        with qtbot.waitSignal(view.correlations_ready, timeout=30000):
            window.tabs.setCurrentWidget(view)
        for row in range(view.proxy.rowCount()):
            view.table.selectRow(row)
            screen.look(view, f"indicator row {row}")
        dialog = TagDialog(1, window)
        qtbot.addWidget(dialog)
        dialog.edit.setText(p["tag"])
        screen.look(dialog, "tag dialog")

        # The graph: every node selected in turn.
        graph = panels.graph_view
        with qtbot.waitSignal(graph.graph_built, timeout=30000):
            window.tabs.setCurrentWidget(graph)
        graph.labels_toggle.setChecked(True)
        for item in graph.canvas.node_items:
            graph.canvas.scene().clearSelection()
            item.setSelected(True)
            screen.look(graph, f"graph node {item.node.key}")

        # Assessment, timeline, search, custody.
        with qtbot.waitSignal(window.assessment_view.loaded, timeout=20000):
            window.tabs.setCurrentWidget(window.assessment_view)
        for table in (window.assessment_view.judgments.table, window.assessment_view.notes.table):
            table.selectRow(0)
        screen.look(window.assessment_view, "assessment")
        with qtbot.waitSignal(window.timeline_view.loaded, timeout=20000):
            window.tabs.setCurrentWidget(window.timeline_view)
        screen.look(window.timeline_view, "timeline")
        window.tabs.setCurrentWidget(panels.search_view)
        assert panels.search_view.search("CANARY") > 0
        screen.look(panels.search_view, "search")
        window.tabs.setCurrentWidget(window.custody_view)
        screen.look(window.custody_view, "custody")

        # Dialogs and message boxes that quote case text.
        asked: list[QMessageBox] = []

        def exec_box(box: QMessageBox) -> int:
            asked.append(box)
            return int(QMessageBox.StandardButton.No)

        questions: list[str] = []

        def question(_parent: object, _title: str, text: str, *_a: object) -> QMessageBox.StandardButton:
            questions.append(text)  # the static question() guesses the format: AutoText
            return QMessageBox.StandardButton.No

        monkeypatch.setattr(QMessageBox, "exec", exec_box)
        monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
        window.tabs.setCurrentWidget(window.assessment_view)
        ach = window.assessment_view.ach
        hyp = next(h for h in ach.model.hypotheses if "CANARY-HYP" in h.title)
        ev = ach.model.evidence_at(0)
        assert ev is not None
        ach.focus_cell(ev.id, hyp.id)
        ach.delete_hypothesis_action.trigger()
        ach.delete_evidence_action.trigger()
        assert len(asked) + len(questions) == 2
        for box in asked:
            screen.look(box, "confirmation")
        for text in questions:
            screen.check(*rendered(text), "confirmation (static question)")
        item = window.model.item_at(window.model.rowCount() - 1)
        assert item is not None
        reason = ImportReasonDialog([Path(p["file"]), Path(p["subject"])], window)
        qtbot.addWidget(reason)
        screen.look(reason, "import reason dialog")
        progress = TaskProgressDialog("Importing evidence", window)
        qtbot.addWidget(progress)
        progress.update_progress(Progress(p["file"], 10, 100, 0, 2))
        screen.look(progress, "progress dialog")
        box = window.show_message(QMessageBox.Icon.Warning, "Import finished with problems",
                                  f"\u2022 not acquired: {p['file']}")
        screen.look(box, "message box")
        briefing = window.open_briefing_dialog()
        assert briefing is not None
        screen.look(briefing, "briefing dialog")
        with qtbot.waitSignal(briefing.preview_ready, timeout=60000):
            pass
        briefing.reject()
        for top in QApplication.topLevelWidgets():
            if isinstance(top, QDialog) and top.isVisible():
                screen.look(top, f"dialog {top.windowTitle()!r}")
        QApplication.processEvents()
    finally:
        _RECORDING = False
    opened = watch.poll()
    watch.close()
    assert opened == [], f"Qt opened files named by evidence markup: {opened}"
    # The literal text, where it matters most: the title bar, the subject, the confirmations.
    assert title.endswith(visible(p["title"]))
    assert subject == (visible(p["subject"]), Qt.TextFormat.PlainText)
    assert questions == []  # every confirmation that quotes case text is a plain-text box
    assert [b.textFormat() for b in [*asked, box]] == [Qt.TextFormat.PlainText] * 3
    assert _SOCKET_EVENTS == []
    assert "PySide6.QtNetwork" not in sys.modules
    assert sorted(set(screen.bad))[:40] == []
    unseen = [m for m, where in screen.seen.items() if not where]
    assert unseen == [], f"payloads the walk never saw on screen: {unseen}"


def test_the_watch_sees_an_open(tmp_path: Path) -> None:
    """The file check itself: reading a watched file is seen (so the test above can fail)."""
    (tmp_path / "x.png").write_bytes(b"x")
    watch = FileWatch([tmp_path])
    try:
        (tmp_path / "x.png").read_bytes()
        assert tmp_path / "x.png" in watch.poll()
    finally:
        watch.close()


def test_the_check_sees_markup_rendered_as_rich_text(qtbot: QtBot) -> None:
    """The text check itself: a label that renders markup loses the markup and is flagged."""
    label = QLabel("<b>x</b> CANARY-X")
    qtbot.addWidget(label)
    screen = Screen({"CANARY-X": "<b>x</b> CANARY-X"})
    screen.look(label, "a rich label")
    assert screen.bad
    case_text.plain(label, "<b>x</b> CANARY-X \u202e")
    screen = Screen({"CANARY-X": "<b>x</b> CANARY-X"})
    screen.look(label, "a plain label")
    assert sorted(set(screen.bad))[:40] == []
    assert label.text() == "<b>x</b> CANARY-X \\u202e"


def test_a_rich_label_with_a_file_image_is_seen_loading_it(qtbot: QtBot, tmp_path: Path) -> None:
    """What the walk guards against is real: a rich-text label opens the file of its <img>."""
    Image.new("RGB", (4, 4)).save(tmp_path / "probe.png")
    watch = FileWatch([tmp_path])
    try:
        label = QLabel(f"URGENT <img src='file://{tmp_path}/probe.png'>hidden")
        qtbot.addWidget(label)
        label.show()
        label.grab()
        assert tmp_path / "probe.png" in watch.poll()
    finally:
        watch.close()
