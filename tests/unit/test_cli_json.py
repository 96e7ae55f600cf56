# SPDX-License-Identifier: GPL-3.0-or-later
"""The streamed ``--json`` document is byte for byte what ``json.dumps(indent=2)`` writes."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.cli import common

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=10)


def _printed(data: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(common, "raw", lambda _stream: out)
    common.emit(data)
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.lists(_values, max_size=4), min_size=1, max_size=4),
       st.data())
def test_a_streamed_list_prints_as_the_list_would(doc: dict[str, list[Any]], data: st.DataObject) -> None:
    streamed = {k: iter(v) if data.draw(st.booleans()) else v for k, v in doc.items()}
    with pytest.MonkeyPatch.context() as mp:
        got = _printed(streamed, mp)
    assert got == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(got) == doc


def test_a_long_stream_is_written_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"id": i, "name": f"m{i:06d}.eml \u00e9", "sha256": "ab" * 32} for i in range(20_000)]
    writes: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            writes.append(text)

    monkeypatch.setattr(common, "raw", lambda _stream: Out())
    common.emit({"imported": iter(rows), "failed": []})
    assert len(writes) > 1  # not held whole
    assert max(map(len, writes)) < 2 << 20
    whole = json.dumps({"imported": rows, "failed": []}, indent=2, ensure_ascii=False)
    assert "".join(writes) == whole + "\n"


def test_a_name_that_is_not_utf8_is_shown_escaped_in_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    got = _printed({"imported": iter([{"name": name}])}, monkeypatch)
    assert json.loads(got) == {"imported": [{"name": "caf\\xe9.txt"}]}
