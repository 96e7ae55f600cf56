# SPDX-License-Identifier: GPL-3.0-or-later
"""The soak: the real main window driven through thousands of ordinary actions (issue 10).

An analyst's working day is hours of the same few gestures: Down through the evidence, every tab,
the graph, ACH ratings typed from the keyboard, verify, a look at the briefing. Done fast, that is
where a per-call leak or a stale-queue bug shows: shiboken6 6.12.0 aborted the window after 406
Down presses. This script opens a case in a ``MainWindow`` and performs ``--actions`` such gestures
through the keyboard, the window's public methods and its widgets' signals, waiting on the
window's own signals (never on time) where work runs on a pool. Every round it reads
``sys.getrefcount(None)``; at the end it prints one JSON line::

    {"actions": 5059, "rounds": 14, "seconds": 38.2, "none_refs": [after round 1, ...],
     "rss_kb": [...], "qt_warnings": [...], "kinds": {"down": 364, "graph node": 714, ...}}

It runs as a child process of ``tests/gui/test_soak.py`` (so that an abort is reported as a test
failure naming the signal, not as a vanished test run) and from ``make soak`` for a long run::

    python tests/gui/soak.py [--actions N] [--case PATH]

Without ``--case`` it builds the demo case under ``CASETRAIL_HOME``.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import (
    QEventLoop,
    QMessageLogContext,
    QPoint,
    QPointF,
    Qt,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.ui.analysis_panels import DETAILS_TAB, MEDIA_TAB, MESSAGE_TAB
from desktop.ui.app import ensure_application
from desktop.ui.main_window import MainWindow

WAIT_S = 60.0  # a pool job that takes longer than this on a loaded machine is a hang


class SoakError(RuntimeError):
    """The window did not do what a gesture asked within the time allowed."""


def wait_until(app: QApplication, done: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Run the event loop until ``done()`` holds (a condition, not a fixed sleep).

    The loop sleeps until an event arrives (a task's result is one); a slow timer only wakes it
    to check the deadline. Spinning instead would take the CPU from the very pool threads the
    wait is for.
    """
    deadline = time.monotonic() + timeout_s
    wake = QTimer()
    wake.start(50)
    try:
        while not done():
            if time.monotonic() > deadline:
                raise SoakError(f"timed out waiting for {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        wake.stop()


def idle(app: QApplication, window: MainWindow, what: str) -> None:
    """Wait until no task of the window runs (every render, read and write has come back)."""
    wait_until(app, lambda: not window.tasks.running(), what)
    app.processEvents()


class Soak:
    """The gestures, each counted as one action."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        self.app = app
        self.w = window
        self.kinds: Counter[str] = Counter()

    @property
    def actions(self) -> int:
        """Actions done so far."""
        return sum(self.kinds.values())

    def count(self, kind: str, n: int = 1) -> None:
        self.kinds[kind] += n

    def key(self, widget: QWidget, key: Qt.Key,
            modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier, kind: str = "key") -> None:
        QTest.keyClick(widget, key, modifier)
        self.app.processEvents()
        self.count(kind)

    def tab(self, index: int) -> None:
        self.w.tabs.setCurrentIndex(index)
        self.app.processEvents()
        self.count("tab")

    # -- the rounds --------------------------------------------------------------------------

    def evidence(self, item_tab: int) -> None:
        """Down through every item and back up, the given item view (Details, Message, Media) in front."""
        w = self.w
        self.tab(0)
        table = w.table
        table.setFocus()
        table.expandAll()  # the tree: walk every item, the attachments and frames too
        table.selectRow(0)
        rows = w.model.total
        for _ in range(rows):
            self.key(table, Qt.Key.Key_Down, kind="down")
            if w.panels.item_tabs.isTabEnabled(item_tab) and w.panels.item_tabs.currentIndex() != item_tab:
                w.panels.item_tabs.setCurrentIndex(item_tab)
                self.count("item tab")
        for _ in range(rows):
            self.key(table, Qt.Key.Key_Up, kind="up")
        idle(self.app, w, "item renders")

    def message(self) -> None:
        """The message view's own controls on the first e-mail."""
        w = self.w
        self.tab(0)
        w.table.selectRow(0)
        email = w.panels.email_view
        if email.mail is None:
            return
        w.panels.item_tabs.setCurrentIndex(MESSAGE_TAB)
        for button in (email.html_button, email.text_button):
            if button.isEnabled():
                button.setChecked(True)
                self.count("body")
        email.source_toggle.setChecked(not email.source_toggle.isChecked())
        self.count("body")
        for inner in range(email.inner_tabs.count()):
            email.inner_tabs.setCurrentIndex(inner)
            self.count("message tab")
        email.hop_table.setFocus()
        for _ in range(email.hop_model.rowCount()):
            self.key(email.hop_table, Qt.Key.Key_Down, kind="hop row")
        email.header_table.setFocus()
        for _ in range(min(20, email.header_model.rowCount())):
            self.key(email.header_table, Qt.Key.Key_Down, kind="header row")

    def media(self) -> None:
        """An image and the video: zoom, fit, OCR lines, boxes, hits filter."""
        w = self.w
        media = w.panels.media_view
        self.tab(0)
        for row in range(w.model.rowCount()):
            item = w.model.item_at(row)
            if item is None or item.kind not in ("image", "video"):
                continue
            w.table.selectRow(row)
            w.panels.item_tabs.setCurrentIndex(MEDIA_TAB)
            idle(self.app, w, "a picture")
            self.count("media item")
            for button in (media.zoom_in_button, media.zoom_in_button, media.zoom_out_button,
                           media.actual_button, media.fit_button):
                button.click()
                self.count("zoom")
            wheel = QWheelEvent(QPointF(40, 40), QPointF(40, 40), QPoint(0, 0), QPoint(0, 120),
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                Qt.ScrollPhase.NoScrollPhase, False)
            QApplication.sendEvent(media.canvas.viewport(), wheel)
            self.count("zoom")
            media.hits.setFocus()
            for _ in range(min(8, media.hits_model.rowCount())):
                self.key(media.hits, Qt.Key.Key_Down, kind="ocr line")
            media.only_hits.setChecked(not media.only_hits.isChecked())
            media.boxes_toggle.setChecked(not media.boxes_toggle.isChecked())
            self.count("media toggle", 2)
            if item.kind == "video":
                media.next_hit.click()
                media.prev_hit.click()
                self.count("seek", 2)
            idle(self.app, w, "media renders")
        media.only_hits.setChecked(False)
        media.boxes_toggle.setChecked(True)

    def custody(self) -> None:
        self.tab(1)
        table = self.w.custody_view.table
        table.setFocus()
        table.selectRow(0)
        for _ in range(min(40, self.w.custody_view.model.rowCount())):
            self.key(table, Qt.Key.Key_Down, kind="custody row")
        self.key(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier, kind="custody row")

    def indicators(self) -> None:
        w = self.w
        view = w.panels.indicators_view
        w.tabs.setCurrentWidget(view)
        self.count("tab")
        wait_until(self.app, lambda: view.model.correlation_state not in ("running", "not run"),
                   "the correlation")
        view.table.setFocus()
        view.table.selectRow(0)
        for _ in range(view.proxy.rowCount()):
            self.key(view.table, Qt.Key.Key_Down, kind="indicator row")
        for combo in (view.match_filter, view.warn_filter, view.type_filter, view.tag_filter):
            for i in range(combo.count()):
                combo.setCurrentIndex(i)
                self.count("filter")
            combo.setCurrentIndex(0)
        for text in ("185", "tlp", ".com", ""):
            view.search.setText(text)
            self.count("filter")
        idle(self.app, w, "indicator reads")

    def graph(self) -> None:
        w = self.w
        graph = w.panels.graph_view
        w.tabs.setCurrentWidget(graph)
        self.count("tab")
        idle(self.app, w, "the graph")
        if graph.stale or not graph.canvas.node_items:
            graph.rebuild()
            idle(self.app, w, "the graph")
        for item in graph.canvas.node_items:
            graph.canvas.scene().clearSelection()
            item.setSelected(True)
            self.app.processEvents()
            self.count("graph node")
        graph.labels_toggle.setChecked(not graph.labels_toggle.isChecked())
        graph.fit_button.click()
        self.count("graph view", 2)
        for delta in (120, 120, -120):
            wheel = QWheelEvent(QPointF(200, 200), QPointF(200, 200), QPoint(0, 0), QPoint(0, delta),
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                Qt.ScrollPhase.NoScrollPhase, False)
            QApplication.sendEvent(graph.canvas.viewport(), wheel)
            self.count("graph view")

    def assessment(self, round_no: int) -> None:
        """Ratings typed into the ACH matrix (each one a custody entry), then the other editors."""
        w = self.w
        view = w.assessment_view
        w.tabs.setCurrentWidget(view)
        self.count("tab")
        wait_until(self.app, lambda: view.snapshot is not None, "the assessment")
        ach = view.ach
        model = ach.model
        if model.evidence_rows and model.hypotheses:
            ev = model.evidence_at(round_no % model.evidence_rows)
            hyp = model.hypotheses[round_no % len(model.hypotheses)]
            assert ev is not None
            ach.focus_cell(ev.id, hyp.id)
            table = ach.table
            c, i, n = Qt.Key.Key_C, Qt.Key.Key_I, Qt.Key.Key_N
            for keys in ((c, c), (i,), (n,), (i, i)):
                for k in keys:
                    self.key(table, k, kind="ach key")
                self.key(table, Qt.Key.Key_Return, kind="ach key")
                self.key(table, Qt.Key.Key_Up, kind="ach key")
            self.key(table, Qt.Key.Key_Plus, kind="ach key")
            self.key(table, Qt.Key.Key_Minus, kind="ach key")
            self.key(table, Qt.Key.Key_Return, kind="ach key")
            for _ in range(3):
                self.key(table, Qt.Key.Key_Right, kind="ach key")
                self.key(table, Qt.Key.Key_Left, kind="ach key")
            idle(self.app, w, "the ratings")
            wait_until(self.app, lambda: not view.session.pending_changes, "the ratings")
        for table in (view.judgments.table, view.notes.table):
            table.setFocus()
            for _ in range(table.model().rowCount()):
                self.key(table, Qt.Key.Key_Down, kind="assessment row")
        idle(self.app, w, "the assessment")

    def timeline(self) -> None:
        w = self.w
        view = w.timeline_view
        w.tabs.setCurrentWidget(view)
        self.count("tab")
        idle(self.app, w, "the timeline")
        view.table.setFocus()
        for _ in range(min(30, view.proxy.rowCount())):
            self.key(view.table, Qt.Key.Key_Down, kind="timeline row")
        for button in view.source_buttons.values():
            button.click()
            button.click()
            self.count("timeline filter", 2)
        for text in ("hop", "185.141", ""):
            view.search.setText(text)
            self.count("timeline filter")

    def search(self) -> None:
        w = self.w
        view = w.panels.search_view
        w.tabs.setCurrentWidget(view)
        self.count("tab")
        for query in ("voters", "185.141.63.120", "nothing-matches-this"):
            view.box.setText(query)
            self.key(view.box, Qt.Key.Key_Return, kind="search")

    def verify(self) -> None:
        w = self.w
        results: list[object] = []
        w.verify_finished.connect(results.append)
        try:
            if w.start_verify() is None:
                raise SoakError("verify did not start")
            wait_until(self.app, lambda: bool(results), "verify")
        finally:
            w.verify_finished.disconnect(results.append)
        if results[0] is None or not getattr(results[0], "ok", False):
            raise SoakError(f"verify did not pass: {results[0]!r}")
        self.close_message()
        self.count("verify")
        idle(self.app, w, "the refresh after verify")

    def briefing(self) -> None:
        w = self.w
        dialog = w.open_briefing_dialog()
        if dialog is None:
            raise SoakError("the briefing dialog did not open")
        pages: list[int] = []
        dialog.preview_ready.connect(pages.append)
        wait_until(self.app, lambda: bool(pages), "the briefing preview")
        self.count("briefing preview")
        for _ in range(3):
            dialog.show_page(min(dialog.current_page + 1, pages[0] - 1))
            self.count("briefing page")
        idle(self.app, w, "the briefing pages")
        dialog.reject()
        self.app.processEvents()
        self.count("briefing close")

    def close_message(self) -> None:
        box = self.w.last_message
        if isinstance(box, QMessageBox) and box.isVisible():
            box.done(0)
            self.app.processEvents()


# The offscreen platform's own noise about a window-manager hint (the GUI suite ignores it too).
_QT_NOISE = ("This plugin does not support propagateSizeHints",)


class QtMessages:
    """Qt's warnings during the run: a soak that works but makes Qt complain is not clean."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def __call__(self, kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg) or message.startswith(_QT_NOISE):
            return
        if len(self.warnings) < 50:
            self.warnings.append(message)


def rss_kb() -> int:
    """Resident memory of this process now (Linux), in KiB; 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


def run(case: Path, target: int) -> dict[str, Any]:
    """Drive the window on ``case`` until ``target`` actions are done; the measurements."""
    messages = QtMessages()
    qInstallMessageHandler(messages)
    app = ensure_application()
    window = MainWindow()
    window.show()
    started = time.monotonic()
    if not window.open_case(case):
        raise SoakError(f"the case did not open: {case}")
    idle(app, window, "the case to open")
    soak = Soak(app, window)
    none_refs: list[int] = []
    rss: list[int] = []
    round_no = 0
    while soak.actions < target:
        # The cheap gestures every round; the ones that start child processes or re-read the
        # whole case now and then, as an analyst would.
        soak.evidence(MEDIA_TAB if round_no % 4 == 3 else DETAILS_TAB)
        soak.evidence(MESSAGE_TAB)
        soak.message()
        soak.custody()
        soak.indicators()
        soak.graph()
        soak.assessment(round_no)
        soak.timeline()
        soak.search()
        if round_no % 4 == 0:
            soak.media()
        if round_no % 5 == 1:
            soak.verify()
        if round_no % 12 == 2:
            soak.briefing()
        idle(app, window, "the end of a round")
        none_refs.append(sys.getrefcount(None))
        rss.append(rss_kb())
        round_no += 1
    window.close_case()
    app.processEvents()
    window.close()
    return {"actions": soak.actions, "rounds": round_no, "seconds": round(time.monotonic() - started, 1),
            "none_refs": none_refs, "rss_kb": rss, "qt_warnings": messages.warnings,
            "kinds": dict(soak.kinds)}


def main() -> int:
    """Entry point: build or take the case, drive the window, print the measurements."""
    faulthandler.enable()  # an abort prints where it happened before the process dies
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=5000)
    parser.add_argument("--case", type=Path)
    args = parser.parse_args()
    case = args.case
    if case is None:
        from desktop.demo import build_demo

        case, _built = build_demo()
    result = run(case, args.actions)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
