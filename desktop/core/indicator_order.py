# SPDX-License-Identifier: GPL-3.0-or-later
"""How indicator values sort: addresses as numbers, everything else as text.

``10.0.0.9`` sorts before ``10.0.0.10`` and ``9.9.9.9`` before ``10.0.0.1``; as strings they would
not, and an analyst walking a range of hosting addresses would see them scattered. The key of an
address is the canonical 16-byte key of :mod:`desktop.core.ip` (an IPv4 address and its
IPv4-mapped IPv6 spelling share it); a network sorts by its first address, then its prefix
length. Every other value sorts by its normalised text, which is how the extractor stored it.

The key is stored with each indicator (``indicators.sort_key``) so the window can sort a hundred
thousand indicators with an index instead of in Python; this module is the only place it is made.
"""

from __future__ import annotations

import ipaddress

_ADDRESS, _TEXT = b"\x00", b"\x01"  # addresses first within a type, then anything unparsable


def _address_key(text: str) -> bytes | None:
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        return b"\x00" * 10 + b"\xff\xff" + addr.packed  # the IPv4-mapped form: one host, one key
    return addr.packed


def sort_key(type_: str, value: str) -> bytes:
    """The stored sort key of an indicator of ``type_`` with normalised ``value``."""
    if type_ in ("ipv4", "ipv6"):
        key = _address_key(value)
        if key is not None:
            return _ADDRESS + key
    elif type_ == "cidr" and "/" in value:
        base, _, prefix = value.rpartition("/")
        key = _address_key(base)
        if key is not None and prefix.isdigit():
            return _ADDRESS + key + bytes([min(int(prefix), 255)])
    return _TEXT + value.encode("utf-8", "surrogatepass")
