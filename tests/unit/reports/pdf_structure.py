# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a tagged PDF back, independently of the code that wrote it (tests only).

Two readers: pikepdf for the structure tree and the content streams' operators (which text
operator and which picture is inside which marked-content sequence), PDFium for the text each
marked-content sequence shows (its own text extraction, through the page objects' marks).
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

TEXT_OPERATORS = frozenset({"Tj", "TJ", "'", '"'})


@dataclass
class Element:
    """A structure element as read back: its type, attributes and kids in order."""

    role: str
    title: str | None
    alt: str | None
    # an element, a marked-content sequence (page, mcid), or "annot" (an object reference)
    kids: list[Element | tuple[int, int] | str] = field(default_factory=list)
    depth: int = 0

    def walk(self) -> Iterator[Element]:
        """This element and every one below it, in document order."""
        yield self
        for k in self.kids:
            if isinstance(k, Element):
                yield from k.walk()

    def contents(self) -> Iterator[tuple[int, int]]:
        """Every marked-content sequence of this element and below, in document order."""
        for k in self.kids:
            if isinstance(k, Element):
                yield from k.contents()
            elif isinstance(k, tuple):
                yield k


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def structure(data: bytes) -> tuple[Element, dict[tuple[int, int], str]]:
    """The structure tree (its ``Document`` element) and the parent tree's owner of every MCID.

    Returns:
        The root element and ``(page, mcid) → role of the element the parent tree names``.
    """
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
        root = pdf.Root.StructTreeRoot

        def read(elem: Any, page: int | None, depth: int) -> Element:
            if "/Pg" in elem:
                page = pages[elem.Pg.objgen]
            out = Element(str(elem.S)[1:], _text(elem.get("/T")), _text(elem.get("/Alt")), depth=depth)
            kids = elem.get("/K")
            if kids is None:
                return out
            for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
                if isinstance(kid, int):
                    assert page is not None, f"an MCID of a {out.role} without /Pg"
                    out.kids.append((page, int(kid)))
                elif kid.get("/Type") == "/MCR":
                    out.kids.append((pages[kid.Pg.objgen], int(kid.MCID)))
                elif kid.get("/Type") == "/OBJR":
                    out.kids.append("annot")
                else:
                    out.kids.append(read(kid, page, depth + 1))
            return out

        document = read(root.K, None, 0)
        owners: dict[tuple[int, int], str] = {}
        nums = root.ParentTree.Nums
        table = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
        for i, page in enumerate(pdf.pages):
            for mcid, owner in enumerate(table[int(page.obj.StructParents)]):
                owners[(i, mcid)] = str(owner.S)[1:]
        return document, owners


@dataclass(frozen=True)
class Shown:
    """A text or picture operator of a page and the marked-content sequences around it."""

    page: int
    operator: str
    marks: tuple[tuple[str, int | None], ...]  # outermost first: (tag, MCID or None)


def operators(data: bytes) -> list[Shown]:
    """Every text-showing operator and every ``Do`` of every page, with its marks.

    The content of a form XObject counts with the marks around its ``Do`` plus its own.
    """
    out: list[Shown] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for p, page in enumerate(pdf.pages):
            _scan(page.obj, pikepdf.parse_content_stream(page), p, (), out, set())
    return out


def _scan(
    holder: Any,
    ops: Any,
    page: int,
    outer: tuple[tuple[str, int | None], ...],
    out: list[Shown],
    seen: set[Any],
) -> None:
    marks = list(outer)
    xobjects = holder.get("/Resources", {}).get("/XObject", {})
    for operands, op in ops:
        name = str(op)
        if name in ("BDC", "BMC"):
            props = operands[1] if name == "BDC" else None
            mcid = int(props.MCID) if isinstance(props, pikepdf.Dictionary) and "/MCID" in props else None
            marks.append((str(operands[0])[1:], mcid))
        elif name == "EMC":
            assert len(marks) > len(outer), f"page {page + 1}: EMC without a marked-content sequence"
            marks.pop()
        elif name in TEXT_OPERATORS:
            out.append(Shown(page, name, tuple(marks)))
        elif name == "Do":
            xobj = xobjects[str(operands[0])]
            kind = str(xobj.get("/Subtype"))
            out.append(Shown(page, "Do " + kind, tuple(marks)))
            if kind == "/Form" and xobj.objgen not in seen:
                _scan(xobj, pikepdf.parse_content_stream(xobj), page, tuple(marks), out, seen | {xobj.objgen})
    assert len(marks) == len(outer), f"page {page + 1}: a marked-content sequence is never closed"


def marked_text(data: bytes) -> tuple[dict[tuple[int, int], str], list[str]]:
    """What PDFium reads in each marked-content sequence, and the text of each page's artifacts.

    Returns:
        ``(page, mcid) → text`` (the text objects of that sequence, in page order) and, per
        page, the text outside any MCID (furniture).
    """
    by_mcid: dict[tuple[int, int], str] = {}
    furniture: list[str] = []
    pdf = pdfium.PdfDocument(data)
    try:
        for p in range(len(pdf)):
            page = pdf[p]
            tp = page.get_textpage()
            rest = []
            for obj in page.get_objects(max_depth=3):
                if obj.type != pdfium_c.FPDF_PAGEOBJ_TEXT:
                    continue
                mcid = None
                for i in range(pdfium_c.FPDFPageObj_CountMarks(obj.raw)):
                    mark = pdfium_c.FPDFPageObj_GetMark(obj.raw, i)
                    value = ctypes.c_int()
                    if pdfium_c.FPDFPageObjMark_GetParamIntValue(mark, b"MCID", ctypes.byref(value)):
                        mcid = value.value
                size = pdfium_c.FPDFTextObj_GetText(obj.raw, tp.raw, None, 0)
                buf = (ctypes.c_ushort * (size // 2 + 1))()
                pdfium_c.FPDFTextObj_GetText(obj.raw, tp.raw, buf, size)
                text = bytes(buf)[:size].decode("utf-16-le").rstrip("\0")
                if mcid is None:
                    rest.append(text)
                else:
                    by_mcid[(p, mcid)] = by_mcid.get((p, mcid), "") + text
            furniture.append("".join(rest))
    finally:
        pdf.close()
    return by_mcid, furniture


def outline(data: bytes) -> list[tuple[str, int]]:
    """The document outline as ``(title, level)`` in order (level 0 = top)."""
    out: list[tuple[str, int]] = []
    with pikepdf.open(io.BytesIO(data)) as pdf, pdf.open_outline() as ol:

        def walk(items: Any, level: int) -> None:
            for item in items:
                out.append((str(item.title), level))
                walk(item.children, level + 1)

        walk(ol.root, 0)
    return out
