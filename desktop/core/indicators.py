# SPDX-License-Identifier: GPL-3.0-or-later
"""Find, refang and normalise indicators (IPs, domains, URLs, hashes, paths, ...) in free text.

Why our own code and not a library: the measured comparison in ``docs/indicators.md`` shows that
the maintained extractors (iocsearcher, iocextract, ioc-finder) do not report file paths and file
names the way an examiner needs them, do not recover indicators glued to neighbouring words by OCR,
and either miss defanged forms or report many false domains (``file.txt``, ``object.method``).
Everything here is plain ``re`` with linear-time patterns; addresses are read by :mod:`desktop.core.ip`
(the one reading of an IP in Casetrail). No network access, no DNS lookups, no third-party dependency.

How it works: the text is refanged once into a working copy while an offset map remembers where
every refanged character came from, so each :class:`Found` carries the offsets and the raw text of
the *original* input. Extractors then run in priority order (URL, e-mail, file path, CIDR, IP,
hash, ASN, domain/file name); a span claimed by an earlier extractor is not reported again by a
later one, which is what keeps a hash inside a URL's query string or a domain inside a path from
being reported twice. Derived occurrences are reported on purpose: a URL's host as a domain (or
IP), an e-mail's domain as a domain and a file path's base name as a file name, each with the
offsets of that part.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import ip

TYPES = (
    "ipv4",
    "ipv6",
    "cidr",
    "domain",
    "url",
    "email",
    "md5",
    "sha1",
    "sha256",
    "file_path",
    "file_name",
    "asn",
    "selector",
)

_HASH_TYPES = {32: "md5", 40: "sha1", 64: "sha256"}


@dataclass(frozen=True)
class Found:
    """One occurrence of an indicator in a text.

    Attributes:
        type: One of :data:`TYPES`.
        value: The normalised, refanged value (see :func:`normalise`); what correlation compares.
        raw: The text exactly as it appeared, so the analyst can see the defanged or garbled form.
        start: Offset of ``raw`` in the input text.
        end: Offset just past ``raw`` in the input text.
    """

    type: str
    value: str
    raw: str
    start: int
    end: int


# --------------------------------------------------------------------------------------------
# Reference data: TLDs and file extensions
# --------------------------------------------------------------------------------------------


def _tld_file() -> Path:
    """Locate ``resources/data/tlds.txt``.

    ``desktop.resources.resource_path`` is preferred (it knows where a frozen build keeps
    resources); it is imported dynamically so this module keeps working without it, falling back
    to the ``resources/`` folder of a source checkout.
    """
    try:
        module = importlib.import_module("desktop.resources")
        resource_path: Callable[..., Path] = module.resource_path
        return Path(resource_path("data", "tlds.txt"))
    except (ImportError, AttributeError, FileNotFoundError):
        return Path(__file__).resolve().parents[2] / "resources" / "data" / "tlds.txt"


@functools.cache
def _tlds() -> frozenset[str]:
    """Load the IANA TLD list shipped in ``resources/data/tlds.txt`` (CC0, from MISP).

    A domain must end in a real TLD; that single rule removes most false domains such as
    ``file.txt``, ``object.method`` or ``1.2.3.4.5``.
    """
    path = _tld_file()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:  # a broken install, not a user error; say what is missing
        raise RuntimeError(f"the TLD list {path} is missing; reinstall Casetrail") from exc
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _words(block: str) -> list[str]:
    """The white-space separated words of a block of text (keeps long word lists readable)."""
    return block.split()


# Extensions that make a dotted word a file name. Curated for what shows up in incidents:
# executables and scripts, documents (macro-capable ones included), archives and disk images,
# media and data files an examiner meets on screen. Kept deliberately finite: an unknown
# extension is not a file name, which keeps prose like "e.g." or "Fig.3" out.
FILE_EXTENSIONS = frozenset(
    _words(
        """
        exe dll scr cpl ocx sys drv efi bat cmd ps1 psm1 psd1 vbs vbe js jse wsf wsh hta msi msp msc
        lnk pif reg inf url scf application appref-ms gadget jar class apk ipa dex elf bin so dylib
        ko sh bash zsh py pyc pyw pl rb php phtml asp aspx ashx jsp jspx cgi lua ps go rs java c cpp
        h cs doc docx docm dot dotx dotm xls xlsx xlsm xlsb xlt xltm xla xlam ppt pptx pptm pps ppsx
        ppsm pot potm sldm rtf odt ods odp pdf one onepkg txt csv tsv md log xml json yaml yml ini
        cfg conf config toml env pem key crt cer der p12 pfx ovpn kdbx zip rar 7z tar gz tgz bz2
        tbz2 xz txz zst lz lzh lzma cab arj ace iso img vhd vhdx vmdk ova ovf dmg pkg deb rpm apk
        appx msix xpi crx jpg jpeg png gif bmp tif tiff webp svg ico heic mp3 wav ogg flac m4a mp4
        mov avi mkv wmv webm 3gp html htm mht mhtml xhtml eml msg pst ost mbox ics vcf db sqlite
        sqlite3 mdb accdb sql bak tmp dat dmp mem raw pcap pcapng evtx etl lock
        """
    )
)

# TLDs that are also common words in code or prose (``self.name``, ``e.target``, ``x.data``).
# A two-label word ending in one of them counts as a domain only if its first label has a digit
# or a hyphen (``paypal-secure.link``), or it is seen as a URL host or e-mail domain.
_WORDY_TLDS = frozenset(
    _words(
        """
        name data map host run new page call next show style box open save read search select play
        target date final win click link live site web app one day fun help you zip mov
        """
    )
)

# Top-level directories a POSIX path in an incident can start with. Requiring one of these
# keeps fractions, "and/or" and URL fragments out while catching what shells print.
_POSIX_ROOTS = _words(
    """
    bin boot dev etc home lib lib32 lib64 libx32 media mnt opt proc root run sbin snap srv sys tmp
    usr var Users Applications Library System Volumes private cores
    """
)

# --------------------------------------------------------------------------------------------
# Refanging with an offset map
# --------------------------------------------------------------------------------------------

_REFANG_RE = re.compile(
    r"""
    (?=[\[({:hHfF])   # every alternative starts with one of these: a cheap first test
    (?:
      (?P<scheme>\b(?:[hH](?:[xX]{2}|\*\*|__|[tT]{2})[pP]|[fF][xX][pP])(?P<s>[sS]?)(?=\s?[\[(]?:))
    | (?P<colon_slashes>\[:\]//|\[://\]|\(:\)//|\(://\)|:\[//\]|\[:/\]/|\{://\})
    | (?P<colon>\[:\]|\(:\)|\{:\})
    | (?P<dot>\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\[DOT\]|\(DOT\)|\{DOT\})
    | (?P<at>\[@\]|\(@\)|\{@\}|\[at\]|\(at\)|\{at\}|\[AT\]|\(AT\)|\{AT\})
    | (?P<slash>\[/\])
    )
    """,
    re.VERBOSE,
)


_REFANG_HINT_RE = re.compile(r"[hH](?:[xX]{2}|\*\*|__)[pP]|[fF][xX][pP]")


class _Refanged:
    """A refanged copy of a text plus the map back to offsets in the original.

    Only the replaced spans are recorded (sorted, non-overlapping), so the map costs nothing on
    text without defanged forms and positions are translated with a binary search.
    """

    def __init__(self, text: str) -> None:
        self.original = text
        pieces: list[str] = []
        self._new_s: list[int] = []
        self._new_e: list[int] = []
        self._orig_s: list[int] = []
        self._orig_e: list[int] = []
        last = 0
        new_len = 0
        hinted = "[" in text or "(" in text or "{" in text or _REFANG_HINT_RE.search(text) is not None
        for m in _REFANG_RE.finditer(text) if hinted else ():
            repl = _refang_replacement(m)
            m_start, m_end = m.start(), m.end()
            if m.group("dot") is not None or m.group("at") is not None:
                # "example [.] com": the spaces around a bracketed dot or at go too.
                if m_start > last and text[m_start - 1] == " ":
                    m_start -= 1
                if m_end < len(text) and text[m_end] == " ":
                    m_end += 1
            pieces.append(text[last:m_start])
            new_len += m_start - last
            self._new_s.append(new_len)
            self._orig_s.append(m_start)
            pieces.append(repl)
            new_len += len(repl)
            self._new_e.append(new_len)
            self._orig_e.append(m_end)
            last = m_end
        pieces.append(text[last:])
        self.text = "".join(pieces) if self._new_s else text

    def start(self, pos: int) -> int:
        """Map a start offset in the refanged text to the original text."""
        i = bisect.bisect_right(self._new_s, pos) - 1
        if i < 0:
            return pos
        if pos < self._new_e[i]:
            return self._orig_s[i]
        return pos + self._orig_e[i] - self._new_e[i]

    def end(self, pos: int) -> int:
        """Map an exclusive end offset in the refanged text to the original text."""
        if pos <= 0:
            return pos
        q = pos - 1
        i = bisect.bisect_right(self._new_s, q) - 1
        if i < 0:
            return pos
        if q < self._new_e[i]:
            return self._orig_e[i]
        return pos + self._orig_e[i] - self._new_e[i]


def _refang_replacement(m: re.Match[str]) -> str:
    if m.group("scheme") is not None:
        base = "ftp" if m.group("scheme").lower().startswith("f") else "http"
        return base + ("s" if m.group("s") else "")
    if m.group("colon_slashes") is not None:
        return "://"
    if m.group("colon") is not None:
        return ":"
    if m.group("dot") is not None:
        return "."
    if m.group("at") is not None:
        return "@"
    return "/"


def refang(text: str) -> str:
    """Undo the usual defanging so that indicators can be matched and compared.

    Understands ``hxxp``/``hXXp``/``fxp`` schemes, ``[:]``, ``[://]``, ``[.]``, ``(.)``,
    ``{.}``, ``[dot]``, ``(dot)``, ``[@]``, ``[at]``, ``(at)`` and ``[/]``. Bare words such as
    " dot " or " at " are left alone on purpose: in prose they are far more often English than
    obfuscation.

    Args:
        text: Any text.

    Returns:
        The text with defanged forms replaced; everything else unchanged.
    """
    return _Refanged(text).text


def defang(value: str, type: str) -> str:
    """Make an indicator safe to paste into a report or a chat without it becoming a live link.

    Args:
        value: A normalised value of the given type.
        type: One of :data:`TYPES`.

    Returns:
        ``hxxp(s)``/``fxp`` for schemes, ``[.]`` for the dots of hosts and IPv4 addresses and
        ``[@]`` for e-mail; other types are returned unchanged. ``refang(defang(v, t)) == v``.
    """
    if type in ("domain", "ipv4"):
        return value.replace(".", "[.]")
    if type == "cidr" and "." in value:
        return value.replace(".", "[.]")
    if type == "email":
        local, _, domain = value.rpartition("@")
        return f"{local}[@]{domain.replace('.', '[.]')}"
    if type == "url":
        m = _URL_PARTS_RE.match(value)
        if m is None:
            return value
        scheme = m.group("scheme")
        lowered = scheme.lower()
        if lowered.startswith("http"):
            scheme = "hxxp" + scheme[4:]
        elif lowered == "ftp":
            scheme = "fxp"
        netloc = m.group("netloc")
        userinfo, at, hostport = netloc.rpartition("@")
        return f"{scheme}://{userinfo}{at}{hostport.replace('.', '[.]')}{m.group('rest')}"
    return value


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_URL_PARTS_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<rest>.*)\Z", re.S)
_IPV4_STRICT_RE = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\Z")
_LABEL_RE = re.compile(r"_?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_HEX_RE = re.compile(r"[0-9a-fA-F]+\Z")
_ASN_VALUE_RE = re.compile(r"(?:AS(?:N)?\s?)?(\d{1,10})\Z", re.I)


def _ipv4(value: str) -> str:
    """Canonical dotted quad (:mod:`desktop.core.ip`: ``010.001.002.003`` → ``10.1.2.3``)."""
    return ip.ipv4_text(value)


def _ipv6(value: str) -> str:
    """Canonical RFC 5952 IPv6 (:mod:`desktop.core.ip`: ``2001:0DB8:0:0::1`` → ``2001:db8::1``)."""
    return ip.ipv6_text(value)


def _idna_label(label: str) -> str:
    """Encode one non-ASCII label to its A-label.

    The ``idna`` package (IDNA 2008 + UTS 46) is used when it happens to be installed; otherwise
    the standard library's IDNA 2003 codec. They differ only for rare characters (``ß``, ``ς``,
    ZWJ); both produce the punycode form correlation needs.
    """
    idna = _idna_module()
    if idna is not None:
        try:
            return str(idna.encode(label, uts46=True).decode("ascii"))
        except UnicodeError:  # idna.IDNAError: retry with the more lenient IDNA 2003 codec
            pass
    return label.encode("idna").decode("ascii")


@functools.cache
def _idna_module() -> Any:
    """The optional ``idna`` package, or None; imported lazily and once."""
    try:
        return importlib.import_module("idna")
    except ImportError:
        return None


def _host(value: str) -> str:
    """Lower-case, IDNA-encode and strip the trailing dot(s) of a host name."""
    host = value.strip().rstrip(".").lower()
    if not host:
        raise ValueError("empty host name")
    if host.isascii():
        return host
    try:
        return ".".join(label if label.isascii() else _idna_label(label) for label in host.split("."))
    except UnicodeError as exc:
        raise ValueError(f"not a valid international domain name: {value!r}") from exc


# Names outside the IANA root that threat reports use as domains: Tor onion services (RFC 7686,
# a special-use name), I2P eepsites and Namecoin. They resolve only through their own networks,
# which is why they are in reports, and why the IANA list does not hold them.
ALT_ROOT_TLDS = frozenset({"onion", "i2p", "bit"})


@functools.cache
def _root_labels() -> frozenset[str]:
    """Every last label a domain may have: the IANA TLDs and the alternative roots (one lookup)."""
    return _tlds() | ALT_ROOT_TLDS


def _is_domain(host: str) -> bool:
    """True if an A-label host name is syntactically valid and ends in a real TLD."""
    if len(host) > 253 or "." not in host:
        return False
    labels = host.split(".")
    if labels[-1] not in _root_labels():
        return False
    return all(_LABEL_RE.match(label) for label in labels)


def _normalise_path(value: str) -> str:
    r"""Keep a path as seen (case included), but collapse doubled separators.

    Doubled backslashes come from JSON, registry exports and C string literals; collapsing them
    makes ``C:\\\\Users\\\\x`` and ``C:\\Users\\x`` the same indicator. A UNC prefix stays ``\\\\``.
    Case is kept because POSIX paths are case-sensitive and the analyst wants to see what was on
    screen; correlation can compare Windows paths case-insensitively if it wants to.
    """
    value = value.strip()
    if value.startswith("\\\\"):
        return "\\\\" + re.sub(r"\\{2,}", r"\\", value.lstrip("\\"))
    if "\\" in value:
        return re.sub(r"\\{2,}", r"\\", value)
    return re.sub(r"/{2,}", "/", value)


def normalise(type: str, value: str) -> str:
    """Bring a value into the one form under which it is stored and correlated.

    Rules: refang first; domains and URL hosts lower-case, IDNA-encoded (A-label) and without a
    trailing dot; IPv4 canonical (no leading zeros), IPv6 compressed, CIDR as its network
    (``10.0.0.5/8`` → ``10.0.0.0/8``); URL scheme and host lower-case, path, query and fragment
    kept byte for byte (they can be case-sensitive); e-mail lower-case (every large provider
    treats the local part case-insensitively); hashes lower-case; ASN as ``AS<number>``; file
    paths and names keep their case, with doubled separators collapsed.

    Args:
        type: One of :data:`TYPES`.
        value: The value as found or typed.

    Returns:
        The normalised value.

    Raises:
        ValueError: The value is not a valid instance of the type.
    """
    return _normalise(type, refang(value.strip()))


def _normalise(type: str, value: str) -> str:
    """:func:`normalise` for a value that is already refanged (extract's hot path)."""
    if type == "ipv4":
        return _ipv4(value)
    if type == "ipv6":
        return _ipv6(value)
    if type == "cidr":
        if "/" not in value:
            raise ValueError(f"not a CIDR block: {value!r}")
        return ip.network_text(value)
    if type == "domain":
        host = _host(value)
        if not _is_domain(host):
            raise ValueError(f"not a domain name: {value!r}")
        return host
    if type == "url":
        m = _URL_PARTS_RE.match(value)
        if m is None:
            raise ValueError(f"not a URL: {value!r}")
        userinfo, at, hostport = m.group("netloc").rpartition("@")
        if hostport.startswith("["):
            host, bracket, port = hostport[1:].partition("]")
            host = f"[{_ipv6(host)}]{port}" if bracket else hostport.lower()
        else:
            host, colon, port = hostport.partition(":")
            host = _host(host) + colon + port if host else ""
        return f"{m.group('scheme').lower()}://{userinfo}{at}{host}{m.group('rest')}"
    if type == "email":
        local, at, domain = value.rpartition("@")
        if not at or not local:
            raise ValueError(f"not an e-mail address: {value!r}")
        host = _host(domain)
        if not _is_domain(host):
            raise ValueError(f"not an e-mail address with a real domain: {value!r}")
        return f"{local.lower()}@{host}"
    if type in ("md5", "sha1", "sha256"):
        if not _HEX_RE.match(value) or _HASH_TYPES.get(len(value)) != type:
            raise ValueError(f"not a {type} hash: {value!r}")
        return value.lower()
    if type == "asn":
        m2 = _ASN_VALUE_RE.match(value)
        if m2 is None or not 0 < int(m2.group(1)) < 2**32:
            raise ValueError(f"not an AS number: {value!r}")
        return f"AS{int(m2.group(1))}"
    if type == "file_path":
        return _normalise_path(value)
    if type in ("file_name", "selector"):
        return value
    raise ValueError(f"unknown indicator type: {type!r}")


# --------------------------------------------------------------------------------------------
# Patterns. Every repetition is bounded or separated by a character the repeated part cannot
# contain, so matching is linear in the input (see the adversarial tests).
# --------------------------------------------------------------------------------------------

# URLs, e-mail addresses and the rest are found from a literal anchor ("://", "@") or from a
# pattern whose first item is a single character class with the look-behind placed after it:
# the regex engine can then skip to candidate positions in C instead of trying every offset,
# which is what keeps a megabyte well under a second.
_SCHEME_BEFORE_RE = re.compile(r"(?:https?|ftps?|sftp|wss?)\Z", re.I)
_URL_AFTER_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[^\s/?#<>\"'`{}|\\^\[\]]{1,300})[^\s<>\"'`{}|\\^]*")
_EMAIL_DOMAIN_RE = re.compile(r"[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}(?![\w-])")
_MSGID_LINE_RE = re.compile(r"(?im)^(?:message-id|in-reply-to|references|x-ms-exchange-[\w-]*id)\s*:")

_WIN_COMPONENT = r"[^\\/:*?\"<>|\s,;%](?:[^\\/:*?\"<>|\r\n\t,;%]{0,253}[^\\/:*?\"<>|\s,;%])?"
_WIN_LAST = r"[^\\/:*?\"<>|\s,;'`]{1,255}"
# Inner components may contain spaces ("Program Files") because a backslash must follow them;
# the last one stops at white space. Separators may be doubled (escaped strings).
_WIN_BODY = rf"(?:{_WIN_COMPONENT}\\{{1,2}})*(?:{_WIN_LAST})?"
_WIN_PREFIX = r"(?:[A-Za-z]:\\{1,2}|\\{2,4}[\w.$-]{1,63}\\{1,2}|%[A-Za-z_][A-Za-z0-9_()]{0,40}%\\{1,2})"
_WIN_PATH_RE = re.compile(rf"(?<![A-Za-z0-9\\]){_WIN_PREFIX}{_WIN_BODY}")
_WIN_PATH_OCR_RE = re.compile(rf"(?<![\\]){_WIN_PREFIX}{_WIN_BODY}")
_POSIX_CHARS = r"[A-Za-z0-9._+@%~,=-]"
_POSIX_TAIL = rf"(?:/{_POSIX_CHARS}{{1,255}})+/?"
_POSIX_ROOT_ALT = "|".join(_POSIX_ROOTS)
_POSIX_RE = re.compile(
    rf"/(?<![\w/.~:-]/)(?:{_POSIX_ROOT_ALT})(?![A-Za-z0-9._-]){_POSIX_TAIL}|~(?<![\w/.~:-]~){_POSIX_TAIL}"
)
_POSIX_SCP_RE = re.compile(rf"/(?<=[\w\]]:/)(?:{_POSIX_ROOT_ALT})(?![A-Za-z0-9._-]){_POSIX_TAIL}")
_POSIX_OCR_RE = re.compile(rf"/(?<![/.~]/)(?:{_POSIX_ROOT_ALT})(?![A-Za-z0-9._-]){_POSIX_TAIL}")

_OCTET = r"\d{1,3}"
_IPV4_RE = re.compile(
    rf"\d(?<![\w.]\d)\d{{0,2}}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
    # Not followed by ".label": 1.2.3.4.static.example.net and 0.0.0.0.com are host names.
    r"(?:/(?P<prefix>\d{1,2})(?![\w/]|\.\d))?(?!\w|\.\w)"
)
_IPV4_OCR_RE = re.compile(
    r"(?<![\d.])[0-9OoIl|]{1,3}(?:[ ]?\.[ ]?[0-9OoIl|]{1,3}){3}(?![\d]|\.\d|[ ]?\.[ ]?\d|\.[A-Za-z])"
)
_IPV6_HINT_RE = re.compile(r"[0-9A-Fa-f:](?<![\w:.][0-9A-Fa-f:])[0-9A-Fa-f]{0,3}:[0-9A-Fa-f]{0,4}:")
_IPV6_RE = re.compile(
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?:/(?P<prefix>\d{1,3})(?![\w/]|\.\d))?(?![\w:])"
)
_HASH_RE = re.compile(
    r"[0-9A-Fa-f](?<!\w[0-9A-Fa-f])(?:[0-9A-Fa-f]{63}|[0-9A-Fa-f]{39}|[0-9A-Fa-f]{31})(?!\w)"
)
# A sentence may end right after the number ("... announced by AS1."); "AS1.2" is no ASN.
_ASN_RE = re.compile(r"A(?<![\w-]A)S(?:N[ ]?)?(\d{1,10})(?!\w|\.\w)")
# Atomic, and never followed by "@": the local part of an address (``fl.voter.info@...``) is not
# a domain, even when the address itself is not valid.
_TOKEN_RE = re.compile(r"(?<![\w.@/\\-])(?>[\w-]{1,255}(?:\.[\w-]{1,255}){1,20})(?![@\w-])")
_TOKEN_OCR_RE = re.compile(r"(?<![\w.@/\\-])(?>[\w-]{1,255}(?:[ ]?\.[\w-]{1,255}){1,20})(?![@\w-])")
_OCR_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})
_TRAILING_PUNCT = ".,;:!?'\""


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


class _Collector:
    """Accumulates findings, tracks claimed spans and maps offsets back to the original text."""

    def __init__(self, rf: _Refanged) -> None:
        self.rf = rf
        self.claimed = bytearray(len(rf.text))
        self.found: list[Found] = []

    def free(self, start: int, end: int) -> bool:
        return self.claimed.find(1, start, end) < 0

    def claim(self, start: int, end: int) -> None:
        self.claimed[start:end] = b"\x01" * (end - start)

    def add(self, type_: str, value: str, start: int, end: int) -> None:
        o_start, o_end = self.rf.start(start), self.rf.end(end)
        self.found.append(Found(type_, value, self.rf.original[o_start:o_end], o_start, o_end))


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets that a greedy match took."""
    while url:
        last = url[-1]
        unbalanced = (last == ")" and url.count("(") < url.count(")")) or (
            last == "]" and url.count("[") < url.count("]")
        )
        if last in _TRAILING_PUNCT or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _add_host(col: _Collector, host: str, start: int) -> None:
    """Report the host of a URL or e-mail as a domain or IP occurrence (if it is one)."""
    end = start + len(host)
    bare = host.strip("[]")
    try:
        if ":" in bare:
            col.add("ipv6", _ipv6(bare), start, end)
        elif _IPV4_STRICT_RE.match(bare):
            col.add("ipv4", _ipv4(bare), start, end)
        else:
            name = _host(bare)
            if _is_domain(name):
                col.add("domain", name, start, start + len(host.rstrip(".")))
    except ValueError:
        return


def _url_spans(text: str, ocr: bool) -> Iterator[tuple[int, int]]:
    """Candidate URL spans: a known scheme, "://", then a host and the rest up to white space."""
    pos = text.find("://")
    while pos >= 0:
        nxt = pos + 3
        sm = _SCHEME_BEFORE_RE.search(text, max(0, pos - 5), pos)
        if sm is not None and (ocr or sm.start() == 0 or not text[sm.start() - 1].isalnum()):
            am = _URL_AFTER_RE.match(text, pos + 3)
            if am is not None:
                end = _field_end(text, sm.start(), am.end())
                yield sm.start(), end
                nxt = end
        pos = text.find("://", nxt)


_FIELD_SEPARATORS = ",;|\t"
_NEXT_FIELD_RE = re.compile(r",(?=/|[A-Za-z][\w+.-]{1,9}://|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d)")


def _field_end(text: str, start: int, end: int) -> int:
    """Where a URL or path that begins at ``start`` ends when it is one field of a delimited line.

    A value preceded by a field separator (CSV, a log line) ends at the same separator; and a
    comma directly followed by another path, URL or address starts a new value. Commas inside a
    URL's query string stay (``?ids=1,2``) when neither rule applies.
    """
    if start > 0 and text[start - 1] in _FIELD_SEPARATORS:
        cut = text.find(text[start - 1], start, end)
        if cut > start:
            end = cut
    m = _NEXT_FIELD_RE.search(text, start, end)
    return m.start() if m is not None and m.start() > start else end


def _urls(col: _Collector, ocr: bool) -> None:
    text = col.rf.text
    for m_start, m_end in _url_spans(text, ocr):
        url = _trim_url(text[m_start:m_end])
        pm = _URL_PARTS_RE.match(url)
        if pm is None:
            continue
        netloc = pm.group("netloc")
        hostport = netloc.rpartition("@")[2]
        host = hostport if hostport.startswith("[") else hostport.partition(":")[0]
        host = host.partition("]")[0] + "]" if host.startswith("[") else host
        if not host:
            continue
        try:
            value = _normalise("url", url)
        except (ValueError, UnicodeError):
            continue
        start, end = m_start, m_start + len(url)
        col.claim(start, end)
        col.add("url", value, start, end)
        host_start = start + pm.start("netloc") + (len(netloc) - len(hostport))
        _add_host(col, host, host_start)


def _email_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """Candidate e-mail spans (start, "@" offset, end), found from each "@"."""
    pos = text.find("@")
    while pos >= 0:
        nxt = pos + 1
        dm = _EMAIL_DOMAIN_RE.match(text, pos + 1)
        if dm is not None:
            start, limit = pos, max(0, pos - 64)
            while start > limit and (text[start - 1].isalnum() or text[start - 1] in "._+-"):
                start -= 1
            # At offset 0 there is no character before: ``"" in "._+-"`` is True, which once
            # dropped every address that began a text (most OCR lines that hold one).
            glued = start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._+-")
            if start < pos and not glued:
                yield start, pos, dm.end()
                nxt = dm.end()
        pos = text.find("@", nxt)


def _emails(col: _Collector) -> None:
    text = col.rf.text
    for start, at, end in _email_spans(text):
        if not col.free(start, end):
            continue
        domain = text[at + 1 : end]
        try:
            host = _host(domain)
        except ValueError:
            continue
        if not _is_domain(host):
            continue
        col.claim(start, end)
        if not _in_message_id_header(text, start):
            col.add("email", _normalise("email", text[start:end]), start, end)
        _add_host(col, domain, at + 1)


def _in_message_id_header(text: str, pos: int) -> bool:
    """True if ``pos`` lies in a Message-ID-like header, where ``x@y`` is an ID, not a mailbox.

    Folded continuation lines (starting with white space) are followed back to the header name.
    """
    line_start = text.rfind("\n", 0, pos) + 1
    for _ in range(50):
        if line_start == 0 or text[line_start : line_start + 1] not in (" ", "\t"):
            break
        line_start = text.rfind("\n", 0, line_start - 1) + 1
    return _MSGID_LINE_RE.match(text, line_start, min(pos, line_start + 200)) is not None


def _file_name_value(name: str) -> str | None:
    """The file name if ``name`` ends in a known extension and looks like a name, else None."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem.strip(".") or ext.lower() not in FILE_EXTENSIONS:
        return None
    return name


def _paths(col: _Collector, ocr: bool) -> None:
    text = col.rf.text
    patterns = [_POSIX_SCP_RE, _POSIX_RE]
    if ":\\" in text or "\\\\" in text or "%\\" in text:
        patterns.insert(0, _WIN_PATH_OCR_RE if ocr else _WIN_PATH_RE)
    if ocr:
        patterns.append(_POSIX_OCR_RE)
    for pattern in patterns:
        pos = 0
        while (m := pattern.search(text, pos)) is not None:
            cut = _field_end(text, m.start(), m.end())
            pos = cut if cut > m.start() else m.end()  # a value cut at a field ends the match there
            raw = text[m.start():cut].rstrip(_TRAILING_PUNCT + ")")
            start, end = m.start(), m.start() + len(raw)
            if len(raw) < 3 or not col.free(start, end):
                continue
            col.claim(start, end)
            col.add("file_path", _normalise_path(raw), start, end)
            sep = max(raw.rfind("\\"), raw.rfind("/"))
            base = raw[sep + 1 :]
            if base and _file_name_value(base):
                col.add("file_name", base, end - len(base), end)


def _add_cidr(col: _Collector, addr: str, prefix: str, start: int, end: int) -> bool:
    """Report a CIDR block (and its address when host bits are set, e.g. ``ip addr`` output)."""
    host_type = "ipv6" if ":" in addr else "ipv4"
    try:
        value = _normalise("cidr", f"{addr}/{prefix}")
        host_value = _normalise(host_type, addr)
    except ValueError:
        return False
    col.claim(start, end)
    col.add("cidr", value, start, end)
    if host_value != value.partition("/")[0]:
        col.add(host_type, host_value, start, start + len(addr))
    return True


def _ips(col: _Collector, ocr: bool) -> None:
    text = col.rf.text
    for m in _IPV4_RE.finditer(text):
        if not col.free(m.start(), m.end()):
            continue
        if m.group("prefix") is not None:
            addr = text[m.start() : m.start("prefix") - 1]
            if _add_cidr(col, addr, m.group("prefix"), m.start(), m.end()):
                continue
            end = m.start() + len(addr)
        else:
            addr, end = m.group(), m.end()
        try:
            value = _ipv4(addr)
        except ValueError:
            continue
        col.claim(m.start(), end)
        col.add("ipv4", value, m.start(), end)
    if ocr:
        for m in _IPV4_OCR_RE.finditer(text):
            if not col.free(m.start(), m.end()):
                continue
            value_ocr = _ocr_ipv4(m.group())
            if value_ocr is not None:
                col.claim(m.start(), m.end())
                col.add("ipv4", value_ocr, m.start(), m.end())
    pos = 0
    while True:
        hint = _IPV6_HINT_RE.search(text, pos)
        if hint is None:
            break
        m6 = _IPV6_RE.match(text, hint.start())
        pos = hint.end() if m6 is None else max(m6.end(), hint.end())
        if m6 is None or not col.free(m6.start(), m6.end()):
            continue
        candidate = text[m6.start() : m6.start("prefix") - 1] if m6.group("prefix") else m6.group()
        groups = [g for g in candidate.split(":") if g]
        if len(groups) < 2 or sum(len(g) for g in groups) < 4:
            continue  # "a::b", "::1", "12:30" - too little to be an indicator
        if m6.group("prefix") is not None:
            _add_cidr(col, candidate, m6.group("prefix"), m6.start(), m6.end())
            continue
        if not _ipv6_shape(candidate):
            continue  # "12:30:05", a time: not worth the parser's exception
        try:
            value = _ipv6(candidate)
        except ValueError:
            continue
        col.claim(m6.start(), m6.end())
        col.add("ipv6", value, m6.start(), m6.end())


def _ipv6_shape(candidate: str) -> bool:
    """False when a candidate of :data:`_IPV6_RE` cannot be an address whatever its digits.

    Without "::" an IPv6 address has exactly eight groups, a trailing dotted quad counting as
    two; ``ipaddress`` refuses anything else. Dates and times ("12:30:05") fill mail headers.
    """
    return "::" in candidate or candidate.count(":") + ("." in candidate) == 7


def _ocr_ipv4(candidate: str) -> str | None:
    """Repair an OCR-garbled dotted quad, or None if the repair is not convincing.

    ``O``/``o`` become ``0`` and ``I``/``l``/``|`` become ``1``, spaces around dots are dropped;
    at most two characters may be repaired and at least three octets must contain a real
    digit, so words like ``Oil.lo.IO.lo`` never turn into addresses.
    """
    compact = candidate.replace(" ", "")
    octets = compact.split(".")
    if sum(1 for ch in compact if ch in "OoIl|") > 2:
        return None
    if sum(1 for o in octets if any(ch.isdigit() for ch in o)) < 3:
        return None
    try:
        return _ipv4(compact.translate(_OCR_CONFUSABLE))
    except ValueError:
        return None


def _hashes(col: _Collector) -> None:
    for m in _HASH_RE.finditer(col.rf.text):
        if col.free(m.start(), m.end()):
            col.claim(m.start(), m.end())
            col.add(_HASH_TYPES[len(m.group())], m.group().lower(), m.start(), m.end())


def _asns(col: _Collector) -> None:
    if "AS" not in col.rf.text:
        return
    for m in _ASN_RE.finditer(col.rf.text):
        number = int(m.group(1))
        if col.free(m.start(), m.end()) and 0 < number < 2**32:
            col.claim(m.start(), m.end())
            col.add("asn", f"AS{number}", m.start(), m.end())


@functools.lru_cache(maxsize=16384)  # host names recur across a message's headers and a mailbox
def _classify_dotted(token: str) -> tuple[str, str] | None:
    """Decide whether a dotted word is a domain, a file name or neither.

    The deciding facts are the last label and the list of real TLDs: ``report.pdf`` is a file
    (``pdf`` is no TLD), ``evil.com`` a domain (``com`` is no file extension we list). Labels that
    are both (``zip``, ``mov``, ``py``, ``sh``, ``md``, ...) make a file name when the word has
    two labels, an underscore, or a second extension (``invoice.pdf.zip``), else a domain
    (``a.run.app``).
    """
    labels = token.split(".")
    last = labels[-1].lower()
    is_ext = last in FILE_EXTENSIONS
    try:
        host = _host(token)
        is_dom = _is_domain(host)
    except ValueError:
        host, is_dom = "", False
    if is_dom and is_ext:
        inner_ext = any(label.lower() in FILE_EXTENSIONS for label in labels[1:-1])
        if len(labels) == 2 or "_" in token or inner_ext:
            is_dom = False
        else:
            is_ext = False
    if is_dom and len(labels) == 2 and last in _WORDY_TLDS and not re.search(r"[\d-]", labels[0]):
        is_dom = False
    if is_dom:
        return ("domain", host)
    if is_ext and _file_name_value(token):
        return ("file_name", token)
    return None


def _dotted(col: _Collector, ocr: bool) -> None:
    text = col.rf.text
    for m in (_TOKEN_OCR_RE if ocr else _TOKEN_RE).finditer(text):
        token = m.group()
        start, end = m.start(), m.end()
        # A trailing "-" or leading "_" belongs to the prose, not to the name.
        while token and token[-1] in "-_":
            token, end = token[:-1], end - 1
        if not col.free(start, end) or "." not in token:
            continue
        spaced = " " in token
        compact = token.replace(" ", "")
        if spaced:
            # Only join across a space when the piece after it is a lower-case host label;
            # "Done. Next" is prose, "evil-site .com" is an OCR split.
            pieces = token.replace(" ", "").split(".")
            if not all(p == p.lower() for p in pieces[1:]):
                continue
        result = _classify_dotted(compact)
        if result is None:
            continue
        type_, value = result
        if spaced and type_ != "domain":
            continue
        col.claim(start, end)
        col.add(type_, value, start, end)


# Texts up to this long are remembered (most header values: half of a real mailbox's recur,
# "Content-Language: en-US", a campaign's From and Subject, its relays' Received lines).
_REMEMBERED_TEXT = 2048


def extract(text: str, *, ocr: bool = False) -> list[Found]:
    r"""Find every indicator occurrence in a text.

    Args:
        text: Any text: a mail body, a header block, a report, OCR output.
        ocr: The text comes from OCR of a screen. Also recover indicators glued to the word
            before them (``ping185.141.63.120``, ``cdC:\\Users\\x``, ``wgethttp://...``), repair
            ``O``→``0`` and ``l``/``I``→``1`` inside IP-like words when the result is a valid
            address, and join host names split by a space next to a dot (``185.141 .63.120``).
            Off by default because on typed text the same rules would invent indicators.

    Returns:
        All occurrences, sorted by position; the same (type, value) appears once per place it
        occurs. Derived occurrences (a URL's host, an e-mail's domain, a path's file name)
        carry the offsets of that part of the text.

    Notes:
        ``1.2.3.4`` in "version 1.2.3.4" is reported as an IPv4 address: a dotted quad cannot be
        told from a version by its shape, and a missed IP costs more than a flagged version.
        ``999.1.1.1`` and ``1.2.3.4.5`` are not addresses.
    """
    if len(text) <= _REMEMBERED_TEXT:
        return list(_extract_remembered(text, ocr))
    if len(text) <= _REMEMBERED_LONG_TEXT:
        return _LONG_TEXTS.extract(text, ocr)
    return _extract(text, ocr)


# Long texts (mail bodies) are remembered too, up to this long each and this much memory in all:
# a wave of phishing sends one body to thousands of recipients, and extracting the HTML body
# was a quarter of the analysis of a message (~4.5 ms). Past the budget the least recently
# extracted are forgotten.
_REMEMBERED_LONG_TEXT = 256 << 10
_REMEMBERED_LONG_BYTES = 24 << 20


class _LongTexts:
    """:func:`_extract` of long texts, the most recent kept within a memory budget (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._held = 0
        self._found: OrderedDict[tuple[str, bool], tuple[tuple[Found, ...], int]] = OrderedDict()
        self._lock = threading.Lock()

    def extract(self, text: str, ocr: bool) -> list[Found]:
        key = (text, ocr)
        with self._lock:
            known = self._found.get(key)
            if known is not None:
                self._found.move_to_end(key)
                return list(known[0])
        found = _extract(text, ocr)
        # the text, the findings and their strings (a Found is ~5 small objects)
        cost = sys.getsizeof(text) + 400 * len(found)
        if cost > self._budget:
            return found
        with self._lock:
            if key not in self._found:
                self._found[key] = (tuple(found), cost)
                self._held += cost
            while self._held > self._budget:
                _old, (_f, freed) = self._found.popitem(last=False)
                self._held -= freed
        return found


_LONG_TEXTS = _LongTexts(_REMEMBERED_LONG_BYTES)


@functools.lru_cache(maxsize=8192)
def _extract_remembered(text: str, ocr: bool) -> tuple[Found, ...]:
    """:func:`_extract` of a short text, kept: the result depends on nothing but the text."""
    return tuple(_extract(text, ocr))


def _extract(text: str, ocr: bool) -> list[Found]:
    rf = _Refanged(text)
    col = _Collector(rf)
    _urls(col, ocr)
    _emails(col)
    _paths(col, ocr)
    _ips(col, ocr)
    _hashes(col)
    _asns(col)
    _dotted(col, ocr)
    unique = {(f.start, f.end, f.type, f.value): f for f in col.found}
    return sorted(unique.values(), key=lambda f: (f.start, f.end, f.type))


def unique_values(found: Iterable[Found]) -> list[tuple[str, str]]:
    """The distinct (type, value) pairs of some findings, in order of first occurrence."""
    return list(dict.fromkeys((f.type, f.value) for f in found))


# --------------------------------------------------------------------------------------------
# Classification of a single analyst-entered value
# --------------------------------------------------------------------------------------------

_WHOLE_WIN_PATH_RE = re.compile(r"(?:[A-Za-z]:\\|\\\\[^\\]+\\|%[A-Za-z_][\w()]*%\\)")


def classify(value: str) -> str | None:
    r"""Tell the type of one value an analyst typed or pasted (defanged forms accepted).

    Args:
        value: A single value, e.g. ``hxxps://evil[.]com/x``, ``AS13335``, ``C:\\x\\y.exe``.

    Returns:
        The type, or None when the value is none of the extractable types. Selectors (account
        names, wallet IDs, phone numbers) are only ever typed with their type chosen, so this
        never returns ``"selector"``; the caller offers that choice when it gets None.
    """
    v = refang(value.strip())
    if not v or (any(ch.isspace() for ch in v) and not _WHOLE_WIN_PATH_RE.match(v)):
        return None
    checks: tuple[tuple[str, Callable[[str], bool]], ...] = (
        ("url", lambda s: bool(_URL_PARTS_RE.match(s)) and "://" in s),
        ("email", lambda s: "@" in s and "/" not in s and "\\" not in s),
        ("cidr", lambda s: "/" in s and not s.startswith(("/", "~"))),
        ("ipv4", lambda s: bool(_IPV4_STRICT_RE.match(s))),
        ("ipv6", lambda s: ":" in s and "\\" not in s and "/" not in s),
        ("md5", lambda s: len(s) == 32),
        ("sha1", lambda s: len(s) == 40),
        ("sha256", lambda s: len(s) == 64),
        ("asn", lambda s: s[:2].upper() == "AS"),
    )
    for type_, applies in checks:
        if applies(v):
            try:
                normalise(type_, v)
            except (ValueError, UnicodeError):
                continue
            return type_
    if _WHOLE_WIN_PATH_RE.match(v) or v.startswith(("/", "~/")):
        return "file_path"
    result = _classify_dotted(v) if "." in v and "/" not in v and "\\" not in v else None
    if result is not None:
        return result[0]
    if "." in v and _file_name_value(v) and "/" not in v and "\\" not in v:
        return "file_name"
    return None
