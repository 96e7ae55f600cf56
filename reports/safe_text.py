# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way case text reaches reportlab: escaped, made visible, redacted, in a font that has it.

Evidence is hostile. reportlab's ``Paragraph`` parses an XML-like markup in which ``<img src>``
reads files and URLs (CVE-2020-28463) and colour attributes were once evaluated as Python
(CVE-2023-33733). Every string that comes from a case — titles, names, header values, OCR text,
notes, even hashes — therefore passes through :func:`safe_para` (or :func:`plain` where reportlab
draws a plain string, such as outline entries and metadata). Nothing here ever puts case text
inside a tag attribute: attributes only ever hold this module's own constants.

What "literally" means: the reader sees every character of the evidence. Characters that would
otherwise be invisible or act on the layout — C0/C1 controls, bidirectional overrides and
isolates (a right-to-left override in a file name is a classic disguise), zero-width spaces, the
byte-order mark, lone surrogates and private-use code points — are shown as a marker such as
``⟨RLO⟩`` or ``⟨U+001B⟩`` instead (see :func:`visible`), and so is a character no bundled font
can draw (an emoji would otherwise print as an empty box). Text in a script the style's font lacks
is set in the first bundled fallback font that has the glyph (CJK, Hangul).

Right-to-left text: when the optional ``python-bidi`` package is installed, a line holding
Hebrew or Arabic letters and no explicit bidi controls is put into visual order before layout,
because reportlab only reorders with its own ``rlbidi`` extension, which is not on PyPI. Lines
with explicit controls are never reordered: the controls are shown as markers instead, so a
disguise cannot work on the reader. Arabic letters are not joined into their contextual forms
(that needs ``uharfbuzz`` shaping); they print as isolated forms, still readable and searchable.

This module must never fetch anything: ``trustedSchemes`` and ``trustedHosts`` are emptied on
import, so even a markup bug that let an ``<img src>`` through could not open a URL.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

from desktop.resources import resource_path

rl_config.trustedSchemes = []
rl_config.trustedHosts = []

_bidi_display: Callable[[str], str] | None
try:  # optional: visual ordering of right-to-left lines (see the module docstring)
    _bidi_display = importlib.import_module("bidi").get_display
except (ImportError, AttributeError):  # pragma: no cover - depends on the installation
    _bidi_display = None

SANS = "CasetrailSans"
SANS_BOLD = "CasetrailSans-Bold"
SANS_ITALIC = "CasetrailSans-Oblique"
MONO = "CasetrailMono"
MONO_BOLD = "CasetrailMono-Bold"
CJK = "CasetrailCJK"
HANGUL = "CasetrailHangul"

_FONT_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    SANS_ITALIC: "DejaVuSans-Oblique.ttf",
    MONO: "DejaVuSansMono.ttf",
    MONO_BOLD: "DejaVuSansMono-Bold.ttf",
    CJK: "DroidSansFallbackFull.ttf",
    HANGUL: "NanumSquareR.ttf",
}
# Tried in order for a character the style's own font has no glyph for.
_FALLBACKS = (SANS, CJK, HANGUL)

REDACTED = "REDACTED"
_REDACTION_BOX = f'<font backColor="#000000" color="#FFFFFF">&#160;{REDACTED}&#160;</font>'
# Printed where a token longer than its column had to be broken (hashes, URLs, paths): the reader
# sees that the line goes on and that no character is missing. Never used for anything else.
BREAK_MARK = "\u21a9"
BREAK_COLOUR = "#8A94A6"
_BREAK = f'<font color="{BREAK_COLOUR}" name="{SANS}">{BREAK_MARK}</font><br/>'
LINK_COLOUR = "#1F4E79"
_ANCHOR = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")

_NAMED_CONTROLS = {
    0x061C: "ALM", 0x200B: "ZWSP", 0x200E: "LRM", 0x200F: "RLM", 0x202A: "LRE", 0x202B: "RLE",
    0x202C: "PDF", 0x202D: "LRO", 0x202E: "RLO", 0x2066: "LRI", 0x2067: "RLI", 0x2068: "FSI",
    0x2069: "PDI", 0xFEFF: "BOM", 0x00AD: "SHY", 0x2028: "LS", 0x2029: "PS",
}
_BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
                            0x2066, 0x2067, 0x2068, 0x2069})
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}\Z")
MARKER_COLOUR = "#B00020"


@functools.cache
def register_fonts() -> None:
    """Register the bundled fonts with reportlab once per process.

    Raises:
        FileNotFoundError: a font file is missing from ``resources/fonts`` (a broken install).
    """
    for name, file in _FONT_FILES.items():
        path = resource_path("fonts", file)
        if not path.is_file():
            raise FileNotFoundError(f"the briefing font {file} is missing from {path.parent}")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS_ITALIC,
                                  boldItalic=SANS_BOLD)
    pdfmetrics.registerFontFamily(MONO, normal=MONO, bold=MONO_BOLD, italic=MONO,
                                  boldItalic=MONO_BOLD)


def font_files() -> dict[str, Path]:
    """Return the font name → file mapping, for documentation and tests."""
    return {name: resource_path("fonts", file) for name, file in _FONT_FILES.items()}


@functools.cache
def _coverage(font_name: str) -> frozenset[int]:
    register_fonts()
    font: Any = pdfmetrics.getFont(font_name)
    face = getattr(font, "face", None)
    return frozenset(getattr(face, "charToGlyph", {}) or {})


@functools.cache
def _printable() -> frozenset[int]:
    """Every code point some bundled font can draw."""
    out: set[int] = set()
    for name in _FONT_FILES:
        out |= _coverage(name)
    return frozenset(out)


def _marker(cp: int) -> str | None:
    """Return the visible stand-in for a code point that must not print as itself, or None.

    Invisible or layout-changing characters get a marker; so does a character no bundled font
    has (an emoji, a rare script): printed as itself it would be an empty box, and the reader
    would not know what the evidence holds.
    """
    if cp in _NAMED_CONTROLS:
        return f"⟨{_NAMED_CONTROLS[cp]}⟩"
    if cp in (0x09, 0x0A):
        return None
    category = unicodedata.category(chr(cp))
    if category in ("Cc", "Cs", "Co") or (category == "Cf" and cp not in (0x200C, 0x200D)):
        return f"⟨U+{cp:04X}⟩"
    if cp >= 0x80 and cp not in _printable() and category not in ("Zs", "Zl", "Zp"):
        return f"⟨U+{cp:04X}⟩"
    return None


def visible(text: object) -> str:
    r"""Return the text exactly as a briefing shows it (without redaction or reordering).

    Line breaks stay, tabs become spaces, and every invisible or layout-changing character is
    replaced by its marker, e.g. ``"a\\u202eb"`` → ``"a⟨RLO⟩b"``. Tests compare extracted PDF
    text with this.
    """
    s = _normalise(text)
    return "".join(_marker(ord(c)) or c for c in s)


def _normalise(text: object) -> str:
    s = "" if text is None else str(text)
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")


class Redactor:
    """Replaces chosen values everywhere they appear (case-insensitively), also in defanged form.

    Args:
        terms: the values to hide; blank ones are ignored.
    """

    def __init__(self, terms: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for term in terms:
            t = term.strip()
            if not t:
                continue
            variants.add(t)
            # A redacted domain, IP or address must also vanish from its defanged spelling.
            variants.add(t.replace(".", "[.]").replace("@", "[@]"))
            for scheme, fanged in (("http", "hxxp"), ("ftp", "fxp")):
                if t.lower().startswith(scheme):
                    variants.add(fanged + t.replace(".", "[.]")[len(scheme):])
        ordered = sorted(variants, key=len, reverse=True)
        self.terms = tuple(sorted(t for t in (x.strip() for x in terms) if t))
        self._re = re.compile("|".join(map(re.escape, ordered)), re.I) if ordered else None

    def __bool__(self) -> bool:
        return self._re is not None

    def hides(self, text: object) -> bool:
        """Whether the text contains a redacted value (used to black out OCR boxes)."""
        return bool(self._re and self._re.search(_normalise(text)))

    def segments(self, text: str) -> list[tuple[str, bool]]:
        """Split text into (piece, redacted) pairs, in order."""
        if self._re is None:
            return [(text, False)]
        out: list[tuple[str, bool]] = []
        pos = 0
        for m in self._re.finditer(text):
            if m.start() > pos:
                out.append((text[pos:m.start()], False))
            out.append((m.group(), True))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], False))
        return out

    def plain(self, text: object) -> str:
        """Return the text with each redacted span replaced by ``[REDACTED]``."""
        s = _normalise(text)
        return self._re.sub(f"[{REDACTED}]", s) if self._re else s


NO_REDACTION = Redactor()


@dataclass(frozen=True)
class Run:
    """A piece of a paragraph with this module's own styling (never the evidence's).

    Attributes:
        text: the text, escaped like everything else.
        bold: set in the bold face.
        mono: set in the monospaced face.
        colour: an ``#RRGGBB`` colour chosen by the caller's code, never from the case.
        link: the name of an anchor in the same document (the caller's own constant, such as
            ``ex-3``): the run becomes an internal link to it.
        anchor: the name of a link destination placed where the run starts (the caller's own
            constant, such as ``ind-12``).
    """

    text: object
    bold: bool = False
    mono: bool = False
    colour: str | None = None
    link: str | None = None
    anchor: str | None = None

    @property
    def font(self) -> str:
        """The font this run is set in (before fallbacks for missing glyphs)."""
        if self.mono:
            return MONO_BOLD if self.bold else MONO
        return SANS_BOLD if self.bold else SANS


def plain(text: object, redact: Redactor = NO_REDACTION) -> str:
    """Return case text for places reportlab draws without markup (outline, canvas, metadata)."""
    return visible(redact.plain(text)).replace("\n", " ")


def _reorder(line: str) -> str:
    if _bidi_display is None:
        return line
    if any(ord(c) in _BIDI_CONTROLS for c in line):
        return line  # explicit controls are shown as markers, never obeyed
    if not any(unicodedata.bidirectional(c) in ("R", "AL") for c in line):
        return line
    return str(_bidi_display(line))


def _font_for(cp: int, font_name: str) -> str:
    if cp in _coverage(font_name) or cp < 0x80:
        return font_name
    for fallback in _FALLBACKS:
        if fallback != font_name and cp in _coverage(fallback):
            return fallback
    return font_name


def markup(text: object, font_name: str, redact: Redactor = NO_REDACTION,
           breaks: dict[int, bool] | None = None) -> str:
    """Return paragraph markup that shows ``text`` literally in ``font_name``.

    The only tags in the result are this module's own: ``<br/>`` for line breaks, ``<font>``
    for fallback fonts and markers, and the redaction box.

    Args:
        text: the case text.
        font_name: the font of the style (or the run).
        redact: values to black out.
        breaks: line breaks the layout chose (see :mod:`reports.layout`): a break before the
            character at each index of the normalised text; True prints :data:`BREAK_MARK`
            there (a token split because it is longer than its column), False breaks only (the
            long token starts on a line of its own).
    """
    register_fonts()
    out: list[str] = []
    run_font = font_name
    run: list[str] = []
    breaks = breaks or {}

    def flush() -> None:
        if run:
            body = escape("".join(run))
            out.append(body if run_font == font_name else f'<font name="{run_font}">{body}</font>')
            run.clear()

    chars: list[tuple[str | None, int]] = []  # (None: one redacted span, index in the text)
    pos = 0
    for segment, hidden in redact.segments(_normalise(text)):
        if hidden:
            chars.append((None, pos))
        else:
            lines = segment.split("\n")
            reordered = "\n".join(_reorder(line) for line in lines)
            same = reordered == segment  # a reordered (right-to-left) line keeps no break points
            chars.extend((ch, pos + i if same else -1) for i, ch in enumerate(reordered))
        pos += len(segment)
    for ch, index in chars:
        if index in breaks and index > 0:
            flush()
            out.append(_BREAK if breaks[index] else "<br/>")
        if ch is None:
            flush()
            out.append(_REDACTION_BOX)
            continue
        cp = ord(ch)
        if ch == "\n":
            flush()
            out.append("<br/>")
        elif (mark := _marker(cp)) is not None:
            flush()
            out.append(f'<font color="{MARKER_COLOUR}" name="{SANS}">{escape(mark)}</font>')
        else:
            font = _font_for(cp, font_name)
            if font != run_font:
                flush()
                run_font = font
            run.append(ch)
    flush()
    return "".join(out)


def display_units(text: object, font_name: str, redact: Redactor = NO_REDACTION,
                  ) -> list[tuple[int, str, str]]:
    """What :func:`markup` prints, unit by unit: ``(index in the text, printed string, font)``.

    A unit is one character of the text, its visible marker, or one whole redaction box (which
    is never broken). The layout measures these to find tokens too long for their column.
    """
    register_fonts()
    out: list[tuple[int, str, str]] = []
    pos = 0
    for segment, hidden in redact.segments(_normalise(text)):
        if hidden:
            out.append((pos, f"\u00a0{REDACTED}\u00a0", font_name))
        else:
            for i, ch in enumerate(segment):
                mark = _marker(ord(ch))
                if mark is not None:
                    out.append((pos + i, mark, SANS))
                else:
                    out.append((pos + i, ch, _font_for(ord(ch), font_name)))
        pos += len(segment)
    return out


def run_font(run: Run, style: ParagraphStyle) -> str:
    """The font a run is set in within a paragraph of ``style``."""
    if run.mono or run.bold:
        return run.font
    return str(style.fontName)


def run_markup(runs: Sequence[Run | str], style: ParagraphStyle,
               redact: Redactor = NO_REDACTION, breaks: Sequence[dict[int, bool]] | None = None) -> str:
    """Return the markup of several runs set in one paragraph (``breaks``: one dict per run)."""
    register_fonts()
    parts: list[str] = []
    for n, r in enumerate(runs):
        run = r if isinstance(r, Run) else Run(r)
        base = run_font(run, style)
        body = markup(run.text, base, redact, breaks[n] if breaks else None)
        if base != style.fontName:
            body = f'<font name="{base}">{body}</font>'
        if run.colour is not None:
            if not _HEX_COLOUR.match(run.colour):
                raise ValueError(f"not an #RRGGBB colour: {run.colour!r}")
            body = f'<font color="{run.colour}">{body}</font>'
        if run.link is not None:
            if not _ANCHOR.match(run.link):
                raise ValueError(f"not an anchor name: {run.link!r}")
            body = f'<a href="#{run.link}" color="{run.colour or LINK_COLOUR}">{body}</a>'
        if run.anchor is not None:
            if not _ANCHOR.match(run.anchor):
                raise ValueError(f"not an anchor name: {run.anchor!r}")
            body = f'<a name="{run.anchor}"/>{body}'
        parts.append(body)
    return "".join(parts)


def safe_para(text: object | Sequence[Run | str], style: ParagraphStyle, *,
              redact: Redactor = NO_REDACTION) -> Paragraph:
    """Return a Paragraph that shows case text literally: the only way case text becomes one.

    Args:
        text: a string (anything else is ``str()``-ed), or a list of :class:`Run` for a
            paragraph mixing, say, a bold label and a monospaced value.
        style: the paragraph style; its font decides which characters need a fallback font.
        redact: values to black out.
    """
    if isinstance(text, list | tuple):
        return Paragraph(run_markup(text, style, redact), style)
    return Paragraph(markup(text, style.fontName, redact), style)
