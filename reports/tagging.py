# SPDX-License-Identifier: GPL-3.0-or-later
"""Tagged PDF: the briefing's logical structure, recorded while it is drawn, written afterwards.

A screen reader, a text extractor or a court's document system reads a PDF by its structure
tree: which text is a heading, a paragraph, a table cell, which picture is an exhibit and what it
shows, and which marks on a page (running header, page number, TLP badge, table rules) are only
furniture. reportlab's open-source edition writes no structure tree, so the briefing builds one
in two steps:

1. **While reportlab draws**, every flowable that prints case text marks its own drawing: a
   paragraph (:class:`reports.layout.WrapParagraph`) wraps its operators in
   ``/P <</MCID n>> BDC … EMC`` (``/H1`` to ``/H3`` for headings), a table reports its rows and
   cells through reportlab's table render callback (:func:`table_events`), a picture
   (:class:`TaggedImage`) is a ``/Figure`` with its alternative text, and the page furniture is
   ``/Artifact``. The :class:`Tagger` on the canvas records which structure element each marked
   sequence belongs to, in drawing order (which is reading order: one column, top to bottom),
   and which element each link annotation belongs to. Headings that are outline entries open a
   ``Sect`` (titled like the outline entry) that ends at the next heading of the same or a
   higher level.
2. **After reportlab saved the file** and before it is signed, :func:`apply` (pikepdf) writes
   what was recorded: ``/StructTreeRoot`` (Document → Sect → H1/H2/H3, P, Table/TR/TH/TD, Figure
   with ``/Alt``, Link with its annotation), the ``/ParentTree``, ``/StructParents`` on every
   page and ``/StructParent`` on every link, ``/MarkInfo <</Marked true>>``, and
   ``/ViewerPreferences <</DisplayDocTitle true>>`` (reportlab already writes ``/Lang``).

Marks come from the code that draws, not from guessing at fonts afterwards, so a change of
style cannot mislabel a heading. A marked sequence never nests in another (content inside a
marked sequence belongs to it). The output is a pure function of the input: pikepdf writes the
objects in a fixed order with a document id computed from the content, so the same case state
still gives the same bytes. What cannot be matched (a page or link count that differs from what
was recorded) raises :class:`TaggingError`: an untagged or wrongly tagged briefing is never
written silently.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from reportlab.platypus import Flowable, Image, Spacer
from reportlab.platypus.tables import TableRenderCB

from desktop.core.errors import CasetrailError


class TaggingError(CasetrailError):
    """The structure recorded while drawing does not match the file reportlab wrote."""


@dataclass(frozen=True)
class Content:
    """A marked-content sequence: page index (0-based) and its MCID on that page."""

    page: int
    mcid: int


@dataclass(frozen=True)
class Annotation:
    """A link annotation: page index and its position in the page's ``/Annots``."""

    page: int
    index: int


@dataclass(eq=False)
class Node:
    """A structure element being recorded.

    Attributes:
        role: the standard structure type (``Sect``, ``H1``, ``P``, ``Table``, ``Figure`` …).
        kids: child elements, marked-content sequences and link annotations, in reading order.
        title: the element's ``/T`` (a section's outline title).
        alt: the element's ``/Alt`` (a figure's alternative text).
        level: the outline level of a ``Sect`` (0 = top).
        scope: ``Column`` or ``Row`` for a header cell.
        bbox: a figure's bounding box on its page (``x0, y0, x1, y1`` in points).
    """

    role: str
    kids: list[Node | Content | Annotation] = field(default_factory=list)
    title: str | None = None
    alt: str | None = None
    level: int = -1
    scope: str | None = None
    bbox: tuple[float, float, float, float] | None = None

    def has_content(self) -> bool:
        """Whether anything on a page belongs to this element or one below it."""
        return any(not isinstance(k, Node) or k.has_content() for k in self.kids)


# Structure types whose element is kept even when empty: a table's geometry needs every cell.
_KEEP_EMPTY = frozenset({"TR", "TH", "TD"})


class Tagger:
    """Records the structure of a document while a reportlab canvas draws it.

    One instance per canvas (``canvas.tagger``). The methods that emit marks take the canvas
    and write the operators into its current page stream.
    """

    def __init__(self) -> None:
        self.root = Node("Document")
        self._stack: list[Node] = [self.root]
        self.page = 0
        self._owners: dict[int, list[Node]] = {}  # page → owner element of each MCID
        self.annotations: list[tuple[Annotation, Node]] = []
        self._marking = False
        self._artifact = 0

    # -- pages ------------------------------------------------------------------------------

    def end_page(self) -> None:
        """The canvas finished a page: no marked sequence may stay open across it."""
        if self._marking or self._artifact:
            raise TaggingError("internal: a marked-content sequence is open at the end of a page")
        self.page += 1

    @property
    def pages(self) -> int:
        """Pages finished so far."""
        return self.page

    def owners(self, page: int) -> list[Node]:
        """The element each MCID of ``page`` belongs to (index = MCID)."""
        return self._owners.get(page, [])

    # -- elements ---------------------------------------------------------------------------

    @property
    def current(self) -> Node:
        """The innermost open element."""
        return self._stack[-1]

    def open(self, role: str, **attrs: Any) -> Node:
        """Open a child element of the current one."""
        node = Node(role, **attrs)
        self.current.kids.append(node)
        self._stack.append(node)
        return node

    def close(self, node: Node) -> None:
        """Close ``node`` (and anything still open inside it)."""
        while len(self._stack) > 1:
            if self._stack.pop() is node:
                return
        raise TaggingError(f"internal: closing a {node.role} element that is not open")

    @contextmanager
    def element(self, role: str, **attrs: Any) -> Iterator[Node]:
        """An element around what is drawn inside the block."""
        node = self.open(role, **attrs)
        try:
            yield node
        finally:
            self.close(node)

    def section(self, level: int, title: str) -> Node:
        """Start the section of an outline heading: ends open sections of this level or deeper."""
        if any(n.role not in ("Document", "Sect") for n in self._stack):
            return self.current  # a heading inside a table or figure opens no section
        while self.current.role == "Sect" and self.current.level >= level:
            self._stack.pop()
        return self.open("Sect", title=title, level=level)

    @property
    def depth(self) -> int:
        """The outline level of the innermost open section (0 before the first one)."""
        return next((n.level for n in reversed(self._stack) if n.role == "Sect"), 0)

    # -- marked content ---------------------------------------------------------------------

    @contextmanager
    def content(self, canv: Any, role: str) -> Iterator[None]:
        """What is drawn inside the block is content of the current element.

        Inside another marked sequence (a paragraph drawn in a cell whose content is marked as
        a whole) the drawing simply belongs to the outer sequence.
        """
        if self._marking or self._artifact:
            yield
            return
        owners = self._owners.setdefault(self.page, [])
        mcid = len(owners)
        owners.append(self.current)
        self.current.kids.append(Content(self.page, mcid))
        canv.addLiteral(f"/{role} <</MCID {mcid}>> BDC")
        self._marking = True
        try:
            yield
        finally:
            self._marking = False
            canv.addLiteral("EMC")

    @contextmanager
    def artifact(self, canv: Any, kind: str | None = None) -> Iterator[None]:
        """What is drawn inside the block is not content (page furniture, rules, backgrounds)."""
        if self._marking or self._artifact:
            yield
            return
        canv.addLiteral(f"/Artifact <</Type /{kind}>> BDC" if kind else "/Artifact BMC")
        self._artifact += 1
        try:
            yield
        finally:
            self._artifact -= 1
            canv.addLiteral("EMC")

    def annotation(self, index: int) -> None:
        """A link annotation was added to the current page at ``index`` of its ``/Annots``.

        It belongs to the element drawing it (the paragraph whose text is the link); a
        ``Link`` element holding the annotation is added there.
        """
        owner = self.current
        link = Node("Link")
        owner.kids.append(link)
        ref = Annotation(self.page, index)
        link.kids.append(ref)
        self.annotations.append((ref, link))

    # -- headings -----------------------------------------------------------------------

    def paragraph_role(self, flowable: Flowable) -> str:
        """The structure type of a paragraph: a heading by what made it, else ``P``.

        An outline heading (``Ctx.heading``) is ``H1`` to ``H3`` by its outline level and opens
        a section; the cover's title is ``H1``; a sub-heading styled ``h3`` is one level below
        its section's heading.
        """
        outline = getattr(flowable, "_casetrail_outline", None)
        if outline is not None:
            title, level, _key = outline
            self.section(int(level), str(title))
            return f"H{min(int(level) + 1, 6)}"
        style = getattr(getattr(flowable, "style", None), "name", "")
        if style == "title":
            return "H1"
        if style == "h3":
            return f"H{min(self.depth + 2, 6)}"
        return "P"


def tagger_of(canv: Any) -> Tagger | None:
    """The canvas's tagger, when the document is being tagged."""
    tagger = getattr(canv, "tagger", None)
    return tagger if isinstance(tagger, Tagger) else None


def draw_paragraph(flowable: Flowable, canv: Any, draw: Any) -> None:
    """Draw a paragraph as a tagged element (``draw()`` does the drawing)."""
    tagger = tagger_of(canv)
    if tagger is None:
        draw()
        return
    role = tagger.paragraph_role(flowable)
    with tagger.element(role), tagger.content(canv, role):
        draw()


# -- tables ----------------------------------------------------------------------------------


def _self_tagging(value: object) -> bool:
    """Cell content that marks its own drawing (else the cell marks it as a whole)."""
    from reports.layout import WrapParagraph

    if isinstance(value, list | tuple):
        return all(_self_tagging(v) for v in value)
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, WrapParagraph | TaggedImage | Spacer) or (
        getattr(value, "_renderCB", None) in (table_events, layout_events)
    )


def _table_event(table: Any, event: str, *args: Any) -> None:
    """Reportlab's table render callback: the table, its rows and cells as structure elements.

    Passed as ``Table(..., renderCB=table_events)``; reportlab hands it on to the parts of a
    split table. Backgrounds and rules are artifacts; the rows repeated at the top of a
    continued table are header rows (``TH``) again, in that part's own ``Table`` element.
    """
    canv = table.canv
    tagger = tagger_of(canv)
    if tagger is None:
        return
    state: list[Any] = table.__dict__.setdefault("_casetrail_tags", [])
    if event == "startTable":
        state[:] = [tagger.open("Table")]
    elif event in ("startBG", "startLines"):
        cm = tagger.artifact(canv)
        cm.__enter__()
        state.append(cm)
    elif event in ("endBG", "endLines"):
        state.pop().__exit__(None, None, None)
    elif event == "startRow":
        state.append(tagger.open("TR"))
    elif event == "endRow":
        tagger.close(state.pop())
    elif event == "startCell":
        row, _col, value = int(args[0]), args[1], args[2]
        header = row < int(getattr(table, "repeatRows", 0) or 0)
        node = tagger.open("TH" if header else "TD", scope="Column" if header else None)
        state.append(node)
        if not _self_tagging(value):
            cm = tagger.content(canv, "TH" if header else "TD")
            cm.__enter__()
            state.append(cm)
    elif event == "endCell":
        top = state.pop()
        if not isinstance(top, Node):
            top.__exit__(None, None, None)
            top = state.pop()
        tagger.close(top)
    elif event == "endTable":
        tagger.close(state.pop())
        state.clear()


def _layout_event(table: Any, event: str, *args: Any) -> None:
    """The render callback of a table used only to place things (a box, two tables side by side).

    Its cells are no table structure: what they hold reads as if it stood in the text. Its
    backgrounds and rules are artifacts; a cell whose content does not tag itself is a ``P``.
    """
    canv = table.canv
    tagger = tagger_of(canv)
    if tagger is None:
        return
    state: list[Any] = table.__dict__.setdefault("_casetrail_tags", [])
    if event in ("startBG", "startLines"):
        cm = tagger.artifact(canv)
        cm.__enter__()
        state.append(cm)
    elif event in ("endBG", "endLines"):
        state.pop().__exit__(None, None, None)
    elif event == "startCell":
        if _self_tagging(args[2]):
            state.append(None)
        else:
            node = tagger.open("P")
            cm = tagger.content(canv, "P")
            cm.__enter__()
            state.append((node, cm))
    elif event == "endCell":
        top = state.pop()
        if top is not None:
            top[1].__exit__(None, None, None)
            tagger.close(top[0])


class _Callback:
    """A render callback: reportlab calls ``renderCB(table, event, *args)``."""

    def __init__(self, handler: Callable[..., None]) -> None:
        self._handler = handler

    def __call__(self, table: Any, event: str, *args: Any) -> None:
        self._handler(table, event, *args)


# reportlab's stubs type the callback as its abstract TableRenderCB class; any callable works.
table_events = cast(TableRenderCB, _Callback(_table_event))
layout_events = cast(TableRenderCB, _Callback(_layout_event))


# -- figures ---------------------------------------------------------------------------------


class TaggedImage(Image):
    """A picture that is a ``Figure`` element with alternative text."""

    def __init__(self, *args: Any, alt: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.alt = alt

    def drawOn(self, canv: Any, x: float, y: float, _sW: float = 0) -> None:  # noqa: N803 - reportlab's API
        """Draw the picture inside its ``Figure``."""
        tagger = tagger_of(canv)
        if tagger is None:
            super().drawOn(canv, x, y, _sW)  # type: ignore[call-arg]  # _sW: not in the stubs
            return
        box = _bbox(canv, x, y, self.drawWidth, self.drawHeight)
        with tagger.element("Figure", alt=self.alt, bbox=box), tagger.content(canv, "Figure"):
            super().drawOn(canv, x, y, _sW)  # type: ignore[call-arg]  # _sW: not in the stubs


def _bbox(canv: Any, x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """The rectangle ``x, y, w, h`` of the canvas's current space, in page coordinates."""
    a, b, c, d, e, f = getattr(canv, "_currentMatrix", (1.0, 0.0, 0.0, 1.0, 0.0, 0.0))
    xs, ys = [], []
    for px, py in ((x, y), (x + w, y), (x, y + h), (x + w, y + h)):
        xs.append(a * px + c * py + e)
        ys.append(b * px + d * py + f)
    return round(min(xs), 2), round(min(ys), 2), round(max(xs), 2), round(max(ys), 2)


# -- writing the structure -------------------------------------------------------------------


def apply(data: bytes, tagger: Tagger) -> bytes:
    """The PDF ``data`` with the structure ``tagger`` recorded (see the module docstring).

    Raises:
        TaggingError: the file's pages or links do not match what was recorded.
    """
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = pdf.pages
        if len(pages) != tagger.pages:
            raise TaggingError(f"internal: {len(pages)} pages written, {tagger.pages} recorded")
        root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        made: dict[int, Any] = {}  # id(node) → its element
        next_key = len(pages)
        annots: dict[Annotation, Any] = {}
        for ref, _link in tagger.annotations:
            page_annots = pages[ref.page].obj.get("/Annots")
            if page_annots is None or ref.index >= len(page_annots):
                raise TaggingError(f"internal: link {ref.index} of page {ref.page + 1} not found")
            annots[ref] = page_annots[ref.index]
        recorded = {p: sum(1 for r, _ in tagger.annotations if r.page == p) for p in range(len(pages))}
        for p, page in enumerate(pages):
            if len(page.obj.get("/Annots", Array())) != recorded[p]:
                raise TaggingError(f"internal: page {p + 1} has links that were not recorded")

        def build(node: Node, parent: Any) -> Any | None:
            nonlocal next_key
            if not node.has_content() and node.role not in _KEEP_EMPTY:
                return None
            elem = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name("/" + node.role), P=parent))
            made[id(node)] = elem
            first = _first_page(node)
            if first is not None:
                elem.Pg = pages[first].obj
            if node.title:
                elem.T = pikepdf.String(node.title)
            if node.alt is not None:
                elem.Alt = pikepdf.String(node.alt)
            attrs = []
            if node.scope:
                attrs.append(Dictionary(O=Name.Table, Scope=Name("/" + node.scope)))
            if node.bbox:
                attrs.append(Dictionary(O=Name.Layout, BBox=Array(list(node.bbox))))
            if attrs:
                elem.A = attrs[0] if len(attrs) == 1 else Array(attrs)
            kids = []
            for kid in node.kids:
                if isinstance(kid, Node):
                    built = build(kid, elem)
                    if built is not None:
                        kids.append(built)
                elif isinstance(kid, Content):
                    kids.append(
                        kid.mcid
                        if kid.page == first
                        else Dictionary(Type=Name.MCR, Pg=pages[kid.page].obj, MCID=kid.mcid)
                    )
                else:
                    annot = annots[kid]
                    annot.StructParent = next_key
                    next_key += 1
                    kids.append(Dictionary(Type=Name.OBJR, Obj=annot, Pg=pages[kid.page].obj))
            if kids:
                elem.K = kids[0] if len(kids) == 1 else Array(kids)
            return elem

        document = build(tagger.root, root)
        root.K = document if document is not None else Array()
        nums: list[Any] = []
        for p, page in enumerate(pages):
            page.obj.StructParents = p
            nums += [p, Array([made[id(n)] for n in tagger.owners(p)])]
            if "/Annots" in page.obj:
                page.obj.Tabs = Name.S
        for ref, link in tagger.annotations:
            nums += [int(annots[ref].StructParent), made[id(link)]]
        root.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(nums)))
        root.ParentTreeNextKey = next_key
        pdf.Root.StructTreeRoot = root
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        prefs = pdf.Root.get("/ViewerPreferences", Dictionary())
        prefs.DisplayDocTitle = True
        pdf.Root.ViewerPreferences = prefs
        out = io.BytesIO()
        pdf.save(
            out,
            deterministic_id=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            linearize=False,
        )
        return out.getvalue()


def _first_page(node: Node) -> int | None:
    for kid in node.kids:
        if isinstance(kid, Content | Annotation):
            return kid.page
    for kid in node.kids:
        if isinstance(kid, Node):
            page = _first_page(kid)
            if page is not None:
                return page
    return None

