# SPDX-License-Identifier: GPL-3.0-or-later
r"""RFC 8785 (JCS) canonical JSON — the one form every hash over JSON in a case is taken of.

Custody entries (``custody.canonical``), findings rows and snapshots (``state``) are hashed over
their JCS bytes. The ``rfc8785`` package is the reference; it is pure Python and was measured as
the largest single cost of recording an item (about a third of the writer's time on a folder of
e-mails). This module gives the same bytes faster by letting the C JSON encoder do the work where
its output is provably the same:

- strings: ``json`` with ``ensure_ascii=False`` escapes exactly ``"``, ``\`` and the C0 controls,
  ``\b \t \n \f \r`` by name and the rest as ``\u00xx`` in lower-case hex — as JCS does. A lone
  surrogate (which JCS refuses) fails the UTF-8 encoding and takes the reference path, which raises.
- integers: the same digits; outside JCS's ±(2**53 - 1) the reference path raises.
- floats: ``repr`` and ECMAScript both print the shortest round-trip digits; where ``repr`` uses no
  exponent the two differ only in the ``.0`` of integral values (and ``-0``), handled here;
  anything with an exponent takes the reference path.
- object keys: sorted by code point by ``json``, by UTF-16 unit by JCS — the same order for ASCII
  keys, so objects with other keys take the reference path.

``tests/unit/core/test_jcs.py`` checks byte equality with ``rfc8785`` on arbitrary values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import rfc8785

CanonicalizationError = rfc8785.CanonicalizationError
_INT_MAX = 2**53 - 1
_encode_str = json.encoder.encode_basestring  # the C encoder's ensure_ascii=False string form
_OBJECT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False,
                           check_circular=False)


def dumps(value: Any) -> bytes:
    """JCS bytes of any JSON value (``rfc8785.dumps`` exactly, faster for the common shapes).

    Raises:
        CanonicalizationError: the value has no JCS form (a lone surrogate, an integer beyond
            2**53, NaN, a key that is not a string, a type JSON does not have).
    """
    if _plain(value):
        try:
            return _OBJECT.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the reference path says why it has no JCS form
    return rfc8785.dumps(value)


def dumps_row(row: Sequence[Any]) -> bytes:
    """JCS bytes of a flat list of scalars (a database row: text, integers, reals, nulls).

    Raises:
        CanonicalizationError: as :func:`dumps`.
    """
    parts: list[str] = []
    for v in row:
        t = type(v)
        if t is str:
            parts.append(_encode_str(v))
        elif v is None:
            parts.append("null")
        elif t is int:
            if -_INT_MAX <= v <= _INT_MAX:
                parts.append(str(v))
            else:
                return rfc8785.dumps(list(row))  # raises: beyond JSON's exact integers
        elif t is float:
            text = _float(v)
            if text is None:
                return rfc8785.dumps(list(row))
            parts.append(text)
        else:
            return rfc8785.dumps(list(row))  # bools, blobs, anything unusual: the reference
    try:
        return ("[" + ",".join(parts) + "]").encode("utf-8")
    except UnicodeEncodeError:
        return rfc8785.dumps(list(row))  # raises: a lone surrogate


def _float(v: float) -> str | None:
    """ECMAScript's form of a float, or None where only the reference implementation may say."""
    if v == 0.0:
        return "0"  # JCS has no negative zero
    text = repr(v)
    if "e" in text or "n" in text:  # an exponent, inf or nan
        return None
    return text[:-2] if text.endswith(".0") else text


def _plain(value: Any) -> bool:
    """Whether the C encoder's bytes are JCS's for this value (see the module docstring)."""
    t = type(value)
    if t is str or value is None or t is bool:
        return True
    if t is int:
        return bool(-_INT_MAX <= value <= _INT_MAX)
    if t is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if t is list or t is tuple:
        return all(_plain(v) for v in value)
    return False  # floats, subclasses, other types: the reference path
