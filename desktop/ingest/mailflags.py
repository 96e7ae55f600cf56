# SPDX-License-Identifier: GPL-3.0-or-later
"""Header forensics: authentication verdicts and the flags an analyst expects on a phishing mail.

A flag is a *reason to look*, not a verdict: each carries a stable ``code`` for filters and a
``message`` that says what was compared, so the briefing can quote it. Domain comparisons use the
registrable domain (see :func:`registrable_domain`) so ``mail.example.com`` and ``example.com`` do
not raise a false mismatch.

Pure: takes parsed header data, returns data. Never imports Qt, never resolves DNS (an offline tool
cannot re-check SPF or DKIM; it reports what the receiving servers recorded).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from desktop.core import hop_numbers, timestamps

if TYPE_CHECKING:
    from desktop.ingest.email import ParsedEmail

DATE_TOLERANCE_S = 3600  # Date vs Received: MUA clocks drift and queues hold mail; an hour is noise

# Public suffixes with two labels that are common in mail. A full Public Suffix List would be more
# exact, but it is 200 kB of data to keep current offline; this list plus "last two labels" gets the
# registrable domain right for the large majority of senders. Known gap: private suffixes
# (``*.github.io``, ``*.blogspot.com``) count as one domain.
_MULTI_PART_SUFFIXES = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "nhs.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au",
    "co.nz", "org.nz", "govt.nz", "ac.nz",
    "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp",
    "co.kr", "or.kr", "go.kr", "ac.kr", "re.kr",
    "com.br", "net.br", "org.br", "gov.br", "edu.br",
    "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn",
    "com.hk", "com.tw", "com.sg", "com.my", "com.ph", "com.vn", "co.th", "co.id", "co.in", "net.in",
    "org.in", "gov.in", "ac.in", "ap.gov.in",
    "com.mx", "com.ar", "com.co", "com.pe", "com.ve", "com.ec", "com.uy",
    "co.za", "org.za", "gov.za", "ac.za", "co.ke", "or.ke", "co.tz", "com.ng", "com.eg",
    "com.tr", "gov.tr", "org.tr", "com.ua", "co.il", "org.il", "ac.il", "com.sa", "com.pk",
    "com.ru", "spb.ru", "msk.ru", "com.pl", "co.at", "or.at", "ac.at",
})

_SPF_BAD = frozenset({"fail", "softfail", "permerror", "none"})
_DKIM_BAD = frozenset({"fail", "permerror", "none"})
_DMARC_BAD = frozenset({"fail", "permerror", "none"})
_METHOD = re.compile(r"^\s*(spf|dkim|dmarc)\s*=\s*([A-Za-z]+)", re.IGNORECASE)
_PAREN = re.compile(r"\([^()]*\)")
_DKIM_TAG = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def registrable_domain(host: str | None) -> str | None:
    """Return the registrable part of a host or address domain: ``a.b.example.co.uk`` → ``example.co.uk``.

    Rule: the last two labels, or three when the last two are a known multi-part public suffix
    (``_MULTI_PART_SUFFIXES``). An address (``x@y``) is reduced to its domain first. IP literals and
    single labels are returned as they are.
    """
    if not host:
        return None
    host = host.rsplit("@", 1)[-1].strip().strip("<>[]").rstrip(".").lower()
    if not host:
        return None
    labels = host.split(".")
    if len(labels) <= 2 or labels[-1].isdigit():
        return host
    keep = 3 if ".".join(labels[-2:]) in _MULTI_PART_SUFFIXES else 2
    if keep == 3 and ".".join(labels[-3:]) in _MULTI_PART_SUFFIXES:
        keep = 4  # ap.gov.in
    return ".".join(labels[-keep:])


def _strip_comments(value: str) -> str:
    """Remove (possibly nested) RFC 5322 comments."""
    previous = None
    while previous != value:
        previous, value = value, _PAREN.sub(" ", value)
    return value


def parse_auth(results: list[str], received_spf: list[str]) -> dict[str, Any]:
    """Read SPF, DKIM and DMARC verdicts from Authentication-Results (RFC 8601) headers.

    The topmost header that reports a method wins: it was added by the server nearest the
    recipient, the only one the recipient's organisation controls. When one header lists several
    DKIM results (one per signature) any ``pass`` wins, because one valid signature authenticates
    the message. ``Received-SPF`` fills SPF only when no Authentication-Results reports it.

    Args:
        results: Authentication-Results values, top to bottom.
        received_spf: Received-SPF values, top to bottom.

    Returns:
        ``{"spf": str|None, "dkim": str|None, "dmarc": str|None, "raw": [results...]}``, verdicts
        lower-case.
    """
    verdicts: dict[str, str | None] = {"spf": None, "dkim": None, "dmarc": None}
    for value in results:
        found: dict[str, list[str]] = {}
        for segment in _strip_comments(value).split(";"):
            match = _METHOD.match(segment)
            if match:
                found.setdefault(match.group(1).lower(), []).append(match.group(2).lower())
        for method, seen in found.items():
            if verdicts[method] is None:
                verdicts[method] = "pass" if "pass" in seen else seen[0]
    if verdicts["spf"] is None:
        for value in received_spf:
            words = value.split(None, 1)
            if words and words[0].isalpha():
                verdicts["spf"] = words[0].lower()
                break
    return {**verdicts, "raw": list(results)}


def dkim_signatures(values: list[str]) -> list[dict[str, str]]:
    """Return the signing domain (``d=``) and selector (``s=``) of each DKIM-Signature header."""
    out = []
    for value in values:
        tags = {m.group(1).lower(): re.sub(r"\s+", "", m.group(2)) for m in _DKIM_TAG.finditer(value)}
        out.append({"d": tags.get("d", ""), "s": tags.get("s", "")})
    return out


def has_control_chars(text: str) -> bool:
    """Say whether decoded header text holds NUL, CR, LF, other C0 controls or bidi overrides."""
    return not text.isprintable() and _CONTROL.search(text) is not None  # isprintable: fast path


def _flag(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _domain_of(addr: str | None) -> str | None:
    return registrable_domain(addr.rsplit("@", 1)[1]) if addr and "@" in addr else None


def _address_flags(mail: ParsedEmail) -> list[dict[str, str]]:
    flags = []
    from_dom = _domain_of(mail.from_addr)
    rp_dom = _domain_of(mail.return_path)
    if from_dom and rp_dom and from_dom != rp_dom:
        flags.append(_flag("from_return_path_mismatch",
                           f"From domain {from_dom} differs from Return-Path domain {rp_dom} "
                           f"(envelope sender {mail.return_path})"))
    for entry in mail.reply_to:
        rt_dom = _domain_of(entry["addr"])
        if from_dom and rt_dom and rt_dom != from_dom:
            flags.append(_flag("from_reply_to_mismatch",
                               f"Replies go to {entry['addr']} ({rt_dom}), not the From domain {from_dom}"))
            break
    name = mail.from_name or ""
    if "@" in name:
        shown = [a for a in _EMAIL_IN_TEXT.findall(name) if a.lower() != (mail.from_addr or "").lower()]
        if shown:
            detail = f"shows {shown[0]} but the address is {mail.from_addr}"
        else:
            detail = f"contains '@' ({name!r}); the address is {mail.from_addr}"
        flags.append(_flag("display_name_spoof", f"From display name {detail}"))
    mid_dom = registrable_domain(mail.message_id_domain)
    if from_dom and mid_dom and mid_dom != from_dom:
        flags.append(_flag("message_id_domain_mismatch",
                           f"Message-ID domain {mail.message_id_domain} differs from the From domain "
                           f"{from_dom} (weak on its own: bulk senders and Exchange Online do this)"))
    return flags


def _auth_flags(auth: dict[str, Any]) -> list[dict[str, str]]:
    flags = []
    for method, bad in (("spf", _SPF_BAD), ("dkim", _DKIM_BAD), ("dmarc", _DMARC_BAD)):
        verdict = auth.get(method)
        if verdict in bad:
            flags.append(_flag(f"{method}_fail", f"{method.upper()} result recorded by the receiving "
                                                 f"server: {verdict}"))
    return flags


def _time_flags(mail: ParsedEmail) -> list[dict[str, str]]:
    flags = []
    late = [h for h in mail.hops if "negative_delay" in h.flags]
    if late:
        flags.append(_flag("hop_time_out_of_order",
                           f"{len(late)} hop(s) dated before the previous hop (first: "
                           f"{hop_numbers.label(late[0].index, len(mail.hops))}, {late[0].delay_s:+.0f} s)"))
    sent = timestamps.parse(mail.date_utc)
    timed = [(h, t) for h in mail.hops if (t := timestamps.parse(h.time_utc)) is not None]
    if sent is None or not timed:
        return flags
    first_hop, first = timed[0]
    last_hop, last = timed[-1]
    total = len(mail.hops)
    if (sent - last).total_seconds() > DATE_TOLERANCE_S:
        flags.append(_flag("date_after_last_hop",
                           f"Date header {timestamps.human(sent)} is later than the last hop "
                           f"({hop_numbers.label(last_hop.index, total)}, {timestamps.human(last)})"))
    if (first - sent).total_seconds() > DATE_TOLERANCE_S:
        flags.append(_flag("date_before_first_hop",
                           f"Date header {timestamps.human(sent)} is more than {DATE_TOLERANCE_S // 3600} h "
                           f"before the first timed hop ({hop_numbers.label(first_hop.index, total)}, "
                           f"{timestamps.human(first)})"))
    return flags


def compute_flags(mail: ParsedEmail, extra: list[dict[str, str]]) -> list[dict[str, str]]:
    """Return every analyst flag for a parsed message.

    Args:
        mail: the parsed message (its ``flags`` field is ignored).
        extra: flags the parser raised while reading headers (control characters, unparseable
            From …), placed first.
    """
    controlled = sorted({name for name, value in mail.headers if has_control_chars(value)})
    flags = list(extra)
    if controlled:
        flags.append(_flag("encoded_word_control_chars",
                           "Decoded header(s) contain NUL, CR/LF, control or bidi-override characters "
                           f"that can hide text from a mail client: {', '.join(controlled)}"))
    return flags + _address_flags(mail) + _auth_flags(mail.auth) + _time_flags(mail)
