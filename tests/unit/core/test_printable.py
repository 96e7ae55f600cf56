# SPDX-License-Identifier: GPL-3.0-or-later
"""Case text made visible: what acts instead of showing is escaped; everything else is untouched."""

from __future__ import annotations

import os
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.core.printable import needs_escape, visible

ACTING = ("Cc", "Cf", "Zl", "Zp", "Cs")


def acts(ch: str) -> bool:
    return unicodedata.category(ch) in ACTING and ch not in "\u200c\u200d"


@given(st.text())
def test_nothing_that_acts_survives(text: str) -> None:
    out = visible(text)
    assert not any(acts(ch) for ch in out)
    assert needs_escape(text) == (out != text)


@given(st.text(alphabet=st.characters(blacklist_categories=ACTING)))
def test_text_that_shows_is_left_as_it_is(text: str) -> None:
    assert visible(text) == text  # any script, emoji, backslashes, markup characters


@given(st.text())
def test_multiline_keeps_only_newlines_and_tabs(text: str) -> None:
    out = visible(text, multiline=True)
    assert not any(acts(ch) and ch not in "\n\t" for ch in out)
    assert out.count("\n") == text.replace("\r\n", "\n").count("\n")


@pytest.mark.parametrize(("text", "shown"), [
    ("a\x1b[2Kb", "a\\x1b[2Kb"), ("line\nnext\tcol\r", "line\\nnext\\tcol\\r"),
    ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
    ("invoice\u202egpj.exe", "invoice\\u202egpj.exe"), ("pay\u200bpal", "pay\\u200bpal"),
    ("a\u2028b", "a\\u2028b"), ("\ufeffbom", "\\ufeffbom"), ("tag\U000e0041", "tag\\U000e0041"),
    ("C:\\Users\\x", "C:\\Users\\x"), ("Привет мир 👋🏽 عربى", "Привет мир 👋🏽 عربى"),
    ("नमस्\u200dते", "नमस्\u200dते"),
])
def test_examples(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_an_undecodable_byte_is_shown_as_the_byte() -> None:
    name = os.fsdecode(b"report-\xff\xfe.pdf")  # surrogateescape, as a file name that is not UTF-8
    assert visible(name) == "report-\\xff\\xfe.pdf"
