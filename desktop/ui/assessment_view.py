# SPDX-License-Identifier: GPL-3.0-or-later
"""The Assessment tab: the ACH matrix above, key judgments and analyst notes below.

The tab reads one :class:`~desktop.ui.case_snapshot.AssessmentSnapshot` on the read pool and
hands its parts to the three editors; after each change the core has committed, it reads again.
While changes are still queued on the write pool a snapshot may predate them, so it is dropped
(the last change's reload brings the final state) — otherwise a rating typed a moment ago would
flicker back to its old value.

It never reads or writes the case on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from desktop.core.case import Case
from desktop.ui.ach_view import AchView
from desktop.ui.case_session import CaseSession
from desktop.ui.case_snapshot import AssessmentSnapshot, read_assessment
from desktop.ui.judgments_view import JudgmentsView
from desktop.ui.notes_view import NotesView
from desktop.ui.tasks import TaskHandle, TaskManager


class AssessmentView(QWidget):
    """Hypotheses and ACH, key judgments, notes.

    Signals:
        loaded: a snapshot of the case's assessment is on screen.

    Attributes:
        hides_detail_pane: the window hides the item detail pane while this tab is current.
    """

    loaded = Signal()
    hides_detail_pane = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = CaseSession(self)
        self.session.change_saved.connect(self._on_session_change_saved)
        self.session.change_failed.connect(self._on_session_change_failed)
        self.ach = AchView(self.session, self)
        self.judgments = JudgmentsView(self.session, self)
        self.notes = NotesView(self.session, self)
        self.snapshot: AssessmentSnapshot | None = None
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.setChildrenCollapsible(False)
        lower.addWidget(self.judgments)
        lower.addWidget(self.notes)
        lower.setSizes([700, 500])
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setChildrenCollapsible(False)
        split.addWidget(self.ach)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([400, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

    def set_case(self, case: Case | None, tasks: TaskManager | None) -> None:
        """Show the assessment of ``case`` (None: nothing), reading it on ``tasks``' read pool."""
        self.session.set_case(case, tasks)
        self._show(None)
        if case is not None and self.isVisible():  # otherwise read when the tab is first shown
            self.reload()

    def reload(self) -> TaskHandle[AssessmentSnapshot] | None:
        """Read the assessment again (read pool) and show it."""
        return self.session.read("Read assessment", read_assessment, self._on_snapshot_read)

    def _on_snapshot_read(self, snapshot: AssessmentSnapshot) -> None:
        if self.session.pending_changes:
            return  # a queued change will reload when it is committed
        self._show(snapshot)
        self.loaded.emit()

    def _show(self, snapshot: AssessmentSnapshot | None) -> None:
        self.snapshot = snapshot
        self.ach.show_matrix(snapshot.matrix if snapshot else None, snapshot.refs if snapshot else None)
        self.judgments.show_judgments(snapshot.judgments if snapshot else [])
        self.notes.show_notes(snapshot.notes if snapshot else [])

    def _on_session_change_saved(self, _name: str) -> None:
        if not self.session.pending_changes:
            self.reload()

    def _on_session_change_failed(self, _name: str) -> None:
        if not self.session.pending_changes:
            self.reload()  # undo what the editors showed before the core refused it

    def showEvent(self, event: QShowEvent) -> None:
        """Read when the tab is shown (an import since the last look may have added items)."""
        super().showEvent(event)
        if self.session.case is not None:
            self.reload()
