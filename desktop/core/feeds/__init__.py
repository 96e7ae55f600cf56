# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading intelligence feeds the way their authors wrote them: one module per format.

A feed is parsed into a :class:`ParsedFeed`: the indicator values it holds (normalised, each with
the context that names it: actor, intrusion set, campaign, malware, event or the feed itself) and
an :class:`Accounting` of every object the file holds — used, or counted under a reason why not.
Nothing a partner sent is dropped without a word; the accounting is printed by ``intel import``
and kept with the feed in the library.

Formats are detected by content (:func:`parse_feed`), never by file name. This package only reads
bytes it is given: it never opens the library, a case or the network.

Modules: :mod:`~desktop.core.feeds.stix` (STIX 2.0 and 2.1), :mod:`~desktop.core.feeds.misp`
(MISP event JSON), :mod:`~desktop.core.feeds.lists` (CSV lists), :mod:`~desktop.core.feeds.ip2asn`
(iptoasn.com range tables, dotted and u32 layouts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from desktop.core.errors import CasetrailError
from desktop.core.indicators import classify, normalise

ACTOR_TYPES = ("intrusion-set", "threat-actor", "campaign")
# Parts of objects, not objects: counted in the report, not in the number of objects.
PARTS = ("value", "pattern comparison")
Context = tuple[str, str, str]  # (name, kind, path)


class FeedError(CasetrailError):
    """A feed file cannot be read or its format cannot be recognised."""


@dataclass
class Accounting:
    """What a feed held, object type by object type: used, or not used and why.

    Attributes:
        used: object type → how many objects of it were used (gave values, named a match, or
            led from a value to who is behind it).
        not_used: object type → reason → count.
    """

    used: dict[str, int] = field(default_factory=dict)
    not_used: dict[str, dict[str, int]] = field(default_factory=dict)

    def use(self, kind: str, n: int = 1) -> None:
        """Count ``n`` objects of ``kind`` as used."""
        self.used[kind] = self.used.get(kind, 0) + n

    def skip(self, kind: str, reason: str, n: int = 1) -> None:
        """Count ``n`` objects of ``kind`` as not used, for ``reason``."""
        reasons = self.not_used.setdefault(kind, {})
        reasons[reason] = reasons.get(reason, 0) + n

    @property
    def total(self) -> int:
        """Every object counted, used or not (parts of objects such as values are not objects)."""
        return (sum(n for k, n in self.used.items() if k not in PARTS)
                + sum(n for k, r in self.not_used.items() if k not in PARTS for n in r.values()))

    @property
    def used_objects(self) -> int:
        """Objects used."""
        return sum(n for k, n in self.used.items() if k not in PARTS)

    def flat(self) -> dict[str, int]:
        """``"type: reason" → count``, the one-level form of :attr:`not_used`."""
        return {f"{kind}: {why}": n for kind, reasons in sorted(self.not_used.items())
                for why, n in sorted(reasons.items())}

    def to_json(self) -> dict[str, Any]:
        """The ``used`` / ``not_used`` members of ``intel import --json``."""
        return {"used": dict(sorted(self.used.items())),
                "not_used": {k: dict(sorted(v.items())) for k, v in sorted(self.not_used.items())}}

    @classmethod
    def from_json(cls, doc: Any) -> Accounting:
        """Read back what :meth:`to_json` wrote (as kept in the library)."""
        if not isinstance(doc, dict):
            return cls()
        used = {str(k): int(v) for k, v in (doc.get("used") or {}).items()}
        not_used = {str(k): {str(r): int(n) for r, n in v.items()}
                    for k, v in (doc.get("not_used") or {}).items() if isinstance(v, dict)}
        return cls(used, not_used)

    def report(self) -> str:
        """The per-type "not used" report in one line: ``indicator 3 (reason 2, reason 1); ...``."""
        parts = []
        for kind, reasons in sorted(self.not_used.items()):
            n = sum(reasons.values())
            why = ", ".join(f"{r} {c}" if len(reasons) > 1 else r for r, c in sorted(reasons.items()))
            parts.append(f"{n} {kind} ({why})")
        return "; ".join(parts)


@dataclass
class ParsedFeed:
    """A feed read into values and contexts, with the accounting of what it held.

    Attributes:
        format: ``stix``, ``misp``, ``csv`` or ``ip2asn``.
        name: the report's or event's title, else the file name.
        entries: ``(type, normalised value)`` → the contexts that name it.
        actors: intrusion sets, threat actors and campaigns values are attributed to.
        accounting: every object used or not used, by type.
        detail: format-specific facts kept with the feed (bundle id, spec version, event uuids).
    """

    format: str
    name: str
    entries: dict[tuple[str, str], set[Context]] = field(default_factory=dict)
    actors: set[str] = field(default_factory=set)
    accounting: Accounting = field(default_factory=Accounting)
    detail: dict[str, Any] = field(default_factory=dict)

    def add(self, type_: str, raw: str, ctx: Context) -> bool:
        """Normalise and store one value; False (and counted) when it is not a valid instance."""
        try:
            value = normalise(type_, raw)
        except (ValueError, UnicodeError):
            self.accounting.skip("value", f"invalid {type_}")
            return False
        if type_ == "cidr" and value.endswith(("/32", "/128")):
            type_, value = ("ipv4" if "." in value else "ipv6"), value.rsplit("/", 1)[0]
        self.entries.setdefault((type_, value), set()).add(ctx)
        if ctx[1] in ACTOR_TYPES:
            self.actors.add(ctx[0])
        return True


def schemeless_url(value: str) -> tuple[str, str]:
    """A URL written without a scheme, read as its author meant it: ``(type, value)``.

    MISP users (and the STIX that MISP exports) often write ``www.example.top`` or
    ``host.tld/path/x.txt`` as a URL: a bare host is a domain, a host with a path is an
    ``http://`` URL, a bare file name is a file name; anything else stays a (failing) URL.
    """
    host, slash, _rest = value.partition("/")
    if slash and classify(host) in ("domain", "ipv4"):
        return "url", "http://" + value
    found = classify(value)
    return (found, value) if found else ("url", value)


def parse_feed(text: str, file_name: str) -> ParsedFeed:
    """Parse a feed's text, recognising its format by content.

    Recognised: a STIX 2.x bundle, object or list of objects; a MISP event (``{"Event": …}``, a
    ``response`` list, a list of events, or a bare event); a CSV list with a value column. An
    ip2asn table is not parsed here (:mod:`desktop.core.feeds.ip2asn`, it is stored as ranges).

    Raises:
        FeedError: the text is none of the above.
    """
    from desktop.core.feeds import lists, misp, stix

    if text.lstrip()[:1] in ("{", "["):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise FeedError(f"{file_name} looks like JSON but cannot be parsed: {exc}") from exc
        if stix.is_stix(doc):
            return stix.parse(stix.as_bundle(doc), file_name)
        events = misp.events_of(doc)
        if events:
            return misp.parse(events, file_name)
        what = misp.what_else(doc)
        raise FeedError(f"{file_name} is JSON but neither a STIX bundle nor a MISP event"
                        + (f" ({what})" if what else ""))
    return lists.parse(text, file_name)
