# SPDX-License-Identifier: GPL-3.0-or-later
"""Open a case in the real window and show one e-mail's HTML body (run by test_no_network.py).

    python tests/integration/offline_window.py CASE ITEM_ID SCREENSHOT.png

Exits 0 when the message view shows the sanitised HTML body of the item, 1 otherwise; the
screenshot is for a human to look at.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktop.ui.app import ensure_application
from desktop.ui.main_window import MainWindow


def _wait(app: QApplication, done: object, seconds: float = 60) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if callable(done) and done():
            return True
        time.sleep(0.02)
    return False


def main() -> int:
    case, item_id, shot = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    app = ensure_application()
    window = MainWindow()
    window.show()
    if not window.open_case(case):
        print("offline_window: the case did not open", file=sys.stderr)
        return 1
    row = window.model.row_of(item_id)
    if row is None and not _wait(app, lambda: window.model.row_of(item_id) is not None):
        print(f"offline_window: item {item_id} is not in the evidence table", file=sys.stderr)
        return 1
    window.table.selectRow(window.model.row_of(item_id) or 0)
    view = window.panels.email_view
    if not _wait(app, lambda: view.mail is not None):
        print("offline_window: the message view shows no mail", file=sys.stderr)
        return 1
    view.html_button.setChecked(True)
    shown = _wait(app, lambda: "verify your account" in view.body.toPlainText(), 30)
    window.grab().save(str(shot))
    window.close_case()
    if not shown:
        print(f"offline_window: the HTML body was not shown: {view.body.toPlainText()[:200]!r}",
              file=sys.stderr)
        return 1
    print("offline_window: the HTML body is shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
