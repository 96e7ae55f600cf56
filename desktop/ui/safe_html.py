# SPDX-License-Identifier: GPL-3.0-or-later
"""Showing the HTML body of a hostile e-mail without it reaching anything outside the message.

Two independent locks, because either alone has failed in mail clients before:

1. :func:`sanitise` runs the body through ``nh3`` (the Rust ``ammonia`` sanitiser) with a short
   list of formatting tags: no scripts, styles, forms, frames, ``<link>`` or ``<meta>``; no
   ``style`` attributes (CSS ``url()`` is a resource load); an ``<img>`` keeps its ``src`` only for
   a ``cid:`` part of the same message. Tracking pixels and ``file:`` probes are gone before Qt
   sees the markup.
2. :class:`SafeTextBrowser` overrides ``loadResource``, the door through which ``QTextDocument``
   fetches anything, and answers only ``cid:`` parts it was handed in memory. Every other image
   gets a grey placeholder, never a null answer: on a null answer Qt's image handler tries to open
   the image's name as a local file itself, which ``loadResource`` would never see.
   Every request is recorded in :attr:`SafeTextBrowser.resource_requests`, so a test (and a
   curious analyst) can see what the markup asked for. Links are never followed: clicking one
   only tells the window which target it names.

This module never opens a file, a socket or a URL.
"""

from __future__ import annotations

import functools
from typing import Any

import nh3
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QColor, QFontDatabase, QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.core.printable import visible

# Formatting only: enough to read a phishing mail as its victim saw it, nothing that fetches.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "div", "em", "font", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strike",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "*": {"title", "align", "dir", "lang"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "size", "face"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "td": {"colspan", "rowspan", "width", "valign"},
    "th": {"colspan", "rowspan", "width", "valign"},
    "ol": {"start", "type"},
}
# Content removed with its tag, not just unwrapped: the text of a script is not the message.
REMOVED_WITH_CONTENT = frozenset({"script", "style", "head", "title", "noscript", "template", "object",
                                  "embed", "iframe", "frame", "frameset", "applet", "svg", "math"})


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    """Keep an image source only when it names a part of this message (``cid:``)."""
    if element == "img" and attribute == "src":
        return value if value.strip().lower().startswith("cid:") else None
    return value


def sanitise(html: str) -> str:
    """Return ``html`` with everything that could run or fetch removed (see the module docstring)."""
    return str(nh3.clean(
        html, tags=set(ALLOWED_TAGS), clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter, url_schemes={"http", "https", "mailto", "cid"},
        link_rel=None, strip_comments=True))


def cid_key(url: str) -> str:
    """Normalise a ``cid:`` reference or a Content-ID header to one lookup key."""
    text = url.strip()
    if text.lower().startswith("cid:"):
        text = text[4:]
    return QUrl.fromPercentEncoding(text.strip().strip("<>").encode()).lower()


def shown_offset(text: str, offset: int) -> int:
    """Where character ``offset`` of ``text`` is in what :meth:`SafeTextBrowser.show_plain` shows."""
    return len(visible(text[:max(0, offset)], multiline=True))


@functools.cache
def blocked_image() -> QImage:
    """What a blocked or missing image shows: a small grey square, so the layout still reads."""
    image = QImage(12, 12, QImage.Format.Format_ARGB32)
    image.fill(QColor("#cfd8dc"))
    return image


class SafeTextBrowser(QTextBrowser):
    """A ``QTextBrowser`` that can only show what it was given: no network, no files, no navigation.

    Signals:
        link_hovered: the target of the link under the mouse ("" when none), for a status line:
            the analyst sees where a link points without it ever being opened.

    Attributes:
        resource_requests: every ``(type, url)`` the document asked for, answered or not.
    """

    link_hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.resource_requests: list[tuple[int, str]] = []
        self._cid_parts: dict[str, QImage] = {}
        self.highlighted.connect(self._on_self_highlighted)

    def set_cid_parts(self, parts: dict[str, QImage]) -> None:
        """Hand over the message's inline images by Content-ID (already decoded safely)."""
        self._cid_parts = {cid_key(k): v for k, v in parts.items()}

    def show_html(self, html: str) -> None:
        """Show an HTML body after :func:`sanitise`, control and bidi characters made visible."""
        self.document().clear()
        # The escapes are plain ASCII, so they cannot open or close a tag of the sanitised markup.
        self.setHtml(visible(sanitise(html), multiline=True))

    def show_source(self, text: str) -> None:
        """Show any text verbatim (the HTML source, a plain body) in a fixed-width font.

        Verbatim for the eye: control and bidi characters appear as escapes
        (:func:`~desktop.core.printable.visible`); :func:`shown_offset` maps offsets into it.
        """
        self.document().clear()
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlainText(visible(text, multiline=True))

    def show_plain(self, text: str) -> None:
        """Show a plain-text body as text (never interpreted as markup; escapes as in the source)."""
        self.document().clear()
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont))
        self.setPlainText(visible(text, multiline=True))

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """Answer only in-memory ``cid:`` images; everything else gets nothing, and is recorded."""
        url = name.toString() if isinstance(name, QUrl) else str(name)
        self.resource_requests.append((int(type), url))
        if int(type) == int(QTextDocument.ResourceType.ImageResource):
            found = self._cid_parts.get(cid_key(url)) if QUrl(url).scheme().lower() == "cid" else None
            # Never answer an image with nothing: Qt's image handler then falls back to opening the
            # name as a local file itself (QTextImageHandler), behind this method's back.
            return found if found is not None else blocked_image()
        return ""  # an empty style sheet or document, never a null answer

    def doSetSource(self, name: QUrl | str,
                    type: QTextDocument.ResourceType = QTextDocument.ResourceType.UnknownResource) -> None:
        """Never navigate: a clicked link or a programmatic source change loads nothing."""
        self.resource_requests.append((int(type), name.toString() if isinstance(name, QUrl) else str(name)))

    def _on_self_highlighted(self, url: QUrl) -> None:
        self.link_hovered.emit(url.toString())
