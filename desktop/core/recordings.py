# SPDX-License-Identifier: GPL-3.0-or-later
"""The same recording in several items or cases: matching videos by the perceptual hashes of frames.

A re-encoded, rescaled, cropped or bordered copy of a screen recording keeps its pictures, and so
the perceptual hashes of its frames (``desktop.ingest.fingerprint``), in the same order and spacing.
Two videos are the same recording when, at one time offset, most half-second samples of the shorter
one have a close twin in the other ("same recording as item 4, 97 % of frames"). Requiring one
offset for all samples, and several *distinct* pictures among the matches, keeps apart videos whose
pictures differ. It is not enough for screens of sparse text: the hashes of two different terminal
sessions (dark screen, a few grey lines) are as close as those of a session and its re-encoded copy
(measured on the OCR benchmark's recordings: 15 different pairs of 33 matched). So when both videos
hold text read by OCR, the text must agree too: at least ``TEXT_SHARE`` of the words of the one with
fewer words are words of the other ("same recording as item 4, 97 % of frames, 80 % of the text").
When one of them holds too little text to compare, the pictures alone decide and the match says
so ("... (pictures only)"). Reads only.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Measured on generated terminal sessions: a rescaled, bordered or cropped 200-300 kbit/s copy stays
# within 41 bits (of 256) per hash and 73 together; another session that looks alike, beyond 76 together.
HASH_MAX = 48  # of 256 bits, each hash
BOTH_MAX = 80  # of 512 bits, together
SAME_SHARE = 0.8
MIN_SAMPLES = 6
MIN_DISTINCT = 3
# Words of the screen text (OCR lines) two copies of one recording share: values, names, commands.
TEXT_SHARE = 0.5
MIN_WORDS = 8
_WORD = re.compile(r"[A-Za-z0-9][\w.@:/\\-]{4,}")


@dataclass(frozen=True)
class SameRecording:
    """One copy of a video found elsewhere.

    Attributes:
        item_id: the video this is about.
        other_item_id: the copy.
        share: the fraction of the shorter video's samples matched (0..1).
        offset_s: where the shorter one starts in the longer one (seconds).
        text_share: the fraction of the words of the video with fewer words (its OCR lines) that
            the other one shows too, or None when one of them holds too little text to compare.
        case_title: the other case's title, or "" for this case.
        case_path: the other case's folder, or "" for this case.
        other_name: the copy's file name.
    """

    item_id: int
    other_item_id: int
    share: float
    offset_s: float
    case_title: str = ""
    case_path: str = ""
    other_name: str = ""
    text_share: float | None = None

    def describe(self) -> str:
        """``same recording as item 4, 97 % of frames, 80 % of the text`` (the case when another one)."""
        where = f" in case {self.case_title!r}" if self.case_title else ""
        text = (" (pictures only)" if self.text_share is None
                else f", {round(self.text_share * 100)} % of the text")
        return (f"same recording as item {self.other_item_id}{where}, {round(self.share * 100)} % of frames"
                f"{text}")

    def to_json(self) -> dict[str, Any]:
        """The ``recordings --json`` shape of one copy."""
        return {"item_id": self.other_item_id, "name": self.other_name, "share": round(self.share, 3),
                "offset_s": round(self.offset_s, 2),
                "text_share": None if self.text_share is None else round(self.text_share, 3),
                "case": self.case_title or None,
                "case_path": self.case_path or None, "text": self.describe()}


Samples = list[tuple[float, int, int]]


def _samples(detail: dict[str, Any]) -> Samples:
    fp = detail.get("fingerprint") or {}
    out: Samples = []
    for row in fp.get("samples") or []:
        try:
            out.append((float(row[0]), int(str(row[1]), 16), int(str(row[2]), 16)))
        except (ValueError, TypeError, IndexError):
            continue
    return out


def fingerprints(conn: sqlite3.Connection) -> dict[int, tuple[str, Samples]]:
    """``item id -> (name, samples)`` for every analysed video of a case."""
    out: dict[int, tuple[str, Samples]] = {}
    rows = conn.execute("SELECT m.item_id, i.name, m.detail FROM media m JOIN items i ON i.id = m.item_id "
                        "WHERE m.kind = 'video'").fetchall()
    for item_id, name, detail in rows:
        try:
            samples = _samples(json.loads(detail))
        except ValueError:
            continue
        if samples:
            out[int(item_id)] = (str(name), samples)
    return out


def screen_words(conn: sqlite3.Connection, item_ids: list[int]) -> dict[int, set[str]]:
    """``item id -> words`` of the text OCR read on each video (of the item whose analysis it shares)."""
    out: dict[int, set[str]] = {i: set() for i in item_ids}
    for item_id in item_ids:
        try:
            row = conn.execute("SELECT same_as FROM items WHERE id = ?", (item_id,)).fetchone()
        except sqlite3.Error:
            row = None
        owner = int(row[0]) if row and row[0] is not None else item_id
        try:
            rows = conn.execute("SELECT text FROM ocr_lines WHERE item_id = ?", (owner,)).fetchall()
        except sqlite3.Error:
            rows = []  # an older or foreign case without OCR lines: the pictures alone decide
        for (text,) in rows:
            out[item_id].update(w.casefold().rstrip(".:,;") for w in _WORD.findall(str(text)))
    return out


def text_share(a: set[str], b: set[str]) -> float | None:
    """How much of the smaller word set the other holds, or None when either is too small to tell."""
    if len(a) < MIN_WORDS or len(b) < MIN_WORDS:
        return None
    return len(a & b) / min(len(a), len(b))


def _same(pictures: float, text: float | None) -> bool:
    return pictures >= SAME_SHARE and (text is None or text >= TEXT_SHARE)


def match(a: Samples, b: Samples) -> tuple[float, float]:
    """``(share, offset)``: how much of the shorter sequence the other one holds at its best offset."""
    if len(a) > len(b):
        share, offset = match(b, a)
        return share, -offset
    if len(a) < MIN_SAMPLES or not b:
        return 0.0, 0.0
    close: list[tuple[int, float, int]] = []  # (index in a, offset, distance) of every close pair
    for i, (ta, pa, da) in enumerate(a):
        for tb, pb, db in b:
            dv, dh = (pa ^ pb).bit_count(), (da ^ db).bit_count()
            if dv <= HASH_MAX and dh <= HASH_MAX and dv + dh <= BOTH_MAX:
                close.append((i, round((tb - ta) * 2) / 2, dv + dh))
    if not close:
        return 0.0, 0.0
    votes = Counter(off for _, off, _ in close)
    best: tuple[float, float, float] = (0.0, 0.0, 0.0)  # (share, -mean distance, offset)
    for offset, _n in votes.most_common(8):
        nearest: dict[int, int] = {}
        for i, off, dist in close:
            if abs(off - offset) <= 1.0:
                nearest[i] = min(dist, nearest.get(i, dist))
        distinct = len({a[i][1] for i in nearest})
        if distinct < MIN_DISTINCT:
            continue
        # static stretches match at many offsets: the true one also matches closest
        score = (len(nearest) / len(a), -sum(nearest.values()) / len(nearest), offset)
        if score[:2] > best[:2]:
            best = score
    best_share, best_offset = best[0], best[2]
    return best_share, best_offset


def same_recordings(conn: sqlite3.Connection, *, others: list[tuple[str, str, Path]] | None = None,
                    ) -> dict[int, list[SameRecording]]:
    """Every video of a case with its copies in this case and in the other cases given.

    Args:
        conn: the case's connection.
        others: ``(case id, title, case folder)`` of other cases to look in (their databases are
            opened read-only; a case that cannot be opened is skipped).

    Returns:
        ``item id -> copies``, best match first; videos without a copy are left out.
    """
    mine = fingerprints(conn)
    words = screen_words(conn, sorted(mine))
    out: dict[int, list[SameRecording]] = {}
    ids = sorted(mine)
    for n, item_id in enumerate(ids):
        for other in ids[n + 1:]:
            share, offset = match(mine[item_id][1], mine[other][1])
            text = text_share(words[item_id], words[other]) if share >= SAME_SHARE else None
            if _same(share, text):
                out.setdefault(item_id, []).append(SameRecording(item_id, other, share, offset,
                                                                 other_name=mine[other][0], text_share=text))
                out.setdefault(other, []).append(SameRecording(other, item_id, share, -offset,
                                                               other_name=mine[item_id][0], text_share=text))
    for _case_id, title, folder in others or []:
        db = folder / "case.sqlite"
        try:
            theirs_conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            continue
        try:
            theirs = fingerprints(theirs_conn)
            their_words = screen_words(theirs_conn, sorted(theirs))
        except sqlite3.Error:
            theirs, their_words = {}, {}
        finally:
            theirs_conn.close()
        for item_id, (_name, samples) in mine.items():
            for other, (other_name, other_samples) in theirs.items():
                share, offset = match(samples, other_samples)
                text = (text_share(words[item_id], their_words.get(other, set()))
                        if share >= SAME_SHARE else None)
                if _same(share, text):
                    out.setdefault(item_id, []).append(SameRecording(item_id, other, share, offset, title,
                                                                     str(folder), other_name, text))
    for copies in out.values():
        copies.sort(key=lambda c: (-c.share, c.case_title, c.other_item_id))
    return out


def copies_of_case_videos(case: Any, *, library: Any = None) -> dict[int, list[SameRecording]]:
    """The copies of every video of a case, in this case and in every case the workstation knows.

    Args:
        case: an open :class:`desktop.core.case.Case`.
        library: an open :class:`desktop.core.intel.Library`; by default the existing one is read
            (none is created by merely looking).
    """
    from desktop.core.intel import Library

    own = library is None
    lib = Library.open_existing() if own else library
    others: list[tuple[str, str, Path]] = []
    try:
        if lib is not None:
            mine = str(case.meta.get("case_id") or "")
            here = case.path.resolve()
            for info in lib.cases():
                folder = Path(info.path)
                if info.case_id == mine or folder.resolve() == here:
                    continue
                others.append((info.case_id, info.title, folder))
    finally:
        if own and lib is not None:
            lib.close()
    return same_recordings(case.db.conn, others=others)
