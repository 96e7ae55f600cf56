# SPDX-License-Identifier: GPL-3.0-or-later
"""MISP warninglists: known-benign or special values an indicator should be flagged for.

A private address, a documentation range, a public DNS resolver or a top-10k web site in a case is
worth seeing, but it is rarely what attributes an intrusion; the analyst must be told, not
protected. So this module only *answers* — "this value is on list X" — and never removes
anything: the caller shows each hit as a match with source ``warninglist``.

The lists are the MISP warninglists shipped in ``resources/data/warninglists/`` (CC0), read as MISP
defines their types: ``cidr`` (addresses and networks), ``hostname`` (the name or any sub-domain
of it), ``string`` (exact), ``substring`` and ``regex``. Lookups must be cheap because correlation
checks every indicator of a case: networks are merged into sorted integer intervals searched with
``bisect``, host names into sets probed once per parent domain.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.ip import network_range
from desktop.resources import resource_path

_IP_TYPES = frozenset({"ipv4", "ipv6", "cidr"})
_HASHES = ("md5", "sha1", "sha256")

# Which of our indicator types each MISP attribute type stands for. A MISP list says which
# attribute types it applies to; an attribute type missing here (ssdeep, sha512, ...) is one we
# never extract, so the list's entries for it can never match.
_MISP_ATTRIBUTE_TYPES: dict[str, frozenset[str]] = {
    "ip-src": _IP_TYPES, "ip-dst": _IP_TYPES, "ip-src|port": _IP_TYPES, "ip-dst|port": _IP_TYPES,
    "domain|ip": _IP_TYPES | {"domain"},
    "domain": frozenset({"domain"}), "hostname": frozenset({"domain"}),
    "url": frozenset({"url"}), "uri": frozenset({"url"}),
    "email": frozenset({"email"}), "email-src": frozenset({"email"}), "email-dst": frozenset({"email"}),
    "whois-registrant-email": frozenset({"email"}), "dns-soa-email": frozenset({"email"}),
    "filename": frozenset({"file_name"}),
    **{h: frozenset({h}) for h in _HASHES},
    **{f"filename|{h}": frozenset({h}) for h in _HASHES},
}
_HOSTLIKE_RE = re.compile(r"\.?[a-z0-9_-]+(?:\.[a-z0-9_-]+)+\Z")


@dataclass(frozen=True)
class WarningHit:
    """One warninglist a value is on.

    Attributes:
        name: the list's name, what the analyst reads first ("List of RFC 1918 CIDR blocks").
        description: what being on the list means.
        list_id: the list's file name without ``.json`` (``rfc1918``), stable for filters.
    """

    name: str
    description: str
    list_id: str = ""


def _merge(intervals: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Merge overlapping/adjacent integer intervals so a bisect on the starts is exact."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(intervals):
        if starts and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _parse_net(entry: str) -> tuple[int, int, int]:
    """``(version, first, last)`` of an address or network, as integers (:mod:`desktop.core.ip`).

    The same reading for list entries and for the values checked against them: an entry or a
    value of ``010.001.002.003`` is 10.1.2.3, never the octal 8.1.2.3 ``inet_aton`` made of it.

    Raises:
        ValueError: not an address or network.
    """
    return network_range(entry)


@dataclass(frozen=True)
class _Probe:
    """A value prepared once for all lists: parsed address range and host-name suffixes."""

    type: str
    value: str
    lowered: str
    ip: tuple[int, int, int] | None
    host: str | None
    suffixes: tuple[str, ...]


def _probe(type_: str, value: str) -> _Probe:
    ip = None
    if type_ in _IP_TYPES:
        try:
            ip = _parse_net(value)
        except ValueError:
            ip = None
    lowered = value.lower()
    host = _host_of(type_, lowered)
    return _Probe(type_, value, lowered, ip, host, tuple(_suffixes(host)) if host else ())


def _host_of(type_: str, value: str) -> str | None:
    """The host name a hostname/domain list should be asked about, if the value has one."""
    if type_ == "domain":
        return value
    if type_ == "url":
        rest = value.partition("://")[2]
        host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if type_ == "email":
        return value.rpartition("@")[2]
    return None


def _suffixes(host: str) -> Iterable[str]:
    """``a.b.example.com`` → itself, ``b.example.com``, ``example.com``, ``com``."""
    labels = host.split(".")
    return (".".join(labels[i:]) for i in range(len(labels)))


class Warninglist:
    """One MISP warninglist, prepared for fast lookups.

    Attributes:
        list_id: the file stem.
        name: the list's name.
        description: what being on it means.
        version: the list's own version number.
        kind: the MISP matching type (cidr, hostname, string, substring, regex).
        applies_to: our indicator types the list is about.
    """

    def __init__(self, list_id: str, data: dict[str, Any]) -> None:
        self.list_id = list_id
        self.name = str(data.get("name", list_id))
        self.description = str(data.get("description", ""))
        self.version = data.get("version")
        self.kind = str(data.get("type", "string"))
        attrs = data.get("matching_attributes") or []
        applies: set[str] = set()
        for attr in attrs:
            applies |= _MISP_ATTRIBUTE_TYPES.get(str(attr), frozenset())
        # MISP's "domain|ip" puts IP lists on domains and host lists on IPs; we keep each list
        # on the side of that pair it can match.
        if self.kind == "cidr":
            applies = (applies or set(_IP_TYPES)) & _IP_TYPES
        elif self.kind in ("hostname", "substring"):
            applies -= _IP_TYPES
        self.applies_to = frozenset(applies)
        self._hit = WarningHit(self.name, self.description, list_id)
        entries = [str(e).strip() for e in data.get("list", []) if str(e).strip()]
        self._ranges: dict[int, tuple[list[int], list[int]]] = {}
        self._names: frozenset[str] = frozenset()
        self._substrings: tuple[str, ...] = ()
        self._regexes: tuple[re.Pattern[str], ...] = ()
        if self.kind == "cidr":
            by_version: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
            for entry in entries:
                try:
                    version, first, last = _parse_net(entry)
                except ValueError:
                    continue  # MISP lists occasionally hold a host name in a cidr list
                by_version[version].append((first, last))
            self._ranges = {v: _merge(iv) for v, iv in by_version.items() if iv}
        elif self.kind in ("hostname", "string"):
            self._names = frozenset(e.lower().lstrip(".") for e in entries)
        elif self.kind == "substring":
            # A substring list of host names (disposable mail providers) is asked about the
            # domain of an address: matching whole labels is what the list means and is O(labels)
            # instead of O(entries); anything else is matched as a plain substring.
            hostlike = [e.lower() for e in entries if _HOSTLIKE_RE.match(e.lower())]
            self._names = frozenset(h.lstrip(".") for h in hostlike)
            self._substrings = tuple(e.lower() for e in entries if not _HOSTLIKE_RE.match(e.lower()))
        elif self.kind == "regex":
            compiled = []
            for entry in entries:
                try:
                    compiled.append(re.compile(entry, re.I))
                except re.error:
                    continue
            self._regexes = tuple(compiled)

    def __len__(self) -> int:
        if self._ranges:
            return sum(len(s) for s, _ in self._ranges.values())
        return len(self._names) + len(self._substrings) + len(self._regexes)

    def matches(self, type_: str, value: str) -> bool:
        """Whether a normalised indicator value is on this list."""
        return type_ in self.applies_to and self._matches(_probe(type_, value))

    def _matches(self, p: _Probe) -> bool:
        if self.kind == "cidr":
            return self._in_ranges(p.ip)
        if self.kind == "hostname":
            if p.host is None:
                return p.lowered in self._names
            return any(s in self._names for s in p.suffixes)
        if self.kind == "string":
            return p.lowered in self._names or (
                p.type in ("domain", "email") and p.host is not None and p.host in self._names)
        if self.kind == "substring":
            if any(s in self._names for s in p.suffixes):
                return True
            return any(s in p.lowered for s in self._substrings)
        return any(r.search(p.value) for r in self._regexes)

    def _in_ranges(self, ip: tuple[int, int, int] | None) -> bool:
        if ip is None:
            return False
        version, lo, hi = ip
        ranges = self._ranges.get(version)
        if not ranges:
            return False
        starts, ends = ranges
        i = bisect.bisect_right(starts, lo) - 1
        return i >= 0 and hi <= ends[i]

    @property
    def hit(self) -> WarningHit:
        """The hit reported when a value is on this list."""
        return self._hit


class _TypeIndex:
    """All lists that apply to one indicator type, merged so one value costs a few dict probes.

    Correlation checks every indicator of a case; probing twenty lists one by one cost ~18 µs a
    value, the merged index ~2 µs. Host-name lists become one suffix → hits dict, exact-string
    lists one value → hits dict; an address is looked up by bisection in each address list's own
    merged ranges (a handful of lists: measured ~1 µs each, where cutting all ~90,000 ranges into
    common segments first cost ~2 s of the writer's time on the first address of every import).
    Substring entries that are not host names, regexes and network (CIDR) values fall back to the
    per-list check.
    """

    def __init__(self, type_: str, lists: tuple[Warninglist, ...]) -> None:
        self.type = type_
        self.suffix: dict[str, tuple[WarningHit, ...]] = {}
        self.exact: dict[str, tuple[WarningHit, ...]] = {}
        self.ranges: list[Warninglist] = []
        self.slow: list[Warninglist] = []
        self.order = {wl.hit: i for i, wl in enumerate(lists)}
        host_based = type_ in ("domain", "url", "email")
        for wl in lists:
            if wl.kind == "cidr":
                if type_ == "cidr":
                    self.slow.append(wl)
                elif wl._ranges:
                    self.ranges.append(wl)
            elif wl.kind == "hostname" or (wl.kind == "substring" and host_based):
                target = self.suffix if host_based else self.exact
                for name in wl._names:
                    target[name] = (*target.get(name, ()), wl.hit)
                if wl._substrings or wl._regexes:
                    self.slow.append(wl)
            elif wl.kind == "string":
                for name in wl._names:
                    self.exact[name] = (*self.exact.get(name, ()), wl.hit)
            else:
                self.slow.append(wl)
        self.ip_only = bool(self.ranges) and not (self.suffix or self.exact or self.slow)

    def _in_ranges(self, value: str) -> list[WarningHit]:
        """The address lists holding an address, in list order."""
        try:
            ip = _parse_net(value)
        except ValueError:
            return []
        return [wl.hit for wl in self.ranges if wl._in_ranges(ip)]

    def check(self, value: str) -> list[WarningHit]:
        if self.ip_only:
            return self._in_ranges(value)
        found: list[WarningHit] = self._in_ranges(value) if self.ranges else []
        lowered = value.lower()
        host = _host_of(self.type, lowered) if self.suffix or self.exact else None
        if self.suffix and host:
            labels = host.split(".")
            for i in range(len(labels)):
                hits = self.suffix.get(".".join(labels[i:]))
                if hits:
                    found.extend(hits)
        if self.exact:
            found.extend(self.exact.get(lowered, ()))
            if host is not None and host != lowered and self.type in ("domain", "email"):
                found.extend(self.exact.get(host, ()))
        if self.slow:
            probe = _probe(self.type, value)
            found.extend(wl.hit for wl in self.slow if wl._matches(probe))
        if len(found) > 1:
            found = sorted(set(found), key=self.order.__getitem__)
        return found


class Warninglists:
    """A set of warninglists answering :meth:`check` for any indicator type."""

    def __init__(self, lists: Iterable[Warninglist]) -> None:
        self.lists = tuple(lists)
        self._by_type: dict[str, tuple[Warninglist, ...]] = {}
        for wl in self.lists:
            for t in wl.applies_to:
                self._by_type[t] = (*self._by_type.get(t, ()), wl)
        self._index: dict[str, _TypeIndex] = {}

    @classmethod
    def load(cls, folder: Path) -> Warninglists:
        """Read every ``*.json`` MISP warninglist in a folder (sorted by file name).

        Raises:
            RuntimeError: the folder is missing or a list is not JSON (a broken install).
        """
        if not folder.is_dir():
            raise RuntimeError(f"the warninglists folder {folder} is missing; reinstall Casetrail")
        lists = []
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"the warninglist {path.name} cannot be read: {exc}") from exc
            lists.append(Warninglist(path.stem, data))
        return cls(lists)

    def types(self) -> frozenset[str]:
        """The indicator types some list is about."""
        return frozenset(self._by_type)

    def index_of(self, type_: str) -> _TypeIndex | None:
        """The merged index of one type's lists, built at the first call (thread-safe: one is kept)."""
        index = self._index.get(type_)
        if index is None:
            lists = self._by_type.get(type_, ())
            if not lists:
                return None
            index = self._index.setdefault(type_, _TypeIndex(type_, lists))
        return index

    def check(self, type_: str, value: str) -> list[WarningHit]:
        """Return every list a normalised indicator value is on (empty when none), in list order."""
        index = self.index_of(type_)
        return index.check(value) if index is not None else []

    def check_many(self, values: Iterable[tuple[int, str, str]]) -> dict[int, list[WarningHit]]:
        """Check many ``(key, type, value)`` at once; return only the keys that are on a list."""
        out: dict[int, list[WarningHit]] = {}
        indexes: dict[str, _TypeIndex | None] = {}
        for key, type_, value in values:
            if type_ not in indexes:
                indexes[type_] = self.index_of(type_)
            index = indexes[type_]
            if index is not None:
                hits = index.check(value)
                if hits:
                    out[key] = hits
        return out


_shipped: list[Warninglists] = []
_shipped_lock = threading.Lock()


def _new_lock_in_child() -> None:
    """A child forked while the preload thread held the lock would wait for a thread it does not have."""
    global _shipped_lock
    _shipped_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def shipped() -> Warninglists:
    """The warninglists shipped with Casetrail, loaded once per process (about 1 s).

    Thread-safe, so an import can load them on a thread of their own while it copies the first
    files (:func:`preload`) and the writer finds them ready.
    """
    with _shipped_lock:
        if not _shipped:
            _shipped.append(Warninglists.load(resource_path("data", "warninglists")))
        return _shipped[0]


def preload() -> None:
    """Start loading the shipped lists on a daemon thread (reading them is then no one's wait).

    The per-type indexes are built there too: built at the first check, they cost the writer
    about 0.3 s in the middle of an import.
    """
    threading.Thread(target=_load_indexed, name="warninglists", daemon=True).start()


def _load_indexed() -> None:
    lists = shipped()
    for type_ in sorted(lists.types()):
        lists.index_of(type_)


def check(type_: str, value: str) -> list[WarningHit]:
    """Check a normalised indicator against the shipped warninglists.

    Args:
        type_: one of ``desktop.core.indicators.TYPES``.
        value: the normalised value.

    Returns:
        The lists it is on, in list-file order; flag the indicator with them, never drop it.
    """
    return shipped().check(type_, value)
