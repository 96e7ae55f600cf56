# SPDX-License-Identifier: GPL-3.0-or-later
"""The extraction's shortcuts change no finding: remembered texts and dotted words, IPv6 shapes.

Every header value and body of the real mail corpora is extracted twice, once as the analysis
does it and once with every shortcut taken out (no remembered result, no remembered dotted
word, every IPv6 candidate handed to the parser); the findings (type, value, raw text, offsets)
must be the same, in the same order.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import pytest

from desktop.core import indicators
from desktop.core.indicators import Found, extract
from desktop.ingest.email import MailParseError, parse_eml

CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "corpora"
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"test corpora not found at {CORPORA}")


@functools.cache
def _texts() -> tuple[str, ...]:
    texts: list[str] = []
    paths = sorted((CORPORA / "phishing-dev").glob("*.eml")) + sorted((CORPORA / "mail-parser").glob("*"))
    for path in paths:
        try:
            info = parse_eml(path.read_bytes()).to_dict()
        except MailParseError:
            continue
        texts += [str(value) for _name, value in info["headers"]]
        texts += [str(info[k]) for k in ("text_body", "html_body") if info.get(k)]
    return tuple(texts)


def _reference(text: str, ocr: bool, monkeypatch: pytest.MonkeyPatch) -> list[Found]:
    with monkeypatch.context() as m:
        m.setattr(indicators, "_classify_dotted", indicators._classify_dotted.__wrapped__)
        m.setattr(indicators, "_ipv6_shape", lambda candidate: True)
        return indicators._extract(text, ocr)


@needs_corpora
@pytest.mark.parametrize("ocr", [False, True])
def test_corpus_findings_are_those_of_the_plain_extraction(ocr: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts() if not ocr else _texts()[::5]  # OCR's rules on a fifth: they differ only a little
    assert len(texts) > 2_000  # the corpora's headers and bodies, not an empty run
    indicators._extract_remembered.cache_clear()
    indicators._classify_dotted.cache_clear()
    monkeypatch.setattr(indicators, "_LONG_TEXTS", indicators._LongTexts(indicators._REMEMBERED_LONG_BYTES))
    # The reference is computed once a text (it is the slow path); both rounds are held to it.
    reference = [_reference(text, ocr, monkeypatch) for text in texts]
    found = 0
    for rounds in range(2):  # the second round answers from what the first remembered
        for text, expected in zip(texts, reference, strict=True):
            fast = extract(text, ocr=ocr)
            assert fast == expected, text[:200]
            found += len(fast)
        assert rounds == 0 or indicators._extract_remembered.cache_info().hits > 0
    assert found > 2_000
    assert len(indicators._LONG_TEXTS._found) > 100  # the bodies were answered from memory too


def test_a_remembered_result_is_a_fresh_list() -> None:
    text = "relay mail.example.com [192.0.2.7] at 12:30:05"
    first = extract(text)
    first.clear()
    assert [f.value for f in extract(text)] == ["mail.example.com", "192.0.2.7"]


def test_a_long_text_is_not_remembered() -> None:
    before = indicators._extract_remembered.cache_info().currsize
    text = "see evil-site.com " + "x" * (indicators._REMEMBERED_TEXT + 1)
    assert [f.value for f in extract(text)] == ["evil-site.com"]
    assert indicators._extract_remembered.cache_info().currsize == before


def test_long_texts_are_remembered_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bodies repeat in a wave of phishing: remembered, a fresh list each time, never past the budget."""
    memory = indicators._LongTexts(3 * (indicators._REMEMBERED_TEXT + 2_000))
    monkeypatch.setattr(indicators, "_LONG_TEXTS", memory)
    bodies = [f"visit evil{i}.com now " + "filler text. " * 250 for i in range(5)]
    calls: list[str] = []
    plain = indicators._extract
    monkeypatch.setattr(indicators, "_extract", lambda text, ocr: calls.append(text) or plain(text, ocr))
    first = extract(bodies[0])
    first.clear()
    assert [f.value for f in extract(bodies[0])] == ["evil0.com"]  # the list handed out was a copy
    assert calls == [bodies[0]]  # the second time from memory
    for body in bodies:
        assert extract(body) == plain(body, False)
    assert memory._held <= memory._budget
    assert bodies[0] not in {t for t, _o in memory._found}  # the oldest were forgotten
    assert (bodies[-1], False) in memory._found
    huge = "see evil-site.com " + "x" * (indicators._REMEMBERED_LONG_TEXT + 1)
    assert [f.value for f in extract(huge)] == ["evil-site.com"]
    assert (huge, False) not in memory._found  # longer than any body worth remembering


def _candidates() -> list[str]:
    """IPv6 candidates: written by hand, found in the corpora, and random ones of the same alphabet."""
    out = ["12:30:05", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
           "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:1.2.3.4", "::1", "fe80::1", "::ffff:1.2.3.4",
           "2001:db8:0:0:0:0:2:1", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "a:b:c:d:e:f:10.0.0.1",
           "0:0:0:0:0:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]
    if CORPORA.is_dir():
        for text in _texts()[:5000]:
            out += [m.group() for m in indicators._IPV6_RE.finditer(text)]
    rng = random.Random(13)
    for _ in range(20_000):
        groups = ["".join(rng.choices("0123456789abcdefABCDEF", k=rng.randint(0, 4)))
                  for _ in range(rng.randint(2, 10))]
        if rng.random() < 0.3:
            groups[-1] = ".".join(str(rng.randint(0, 300)) for _ in range(4))
        out.append(":".join(groups))
    return out


def _parses(candidate: str) -> bool:
    try:
        indicators._ipv6(candidate)
    except ValueError:
        return False
    return True


def test_the_ipv6_shape_refuses_only_what_the_parser_refuses() -> None:
    refused = accepted = 0
    for candidate in _candidates():
        shaped, parsed = indicators._ipv6_shape(candidate), _parses(candidate)
        assert shaped or not parsed, candidate
        refused += not shaped
        accepted += parsed
    assert refused > 1000
    assert accepted > 100
