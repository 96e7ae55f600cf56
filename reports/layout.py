# SPDX-License-Identifier: GPL-3.0-or-later
"""Page layout that never breaks a word: wrapping, column widths, headings kept with their text.

reportlab breaks lines at spaces and, when a word is wider than its column, cuts it wherever
the column ends ("AS… WO / RLDSTREAM", "Authenti / cation-Results", a time split at its colon).
A reader cannot tell such a cut from the evidence's own text, and a peer searching the PDF for
"WORLDSTREAM" does not find it. This module owns three remedies:

- :class:`WrapParagraph` lays a paragraph out for the width it is given and breaks a token only
  when it is longer than that width (hashes, URLs, paths): at a natural point (after ``/``,
  ``.``, ``?``, ``=`` …) when there is one in the line, and with a visible
  :data:`reports.safe_text.BREAK_MARK` where the break is, so no character is lost or invented.
  Such a token starts on a line of its own.
- :func:`column_widths` gives each table column at least the width of its longest word (the
  words of a table never break) and shares the rest by what each column would need unwrapped.
- :func:`keep_with_next` moves a heading to the next page when the start of what follows would
  not fit under it, so no heading is left at the foot of a page.

Measuring uses the same fonts and markers :mod:`reports.safe_text` prints, so what is measured
is what is drawn. Nothing here reads a case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, Paragraph
from reportlab.platypus.paragraph import cleanBlockQuotedText

from reports.safe_text import (
    BREAK_MARK,
    NO_REDACTION,
    SANS,
    Redactor,
    Run,
    display_units,
    run_font,
    run_markup,
)
from reports.tagging import TaggedImage, draw_paragraph

# A break may follow these characters (or precede an opening bracket): the joints of URLs,
# paths, host names and query strings, where a reader expects a value to continue.
_BREAK_AFTER = frozenset("/\\.-_:?&=@,;|)]}+#~")
_BREAK_BEFORE = frozenset("([{")
_NATURAL_MIN = 0.35  # a natural break leaving less than this share of the line is not taken
# Tokens a column need not fit whole: long ones that are values rather than words (URLs, paths,
# hashes) are broken at their joints, so they ask for at most this much of a column's width.
BREAKABLE_MIN_LEN = 20
BREAKABLE_CAP = 34 * mm
_HEXISH = frozenset("0123456789abcdefABCDEF")
WHOLE_SHARE = 0.36  # the most of a table's width one column may claim to keep a long value whole
_EPS = 0.01

_Unit = tuple[int, int, str, str, float]  # run index, index in the run's text, printed string, font, width


_WIDTHS: dict[tuple[str, str, float], float] = {}  # measured: 0.5 M stringWidth calls per long briefing


def _width(shown: str, font: str, size: float) -> float:
    key = (shown, font, size)
    w = _WIDTHS.get(key)
    if w is None:
        w = _WIDTHS[key] = stringWidth(shown, font, size)
    return w


def _units(runs: Sequence[Run], style: ParagraphStyle, redact: Redactor) -> list[_Unit]:
    size = float(style.fontSize)
    out: list[_Unit] = []
    for r, run in enumerate(runs):
        for index, shown, font in display_units(run.text, run_font(run, style), redact):
            out.append((r, index, shown, font, _width(shown, font, size)))
    return out


def _tokens(units: list[_Unit]) -> list[tuple[int, int, bool]]:
    """``(start, end, at_line_start)`` of every run of non-space units."""
    out: list[tuple[int, int, bool]] = []
    start: int | None = None
    line_start = True
    for i, u in enumerate(units):
        if u[2] in (" ", "\n"):
            if start is not None:
                out.append((start, i, line_start))
                start = None
                line_start = False
            if u[2] == "\n":
                line_start = True
        elif start is None:
            start = i
    if start is not None:
        out.append((start, len(units), line_start))
    return out


def _breakable(text: str) -> bool:
    """A value rather than a word: long, and with joints to break at (or a hash)."""
    if len(text) < BREAKABLE_MIN_LEN:
        return False
    return any(c in _BREAK_AFTER and c != "-" for c in text) or sum(c in _HEXISH for c in text) > 0.9 * len(
        text
    )


def _natural_after(units: list[_Unit], j: int) -> bool:
    """May a break come after unit ``j``?"""
    here = units[j][2]
    nxt = units[j + 1][2] if j + 1 < len(units) else ""
    return (len(here) == 1 and here in _BREAK_AFTER) or (len(nxt) == 1 and nxt in _BREAK_BEFORE)


def breaks_for(
    runs: Sequence[Run],
    style: ParagraphStyle,
    width: float,
    redact: Redactor = NO_REDACTION,
    units: list[_Unit] | None = None,
) -> list[dict[int, bool]]:
    """Where to break tokens wider than ``width``: one ``{index: marker}`` dict per run."""
    units = _units(runs, style, redact) if units is None else units
    out: list[dict[int, bool]] = [{} for _ in runs]
    if sum(u[4] for u in units) <= width + _EPS:
        return out  # the whole text is narrower than the line: no token can be too long
    mark = stringWidth(BREAK_MARK, SANS, float(style.fontSize))
    room = width - mark
    if room <= 0:
        return out
    for start, end, line_start in _tokens(units):
        if sum(u[4] for u in units[start:end]) <= width + _EPS:
            continue
        if not line_start:
            out[units[start][0]][units[start][1]] = False
        piece, acc, natural = start, 0.0, None
        for j in range(start, end):
            w = units[j][4]
            if acc + w > room + _EPS and j > piece:
                cut = j
                if (
                    natural is not None
                    and sum(u[4] for u in units[piece : natural + 1]) >= _NATURAL_MIN * room
                ):
                    cut = natural + 1
                out[units[cut][0]][units[cut][1]] = True
                acc = sum(u[4] for u in units[cut:j])
                piece, natural = cut, None
                for k in range(cut, j):
                    if _natural_after(units, k):
                        natural = k
            acc += w
            if j < end - 1 and _natural_after(units, j):
                natural = j
    return out


def widths_of(
    runs: Sequence[Run],
    style: ParagraphStyle,
    redact: Redactor = NO_REDACTION,
    units: list[_Unit] | None = None,
) -> tuple[float, float, float]:
    """``(minimum, whole, natural)`` widths of a paragraph.

    ``minimum``: its widest word (a value such as a URL counts at most :data:`BREAKABLE_CAP`,
    since it may break at its joints); ``whole``: its widest token of any kind; ``natural``: its
    widest line left unwrapped.
    """
    units = _units(runs, style, redact) if units is None else units
    minimum = whole = 0.0
    for start, end, _ in _tokens(units):
        w = sum(u[4] for u in units[start:end])
        text = "".join(u[2] for u in units[start:end])
        minimum = max(minimum, min(w, BREAKABLE_CAP) if _breakable(text) else w)
        whole = max(whole, w)
    natural, line = 0.0, 0.0
    for u in units:
        if u[2] == "\n":
            natural, line = max(natural, line), 0.0
        else:
            line += u[4]
    return minimum, whole, max(natural, line)


class WrapParagraph(Paragraph):
    """A paragraph of case text that breaks no word (see the module docstring).

    Build it with :func:`reports.safe_text.safe_para`-like arguments through ``runs``; reportlab
    itself creates instances with ``frags`` when it splits one across pages, and those are laid
    out as they are.

    Args:
        text: markup, only when reportlab splits a paragraph (use ``runs``).
        style: the paragraph style.
        runs: the case text as runs; escaped, made visible and redacted by :mod:`reports.safe_text`.
        redact: values to black out.
    """

    def __init__(
        self,
        text: str | None,
        style: ParagraphStyle | None = None,
        bulletText: str | None = None,  # noqa: N803 - reportlab's name
        frags: Any = None,
        caseSensitive: int = 1,  # noqa: N803 - reportlab's name
        encoding: str = "utf8",
        *,
        runs: Sequence[Run] | None = None,
        redact: Redactor = NO_REDACTION,
    ) -> None:
        self._runs = tuple(runs) if runs is not None else None
        self._redact = redact
        self._laid_for: float | None = None
        self._breaks: list[dict[int, bool]] = []
        self._units: list[_Unit] | None = None
        if self._runs is not None:
            assert style is not None  # noqa: S101 - every caller passes a style with runs
            text = run_markup(self._runs, style, redact)
        super().__init__(text, style, bulletText, frags, caseSensitive, encoding)  # type: ignore[arg-type]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's API
        """Break over-long tokens for this width, then lay out as reportlab does."""
        if self._runs is not None and availWidth != self._laid_for:
            st = self.style
            width = availWidth - st.leftIndent - st.rightIndent - max(0.0, float(st.firstLineIndent))
            breaks = breaks_for(self._runs, st, width, self._redact, self._measured())
            if breaks != self._breaks and (any(breaks) or any(self._breaks)):
                self._setup(  # type: ignore[attr-defined]
                    run_markup(self._runs, st, self._redact, breaks),
                    st,
                    self.bulletText,
                    None,
                    cleanBlockQuotedText,
                )
            self._breaks = breaks
            self._laid_for = availWidth
            self._units = None  # measured again only if the width changes: a long briefing holds many
        return super().wrap(availWidth, availHeight)

    def drawOn(self, canv: Any, x: float, y: float, _sW: float = 0) -> None:  # noqa: N803 - reportlab's API
        """Draw as a tagged element of the document's structure (:mod:`reports.tagging`)."""
        draw_paragraph(self, canv, lambda: _spaced_lines(
            canv, lambda: Paragraph.drawOn(self, canv, x, y, _sW)))  # type: ignore[call-arg]

    def widths(self) -> tuple[float, float, float]:
        """``(minimum, whole, natural)`` widths of this paragraph's text (see :func:`widths_of`)."""
        if self._runs is None:
            return 0.0, 0.0, 0.0
        return widths_of(self._runs, self.style, self._redact, self._measured())

    def _measured(self) -> list[_Unit]:
        if self._units is None:
            self._units = _units(self._runs or (), self.style, self._redact)
        return self._units


def _spaced_lines(canv: Any, draw: Callable[[], None]) -> None:
    """Draw a paragraph with a space after each line it wraps at a space (``draw()`` draws it).

    reportlab drops the space where it wraps a line, so whatever reads the text (a screen
    reader following the structure tree, copy and paste, ``pdfinfo -struct-text``) runs the
    last word of a line into the first of the next ("it" + "shows"). An invisible space at
    the end of the line keeps the words apart; a line that ends in a token's visible break mark
    gets none, so a broken value still copies without a character added.
    """
    begin = canv.__dict__.get("beginText")
    plain = canv.beginText

    def spaced_begin(*args: Any, **kwargs: Any) -> Any:
        tx = plain(*args, **kwargs)
        text_out = tx._textOut

        def out(text: str, TStar: int = 0) -> None:  # noqa: N803 - reportlab's name
            if TStar and text and not text.endswith((BREAK_MARK, " ")):
                text += " "
            text_out(text, TStar)

        tx._textOut = out
        return tx

    canv.beginText = spaced_begin
    try:
        draw()
    finally:
        if begin is None:
            del canv.beginText
        else:
            canv.beginText = begin


def column_widths(
    rows: Sequence[Sequence[Any]],
    total: float,
    *,
    padding: float = 6.0,
    fixed: dict[int, float] | None = None,
    floor: float = 9 * mm,
) -> list[float]:
    """Share ``total`` between the columns of a table so that no word of a cell is broken.

    Three levels, as a browser lays out an automatic table: every column gets at least its widest
    word (``minimum`` of :func:`widths_of`, plus ``padding``); then, as far as the width allows,
    its widest value whole (a URL, a host name); then what it needs to be unwrapped. Only when even
    the words do not fit do the columns shrink in proportion (and a word breaks, visibly).

    Args:
        rows: the table's cells; :class:`WrapParagraph` cells are measured, others count as 0.
        total: the width of the table.
        padding: left plus right cell padding.
        fixed: columns whose width is given (widened to their widest word if that is wider).
        floor: the narrowest a measured column may be.
    """
    fixed = fixed or {}
    n = max((len(r) for r in rows), default=0)
    levels = [[floor] * n for _ in range(3)]
    for row in rows:
        for c, cell in enumerate(row):
            if isinstance(cell, WrapParagraph):
                for level, w in zip(levels, cell.widths(), strict=True):
                    level[c] = max(level[c], w + padding)
    for c, w in fixed.items():
        if c < n:
            for level in levels:
                level[c] = max(w, levels[0][c])
    mins, wholes, nats = levels
    # One very long value (a SHA-256, a long path) must not take a table's width from its neighbours.
    wholes = [max(min(a, WHOLE_SHARE * total), b) for a, b in zip(wholes, mins, strict=True)]
    nats = [max(a, b) for a, b in zip(nats, wholes, strict=True)]
    if sum(mins) > total:
        return _capped(mins, total)
    for lower, upper in ((wholes, nats), (mins, wholes)):
        if sum(lower) <= total:
            extra = total - sum(lower)
            want = sum(u - lo for u, lo in zip(upper, lower, strict=True))
            if want <= extra:  # everything fits unwrapped: the rest goes to the free columns
                free = [c for c in range(n) if c not in fixed] or list(range(n))
                spare = extra - want
                return [
                    upper[c] + (spare * upper[c] / sum(upper[k] for k in free) if c in free else 0.0)
                    for c in range(n)
                ]
            return [lo + extra * (u - lo) / want for u, lo in zip(upper, lower, strict=True)]
    return mins


def _capped(mins: Sequence[float], total: float) -> list[float]:
    """Widths when the widest words do not fit: only the widest columns give way.

    The columns whose widest word is a long value (a host name, a URL, a hash) are the ones that
    do not fit; they are cut to one common width (water-filling) so that every narrower column
    keeps its widest word whole — a header such as "Protocol", a time, "Microsoft" — and only the
    long values break, at a joint with the visible mark. Only if even that cannot work do all
    columns shrink in proportion.
    """
    order = sorted(mins)
    left, rest = total, len(order)
    for w in order:
        cap = left / rest
        if w > cap:
            return [min(m, cap) for m in mins]
        left -= w
        rest -= 1
    return [w * total / sum(mins) for w in mins]


class _KeepHeading(CondPageBreak):
    """Breaks the frame when a heading and the start of what follows it would not fit."""

    def __init__(self, flowables: Sequence[Flowable], follow: float) -> None:
        super().__init__(0)
        self._flowables = list(flowables)
        self._follow = follow

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's API
        frame = _frame_of(self)
        full = float(getattr(frame, "_aH", availHeight)) if frame is not None else availHeight
        need = 0.0
        *heads, last = self._flowables
        canv = getattr(self, "canv", None)

        def height(f: Flowable) -> float:
            return float(
                f.wrapOn(canv, availWidth, availHeight)[1]
                if canv is not None
                else f.wrap(availWidth, availHeight)[1]
            )

        for f in heads:
            need += height(f) + f.getSpaceBefore() + f.getSpaceAfter()
        need += min(height(last) + last.getSpaceBefore(), self._follow)
        # At the top of a frame nothing is gained by breaking; never ask for more than a page.
        at_top = bool(getattr(frame, "_atTop", False))
        self.height = need if not at_top and availHeight < full - _EPS and need < 0.9 * full else 0
        return super().wrap(availWidth, availHeight)


def keep_with_next(*flowables: Flowable, follow: float = 28 * mm) -> list[Flowable]:
    """The flowables, preceded by a guard that keeps the first ones with the start of the last.

    Args:
        flowables: a heading (and anything that belongs to it, such as a caption) and the
            first flowable of its content.
        follow: how much of the content must fit under the heading (all of it when smaller).
    """
    return [_KeepHeading(flowables, follow), *flowables]


def _frame_of(flowable: Flowable) -> Any:
    """The frame a flowable is being laid out in (reportlab's own lookup, absent from its stubs)."""
    return getattr(flowable, "_doctemplateAttr")("frame")  # noqa: B009 - not in the type stubs


def kept(heads: Sequence[Flowable], body: Sequence[Flowable], *, follow: float = 28 * mm) -> list[Flowable]:
    """``heads`` (headings, captions) kept with the start of ``body``; the rest of ``body`` after."""
    if not body:
        return list(heads)
    return [*keep_with_next(*heads, body[0], follow=follow), *body[1:]]


class PictureBlock(Flowable):
    """A picture with what introduces it and what explains it, kept on one page.

    The flowables ``before`` (heading, caption) and ``after`` (the table of what the picture
    shows) keep their size; the picture takes the room the page has left, between ``min_h`` and
    the size that fills ``max_w`` (at most ``max_h``). When even the smallest picture does not
    fit, the block moves to the next page; when it does not fit a whole page (a very long
    table), the picture is printed at its full size and the table starts under it and goes on.

    Args:
        before: flowables above the picture; the first one's outline entry is the block's.
        image: the encoded picture (an in-memory file) and its size in pixels.
        after: flowables below it.
        alt: the picture's alternative text (the tagged PDF's ``/Alt``: what it shows).
        max_w: the widest the picture may be.
        max_h: the tallest it may be.
        min_h: the smallest height worth printing.
    """

    def __init__(
        self,
        before: Sequence[Flowable],
        image: tuple[Any, int, int],
        after: Sequence[Flowable],
        *,
        max_w: float,
        max_h: float,
        min_h: float,
        alt: str,
    ) -> None:
        super().__init__()
        self.alt = alt
        self.before, self.after = list(before), list(after)
        self.data, self.px_w, self.px_h = image
        self.max_w, self.max_h, self.min_h = max_w, max_h, min_h
        self._pic_h = 0.0
        outline = getattr(self.before[0], "_casetrail_outline", None) if self.before else None
        if outline is not None:
            self._casetrail_outline = outline

    def _measure(self, flowables: Sequence[Flowable], width: float) -> float:
        canv = getattr(self, "canv", None)
        total = 0.0
        for f in flowables:
            h = f.wrapOn(canv, width, 10_000)[1] if canv is not None else f.wrap(width, 10_000)[1]
            total += h + f.getSpaceBefore() + f.getSpaceAfter()
        return float(total)

    def _full_h(self, width: float) -> float:
        return min(self.max_h, min(self.max_w, width) * self.px_h / max(self.px_w, 1))

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's API
        """Take the room that is left, within the picture's limits."""
        fixed = self._measure(self.before, availWidth) + self._measure(self.after, availWidth)
        full = self._full_h(availWidth)
        self._pic_h = max(min(full, availHeight - fixed), min(self.min_h, full))
        self.width, self.height = availWidth, fixed + self._pic_h
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803 - reportlab's API
        """Nothing here (try the next page), unless this is the top of a page already."""
        frame = _frame_of(self)
        if frame is not None and not getattr(frame, "_atTop", False):
            return []
        # A table too long for one page with the picture: the picture at its full size, the table
        # starting under it and going on over the page.
        return [*self.before, self._picture(self._full_h(availWidth)), *self.after]

    def _picture(self, height: float) -> Flowable:
        self.data.seek(0)
        width = height * self.px_w / max(self.px_h, 1)
        pic = TaggedImage(self.data, width=width, height=height, alt=self.alt)
        pic.hAlign = "LEFT"
        return pic

    def draw(self) -> None:
        """Draw the parts top to bottom."""
        y = self.height
        for f in [*self.before, self._picture(self._pic_h), *self.after]:
            y -= f.getSpaceBefore()
            _w, h = f.wrapOn(self.canv, self.width, 10_000)
            y -= h
            f.drawOn(self.canv, 0, y)
            y -= f.getSpaceAfter()
