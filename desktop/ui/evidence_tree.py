# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence tree: the view over :class:`EvidenceModel`, as Autopsy's and X-Ways' users expect it.

Right and Left open and close a row (Qt's tree keys), Enter opens the item (its message or media
view takes the focus), a jump from the indicators, the graph or a campaign opens the path down to
the item and selects it. The header's context menu is the column chooser; which columns the analyst
hid is remembered in the workstation's ``window.ini`` (a convenience of this machine, not case
content), so the next case opens with the same columns.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeView, QWidget

from desktop.core.home import workstation_home
from desktop.ui.evidence_model import HEADERS, Column, EvidenceModel

COLUMN_WIDTHS = {
    Column.ID: 64, Column.NAME: 250, Column.KIND: 64, Column.SIZE: 76, Column.MIME: 200,
    Column.SHA256: 160, Column.ACQUIRED_AT: 150, Column.ACQUIRED_BY: 100, Column.STATUS: 80,
    Column.DUPLICATE: 160, Column.KNOWN: 190,
}
_HIDDEN_KEY = "evidence/hidden_columns"
_DEFAULT_HIDDEN = (Column.ACQUIRED_BY,)


def window_settings(parent: QObject | None = None) -> QSettings:
    """The window's settings, kept in the workstation folder (never the user's global Qt settings)."""
    return QSettings(str(workstation_home() / "window.ini"), QSettings.Format.IniFormat, parent)


class EvidenceTree(QTreeView):
    """The tree of a case's items.

    Signals:
        opened: the analyst pressed Enter or double-clicked an item (its id).
    """

    opened = Signal(int)

    def __init__(self, model: EvidenceModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evidenceTable")
        self.setModel(model)
        self.setUniformRowHeights(True)  # constant row height: scrolling 100,000 rows asks no sizes
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setExpandsOnDoubleClick(False)  # a double click opens the item; the arrow expands
        self.setAllColumnsShowFocus(True)
        self.setTreePosition(Column.NAME)  # the branches open in the Name column, as in Autopsy
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in COLUMN_WIDTHS.items():
            self.setColumnWidth(column, width)
        self.doubleClicked.connect(self._on_double_clicked)
        self.restore_columns()

    def evidence_model(self) -> EvidenceModel:
        """The model this tree shows."""
        model = self.model()
        assert isinstance(model, EvidenceModel)  # noqa: S101 - set in __init__, never replaced
        return model

    def horizontalHeader(self) -> QHeaderView:
        """The column header (named as on a table, so callers need not know it is a tree)."""
        return self.header()

    # -- selecting ---------------------------------------------------------------------------

    def select_index(self, index: QModelIndex) -> None:
        """Make ``index`` current and selected (the whole row) and scroll to it."""
        if not index.isValid():
            return
        parent = index.parent()
        while parent.isValid():
            self.expand(parent)
            parent = parent.parent()
        self.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.scrollTo(index)

    def selectRow(self, row: int) -> None:
        """Select a row of the top level."""
        self.select_index(self.evidence_model().index(row, 0))

    def select_item(self, item_id: int) -> bool:
        """Open the path down to an item and select it; False when the model does not list it."""
        index = self.evidence_model().index_of(item_id)
        if not index.isValid():
            return False
        self.select_index(index)
        return True

    def selected_item_ids(self) -> list[int]:
        """The ids of every selected row, in the order shown."""
        model = self.evidence_model()
        rows = sorted(self.selectionModel().selectedRows(), key=lambda i: self.visualRect(i).top())
        return [item_id for index in rows if (item_id := model.item_id_at(index)) is not None]

    # -- columns -----------------------------------------------------------------------------

    def column_menu(self, parent: QWidget | None = None) -> QMenu:
        """The column chooser: every column, checked when shown (the name always stays)."""
        menu = QMenu(parent or self)
        for column in Column:
            action = menu.addAction(HEADERS[column])
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.setEnabled(column != Column.NAME)
            action.toggled.connect(lambda on, c=column: self.show_column(c, on))
        return menu

    def show_column(self, column: Column, shown: bool) -> None:
        """Show or hide a column and remember the choice for the next window."""
        self.setColumnHidden(column, not shown)
        settings = window_settings()
        settings.setValue(_HIDDEN_KEY, ",".join(str(int(c)) for c in Column if self.isColumnHidden(c)))
        settings.sync()

    def restore_columns(self) -> None:
        """Hide the columns the analyst hid last time (a few rarely needed ones at first)."""
        saved = window_settings().value(_HIDDEN_KEY)
        if saved is None:
            hidden = set(_DEFAULT_HIDDEN)
        else:
            hidden = {Column(int(c)) for c in str(saved).split(",") if c.strip().isdigit()
                      and int(c) in set(Column)}
        for column in Column:
            self.setColumnHidden(column, column in hidden and column != Column.NAME)

    # -- keys --------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter opens the current item; every other key is the tree's (arrows open and close)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            item_id = self.evidence_model().item_id_at(self.currentIndex())
            if item_id is not None:
                self.opened.emit(item_id)
                event.accept()
                return
        super().keyPressEvent(event)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        item_id = self.evidence_model().item_id_at(index)
        if item_id is not None:
            self.opened.emit(item_id)
