# SPDX-License-Identifier: GPL-3.0-or-later
"""Precision and recall of indicator extraction on the labelled set in tests/data/indicators/.

Runs in the project venv (only Casetrail's own extractor is then measured; the libraries print
"not installed"). To compare with the libraries, run it with an interpreter that has them, e.g.

    python3.11 -m venv /tmp/iocvenv
    /tmp/iocvenv/bin/pip install iocsearcher iocextract ioc-finder requests
    /tmp/iocvenv/bin/python tests/bench/indicator_quality.py

The repository root is put on sys.path, so the scratch venv does not need Casetrail installed
(desktop.core.indicators uses the standard library only).

Scoring: per snippet, the set of (type, normalised value) found is compared with the labelled set;
true/false positives and false negatives are summed per type over all snippets. Library output is
passed through Casetrail's normalise() (refang, lower-case hosts, canonical IPs) so that form does
not count against them, and the same derivation Casetrail does (URL host -> domain/IP, e-mail
domain -> domain) is applied to them, so they are measured as we would use them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop.core import indicators as ind  # noqa: E402

CASES = ROOT / "tests" / "data" / "indicators" / "cases.json"
Pair = tuple[str, str]
Extractor = Callable[[str, bool], set[Pair]]
MEASURED_TYPES = [t for t in ind.TYPES if t != "selector"]


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """The labelled snippets."""
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def expected_pairs(case: dict[str, Any]) -> set[Pair]:
    """The labelled (type, value) pairs of one snippet."""
    return {(e["type"], e["value"]) for e in case["expected"]}


def score(
    cases: Iterable[dict[str, Any]], extractor: Extractor, *, sources: Iterable[str] | None = None
) -> dict[str, dict[str, int]]:
    """TP/FP/FN per type (and 'ALL') of an extractor over the cases."""
    wanted = set(sources) if sources is not None else None
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    for case in cases:
        if wanted is not None and case["source"] not in wanted:
            continue
        exp = expected_pairs(case)
        got = extractor(case["text"], bool(case["ocr"]))
        for t, v in got | exp:
            key = "tp" if (t, v) in got and (t, v) in exp else "fp" if (t, v) in got else "fn"
            counts[t][key] += 1
            counts["ALL"][key] += 1
    return dict(counts)


def pr(c: dict[str, int]) -> tuple[float | None, float | None]:
    """Precision and recall, None where undefined."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
    return p, r


# ---------------------------------------------------------------------------------------------
# Extractors
# ---------------------------------------------------------------------------------------------


def casetrail(text: str, ocr: bool) -> set[Pair]:
    """Casetrail's extractor, OCR mode as labelled on the snippet."""
    return {(f.type, f.value) for f in ind.extract(text, ocr=ocr)}


def casetrail_no_ocr(text: str, ocr: bool) -> set[Pair]:
    """Casetrail's extractor with OCR recovery always off (to measure what it gains)."""
    del ocr
    return {(f.type, f.value) for f in ind.extract(text, ocr=False)}


def _norm(pairs: Iterable[Pair]) -> set[Pair]:
    """Normalise library output with our rules and add the derived host/domain pairs."""
    out: set[Pair] = set()
    for t, v in pairs:
        try:
            value = ind.normalise(t, v)
        except (ValueError, UnicodeError):
            value = v.strip()
        out.add((t, value))
        host = ""
        if t == "url" and "://" in value:
            host = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
            host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host.strip("[]")
        elif t == "email":
            host = value.rpartition("@")[2]
        if host:
            kind = ind.classify(host)
            if kind in ("domain", "ipv4", "ipv6"):
                out.add((kind, ind.normalise(kind, host)))
    return out


def make_iocsearcher() -> Extractor | None:
    """iocsearcher's Searcher with its default patterns."""
    try:
        from iocsearcher.searcher import Searcher  # type: ignore[import-not-found]
    except ImportError:
        return None
    searcher = Searcher()
    mapping = {
        "url": "url",
        "fqdn": "domain",
        "ip4": "ipv4",
        "ip6": "ipv6",
        "ip4Net": "cidr",
        "email": "email",
        "md5": "md5",
        "sha1": "sha1",
        "sha256": "sha256",
    }

    def run(text: str, ocr: bool) -> set[Pair]:
        found = searcher.search_data(text)
        return _norm((mapping[i.name], str(i.value)) for i in found if i.name in mapping)

    return run


def make_iocextract() -> Extractor | None:
    """iocextract with refang=True (it has no domain, path or file-name extraction)."""
    try:
        import iocextract  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run(text: str, ocr: bool) -> set[Pair]:
        pairs: list[Pair] = []
        pairs += [("url", u) for u in iocextract.extract_urls(text, refang=True)]
        pairs += [("ipv4", u) for u in iocextract.extract_ipv4s(text, refang=True)]
        pairs += [("ipv6", u) for u in iocextract.extract_ipv6s(text)]
        pairs += [("email", u) for u in iocextract.extract_emails(text, refang=True)]
        pairs += [("md5", u) for u in iocextract.extract_md5_hashes(text)]
        pairs += [("sha1", u) for u in iocextract.extract_sha1_hashes(text)]
        pairs += [("sha256", u) for u in iocextract.extract_sha256_hashes(text)]
        return _norm(pairs)

    return run


def make_ioc_finder() -> Extractor | None:
    """ioc-finder, options set to our conventions (no IOCs from URL paths, Unicode domains on)."""
    try:
        from ioc_finder import find_iocs  # type: ignore[import-not-found]
    except ImportError:
        return None
    mapping = {
        "urls": "url",
        "domains": "domain",
        "ipv4s": "ipv4",
        "ipv6s": "ipv6",
        "ipv4_cidrs": "cidr",
        "email_addresses": "email",
        "md5s": "md5",
        "sha1s": "sha1",
        "sha256s": "sha256",
        "asns": "asn",
        "file_paths": "file_path",
    }

    def run(text: str, ocr: bool) -> set[Pair]:
        result = find_iocs(
            text,
            parse_from_url_path=False,
            parse_address_from_cidr=False,
            parse_unicode_iocs=True,
            included_ioc_types=list(mapping),
        )
        pairs = [(mapping[k], str(v)) for k, vs in result.items() if k in mapping for v in vs]
        return _norm(pairs)

    return run


def extractors() -> dict[str, Extractor | None]:
    """All extractors by name; None for a library that is not importable."""
    return {
        "casetrail": casetrail,
        "casetrail (ocr off)": casetrail_no_ocr,
        "iocsearcher": make_iocsearcher(),
        "iocextract": make_iocextract(),
        "ioc-finder": make_ioc_finder(),
    }


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def table(results: dict[str, dict[str, dict[str, int]]]) -> str:
    """A Markdown table: rows are types, columns P/R per extractor."""
    names = list(results)
    head = "| type | n | " + " | ".join(f"{n} P / R" for n in names) + " |"
    sep = "|---|---:|" + "---|" * len(names)
    lines = [head, sep]
    for t in [*MEASURED_TYPES, "ALL"]:
        support = 0
        cells = []
        for n in names:
            c = results[n].get(t, {"tp": 0, "fp": 0, "fn": 0})
            support = max(support, c["tp"] + c["fn"])
            p, r = pr(c)
            cells.append(f"{_fmt(p)} / {_fmt(r)}")
        lines.append(f"| {t} | {support} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the per-type table overall and per source, plus timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw counts as JSON")
    args = parser.parse_args(argv)
    cases = load_cases()
    available: dict[str, Extractor] = {}
    for name, ex in extractors().items():
        if ex is None:
            print(f"{name}: not installed")
        else:
            available[name] = ex
    results: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
    timings: dict[str, float] = {}
    for source in (None, "phishing", "defanged", "ocr"):
        label = source or "all"
        results[label] = {}
        for name, ex in available.items():
            t0 = time.perf_counter()
            results[label][name] = score(cases, ex, sources=None if source is None else [source])
            if source is None:
                timings[name] = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"results": results, "timings_s": timings}, indent=1))
        return 0
    print(f"{len(cases)} labelled snippets, {sum(len(c['expected']) for c in cases)} labelled indicators")
    for label, res in results.items():
        print(f"\n## {label} snippets (precision / recall)\n")
        print(table(res))
    print("\n## time for the whole set")
    for name, secs in timings.items():
        print(f"- {name}: {secs * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
