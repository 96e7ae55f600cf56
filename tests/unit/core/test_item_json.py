# SPDX-License-Identifier: GPL-3.0-or-later
"""``Item.to_json`` keeps the ``items --json`` shape: every field, in order, names' bytes in hex."""

from __future__ import annotations

import dataclasses

from desktop.core.case import Item


def test_to_json_is_every_field_in_order_with_bytes_in_hex() -> None:
    item = Item(7, 3, "file", "caf\\xe9.txt", "/src/caf\\xe9.txt", 12, "a" * 64, "b" * 40, "c" * 32,
                "text/plain", "ASCII text", True, "2020-10-20T00:00:00Z", "ana", "analysed", "attachment",
                5, b"caf\xe9.txt", None)
    expected = dataclasses.asdict(item)
    expected["name_bytes"] = "636166e92e747874"
    del expected["source_bytes"]
    got = item.to_json()
    assert got == expected
    assert list(got)[:17] == [f.name for f in dataclasses.fields(Item)][:17]


def test_a_utf8_item_carries_no_bytes_fields() -> None:
    item = Item(1, None, "file", "a.eml", "/a.eml", 1, "a" * 64, "b" * 40, "c" * 32, "message/rfc822",
                "mail", False, "2020-10-20T00:00:00Z", "ana", "acquired", None)
    got = item.to_json()
    assert "name_bytes" not in got
    assert "source_bytes" not in got
    assert got["ext_mismatch"] is False
