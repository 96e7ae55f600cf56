# SPDX-License-Identifier: GPL-3.0-or-later
"""The message view: header forensics, the Received hop table and the bodies of one e-mail item.

What an analyst reads first is on the left: who the message claims to be from, where the replies
and bounces really go, the authentication verdicts and the spoofing flags the core raised. On the
right, the hop table (origin first, the true origin marked), the bodies and every header as sent.

Everything shown comes from the core's findings (``findings.email_of``) through the window's
read-only connection; this view decides nothing about the message. HTML is only ever shown through
:class:`~desktop.ui.safe_html.SafeTextBrowser`, sanitised, with a "Show source" toggle.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core import findings, hop_numbers, item_detail, item_list, timestamps
from desktop.core.case import Case
from desktop.core.ip import describe_class
from desktop.core.store import Database
from desktop.ui import case_text, theme
from desktop.ui.custody_view import configure_table
from desktop.ui.display import WARNING_FOREGROUND, human_size
from desktop.ui.row_model import RowTableModel
from desktop.ui.safe_html import SafeTextBrowser, shown_offset

_Index = QModelIndex | QPersistentModelIndex
_RAW_SHOWN = 1 << 20  # bytes of a message's source the window shows (the vault keeps them all)

HOP_HEADERS = ("#", "From host", "From IP", "Reverse DNS", "By host", "Protocol", "Time (UTC)",
               "Delay", "Flags")
HOP_FLAG_TEXT = {"negative_delay": "negative delay", "long_delay": "long delay", "no_time": "no time",
                 "unreadable_time": "unreadable time"}
ORIGIN_BACKGROUND = QColor("#e3f2fd")
_VERDICT_COLOURS = {"pass": ("#1b5e20", "#e8f5e9"), "fail": ("#b71c1c", "#ffebee"),
                    "softfail": ("#8a4b00", "#fff3e0"), "none": ("#455a64", "#eceff1")}


def hop_flag_text(code: str) -> str:
    """How a hop flag is shown: ``negative delay``, ``documentation range address`` …."""
    if code in HOP_FLAG_TEXT:
        return HOP_FLAG_TEXT[code]
    if code.endswith("_ip"):  # desktop.ingest.hops.range_flag: the class of the sending address
        return f"{describe_class(code[:-3].replace('_', '-'))} address"
    return code


def delay_text(seconds: float | None) -> str:
    """A hop delay for people: ``4 s``, ``3 min 20 s``, ``-2 h 5 min`` (the sign is kept on purpose)."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    s = abs(round(seconds))
    if s < 60:
        return f"{sign}{s} s"
    if s < 3600:
        return f"{sign}{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{sign}{s // 3600} h {s % 3600 // 60} min"
    return f"{sign}{s // 86400} d {s % 86400 // 3600} h"


def _addresses(detail: dict[str, Any], key: str, fallback: str | None) -> str:
    value = detail.get(key)
    if isinstance(value, list):
        out = []
        for entry in value:
            if isinstance(entry, dict):
                name, addr = entry.get("name") or "", entry.get("addr") or ""
                out.append(f"{name} <{addr}>" if name and addr else name or addr)
            else:
                out.append(str(entry))
        return ", ".join(out)
    return fallback or ""


def _origin_text(mail: dict[str, Any], detail: dict[str, Any]) -> str:
    """The origin line: the first public hop, or the client address a header gave (and which)."""
    ip = mail.get("origin_ip") or ""
    if not ip:
        return "no public origin found in the Received chain or an originating-IP header"
    header = detail.get("origin_header")
    if header:
        return f"{ip} (from the {header} header: the Received chain names no public hop)"
    return f"{ip} ({mail['origin_host']})" if mail.get("origin_host") else ip


class HopModel(RowTableModel[dict[str, Any]]):
    """The Received hops of one message, origin first (as the core ordered them)."""

    HEADERS = HOP_HEADERS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bold = QFont()
        self._bold.setBold(True)

    def set_hops(self, hops: list[dict[str, Any]]) -> None:
        """Show these hops (``findings.email_of(...)["hops"]``)."""
        self.set_rows(hops)

    def hop(self, row: int) -> dict[str, Any] | None:
        """The hop shown in ``row`` (the name the view and tests use for :meth:`row`)."""
        return self.row(row)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents; the origin hop is bold on blue, flagged cells are red."""
        hop = self.row_for(index)
        if hop is None:
            return None
        col = index.column()
        origin = bool(hop.get("is_origin"))
        flags = [str(f) for f in hop.get("flags") or []]
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                f"{hop_numbers.number(int(hop['idx']))}{'  origin' if origin else ''}",
                hop.get("from_host") or "",
                hop.get("from_ip") or "", hop.get("from_rdns") or "", hop.get("by_host") or "",
                hop.get("protocol") or "",
                timestamps.human(hop.get("time_utc")) or hop.get("time_raw") or "",
                delay_text(hop.get("delay_s")), ", ".join(hop_flag_text(f) for f in flags))
            return values[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0 and origin:
                return "The originating hop: the first hop with a public IP address."
            if col == 6:
                return f"As written: {hop.get('time_raw') or ''}"
            if col == 2 and hop.get("smtp_id"):
                return f"SMTP id {hop['smtp_id']}; for {hop.get('for_addr') or '-'}"
            return None
        if role == Qt.ItemDataRole.BackgroundRole and origin:
            return QBrush(theme.tint(ORIGIN_BACKGROUND))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 8 and flags:
                return QBrush(WARNING_FOREGROUND)
            if col == 7 and ("negative_delay" in flags or "long_delay" in flags):
                return QBrush(WARNING_FOREGROUND)
            return None
        if role == Qt.ItemDataRole.FontRole and origin:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 7:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class HeaderModel(RowTableModel[tuple[str, str]]):
    """Every header of one message in the order sent, as ``(name, decoded value)``."""

    HEADERS = ("Header", "Value")

    def set_headers(self, headers: list[list[str]] | list[tuple[str, str]]) -> None:
        """Show these headers."""
        self.set_rows((str(h[0]), str(h[1])) for h in headers)

    def find(self, name: str, nth: int = 0) -> int | None:
        """The row of the ``nth`` header called ``name`` (case-insensitive), or None."""
        rows = [r for r, (n, _v) in enumerate(self._rows) if n.lower() == name.lower()]
        return rows[nth] if 0 <= nth < len(rows) else None

    def cell(self, index: _Index, role: int) -> Any:
        """The header's name or its value (one line; the full value in the tooltip)."""
        header = self.row_for(index)
        if header is None:
            return None
        name, value = header
        if role == Qt.ItemDataRole.DisplayRole:
            return name if index.column() == 0 else " ".join(value.split())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return value
        return None


def _verdict_badge(parent: QWidget) -> QLabel:
    label = case_text.plain_label(parent)
    label.setObjectName("verdictBadge")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _set_verdict(label: QLabel, name: str, verdict: str | None) -> None:
    text = (verdict or "none").lower()
    fallback = _VERDICT_COLOURS["fail"] if "fail" in text else _VERDICT_COLOURS["none"]
    fg, bg = _VERDICT_COLOURS.get(text, fallback)
    case_text.plain(label, f"{name}: {text}")
    fg, bg = theme.ink(fg).name(), theme.tint(bg).name()
    label.setStyleSheet(f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {fg}; "
                        "border-radius: 3px; padding: 1px 6px; font-weight: bold; }")


class AttachmentModel(RowTableModel[item_list.ItemRow]):
    """The items derived from a message (attachments, parts), as the core lists them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=["Name", "Kind", "Size", "MIME type", "SHA-256"])
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def cell(self, index: _Index, role: int) -> Any:
        """Cell contents (the item id under ``Qt.UserRole``)."""
        row = self.row_for(index)
        if row is None:
            return None
        item = row.item
        if role == Qt.ItemDataRole.DisplayRole:
            return (item.name, item.kind, human_size(item.size), item.mime, item.sha256)[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return item.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{item.name}\n{item.derived_how or ''}\nSHA-256 {item.sha256}"
        if role == Qt.ItemDataRole.FontRole and index.column() == 4:
            return self._mono
        return None


class EmailView(QWidget):
    """Header forensics, hops and bodies of one message; a hint when the item is not a message.

    Signals:
        link_hovered: the target of a link under the mouse in the HTML body (never opened).
        attachment_activated: an attachment was double-clicked; carries its item id.
    """

    link_hovered = Signal(str)
    attachment_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mail: dict[str, Any] | None = None
        self.empty = QLabel("The selected item is not an analysed e-mail message.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("emptyHint")

        self.subject = case_text.plain_label(self)
        self.subject.setObjectName("detailTitle")
        self.subject.setWordWrap(True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields: dict[str, QLabel] = {}
        form_host = QWidget(self)
        form = self._form = QFormLayout(form_host)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setVerticalSpacing(3)
        for key, text in (("from", "From:"), ("reply_to", "Reply-To:"), ("return_path", "Return-Path:"),
                          ("to", "To:"), ("cc", "Cc:"), ("date", "Date:"), ("message_id", "Message-ID:"),
                          ("mailer", "Mailer:"), ("origin", "Origin:")):
            label = case_text.plain_label(form_host)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            form.addRow(text, label)
        self.spf, self.dkim, self.dmarc = (_verdict_badge(self) for _ in range(3))
        badges = QHBoxLayout()
        badges.setSpacing(6)
        for badge in (self.spf, self.dkim, self.dmarc):
            badges.addWidget(badge)
        badges.addStretch(1)
        self.flags_label = QLabel(self)
        self.flags_label.setObjectName("mailFlags")
        self.flags_label.setWordWrap(True)
        self.flags_label.setTextFormat(Qt.TextFormat.RichText)
        self.flags_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        left_inner = QWidget(self)
        left_layout = QVBoxLayout(left_inner)
        left_layout.setContentsMargins(8, 4, 8, 4)
        left_layout.addWidget(self.subject)
        left_layout.addLayout(badges)
        left_layout.addWidget(form_host)
        left_layout.addWidget(self.flags_label)
        left_layout.addStretch(1)
        left = QScrollArea(self)
        left.setWidgetResizable(True)
        left.setFrameShape(QScrollArea.Shape.NoFrame)
        left.setWidget(left_inner)

        self.hop_model = HopModel(self)
        self.hop_table = QTableView(self)
        self.hop_table.setObjectName("hopTable")
        self.hop_table.setModel(self.hop_model)
        configure_table(self.hop_table)
        self.header_model = HeaderModel(self)
        self.header_table = QTableView(self)
        self.header_table.setObjectName("headerTable")
        self.header_table.setModel(self.header_model)
        configure_table(self.header_table)
        self.header_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

        self.body = SafeTextBrowser(self)
        self.body.setObjectName("mailBody")
        self.body.link_hovered.connect(self._on_body_link_hovered)
        self.text_button = QRadioButton("Plain text", self)
        self.html_button = QRadioButton("HTML (sanitised)", self)
        self.source_toggle = QCheckBox("Show source", self)
        self.source_toggle.setToolTip("Show the body exactly as sent, as text: nothing is interpreted.")
        self.link_label = case_text.plain_label(self)
        self.link_label.setObjectName("linkTarget")
        self._body_group = QButtonGroup(self)
        self._body_group.addButton(self.text_button)
        self._body_group.addButton(self.html_button)
        self.text_button.toggled.connect(self._on_body_choice_toggled)
        self.source_toggle.toggled.connect(self._on_source_toggle_toggled)
        body_bar = QHBoxLayout()
        body_bar.addWidget(self.text_button)
        body_bar.addWidget(self.html_button)
        body_bar.addWidget(self.source_toggle)
        body_bar.addStretch(1)
        body_page = QWidget(self)
        body_layout = QVBoxLayout(body_page)
        body_layout.setContentsMargins(4, 4, 4, 4)
        body_layout.addLayout(body_bar)
        body_layout.addWidget(self.body, 1)
        body_layout.addWidget(self.link_label)

        self.attachment_model = AttachmentModel(self)
        self.attachment_table = QTableView(self)
        self.attachment_table.setObjectName("attachmentTable")
        self.attachment_table.setModel(self.attachment_model)
        configure_table(self.attachment_table)
        self.attachment_table.setToolTip("Double-click an attachment to open it as an item of its own")
        self.attachment_table.doubleClicked.connect(self._on_attachment_table_double_clicked)
        self.raw_source = QPlainTextEdit(self)
        self.raw_source.setObjectName("rawSource")
        self.raw_source.setReadOnly(True)
        self.raw_source.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.raw_source.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        self.inner_tabs = QTabWidget(self)
        self.inner_tabs.setDocumentMode(True)
        self.inner_tabs.addTab(self.hop_table, "Received hops")
        self.inner_tabs.addTab(body_page, "Body")
        self.inner_tabs.addTab(self.header_table, "All headers")
        self.attachments_tab = self.inner_tabs.addTab(self.attachment_table, "Attachments")
        self.raw_tab = self.inner_tabs.addTab(self.raw_source, "Raw source")
        self.inner_tabs.currentChanged.connect(self._on_inner_tabs_current_changed)
        self._raw_of: tuple[Case, int] | None = None  # the message whose source is shown when asked

        self.content = QSplitter(Qt.Orientation.Horizontal, self)
        self.content.setChildrenCollapsible(False)
        self.content.addWidget(left)
        self.content.addWidget(self.inner_tabs)
        self.content.setStretchFactor(0, 4)
        self.content.setStretchFactor(1, 7)
        self.content.setSizes([480, 840])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.content, 1)
        self.show_item(None, None)

    # -- feeding -----------------------------------------------------------------------------

    def show_item(self, item_id: int | None, reader: Database | None, case: Case | None = None) -> bool:
        """Show the message stored for an item; False (and a hint) when there is none.

        Its attachments (the items derived from it) are listed; its raw source is read from the
        vault only when the Raw source tab is opened.
        """
        mail = findings.email_of(reader.conn, item_id) if reader is not None and item_id is not None else None
        self.show_mail(mail)
        parts = (list(item_list.rows(reader.conn, item_list.child_ids(reader.conn, item_id)).values())
                 if mail is not None and reader is not None and item_id is not None else [])
        self.attachment_model.set_rows(parts)
        self.inner_tabs.setTabText(self.attachments_tab, f"Attachments ({len(parts)})")
        shown = mail is not None and case is not None and item_id is not None
        self._raw_of = (case, item_id) if shown and case is not None and item_id is not None else None
        self.raw_source.clear()
        if self.inner_tabs.currentIndex() == self.raw_tab:
            self._load_raw_source()
        return mail is not None

    def _on_inner_tabs_current_changed(self, index: int) -> None:
        if index == self.raw_tab and not self.raw_source.toPlainText():
            self._load_raw_source()

    def _load_raw_source(self) -> None:
        if self._raw_of is None:
            self.raw_source.setPlainText("")
            return
        case, item_id = self._raw_of
        item = case.item(item_id)
        if item is None:
            return
        try:
            raw = item_detail.raw_source(case.vault.blob_path(item.sha256), item.size, limit=_RAW_SHOWN)
        except OSError as exc:
            self.raw_source.setPlainText(f"The vault copy cannot be read ({exc.strerror or exc}); "
                                         "verify the case.")
            return
        more = (f"\n\n[\u2026 the first {_RAW_SHOWN:,} of {raw.size:,} bytes are shown; export the "
                "original file for the rest]") if raw.truncated else ""
        self.raw_source.setPlainText(raw.text + more)

    def _on_attachment_table_double_clicked(self, index: QModelIndex | QPersistentModelIndex) -> None:
        item_id = self.attachment_model.data(index, Qt.ItemDataRole.UserRole)
        if item_id is not None:
            self.attachment_activated.emit(int(item_id))

    def show_mail(self, mail: dict[str, Any] | None) -> None:
        """Show one message as ``findings.email_of`` returns it (None clears the view)."""
        self.mail = mail
        self.empty.setVisible(mail is None)
        self.content.setVisible(mail is not None)
        self.body.resource_requests.clear()
        if mail is None:
            self.hop_model.set_hops([])
            self.header_model.set_headers([])
            self.body.clear()
            return
        detail = mail.get("detail") or {}
        plain = case_text.plain
        plain(self.subject, mail.get("subject") or "(no subject)")
        from_name, from_addr = mail.get("from_name") or "", mail.get("from_addr") or ""
        plain(self.fields["from"], f"{from_name} <{from_addr}>" if from_name else from_addr)
        plain(self.fields["reply_to"], _addresses(detail, "reply_to", mail.get("reply_to")))
        plain(self.fields["return_path"], mail.get("return_path") or "")
        plain(self.fields["to"], _addresses(detail, "to", mail.get("to_addrs")))
        plain(self.fields["cc"], _addresses(detail, "cc", mail.get("cc_addrs")))
        date = timestamps.human(mail.get("date_utc"))
        raw = mail.get("date_raw") or ""
        plain(self.fields["date"], f"{date}  ({raw})" if date and raw else date or raw)
        plain(self.fields["message_id"], mail.get("message_id") or "")
        plain(self.fields["mailer"], mail.get("x_mailer") or mail.get("user_agent") or "")
        plain(self.fields["origin"], _origin_text(mail, detail))
        _set_verdict(self.spf, "SPF", mail.get("spf"))
        _set_verdict(self.dkim, "DKIM", mail.get("dkim"))
        _set_verdict(self.dmarc, "DMARC", mail.get("dmarc"))
        flags = mail.get("flags") or []
        if flags:
            items = "".join(case_text.rich("<li><b>{}</b>: {}</li>", f.get("code", ""), f.get("message", ""))
                            for f in flags)
            self.flags_label.setText(f"<p style='color:{WARNING_FOREGROUND.name()}'><b>\u26a0 "
                                     f"{len(flags)} flag{'s' if len(flags) != 1 else ''}</b></p>"
                                     f"<ul style='margin-left:-20px'>{items}</ul>")
        else:
            self.flags_label.setText("No spoofing or routing flags were raised.")
        for key, label in self.fields.items():
            # An absent header is not shown as an empty row; the origin line always is.
            self._form.setRowVisible(label, bool(label.text()) or key in ("from", "origin"))
        self.hop_model.set_hops(mail.get("hops") or [])
        self.hop_table.resizeColumnsToContents()
        for col in range(self.hop_model.columnCount()):  # a long TLS cipher must not hide the delays
            self.hop_table.setColumnWidth(col, min(self.hop_table.columnWidth(col), 230))
        self.header_model.set_headers(mail.get("headers") or [])
        self.header_table.resizeColumnToContents(0)
        has_html, has_text = bool(mail.get("html_body")), bool(mail.get("text_body"))
        self.html_button.setEnabled(has_html)
        self.text_button.setEnabled(has_text)
        blocker = [self.text_button.blockSignals(True), self.source_toggle.blockSignals(True)]
        (self.text_button if has_text or not has_html else self.html_button).setChecked(True)
        self.source_toggle.setChecked(False)
        self.text_button.blockSignals(blocker[0])
        self.source_toggle.blockSignals(blocker[1])
        self._render_body()

    # -- jumping to an occurrence ------------------------------------------------------------

    def reveal(self, where: str, raw: str | None = None, offset: int | None = None) -> None:
        """Show where an occurrence was found: a header row, a hop, or the body text at its offset.

        Args:
            where: the occurrence's ``where`` (``Received (hop 2 of 4)``, ``From``, ``text body`` ...).
            raw: the text as found, selected in the body when given.
            offset: its offset in the body it was found in.
        """
        if self.mail is None:
            return
        hop = hop_numbers.index_from_where(where)
        if hop is not None:
            self.inner_tabs.setCurrentIndex(0)
            self.hop_table.selectRow(hop)
            return
        if where in ("text body", "HTML body"):
            html = where == "HTML body"
            (self.html_button if html else self.text_button).setChecked(True)
            self.source_toggle.setChecked(html)  # offsets count in the HTML source, not the rendering
            self.inner_tabs.setCurrentIndex(1)
            if offset is not None and raw:
                body = (self.mail.get("html_body") if html else self.mail.get("text_body")) or ""
                length = len(self.body.toPlainText())
                cursor = self.body.textCursor()
                cursor.setPosition(min(shown_offset(body, offset), length))
                cursor.setPosition(min(shown_offset(body, offset + len(raw)), length),
                                   cursor.MoveMode.KeepAnchor)
                self.body.setTextCursor(cursor)
                self.body.ensureCursorVisible()
            return
        name = where.split(" ", 1)[0].rstrip(":=")
        row = self.header_model.find(name)
        if row is not None:
            self.inner_tabs.setCurrentIndex(2)
            self.header_table.selectRow(row)
            self.header_table.scrollTo(self.header_model.index(row, 0))

    # -- slots -------------------------------------------------------------------------------

    def _on_body_choice_toggled(self, _checked: bool) -> None:
        self._render_body()

    def _on_source_toggle_toggled(self, _checked: bool) -> None:
        self._render_body()

    def _on_body_link_hovered(self, url: str) -> None:
        case_text.plain(self.link_label, f"Link target (not opened): {url}" if url else "")
        self.link_hovered.emit(url)

    def _render_body(self) -> None:
        if self.mail is None:
            return
        html = self.html_button.isChecked()
        text = (self.mail.get("html_body") if html else self.mail.get("text_body")) or ""
        self.source_toggle.setEnabled(html)
        if html and not self.source_toggle.isChecked():
            self.body.show_html(text)
        elif html:
            self.body.show_source(text)
        else:
            self.body.show_plain(text)


def monospace() -> QFont:
    """The fixed-width font values such as IPs and message ids read best in."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
