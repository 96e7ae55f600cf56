# SPDX-License-Identifier: GPL-3.0-or-later
"""The ACH editor: hypotheses as columns, evidence as rows, a matrix filled from the keyboard.

The analyst moves with the arrow keys and types a rating — ``C``, ``CC``, ``N``, ``I``, ``II``,
``NA`` — or steps it with ``+`` and ``-``; ``Delete`` clears a cell; ``L``/``M``/``H`` set the
credibility and relevance columns. The score rows under the matrix and the ranking beside it
are recomputed at once with the core's pure :func:`desktop.core.analysis.score`, so the analyst
sees the effect of a rating while typing; the change itself is written by the core on the write
pool, which records old and new values in custody.

:class:`AchModel` is a thin adapter over an :class:`~desktop.core.analysis.Matrix` snapshot: it
shows cells, accepts an edit only if the core's vocabulary has the value, and emits the edit for
the view to write. It never writes, and it never decides what a rating means.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFocusEvent, QFont, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.core import analysis, edits
from desktop.core.case import Case
from desktop.ui import case_text, theme
from desktop.ui.case_session import CaseSession
from desktop.ui.case_snapshot import RefChoices
from desktop.ui.row_model import RowTableModel

_Index = QModelIndex | QPersistentModelIndex

EvidenceIdRole = Qt.ItemDataRole.UserRole + 1
HypothesisIdRole = Qt.ItemDataRole.UserRole + 2

# The same colours as the matrix in the PDF briefing (reports.briefing.RATING_COLOURS), so the
# window and the paper read alike; dark cells get white text.
RATING_COLOURS = {"CC": "#1E7B34", "C": "#A7D7A9", "N": "#E4E6EA", "I": "#F4B4AE",
                  "II": "#C0392B", "NA": "#FFFFFF"}
# + and - walk this scale; NA and unrated cells start from the middle.
_SCALE = ("II", "I", "N", "C", "CC")
_LEVEL_KEYS = {Qt.Key.Key_L: "low", Qt.Key.Key_M: "medium", Qt.Key.Key_H: "high"}
# Keys that are pressed on the way to a letter; they neither type nor end what is being typed.
_MODIFIER_KEYS = frozenset({Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr,
                            Qt.Key.Key_Meta, Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock,
                            Qt.Key.Key_Super_L, Qt.Key.Key_Super_R, Qt.Key.Key_Hyper_L,
                            Qt.Key.Key_Hyper_R, Qt.Key.Key_Mode_switch})
_RATING_LETTERS = {Qt.Key.Key_C: "C", Qt.Key.Key_N: "N", Qt.Key.Key_I: "I", Qt.Key.Key_A: "A"}
COMMIT_DELAY_MS = 700  # "C" may become "CC": wait this long for a second letter before writing
_FIRST_GLANCE = QColor("#E3F1E5")  # the most likely hypothesis's score cells
_CURSOR = QColor("#1F4E79")  # the briefing's accent colour


def step_rating(current: str | None, step: int) -> str:
    """Return the rating one step more (+1) or less (-1) consistent than ``current``."""
    pos = _SCALE.index(current) if current in _SCALE else _SCALE.index("N")  # unrated: from N
    return _SCALE[max(0, min(len(_SCALE) - 1, pos + step))]


def step_level(current: str, step: int) -> str:
    """Return the weight level one step up or down (low, medium, high)."""
    levels = analysis.LEVELS
    pos = levels.index(current) if current in levels else 1
    return levels[max(0, min(len(levels) - 1, pos + step))]


class AchModel(QAbstractTableModel):
    """The ACH matrix: one row per evidence, two score rows under it, one column per hypothesis.

    Columns 0 to 2 are the evidence label, credibility and relevance; hypotheses follow. The
    score rows show the weighted inconsistency and the rank of each hypothesis.

    Signals:
        rating_edited: ``(evidence_id, hypothesis_id, rating or None)`` — a cell was set.
        evidence_edited: ``(evidence_id, field, value)`` — a label or weight was set.
        scores_changed: the ranking was recomputed.
    """

    LABEL, CREDIBILITY, RELEVANCE = 0, 1, 2
    FIRST_HYPOTHESIS = 3
    SCORE_ROWS = ("Weighted inconsistency", "Rank (1 = most likely)")

    rating_edited = Signal(int, int, object)
    evidence_edited = Signal(int, str, str)
    scores_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hypotheses: list[analysis.Hypothesis] = []
        self._evidence: list[analysis.Evidence] = []
        self._ratings: dict[tuple[int, int], str] = {}
        self._scores: list[analysis.HypothesisScore] = []
        self._score_of: dict[int, analysis.HypothesisScore] = {}
        self._refs: RefChoices = {}
        self.editable = False
        self._bold = QFont()
        self._bold.setBold(True)

    # -- loading -----------------------------------------------------------------------------

    def set_matrix(self, matrix: analysis.Matrix | None, refs: RefChoices | None = None) -> None:
        """Show a fresh snapshot; keeps the view's current cell when the shape is unchanged."""
        hyps = matrix.hypotheses if matrix else []
        ev = matrix.evidence if matrix else []
        same_shape = ([h.id for h in hyps] == [h.id for h in self._hypotheses]
                      and [e.id for e in ev] == [e.id for e in self._evidence])
        if not same_shape:
            self.beginResetModel()
        self._hypotheses, self._evidence = list(hyps), list(ev)
        self._ratings = dict(matrix.ratings) if matrix else {}
        self._refs = refs or {}
        self._rescore()
        if same_shape:
            if self.rowCount() and self.columnCount():
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(self.rowCount() - 1, self.columnCount() - 1))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(0, self.columnCount() - 1))
        else:
            self.endResetModel()

    def _rescore(self) -> None:
        self._scores = analysis.score(self._hypotheses, self._evidence, self._ratings)
        self._score_of = {s.hypothesis.id: s for s in self._scores}
        self.scores_changed.emit()

    # -- lookups -----------------------------------------------------------------------------

    @property
    def scores(self) -> list[analysis.HypothesisScore]:
        """The current ranking, most likely first."""
        return list(self._scores)

    @property
    def hypotheses(self) -> list[analysis.Hypothesis]:
        """The hypotheses in column order."""
        return list(self._hypotheses)

    @property
    def evidence_rows(self) -> int:
        """How many rows are evidence (the score rows follow them)."""
        return len(self._evidence)

    def evidence_at(self, row: int) -> analysis.Evidence | None:
        """Return the evidence shown in ``row`` (None for the score rows)."""
        return self._evidence[row] if 0 <= row < len(self._evidence) else None

    def hypothesis_at(self, column: int) -> analysis.Hypothesis | None:
        """Return the hypothesis shown in ``column`` (None for the evidence columns)."""
        i = column - self.FIRST_HYPOTHESIS
        return self._hypotheses[i] if 0 <= i < len(self._hypotheses) else None

    def index_of(self, evidence_id: int, hypothesis_id: int | None = None, column: int = 0) -> QModelIndex:
        """Return the index of a rating cell (or of ``column`` in an evidence row)."""
        row = next((r for r, e in enumerate(self._evidence) if e.id == evidence_id), -1)
        if hypothesis_id is not None:
            column = next((self.FIRST_HYPOTHESIS + c for c, h in enumerate(self._hypotheses)
                           if h.id == hypothesis_id), -1)
        return self.index(row, column) if row >= 0 and column >= 0 else QModelIndex()

    def rating_at(self, index: _Index) -> str | None:
        """Return the rating in a cell, or None (unrated, or not a rating cell)."""
        ev, hyp = self.evidence_at(index.row()), self.hypothesis_at(index.column())
        return self._ratings.get((ev.id, hyp.id)) if ev and hyp else None

    def describe_ref(self, ev: analysis.Evidence) -> str:
        """Return what an evidence row refers to, as one line."""
        if ev.ref_id is None:
            return ev.kind
        label = dict(self._refs.get(ev.kind, [])).get(ev.ref_id)
        return f"{ev.kind} {label}" if label else f"{ev.kind} {ev.ref_id}"

    # -- Qt model API ------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        """Evidence rows plus the score rows (when there is a hypothesis to score)."""
        if parent.isValid():
            return 0
        return len(self._evidence) + (len(self.SCORE_ROWS) if self._hypotheses else 0)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        """Label, credibility, relevance, then one column per hypothesis."""
        return 0 if parent.isValid() else self.FIRST_HYPOTHESIS + len(self._hypotheses)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """``H1``… over the hypotheses, ``E1``… beside the evidence rows."""
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < self.columnCount():
                return None
            hyp = self.hypothesis_at(section)
            if role == Qt.ItemDataRole.DisplayRole:
                if hyp is None:
                    return ("Evidence", "Credibility", "Relevance")[section]
                return f"H{section - self.FIRST_HYPOTHESIS + 1}\n{case_text.shown(hyp.title)}"
            if role == Qt.ItemDataRole.ToolTipRole and hyp is not None:
                return case_text.tooltip(hyp.title + (f"\n\n{hyp.description}" if hyp.description else ""))
            return None
        if not 0 <= section < self.rowCount():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"E{section + 1}" if section < len(self._evidence) else ("\u03a3", "#")[
                section - len(self._evidence)]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Evidence cells are editable in a writable case; score rows are read-only."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if self.editable and index.row() < len(self._evidence):
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell contents for each role; case text shown as text (:func:`case_text.for_role`)."""
        return case_text.for_role(role, self._cell(index, role))

    def _cell(self, index: _Index, role: int) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < self.rowCount() and 0 <= col < self.columnCount()):
            return None
        if row >= len(self._evidence):
            return self._score_data(row - len(self._evidence), col, role)
        ev = self._evidence[row]
        hyp = self.hypothesis_at(col)
        if role == EvidenceIdRole:
            return ev.id
        if role == HypothesisIdRole:
            return hyp.id if hyp else None
        if hyp is None:
            return self._evidence_data(ev, col, role)
        rating = self._ratings.get((ev.id, hyp.id))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return rating or ""
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.BackgroundRole and rating:
            return QBrush(QColor(RATING_COLOURS[rating]))
        if role == Qt.ItemDataRole.ForegroundRole and rating:
            return QBrush(theme.on(RATING_COLOURS[rating]))  # whatever the palette's own text colour
        if role == Qt.ItemDataRole.FontRole and rating:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            what = analysis.RATING_NAMES[rating] if rating else "not rated"
            return f"E{row + 1} against H{col - self.FIRST_HYPOTHESIS + 1}: {what}"
        return None

    def _evidence_data(self, ev: analysis.Evidence, col: int, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (ev.label, ev.credibility, ev.relevance)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.LABEL:
                return f"{ev.label}\nRefers to: {self.describe_ref(ev)}\nWeight {ev.weight:.2f}"
            return f"{('Credibility', 'Relevance')[col - 1]}: {(ev.credibility, ev.relevance)[col - 1]}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col != self.LABEL:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _score_data(self, which: int, col: int, role: int) -> Any:
        hyp = self.hypothesis_at(col)
        sc = self._score_of.get(hyp.id) if hyp else None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.LABEL:
                return self.SCORE_ROWS[which]
            if col in (self.CREDIBILITY, self.RELEVANCE):
                return ""
            if sc is None:
                return ""
            return f"{sc.weighted:.2f}" if which == 0 else str(sc.rank)
        if role == Qt.ItemDataRole.FontRole:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and col != self.LABEL:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if sc is not None and sc.rank == 1 and sc.rated:
                return QBrush(theme.tint(_FIRST_GLANCE))
            return QBrush(theme.tint("#F1F3F6"))
        if role == Qt.ItemDataRole.ToolTipRole and col == self.LABEL:
            return "Heuer's weighted inconsistency: lower is more likely; ties share a rank"
        if role == Qt.ItemDataRole.ToolTipRole and sc is not None:
            return (f"Weighted inconsistency {sc.weighted:.3f}; {sc.inconsistent} inconsistent (I/II), "
                    f"{sc.consistent} consistent (C/CC), {sc.rated} rated")
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Accept a rating, a weight level or a label, and emit it for the view to write."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not self.editable:
            return False
        ev = self.evidence_at(index.row())
        if ev is None:
            return False
        text = "" if value is None else str(value).strip()
        hyp = self.hypothesis_at(index.column())
        if hyp is not None:
            rating = text.upper() or None
            if rating is not None and rating not in analysis.RATINGS:
                return False
            key = (ev.id, hyp.id)
            if self._ratings.get(key) == rating:
                return True
            if rating is None:
                self._ratings.pop(key, None)
            else:
                self._ratings[key] = rating
            self._changed(index.row(), index.column())
            self.rating_edited.emit(ev.id, hyp.id, rating)
            return True
        field = ("label", "credibility", "relevance")[index.column()]
        new = text if field == "label" else text.lower()
        if not new or (field != "label" and new not in analysis.LEVELS):
            return False
        if getattr(ev, field) == new:
            return True
        if field == "label":
            self._evidence[index.row()] = dataclasses.replace(ev, label=new)
        elif field == "credibility":
            self._evidence[index.row()] = dataclasses.replace(ev, credibility=new)
        else:
            self._evidence[index.row()] = dataclasses.replace(ev, relevance=new)
        self._changed(index.row(), index.column())
        self.evidence_edited.emit(ev.id, field, new)
        return True

    def _changed(self, row: int, column: int) -> None:
        self._rescore()
        cell = self.index(row, column)
        self.dataChanged.emit(cell, cell)
        n = len(self._evidence)
        if self._hypotheses:
            self.dataChanged.emit(self.index(n, 0), self.index(n + len(self.SCORE_ROWS) - 1,
                                                                 self.columnCount() - 1))


class RankingModel(RowTableModel[analysis.HypothesisScore]):
    """The ranking beside the matrix: one row per hypothesis, most likely first."""

    HEADERS = ("Rank", "Hypothesis", "Score", "I/II", "C/CC", "Rated")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._numbers: dict[int, int] = {}

    def set_scores(self, scores: list[analysis.HypothesisScore],
                   hypotheses: list[analysis.Hypothesis]) -> None:
        """Show a ranking (``hypotheses`` in column order gives each its ``H`` number)."""
        self.beginResetModel()
        self._rows = list(scores)
        self._numbers = {h.id: n for n, h in enumerate(hypotheses, 1)}
        self.endResetModel()

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents for each role."""
        sc = self.row_for(index)
        if sc is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            number = self._numbers.get(sc.hypothesis.id, 0)
            return (str(sc.rank), f"H{number}: {sc.hypothesis.title}", f"{sc.weighted:.2f}",
                    str(sc.inconsistent), str(sc.consistent), str(sc.rated))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return sc.hypothesis.title
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() != 1:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.BackgroundRole and sc.rank == 1 and sc.rated:
            return QBrush(theme.tint(_FIRST_GLANCE))
        return None


class _ChoiceDelegate(QStyledItemDelegate):
    """Draws the cursor as a frame, and offers a drop-down of allowed values (double-click or F2).

    A filled selection would hide the rating colour of the very cell the analyst is judging.
    """

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Paint the cell with its own colours, then frame it if it is the current cell."""
        opt = QStyleOptionViewItem(option)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        opt.state &= ~QStyle.StateFlag.State_Selected
        opt.state &= ~QStyle.StateFlag.State_HasFocus
        super().paint(painter, opt, index)
        if selected:
            painter.save()
            pen = QPen(_CURSOR)
            pen.setWidth(3)
            painter.setPen(pen)
            painter.drawRect(opt.rect.adjusted(1, 1, -2, -2))
            painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        """A combo box for ratings and levels; the default line edit for labels."""
        model = index.model()
        if not isinstance(model, AchModel) or index.column() == AchModel.LABEL:
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        if model.hypothesis_at(index.column()) is not None:
            combo.addItem("(not rated)", "")
            for r in analysis.RATINGS:
                combo.addItem(f"{r} \u2014 {analysis.RATING_NAMES[r]}", r)
        else:
            for level in analysis.LEVELS:
                combo.addItem(level, level)
        return combo

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        """Select the cell's current value."""
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(index.data(Qt.ItemDataRole.EditRole) or "")))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: Any, index: _Index) -> None:
        """Hand the chosen value to the model."""
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData() or None)
        else:
            super().setModelData(editor, model, index)


class AchTable(QTableView):
    """The matrix view with the keyboard rules of the module docstring.

    Typed letters collect in a short buffer so ``CC``, ``II`` and ``NA`` are one edit (and one
    custody entry), not two: a complete rating is set at once, an ambiguous one (``C``, ``I``,
    ``N``) when the analyst presses Enter, moves on, or pauses for :data:`COMMIT_DELAY_MS`.

    Signals:
        pending_changed: the typed-but-not-yet-set rating (empty when nothing is pending).
    """

    pending_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pending = ""
        self._pending_index = QPersistentModelIndex()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COMMIT_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.setItemDelegate(_ChoiceDelegate(self))
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 12)
        self.verticalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        # Hypothesis titles are sentences: wrap them in a taller header rather than cut them.
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                                   | Qt.TextFlag.TextWordWrap)
        header.setTextElideMode(Qt.TextElideMode.ElideNone)
        header.setMinimumHeight(self.fontMetrics().height() * 3 + 12)

    @property
    def pending(self) -> str:
        """The rating typed but not set yet."""
        return self._pending

    def ach_model(self) -> AchModel | None:
        """The matrix model, if one is set."""
        model = self.model()
        return model if isinstance(model, AchModel) else None

    def commit_pending(self) -> None:
        """Set the typed rating now (Enter, a move, a pause, or focus leaving the table)."""
        self._timer.stop()
        value, index = self._pending, QPersistentModelIndex(self._pending_index)
        self._set_pending("", QModelIndex())
        model = self.ach_model()
        if value and model is not None and index.isValid() and value in analysis.RATINGS:
            model.setData(index, value)

    def _set_pending(self, value: str, index: _Index) -> None:
        self._pending = value
        self._pending_index = QPersistentModelIndex(index)
        self.pending_changed.emit(value)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ratings, weights and clearing from the keyboard; everything else as usual."""
        if event.key() in _MODIFIER_KEYS:
            # Shift pressed for the second C of "CC" is part of typing, not a move: it must not
            # set the pending "C" (which silently recorded C for CC).
            super().keyPressEvent(event)
            return
        model = self.ach_model()
        index = self.currentIndex()
        editable = (model is not None and index.isValid() and model.editable
                    and self.state() != QAbstractItemView.State.EditingState
                    and bool(model.flags(index) & Qt.ItemFlag.ItemIsEditable))
        mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
        if not editable or model is None or mods != Qt.KeyboardModifier.NoModifier:
            self.commit_pending()
            super().keyPressEvent(event)
            return
        key = Qt.Key(event.key())
        text = event.text()
        is_rating = model.hypothesis_at(index.column()) is not None
        is_level = index.column() in (AchModel.CREDIBILITY, AchModel.RELEVANCE)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            had = bool(self._pending)
            self.commit_pending()
            if had or is_rating:  # like a spreadsheet: Enter moves down the hypothesis column
                below = model.index(index.row() + 1, index.column())
                if below.isValid() and below.row() < model.evidence_rows:
                    self.setCurrentIndex(below)
                return
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and is_rating:
            self._set_pending("", QModelIndex())
            self._timer.stop()
            model.setData(index, None)
            return
        if text in ("+", "-", "=") and (is_rating or is_level):
            step = -1 if text == "-" else 1
            if is_rating:
                start = self._pending if self._pending in _SCALE else model.rating_at(index)
                self._set_pending(step_rating(start, step), index)
                self._timer.start()
            else:
                model.setData(index, step_level(str(index.data(Qt.ItemDataRole.EditRole)), step))
            return
        if is_level and key in _LEVEL_KEYS:
            model.setData(index, _LEVEL_KEYS[key])
            return
        if is_rating and key in _RATING_LETTERS:
            self._type_letter(_RATING_LETTERS[key], index)
            return
        self.commit_pending()
        super().keyPressEvent(event)

    def _type_letter(self, letter: str, index: QModelIndex) -> None:
        same_cell = bool(self._pending) and self._pending_index == index
        combined = (self._pending + letter) if same_cell else letter
        if not any(r.startswith(combined) for r in analysis.RATINGS):
            combined = letter
            if same_cell:
                self.commit_pending()
        elif not same_cell:
            self.commit_pending()
        if not any(r.startswith(combined) for r in analysis.RATINGS):
            return  # "A" alone is nothing
        self._set_pending(combined, index)
        if not any(r != combined and r.startswith(combined) for r in analysis.RATINGS):
            self.commit_pending()  # CC, II, NA cannot grow: set at once
        else:
            self._timer.start()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """Leaving the table sets what was typed, so nothing typed is silently lost."""
        self.commit_pending()
        super().focusOutEvent(event)

    def currentChanged(self, current: _Index, previous: _Index) -> None:
        """Moving to another cell sets what was typed in the previous one."""
        if self._pending and self._pending_index != current:
            self.commit_pending()
        super().currentChanged(current, previous)

    def _on_timer_timeout(self) -> None:
        self.commit_pending()


class HypothesisDialog(QDialog):
    """Title and description of a hypothesis (new or edited)."""

    def __init__(self, parent: QWidget | None, hypothesis: analysis.Hypothesis | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit hypothesis" if hypothesis else "Add hypothesis")
        self.title = QLineEdit(hypothesis.title if hypothesis else "", self)
        self.title.setPlaceholderText("e.g. State-linked operators")
        self.description = QPlainTextEdit(hypothesis.description if hypothesis else "", self)
        self.description.setPlaceholderText("What would have to be true; what would tell it apart")
        self.description.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.title.textChanged.connect(self._on_title_text_changed)
        form = QFormLayout(self)
        form.addRow("&Title", self.title)
        form.addRow("&Description", self.description)
        form.addRow(self.buttons)
        self.resize(520, 260)
        self._on_title_text_changed(self.title.text())

    def _on_title_text_changed(self, text: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(text.strip()))


class EvidenceDialog(QDialog):
    """A new ACH evidence row: label, what it refers to in the case, and its weights."""

    def __init__(self, parent: QWidget | None, refs: RefChoices,
                 evidence: analysis.Evidence | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit evidence" if evidence else "Add evidence")
        self._refs = refs
        self.label = QLineEdit(evidence.label if evidence else "", self)
        self.label.setPlaceholderText("e.g. Received hop from a VPS range")
        self.kind = QComboBox(self)
        for kind in analysis.EVIDENCE_KINDS:
            self.kind.addItem(kind, kind)
        self.ref = QComboBox(self)
        self.ref.setMinimumContentsLength(40)
        self.credibility = QComboBox(self)
        self.relevance = QComboBox(self)
        for combo, value in ((self.credibility, evidence.credibility if evidence else "medium"),
                             (self.relevance, evidence.relevance if evidence else "medium")):
            for level in analysis.LEVELS:
                combo.addItem(level, level)
            combo.setCurrentIndex(combo.findData(value))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("&Label", self.label)
        form.addRow("&Kind", self.kind)
        form.addRow("&Refers to", self.ref)
        form.addRow("&Credibility", self.credibility)
        form.addRow("R&elevance", self.relevance)
        form.addRow(self.buttons)
        if evidence is not None:  # what a row refers to is fixed once it is rated
            self.kind.setCurrentIndex(self.kind.findData(evidence.kind))
            self.kind.setEnabled(False)
            self.ref.setEnabled(False)
        self.kind.currentIndexChanged.connect(self._on_kind_current_index_changed)
        self.label.textChanged.connect(self._on_label_text_changed)
        self._on_kind_current_index_changed()
        if evidence is not None and evidence.ref_id is not None:
            self.ref.setCurrentIndex(max(0, self.ref.findData(evidence.ref_id)))
        self._on_label_text_changed(self.label.text())
        self.resize(560, 0)

    def chosen_ref(self) -> int | None:
        """The id the row refers to (None for kind ``other``)."""
        value = self.ref.currentData()
        return int(value) if isinstance(value, int) else None

    def _on_kind_current_index_changed(self, _index: int = 0) -> None:
        kind = str(self.kind.currentData())
        self.ref.clear()
        choices = self._refs.get(kind, [])
        for ref_id, text in choices:
            self.ref.addItem(case_text.shown(text), ref_id)
        self.ref.setEnabled(bool(choices) and self.kind.isEnabled())
        if kind == "other" or kind == "match":
            self.ref.addItem("(nothing in the case)", None)
        self._on_label_text_changed(self.label.text())

    def _on_label_text_changed(self, text: str) -> None:
        kind = str(self.kind.currentData())
        needs_ref = kind in ("item", "indicator", "note")
        ok = bool(text.strip()) and (not needs_ref or self.chosen_ref() is not None)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)


class AchView(QWidget):
    """The ACH editor: actions, the matrix, the ranking and the keyboard legend.

    Args:
        session: the Assessment tab's link to the case; every change goes through it.
        parent: the owning widget.
    """

    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = AchModel(self)
        self.ranking = RankingModel(self)
        self.model.rating_edited.connect(self._on_model_rating_edited)
        self.model.evidence_edited.connect(self._on_model_evidence_edited)
        self.model.scores_changed.connect(self._on_model_scores_changed)
        self._refs: RefChoices = {}

        self.toolbar = QToolBar(self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar.setIconSize(QSize(16, 16))
        self.add_hypothesis_action = self._action("Add hypothesis\u2026", self._on_add_hypothesis_triggered)
        self.edit_hypothesis_action = self._action("Edit hypothesis\u2026",
                                                   self._on_edit_hypothesis_triggered)
        self.delete_hypothesis_action = self._action("Delete hypothesis",
                                                     self._on_delete_hypothesis_triggered)
        self.toolbar.addSeparator()
        self.add_evidence_action = self._action("Add evidence\u2026", self._on_add_evidence_triggered)
        self.edit_evidence_action = self._action("Edit evidence\u2026", self._on_edit_evidence_triggered)
        self.delete_evidence_action = self._action("Delete evidence", self._on_delete_evidence_triggered)

        self.table = AchTable(self)
        self.table.setObjectName("achTable")
        self.table.setModel(self.model)
        self.table.pending_changed.connect(self._on_table_pending_changed)
        self.table.selectionModel().currentChanged.connect(self._on_selection_current_changed)
        self.rank_table = QTableView(self)
        self.rank_table.setObjectName("rankingTable")
        self.rank_table.setModel(self.ranking)
        self.rank_table.verticalHeader().setVisible(False)
        self.rank_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.rank_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rank_table.setShowGrid(False)
        self.rank_table.setAlternatingRowColors(True)
        self.rank_table.setWordWrap(False)
        self.rank_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.rank_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        rh = self.rank_table.horizontalHeader()
        rh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        rh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        rh.setHighlightSections(False)

        self.legend = QLabel(
            "<b>Keyboard:</b> arrows move \u00b7 type <b>CC C N I II NA</b> \u00b7 <b>+</b>/<b>\u2212</b> "
            "step \u00b7 <b>Del</b> clears \u00b7 <b>L M H</b> set credibility/relevance \u00b7 "
            "<b>F2</b> edits \u00b7 Enter moves down", self)
        self.legend.setObjectName("achLegend")
        self.legend.setWordWrap(True)
        self.status = QLabel(self)
        self.status.setObjectName("achStatus")
        rank_title = QLabel("Ranking \u2014 lower score is more likely", self)
        rank_title.setToolTip("Heuer's weighted inconsistency: evidence against a hypothesis counts, "
                              "weighted by credibility and relevance; consistent evidence never ranks.")
        rank_title.setObjectName("sectionLabel")
        rank_title.setWordWrap(True)
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(rank_title)
        side_layout.addWidget(self.rank_table, 1)
        side_layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([920, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.toolbar)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.legend)
        self._update_actions()

    def _action(self, text: str, slot: Any) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        self.toolbar.addAction(action)
        return action

    # -- showing -----------------------------------------------------------------------------

    def show_matrix(self, matrix: analysis.Matrix | None, refs: RefChoices | None = None) -> None:
        """Show a snapshot of the matrix (editable when the session can write)."""
        self._refs = refs or {}
        self.model.editable = self.session.writable
        self.model.set_matrix(matrix, refs)
        self._fit_columns()
        self._update_actions()

    def _fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(AchModel.LABEL, 280)
        header.resizeSection(AchModel.CREDIBILITY, 84)
        header.resizeSection(AchModel.RELEVANCE, 84)
        for col in range(AchModel.FIRST_HYPOTHESIS, self.model.columnCount()):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)  # share what is left

    def focus_cell(self, evidence_id: int, hypothesis_id: int) -> QModelIndex:
        """Put the keyboard on one rating cell (for the analyst's next keys, and for tests)."""
        index = self.model.index_of(evidence_id, hypothesis_id)
        self.table.setCurrentIndex(index)
        self.table.setFocus()
        return index

    # -- edits from the matrix ---------------------------------------------------------------

    def _on_model_rating_edited(self, evidence_id: int, hypothesis_id: int, rating: str | None) -> None:
        self.session.change("Rate ACH cell",
                            lambda case: edits.set_rating(case, evidence_id, hypothesis_id, rating))

    def _on_model_evidence_edited(self, evidence_id: int, field: str, value: str) -> None:
        def write(case: Case) -> object:
            if field == "label":
                return edits.update_evidence(case, evidence_id, label=value)
            if field == "credibility":
                return edits.update_evidence(case, evidence_id, credibility=value)
            return edits.update_evidence(case, evidence_id, relevance=value)

        self.session.change("Edit ACH evidence", write)

    def _on_model_scores_changed(self) -> None:
        self.ranking.set_scores(self.model.scores, self.model.hypotheses)

    def _on_table_pending_changed(self, pending: str) -> None:
        if pending:
            name = analysis.RATING_NAMES.get(pending, "")
            self.status.setText(case_text.rich("Typing <b>{}</b>{} \u2014 Enter sets it", pending,
                                               f" ({name})" if name else ""))
        else:
            self.status.setText("")

    def _on_selection_current_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_actions()

    # -- actions -----------------------------------------------------------------------------

    def _current_hypothesis(self) -> analysis.Hypothesis | None:
        return self.model.hypothesis_at(self.table.currentIndex().column())

    def _current_evidence(self) -> analysis.Evidence | None:
        return self.model.evidence_at(self.table.currentIndex().row())

    def _update_actions(self) -> None:
        writable = self.session.writable
        self.add_hypothesis_action.setEnabled(writable)
        self.add_evidence_action.setEnabled(writable)
        has_h = writable and self._current_hypothesis() is not None
        has_e = writable and self._current_evidence() is not None
        self.edit_hypothesis_action.setEnabled(has_h)
        self.delete_hypothesis_action.setEnabled(has_h)
        self.edit_evidence_action.setEnabled(has_e)
        self.delete_evidence_action.setEnabled(has_e)

    def _on_add_hypothesis_triggered(self) -> None:
        dialog = HypothesisDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            title, desc = dialog.title.text(), dialog.description.toPlainText()
            self.session.change("Add hypothesis", lambda case: edits.add_hypothesis(case, title, desc))

    def _on_edit_hypothesis_triggered(self) -> None:
        hyp = self._current_hypothesis()
        if hyp is None:
            return
        dialog = HypothesisDialog(self, hyp)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            title, desc = dialog.title.text(), dialog.description.toPlainText()
            self.session.change("Edit hypothesis", lambda case: edits.update_hypothesis(
                case, hyp.id, title=title, description=desc))

    def _on_delete_hypothesis_triggered(self) -> None:
        hyp = self._current_hypothesis()
        if hyp is None or not self._confirm(f"Delete hypothesis \u201c{hyp.title}\u201d and its ratings?"):
            return
        self.session.change("Delete hypothesis", lambda case: edits.delete_hypothesis(case, hyp.id))

    def _on_add_evidence_triggered(self) -> None:
        dialog = EvidenceDialog(self, self._refs)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            label, kind, ref = dialog.label.text(), str(dialog.kind.currentData()), dialog.chosen_ref()
            cred, rel = str(dialog.credibility.currentData()), str(dialog.relevance.currentData())
            self.session.change("Add ACH evidence", lambda case: edits.add_evidence(
                case, label, kind=kind, ref_id=ref, credibility=cred, relevance=rel))

    def _on_edit_evidence_triggered(self) -> None:
        ev = self._current_evidence()
        if ev is None:
            return
        dialog = EvidenceDialog(self, self._refs, ev)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            label = dialog.label.text()
            cred, rel = str(dialog.credibility.currentData()), str(dialog.relevance.currentData())
            self.session.change("Edit ACH evidence", lambda case: edits.update_evidence(
                case, ev.id, label=label, credibility=cred, relevance=rel))

    def _on_delete_evidence_triggered(self) -> None:
        ev = self._current_evidence()
        if ev is None or not self._confirm(f"Delete evidence \u201c{ev.label}\u201d and its ratings?"):
            return
        self.session.change("Delete ACH evidence", lambda case: edits.delete_evidence(case, ev.id))

    def _confirm(self, question: str) -> bool:
        return case_text.ask(self, "Casetrail", question + "\n\nThe custody log keeps what is deleted.")
