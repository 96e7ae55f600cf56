# SPDX-License-Identifier: GPL-3.0-or-later
"""The one reading of IP addresses in Casetrail: parsing, canonical text, ranges, keys and classes.

Every module that meets an address in evidence, an indicator, a feed, a warninglist or the
ip2asn table reads it here, so a value has one meaning and one spelling everywhere. Before this
module there were four parsers, and ``010.001.002.003`` was 10.1.2.3 to the extractor, nothing
to the Received parser and to correlation, and 8.1.2.3 (octal, ``inet_aton``) to the warninglist
matcher.

The rules, chosen for evidence and written down so a briefing can state them:

- **IPv4** is exactly four decimal parts of one to three ASCII digits, each at most 255.
  **Leading zeros are decimal padding**: ``010.001.002.003`` is 10.1.2.3 (log formats and
  spreadsheets pad octets; nobody writes octal in a mail header). The BSD ``inet_aton`` forms —
  octal (``0177.0.0.1`` as 127.0.0.1), hex (``0x7f.1``), fewer parts (``127.1``) or one integer —
  are **never** addresses here: they are how addresses are hidden, and reading them silently
  would put a different host into the case than the text shows. Note for URLs: a browser reads
  ``http://010.1.2.3/`` as octal (WHATWG); a URL indicator keeps its host exactly as written.
- **IPv6** follows RFC 4291 text and is written back per RFC 5952 (lower case, zeros compressed,
  ``::`` for the longest run, IPv4-mapped addresses in dotted form, ``::ffff:1.2.3.4``). A zone
  id (``fe80::1%eth0``) names an interface of the machine that wrote it, not a host: it is dropped.
  An embedded IPv4 part follows the IPv4 rule above.
- Brackets (``[1.2.3.4]``) and the SMTP ``IPv6:`` prefix are taken off; surrounding white space too.
- **One host, one spelling**: :func:`canonical` turns an IPv4-mapped IPv6 address into its IPv4
  address (a relay logging ``::ffff:1.2.3.4`` saw the host 1.2.3.4), and :func:`sort_key` gives
  both the same 16-byte key.
- **Classes** (:func:`address_class`) come from the IANA IPv4 and IPv6 special-purpose address
  registries, as tables here rather than the ``ipaddress`` module's ``is_*`` properties, which
  changed between Python releases: a case must classify the same way on every workstation.
  Documentation ranges (TEST-NET-1/2/3, ``2001:db8::/32``, ``3fff::/20``) are *documentation*,
  not *private*.

Nothing here touches the network (no resolution, ever); everything is pure and Qt-free.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Final

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# A class of address and how it is named for people (hop flags, indicator details, the briefing).
CLASS_LABELS: Final[dict[str, str]] = {
    "public": "public",
    "private": "private",
    "shared": "shared address space (carrier-grade NAT)",
    "loopback": "loopback",
    "link-local": "link-local",
    "documentation": "documentation range",
    "benchmarking": "benchmarking range",
    "multicast": "multicast",
    "broadcast": "broadcast",
    "unspecified": "unspecified",
    "this-network": "\"this network\"",
    "protocol": "IETF protocol assignment",
    "translation": "IPv4/IPv6 translation",
    "reserved": "reserved",
}

_V4_SPECIAL: Final[tuple[tuple[str, str], ...]] = (  # most specific first
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "this-network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "protocol"),
    ("192.0.2.0/24", "documentation"),  # TEST-NET-1
    ("192.31.196.0/24", "protocol"),  # AS112
    ("192.52.193.0/24", "protocol"),  # AMT
    ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
    ("192.168.0.0/16", "private"),
    ("192.175.48.0/24", "protocol"),  # AS112 direct delegation
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),  # TEST-NET-2
    ("203.0.113.0/24", "documentation"),  # TEST-NET-3
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)
_V6_SPECIAL: Final[tuple[tuple[str, str], ...]] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b::/96", "translation"),
    ("64:ff9b:1::/48", "translation"),
    ("100::/64", "reserved"),  # discard-only
    ("2001:2::/48", "benchmarking"),
    ("2001:10::/28", "reserved"),  # deprecated ORCHID
    ("2001:20::/28", "protocol"),  # ORCHIDv2
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "protocol"),  # IETF protocol assignments (Teredo 2001::/32 is routed: below)
    ("3fff::/20", "documentation"),  # RFC 9637
    ("5f00::/16", "reserved"),  # SRv6 SIDs, not routed on the Internet
    ("fc00::/7", "private"),  # unique local
    ("fe80::/10", "link-local"),
    ("fec0::/10", "private"),  # deprecated site-local
    ("ff00::/8", "multicast"),
)
_TEREDO = ipaddress.IPv6Network("2001::/32")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _table(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[int, int, str], ...]:
    out = []
    for net_text, cls in rows:
        net = ipaddress.ip_network(net_text)
        out.append((int(net.network_address), int(net.broadcast_address), cls))
    return tuple(out)


_V4_TABLE = _table(_V4_SPECIAL)
_V6_TABLE = _table(_V6_SPECIAL)


# ---------------------------------------------------------------------------------- parsing


def _ipv4_int(text: str) -> int:
    """The 32-bit value of a dotted quad under the rule of the module docstring.

    About 1.5 µs (``inet_aton`` is faster but reads octal): the 100,000 shipped warninglist
    entries cost 0.15 s, once a process.

    Raises:
        ValueError: not four decimal parts of 0-255.
    """
    parts = text.split(".")
    if len(parts) != 4:
        raise ValueError(f"not an IPv4 address: {text!r}")
    value = 0
    for part in parts:
        if not 0 < len(part) <= 3 or not (part.isascii() and part.isdigit()):
            raise ValueError(f"not an IPv4 address: {text!r}")
        octet = int(part)
        if octet > 255:
            raise ValueError(f"not an IPv4 address: {text!r}")
        value = value << 8 | octet
    return value


def _bare(text: str) -> str:
    """Take off white space, brackets and the SMTP ``IPv6:`` prefix."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    if text[:5].lower() == "ipv6:":
        text = text[5:]
    return text


def _ipv6(text: str) -> ipaddress.IPv6Address:
    """Parse IPv6 text (zone id dropped; an embedded IPv4 part read by the IPv4 rule)."""
    text = text.split("%", 1)[0]
    head, colon, tail = text.rpartition(":")
    if colon and "." in tail:  # ::ffff:010.001.002.003: the last part is a dotted quad
        v4 = _ipv4_int(tail)
        text = f"{head}:{v4 >> 16:x}:{v4 & 0xFFFF:x}"
    return ipaddress.IPv6Address(text)


def parse(text: str) -> Address | None:
    """Read an IP address as written (the rules of the module docstring), or None.

    An IPv4-mapped IPv6 address stays IPv6 here; :func:`canonical` is the host's one spelling.
    """
    if not isinstance(text, str):
        return None
    text = _bare(text)
    try:
        if ":" in text:
            return _ipv6(text)
        return ipaddress.IPv4Address(_ipv4_int(text))
    except (ValueError, ipaddress.AddressValueError):
        return None


def _host(addr: Address) -> Address:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def parse_host(text: str) -> Address | None:
    """The host an address names (an IPv4-mapped IPv6 address is its IPv4 address), or None."""
    addr = parse(text)
    return None if addr is None else _host(addr)


def _text(addr: Address) -> str:
    """RFC 5952 text (IPv4-mapped in dotted form) or a dotted quad."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return addr.compressed


@functools.lru_cache(maxsize=8192)  # the same relays and feed addresses recur across a case
def canonical(text: str) -> str | None:
    """The one spelling of the host an address names, or None when ``text`` is not an address.

    ``010.001.002.003`` → ``10.1.2.3``; ``[IPv6:2001:DB8::1]`` → ``2001:db8::1``;
    ``::ffff:1.2.3.4`` → ``1.2.3.4``; ``fe80::1%eth0`` → ``fe80::1``.
    """
    addr = parse(text)
    return None if addr is None else _text(_host(addr))


def ipv4_text(text: str) -> str:
    """The canonical text of an IPv4 address (the ``ipv4`` indicator form).

    Raises:
        ValueError: ``text`` is not an IPv4 address.
    """
    return str(ipaddress.IPv4Address(_ipv4_int(_bare(text))))


def ipv6_text(text: str) -> str:
    """The canonical RFC 5952 text of an IPv6 address (the ``ipv6`` indicator form).

    Raises:
        ValueError: ``text`` is not an IPv6 address.
    """
    text = _bare(text)
    if ":" not in text:
        raise ValueError(f"not an IPv6 address: {text!r}")
    try:
        return _text(_ipv6(text))
    except ipaddress.AddressValueError as exc:
        raise ValueError(str(exc)) from exc


def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block (``10.0.0.5/8`` is the block ``10.0.0.0/8``); an address is its /32 or /128.

    Raises:
        ValueError: not an address or a block with a decimal prefix length in range.
    """
    addr_text, slash, prefix = _bare(text).partition("/")
    addr = parse(addr_text)
    if addr is None:
        raise ValueError(f"not an IP address or network: {text!r}")
    bits = 32 if addr.version == 4 else 128
    if slash:
        if not (prefix.isascii() and prefix.isdigit()) or int(prefix) > bits:
            raise ValueError(f"not a network prefix: {text!r}")
        length = int(prefix)
    else:
        length = bits
    if addr.version == 4:
        return ipaddress.IPv4Network((int(addr), length), strict=False)
    return ipaddress.IPv6Network((int(addr), length), strict=False)


def network_text(text: str) -> str:
    """The canonical text of a CIDR block (the ``cidr`` indicator form).

    Raises:
        ValueError: not a block.
    """
    net = network(text)
    address = net.network_address
    shown = _text(address) if isinstance(address, ipaddress.IPv6Address) else str(address)
    return f"{shown}/{net.prefixlen}"


def network_range(text: str) -> tuple[int, int, int]:
    """``(version, first, last)`` of an address or a block as integers, for range lookups.

    The IPv4 path avoids ``ipaddress`` (the shipped warninglists hold 100,000 entries, read once a
    process); it replaced ``inet_aton``, which reads ``010.1.2.3`` as octal.

    Raises:
        ValueError: not an address or a block.
    """
    addr_text, slash, prefix = text.strip().partition("/")
    if ":" not in addr_text:
        first = _ipv4_int(addr_text.strip())
        bits = 32
        if slash:
            if not (prefix.isascii() and prefix.isdigit()) or int(prefix) > 32:
                raise ValueError(f"not a network prefix: {text!r}")
            bits = int(prefix)
        size = 1 << (32 - bits)
        first &= ~(size - 1) & 0xFFFFFFFF
        return 4, first, first + size - 1
    net = network(text)
    return net.version, int(net.network_address), int(net.broadcast_address)


def sort_key(text: str) -> bytes | None:
    """16 bytes that sort like the address, IPv4 as IPv4-mapped IPv6 (one index for both); or None."""
    addr = parse(text)
    if addr is None:
        return None
    return key_of(addr)


def key_of(addr: Address) -> bytes:
    """:func:`sort_key` of a parsed address."""
    if addr.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + addr.packed
    return addr.packed


# ---------------------------------------------------------------------------------- classes


def _lookup(table: tuple[tuple[int, int, str], ...], value: int) -> str | None:
    for first, last, cls in table:
        if first <= value <= last:
            return cls
    return None


def class_of(addr: Address) -> str:
    """The class of a parsed address (a key of :data:`CLASS_LABELS`)."""
    addr = _host(addr)
    if addr.version == 4:
        return _lookup(_V4_TABLE, int(addr)) or "public"
    if addr in _TEREDO:
        return "public"
    found = _lookup(_V6_TABLE, int(addr))
    if found is not None:
        return found
    return "public" if addr in _GLOBAL_UNICAST else "reserved"


@functools.lru_cache(maxsize=8192)
def address_class(text: str | None) -> str | None:
    """The class of an address in text (``public``, ``private``, ``documentation`` …), or None."""
    addr = parse(text) if text else None
    return None if addr is None else class_of(addr)


def is_public(text: str | None) -> bool:
    """Whether an address is routable on the Internet: the class ``public``."""
    return address_class(text) == "public"


def describe_class(cls: str) -> str:
    """How a class is named for people (``documentation range``)."""
    return CLASS_LABELS.get(cls, cls)
