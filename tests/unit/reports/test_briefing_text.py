# SPDX-License-Identifier: GPL-3.0-or-later
"""The briefing read back from its text layer: findings first, no split word, no orphan heading.

Every page is rendered and read back with PDFium (the words, the outline, where headings sit),
and with pdftotext when it is installed. A word of the briefing — any token it printed that is
not a long value such as a URL, a path or a hash — must come back whole: "Authentication-Results",
"WORLDSTREAM", "22:41:07" and "attack-pattern:T1583.003" printed in narrow cells are the
regressions this guards against. A value longer than its column may break, and then only where
the layout put its visible mark.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pdf_structure
import pikepdf
import pypdfium2 as pdfium
import pytest
from briefing_case import ASN_NAME, LANTERN_SET, add_intel, build_case

from desktop.core import custody, findings, references
from desktop.core.case import Case
from desktop.core.key_findings import case_findings, decide
from reports import layout
from reports.briefing import TOOL_LINE, BriefingOptions, render_briefing
from reports.safe_text import BREAK_MARK, plain

_LATIN_WORD = re.compile(r"[A-Za-z0-9]")
_SKIP = re.compile(
    r"[\u0590-\u08ff\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]"
)  # RTL, CJK, Hangul: laid out apart


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[bytes, set[str], Case]]:
    """A briefing of a case with intelligence and long values, and every token its paragraphs printed."""
    root = tmp_path_factory.mktemp("text")
    mp = pytest.MonkeyPatch()
    mp.setenv("CASETRAIL_HOME", str(root / "home"))
    add_intel(root / "intel")
    case = build_case(root / "work")
    with case.transaction() as conn:
        mail = next(i for i in case.items() if i.name == "phish.eml")
        findings.record_occurrences(
            conn,
            mail.id,
            [
                {
                    "type": "domain",
                    "value": "paper-lantern.example.com",
                    "source": "header",
                    "where": "Authentication-Results",
                },
                {
                    "type": "url",
                    "source": "body",
                    "where": "text body",
                    "value": "http://very-long-subdomain.paper-lantern.example.com/a/rather/long/path/to/a/payload"
                    "/download.php?id=0123456789abcdef0123456789abcdef&session=fedcba9876543210",
                },
            ],
        )
        ind = findings.indicator_id(conn, "ipv4", "203.0.113.7")
        conn.execute(
            "INSERT INTO tags (target, target_id, tag, added_at, added_by) VALUES "
            "('indicator', ?, 'attack-pattern:T1583.003', ?, 'Dana Analyst')",
            (ind, custody.utc_now()),
        )
    tokens: set[str] = set()
    real_init = layout.WrapParagraph.__init__

    def recording(
        self: layout.WrapParagraph, text: object, style: object = None, *args: object, **kw: object
    ) -> None:
        runs = kw.get("runs")
        for run in runs or []:  # type: ignore[attr-defined]
            redact = kw.get("redact") or layout.NO_REDACTION
            tokens.update(plain(run.text, redact).replace("\u00a0", " ").split())  # type: ignore[attr-defined]
        real_init(self, text, style, *args, **kw)  # type: ignore[arg-type]

    mp.setattr(layout.WrapParagraph, "__init__", recording)
    try:
        references.ensure_snapshot(case)  # matches and sources from the case's reference items
        drafts, _ = case_findings(case)
        decide(case, drafts[0], "accepted")
        data, _pages = render_briefing(case, BriefingOptions())
    finally:
        mp.setattr(layout.WrapParagraph, "__init__", real_init)
    # What the canvas and the cover draw outside paragraphs.
    tokens.update(f"{TOOL_LINE} Page of TLP:AMBER case REDACTED \u2026".split())
    tokens.update(str(case.meta["case_id"]).split())
    tokens.update(str(n) for n in range(1, _pages_of(data) + 1))
    try:
        yield data, tokens, case
    finally:
        case.close()
        mp.undo()


def _pages_of(data: bytes) -> int:
    pdf = pdfium.PdfDocument(data)
    try:
        return len(pdf)
    finally:
        pdf.close()


def _pages(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def _protected(token: str) -> bool:
    """A word a column must fit whole (not a long value that may break at its joints)."""
    return not layout._breakable(token)


def _split_words(text: str, vocabulary: set[str]) -> list[str]:
    """Words of the text layer that are pieces of a printed word (a split word), with context.

    A piece of a value broken at the layout's mark is fine; a word, a name or a time broken
    anywhere — even at the mark — is not.
    """
    bad = []
    words = text.replace("\u00a0", " ").split()
    n = 0
    while n < len(words):
        word = words[n]
        if BREAK_MARK in word:
            start, joined = n, word.replace(BREAK_MARK, "")
            while BREAK_MARK in words[n] and n + 1 < len(words):
                n += 1
                joined += words[n].replace(BREAK_MARK, "")
            if _protected(joined) and any(joined in t for t in vocabulary):
                bad.append(f"{joined!r} broken at the mark near: {' '.join(words[max(0, start - 4):n + 2])}")
            n += 1
            continue
        n += 1
        if word in vocabulary or not _LATIN_WORD.search(word) or _SKIP.search(word):
            continue
        whole = [t for t in vocabulary if word in t and t != word and _protected(t)]
        if whole:
            bad.append(f"{word!r} (a piece of {whole[0]!r}) near: {' '.join(words[max(0, n - 5):n + 3])}")
    return bad


def test_page_one_leads_with_the_key_findings(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, case = printed
    first = " ".join(_pages(data)[0].split())
    assert first.index("Key findings") < len(first)
    assert "KF1" in first
    frame = next(i for i in case.items() if i.name.startswith("frame-00012"))
    # The finding about the on-screen address cites the frame's exhibit with its short hash.
    assert re.search(r"\[Exhibit \d+ · " + frame.sha256[:8] + r"\]", first), first[:800]
    assert LANTERN_SET in first
    assert f"AS49981 {ASN_NAME}" in first
    assert "Drafted by Casetrail; accepted by Dana Analyst" in first
    if "Bottom line up front" in first:
        assert first.index("Key findings") < first.index("Bottom line up front")


def test_no_word_is_split_anywhere(printed: tuple[bytes, set[str], Case]) -> None:
    data, tokens, _case = printed
    for word in ("Authentication-Results", ASN_NAME, "T1583.003"):  # else the test proves nothing
        assert any(word in t for t in tokens), word
    problems = []
    for n, text in enumerate(_pages(data), 1):
        problems += [f"page {n}: {p}" for p in _split_words(text, tokens)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_no_word_is_split_for_pdftotext(printed: tuple[bytes, set[str], Case], tmp_path: Path) -> None:
    data, tokens, _case = printed
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    problems = _split_words(text, tokens)
    assert not problems, "\n".join(problems[:20])
    # A value longer than its column broke only at its mark, and reads whole without it.
    flat = "".join(text.replace(BREAK_MARK, "").split())
    assert "hxxp://very-long-subdomain[.]paper-lantern[.]example[.]com/a/rather/long/path" in flat


def test_no_heading_is_left_at_the_foot_of_a_page(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, _case = printed
    pdf = pdfium.PdfDocument(data)
    try:
        footer_top = 18 * 72 / 25.4 + 14  # the footer rule sits above the bottom margin
        orphans = []
        for entry in pdf.get_toc():
            dest = entry.get_dest()
            page_no = dest.get_index() if dest is not None else None
            if page_no is None:
                continue
            tp = pdf[page_no].get_textpage()
            title = entry.get_title()
            rects = [tp.get_rect(i) for i in range(tp.count_rects())]
            lines = [(r, " ".join(tp.get_text_bounded(*r).split())) for r in rects]
            mine = [r for r, t in lines if t and title.startswith(t[:30])]
            if not mine:
                continue
            bottom = min(r[1] for r in mine)
            below = [t for r, t in lines if r[3] < bottom - 1 and r[1] > footer_top and t]
            if not below:
                orphans.append(f"page {page_no + 1}: {title}")
    finally:
        pdf.close()
    assert not orphans, orphans


# -- the tagged PDF (reports.tagging) ---------------------------------------------------------


def test_the_briefing_is_a_tagged_pdf(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, _case = printed
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == "en"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert all("/StructParents" in page.obj for page in pdf.pages)
    document, _owners = pdf_structure.structure(data)
    assert document.role == "Document"
    roles = {e.role for e in document.walk()}
    assert {"Sect", "H1", "H2", "P", "Table", "TR", "TH", "TD", "Figure", "Link"} <= roles, roles


def test_every_text_operator_is_tagged_content_or_an_artifact(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, _case = printed
    _document, owners = pdf_structure.structure(data)
    shown = pdf_structure.operators(data)
    assert sum(s.operator in pdf_structure.TEXT_OPERATORS for s in shown) > 500  # else this proves nothing
    loose = []
    for s in shown:
        if s.operator not in pdf_structure.TEXT_OPERATORS:
            continue
        tags = [m for m in s.marks if m[0] == "Artifact" or (m[1] is not None and (s.page, m[1]) in owners)]
        if not tags:
            loose.append(f"page {s.page + 1}: {s.operator} inside {s.marks or 'nothing'}")
        # A marked-content sequence never nests inside another one with an MCID.
        assert sum(m[1] is not None for m in s.marks) <= 1, s
    assert not loose, loose[:10]
    # Every MCID of the parent tree is content of exactly one element of the tree, in page order.
    document, owners = pdf_structure.structure(data)
    seen = list(document.contents())
    assert sorted(seen) == sorted(owners)
    assert len(set(seen)) == len(seen)
    for page in {p for p, _ in seen}:
        assert [m for p, m in seen if p == page] == sorted(m for p, m in seen if p == page), page


def test_the_structure_reads_the_text_of_every_page_in_order(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, _case = printed
    document, _owners = pdf_structure.structure(data)
    by_mcid, furniture = pdf_structure.marked_text(data)
    in_tree = "".join(by_mcid.get(c, "") for c in document.contents())
    on_pages = "".join(by_mcid[k] for k in sorted(by_mcid))
    assert len(on_pages) > 20_000
    assert "".join(in_tree.split()) == "".join(on_pages.split())
    # What is not content is the page furniture only: header, footer, page number, marking.
    for n, text in enumerate(furniture, 1):
        rest = text.replace("TLP:AMBER", "").replace(TOOL_LINE, "").replace(f"Page {n} of ", "")
        assert "case " in rest, (n, text)
        assert len(rest.split()) <= 12, (n, text)


def test_headings_match_the_outline(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, _case = printed
    document, _owners = pdf_structure.structure(data)
    by_mcid, _furniture = pdf_structure.marked_text(data)
    sections = []
    for e in document.walk():
        if e.role != "Sect":
            continue
        heading = next(k for k in e.kids if isinstance(k, pdf_structure.Element))
        level = sum(1 for a in document.walk() if a.role == "Sect" and e in a.walk()) - 1
        assert heading.role == f"H{level + 1}", (e.title, heading.role)
        # Lines are separate text objects (the space where a line breaks is not drawn).
        text = "".join("".join(by_mcid[c] for c in heading.contents()).split())
        assert text == "".join(str(e.title).split()), (text, e.title)
        sections.append((" ".join(str(e.title).split()), level))
    expected = [(" ".join(t.split()), lv) for t, lv in pdf_structure.outline(data)]
    assert sections == expected


def test_every_picture_is_a_figure_with_alternative_text(printed: tuple[bytes, set[str], Case]) -> None:
    data, _tokens, _case = printed
    document, owners = pdf_structure.structure(data)
    pictures = [s for s in pdf_structure.operators(data) if s.operator == "Do /Image"]
    assert pictures
    for s in pictures:
        assert any(m[1] is not None and owners.get((s.page, m[1])) == "Figure" for m in s.marks), s
    figures = [e for e in document.walk() if e.role == "Figure"]
    assert len(figures) == len(pictures)
    for f in figures:
        assert f.alt, f
        assert f.alt.startswith("Exhibit "), f.alt
        assert "SHA-256" in f.alt, f.alt


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils is not installed")
def test_poppler_says_tagged(printed: tuple[bytes, set[str], Case], tmp_path: Path) -> None:
    # (`pdfinfo -struct-text` prints the whole tree with its text, but takes seconds: see docs/briefing.md.)
    data, _tokens, _case = printed
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
