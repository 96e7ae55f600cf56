# SPDX-License-Identifier: GPL-3.0-or-later
"""The fast canonical JSON gives rfc8785's bytes exactly, or fails where rfc8785 fails."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop.core import jcs

_TEXT = st.text(st.characters(codec=None), max_size=40)  # every code point, lone surrogates included
_SCALARS = st.one_of(
    st.none(), st.booleans(), _TEXT,
    st.integers(min_value=-(2**60), max_value=2**60),  # beyond JSON's exact integers too
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**53 - 1, -(2**53) + 1, 2**53, 0.1, 1e-7, 1e-6, 1e21, 1e20, 123456789012345680.0,
                     -0.0, 5e-324, 1.7976931348623157e308, 0.9 * 0.7, 100.0, -1.5]),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(_TEXT, inner, max_size=5)), max_leaves=20)


def _reference(value: Any) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):  # rfc8785 itself lets a surrogate key through
        return None


def _fast(fn: Any, value: Any) -> bytes | None:
    try:
        out: bytes = fn(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return None
    return out


@settings(max_examples=400, deadline=None)
@given(_VALUES)
@example({"seq": 1, "detail": '{"a": "\x00\x1f\x7f\u2028\ud83d\ude00"}', "z": None, "a": 2**53 - 1})
@example({"é": 1, "e": 2, "\U0001f600": 3, "\ufb01": 4})  # non-ASCII keys: UTF-16 order
def test_dumps_is_rfc8785(value: Any) -> None:
    assert _fast(jcs.dumps, value) == _reference(value)


@settings(max_examples=400, deadline=None)
@given(st.lists(_SCALARS, max_size=12))
@example([1, "x", None, 0.5, 2.0, -0.0, 1e16, 1e-5, 123.456])
def test_dumps_row_is_rfc8785(row: list[Any]) -> None:
    assert _fast(jcs.dumps_row, row) == _reference(row)
    assert _fast(jcs.dumps_row, tuple(row)) == _reference(row)


def test_values_without_a_canonical_form_are_refused() -> None:
    for bad in ("\ud800", 2**53, float("nan"), {1: 2}, b"blob"):
        with pytest.raises(rfc8785.CanonicalizationError):
            jcs.dumps(bad)
        with pytest.raises(rfc8785.CanonicalizationError):
            jcs.dumps_row([bad])
