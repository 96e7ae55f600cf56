# SPDX-License-Identifier: GPL-3.0-or-later
"""The parsers an adversary feeds, as fuzz targets: bytes in, a result or a documented error out.

Each target takes any bytes and must return, or raise one of the errors its parser documents
(a bad input is a clear error, never a crash, a hang or an undocumented exception). Seeds come
from ``../shared/corpora`` and ``tests/data``. Both the short run of the suite
(``test_fuzz_short.py``, a fixed set of mutations of each seed) and ``make fuzz`` (atheris,
coverage-guided, ``run.py``) drive these same functions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "tests" / "data"


@dataclass(frozen=True)
class Target:
    """One parser under fuzzing."""

    name: str
    run: Callable[[bytes], object]
    errors: tuple[type[BaseException], ...]
    seeds: tuple[str, ...]  # globs under ../shared/corpora or tests/data

    def seed_files(self, limit: int = 40) -> list[Path]:
        out: list[Path] = []
        for pattern in self.seeds:
            base = DATA if pattern.startswith("data/") else CORPORA
            out += sorted(base.glob(pattern.removeprefix("data/")))
        return [p for p in out if p.is_file()][:limit]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _eml(data: bytes) -> object:
    from desktop.ingest.email import parse_eml
    return parse_eml(data)


def _msg(data: bytes) -> object:
    from desktop.ingest.email import parse_msg
    return parse_msg(data)


def _mbox(data: bytes) -> object:
    import io

    from desktop.ingest.email import iter_mbox
    return sum(1 for _ in iter_mbox(io.BytesIO(data), read_size=4096))


def _received(data: bytes) -> object:
    from desktop.ingest.hops import build_hops, parse_received
    lines = _text(data).split("\n")[:200]
    for line in lines:
        parse_received(line)
    return build_hops(lines)


def _indicators(data: bytes) -> object:
    from desktop.core.indicators import defang, extract, refang
    text = _text(data)[:50_000]
    found = extract(text) + extract(refang(text)) + extract(text, ocr=True)
    for f in found[:200]:
        defang(f.value, f.type)
    return found


def _feed(data: bytes) -> object:
    from desktop.core.feeds import parse_feed
    return parse_feed(_text(data), "fuzz.json")


def _stix_pattern(data: bytes) -> object:
    from desktop.core.feeds.stix import observations, pattern_values
    text = _text(data)[:2_000]
    return observations(text), pattern_values(text, "2.1")


def _ip2asn(data: bytes) -> object:
    from desktop.core.feeds import ip2asn
    return ip2asn.parse(_text(data), "fuzz.tsv")


def _misp(data: bytes) -> object:
    from desktop.core.feeds import misp
    try:
        doc = json.loads(data)
    except ValueError:
        return None  # not JSON: the feed target covers the error
    events = misp.events_of(doc)
    return misp.parse(events, "fuzz.json") if events else misp.what_else(doc)


def _errors() -> dict[str, tuple[type[BaseException], ...]]:
    from stix2patterns.exceptions import ParseException

    from desktop.core.feeds import FeedError
    from desktop.ingest.email import MailParseError
    from desktop.ingest.ole import CompoundFileError
    return {"mail": (MailParseError, CompoundFileError), "feed": (FeedError,), "pattern": (ParseException,)}


def targets() -> list[Target]:
    """Every target, with the errors its parser may raise."""
    e = _errors()
    return [
        Target("eml", _eml, e["mail"], ("phishing-dev/*.eml", "mail-parser/*.eml")),
        Target("msg", _msg, e["mail"], ("msg/*.msg",)),
        Target("mbox", _mbox, e["mail"], ("phishing-dev/*.eml",)),
        Target("received", _received, (), ("phishing-dev/*.eml", "mail-parser/*.eml")),
        Target("indicators", _indicators, (), ("phishing-dev/*.eml", "stix/*.json")),
        Target("feed", _feed, e["feed"], ("stix/*.json", "misp-events/*.json", "data/feeds/*.json")),
        Target("stix-pattern", _stix_pattern, (ValueError, *e["feed"], *e["pattern"]), ("stix/*.json",)),
        Target("ip2asn", _ip2asn, e["feed"], ("data/feeds/ip2asn-*.tsv",)),
        Target("misp", _misp, e["feed"], ("misp-events/*.json", "data/feeds/circl-*.json")),
    ]


def mutations(seed: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    """Cheap structural mutations of ``seed`` (for runs without atheris): flips, cuts, repeats, splices."""
    specials = [b"\x00", b"\xff" * 8, b"=?utf-8?B?", b"\r\n\r\n", b"[", b"'", b"\\", b"{" * 50, b"9" * 40,
                b"Received: from [", b"--", b"\xef\xbb\xbf", b"%00", b"0x7FFFFFFF", b"\xfe\xff\xff\xff"]
    for _ in range(count):
        data = bytearray(seed or b"x")
        for _ in range(rng.randrange(1, 6)):
            op = rng.randrange(6)
            at = rng.randrange(len(data) + 1)
            if op == 0 and data:
                data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
            elif op == 1:
                del data[at:at + rng.randrange(1, 512)]
            elif op == 2:
                piece = bytes(data[at:at + rng.randrange(1, 64)])
                data[at:at] = piece * rng.randrange(2, 200)
            elif op == 3:
                data[at:at] = rng.choice(specials)
            elif op == 4:
                data = data[:at]
            else:
                other = rng.randrange(len(data) + 1)
                data[at:at] = data[other:other + rng.randrange(1, 256)]
        yield bytes(data[:2_000_000])


def call(target: Target, data: bytes) -> str | None:
    """Run the target on ``data``; None when it returned or raised a documented error, else the fault."""
    try:
        target.run(data)
    except target.errors:
        return None
    except RecursionError:
        return "RecursionError"
    except Exception as e:  # the point of fuzzing: anything else is a finding
        return f"{type(e).__name__}: {e}"[:300]
    return None
