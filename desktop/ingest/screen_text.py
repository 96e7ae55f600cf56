# SPDX-License-Identifier: GPL-3.0-or-later
"""Screen lines over time: the settled text of each line, agreed across frames, and its indicators.

A screen recording shows the same line of text in many frames, and a line being typed shows every
prefix of its final value. Reading each frame on its own turns key presses into false indicators
(``/etc/host`` before ``/etc/hosts``) and compression noise into misreads (``protonma11.com``). This
module owns the answer: it follows each line (a *track*: a terminal row, a field being typed into)
through the reads, shifting tracks when the screen scrolls; groups the reads of one value and votes
per character across them, weighted by recognition confidence; decides which values *settled*
(a value that later grows on the same line was a prefix being typed and is never an indicator,
unless it was run: something appeared below it while it was shown); and turns settled values into
indicator occurrences with the first time their complete value was visible, a confidence, how many
reads agree and the alternative readings.

Whether a reading is certain is decided here and only here: a value read once with a weak or
confusable character (l/1/I, O/0, rn/m, S/5), or read differently in other frames, is
``uncertain``; one that only an enhanced image produced is ``enhanced``. It never reads pixels and
never imports Qt: the video analyser feeds it readings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from desktop.core.confusables import confusable_positions, misread_pair, skeleton
from desktop.core.indicators import Found, extract
from desktop.ingest.plugin import Occurrence as Record

# Characters that OCR models confuse with a neighbour of another class; a reading that rests on
# one of them with less than CONFIRM_CONF needs a second, agreeing reading to be certain.
CONFIRM_CONF = 0.97
# Below this mean character score over an indicator's span a single reading is uncertain.
CERTAIN_CONF = 0.9
# A character that only one frame shows needs at least this score (a confusable one CONFIRM_CONF).
SINGLE_CHAR_CONF = 0.8
# A separator next to a value scored below this (the reader scores a space 0 when its pixels hold
# ink, or when there is no room for one): the value may go on past it.
BOUNDARY_CONF = 0.25
# A value that changes again within this many seconds without having been run was being edited.
EDIT_DWELL_S = 1.5
# An original reading this strong, agreeing with a strong enhanced one (the average of its static
# frames), is confirmed; a weaker one only legible after enhancement is labelled enhanced.
BACKED_CONF = 0.8
STATUSES = ("certain", "uncertain", "enhanced")
# A line last read as a prefix that shows up extended on another line this soon after was a line
# being typed whose track was lost (it moved with a redraw), not a settled value.
LOST_LINE_S = 4.0
# A line that was still growing this close to the end of the recording may not be complete.
TYPED_AT_END_S = 2.5
# A value whose complete extension (``/etc/h`` -> ``/etc/hosts``) became visible this soon after it
# was read, somewhere on the screen, was most likely being typed (its line was lost on the way).
GREW_WITHIN_S = 10.0
# A losing character of the vote with this share of it is a rival reading of that place.
RIVAL_SHARE = 0.25
# Characters that would continue a value past a separator another reading saw instead.
JOINERS = "_-.@/\\:"
# A space between one of these and a value may be a gap the reader put into one token.
GAP_JOINERS = ".@/\\_"
# A pane's wrapped rows end at most this many characters short of its edge.
WRAP_MARGIN_CHARS = 6
# Thin glyphs a pointer, a text cursor or a pane border leave next to a value (``|62.53.41.24``).
THIN_GLYPHS = frozenset("1lIi|!j")
# A confusable glyph whose context argues for its class-mate (a digit among letters: ``nul1``,
# ``payrol1.sh``; a letter among digits; ``l``/``I``/``1`` inside a word) is confirmed only by a
# reading that scored it this far above its best class-mate (score minus the class-mate's
# probability; without that probability, its worst case ``1 - score``: 0.94 is a score of 0.97).
# Readings of other frames agreeing are no evidence here: they read the same pixels, and the
# recogniser that hesitated in one frame hesitates the same way in the next (``nul1`` 3 of 3).
CONTESTED_MARGIN = 0.94
# Pairs of classes of one confusable class: a digit and a letter that look alike.
_DIGIT_MATES = frozenset("1052689")
_LETTER_MATES = frozenset("lIioOsSzZbBg")
# Thin glyphs that stay ambiguous between letters too (``lnvoice``, ``aIaska``).
_THIN_IN_WORDS = frozenset("lI1")
# Indicator types made of numbers: a digit lost or gained in one group (``109.13.241.174`` for
# ``109.113.241.174``: CTC merges a repeated digit) gives another valid value, so each character
# must be read by two readings of the line (a typed value's last key press excepted).
NUMERIC_TYPES = frozenset({"ipv4", "cidr", "ipv6", "asn"})
# Hashes are hexadecimal: only look-alikes that are both hex digits (``b``/``6``, ``B``/``8``) are in
# doubt there; ``l`` for ``1`` or ``O`` for ``0`` would not be a hash.
HEX_TYPES = frozenset({"md5", "sha1", "sha256"})
_HEX_MATES = frozenset("b6B8")


@dataclass(frozen=True)
class Reading:
    """One recognition of one screen line in one frame (or in an enhanced image of it).

    Attributes:
        t: time of the frame, seconds.
        frame_index: the frame's index.
        box: ``(x, y, w, h)`` of the line in that frame.
        text: what was read.
        confidence: mean character score.
        char_conf: score per character of ``text``.
        char_times: for each character, since when its pixels had been as read (seconds), or None.
        column: which column of the screen the line is in (0 for a single-column screen).
        enhanced: the recipe name if the reading comes from an enhanced image, else "".
        edge: whether the line's ink runs into the right edge of its column (a glyph cut there);
            None when the reader did not look (the line's box alone then decides).
        char_alt: per character, the probability the recogniser gave the best confusable
            alternative of it (``l`` for a ``1``); empty when not known.
        variant: "" for a reading of the frame's pixels as they are; else the name of a second
            recognition of the same pixels, resampled (a line holding an IP is read again
            stretched): it joins the value of the reading it checks and votes as a reading apart.
    """

    t: float
    frame_index: int
    box: tuple[int, int, int, int]
    text: str
    confidence: float
    char_conf: tuple[float, ...]
    char_times: tuple[float, ...] | None = None
    column: int = 0
    enhanced: str = ""
    edge: bool | None = None
    char_alt: tuple[float, ...] = ()
    variant: str = ""


@dataclass
class Value:
    """One value a track showed, with every reading of it."""

    readings: list[Reading] = field(default_factory=list)
    run: bool = False
    doubt: str = ""  # why none of its readings can be certain ("" when nothing speaks against it)
    earlier: list[Reading] = field(default_factory=list)  # readings of the prefixes it grew from

    @property
    def first_t(self) -> float:
        """When the value was first read."""
        return self.readings[0].t

    @property
    def text(self) -> str:
        """The consensus of its readings."""
        return consensus(self.readings)[0]


@dataclass
class Track:
    """A line of the screen followed through time: one terminal row, one text field."""

    id: int
    box: tuple[int, int, int, int]
    column: int
    values: list[Value] = field(default_factory=list)
    alive: bool = True
    ended_t: float | None = None


@dataclass(frozen=True)
class Occurrence:
    """An indicator read on screen, ready to be recorded.

    Attributes:
        found: the indicator in the consensus text (offsets into ``text``).
        text: the consensus text of the line.
        time_s: the first time its complete value was visible.
        frame_index: a frame in which it is visible (the first reading that shows it).
        box: the line's box in that frame.
        confidence: 0..1, from the character scores and how the readings voted.
        frames_agree: how many readings show exactly this value.
        reads: how many readings the line's value had.
        status: ``certain``, ``uncertain`` or ``enhanced``.
        alternatives: other values read at the same place (confusable variants and the like).
        enhanced: the recipe of the enhanced image it comes from, if ``status`` is ``enhanced``.
        frame_time_s: time of the frame whose reading it rests on.
        doubt: why it is uncertain, in words ("" when it is not).
        run: the line was run (something appeared below it while it was shown).
    """

    found: Found
    text: str
    time_s: float
    frame_index: int
    box: tuple[int, int, int, int]
    confidence: float
    frames_agree: int
    reads: int
    status: str
    alternatives: tuple[str, ...] = ()
    enhanced: str = ""
    frame_time_s: float | None = None
    doubt: str = ""
    run: bool = False  # the line it is on was run (output appeared below it): it was complete


def _norm(text: str) -> str:
    return " ".join(text.split())


def similar(a: str | Reading, b: str | Reading) -> bool:
    """Two readings of the same value: equal but for a few misread characters.

    A character counts as misread when the two differ only by confusables (``l``/``1``...) or one
    of the readings scored it weakly; two confident readings that differ (``...212.16`` then
    ``...212.61``) are two values, and so are a text and its extension (a key press).
    """
    ta, tb = _norm(a.text if isinstance(a, Reading) else a), _norm(b.text if isinstance(b, Reading) else b)
    if ta == tb:
        return True
    if ta.startswith(tb) or tb.startswith(ta):
        return False
    if skeleton(ta) == skeleton(tb):
        return True
    if len(ta) != len(tb):
        return abs(len(ta) - len(tb)) <= 1 and len(ta) >= 20 and _edit_distance(ta, tb, limit=1) <= 1
    ca = a.char_conf if isinstance(a, Reading) and len(a.text) == len(ta) else None
    cb = b.char_conf if isinstance(b, Reading) and len(b.text) == len(tb) else None
    diffs = [i for i, (x, y) in enumerate(zip(ta, tb, strict=True)) if x != y]
    if len(diffs) > max(1, len(ta) // 12):
        return False
    weak = [i for i in diffs if (ca is not None and ca[i] < CERTAIN_CONF)
            or (cb is not None and cb[i] < CERTAIN_CONF) or misread_pair(ta[i], tb[i])]
    return len(weak) == len(diffs) if (ca is not None or cb is not None) else len(diffs) <= 1


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, stopping once it exceeds ``limit`` (rows are short)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def extends(earlier: str, later: str) -> bool:
    """``later`` is ``earlier`` with more typed after it.

    The two are readings, so the common part may be read differently in each: a confusable
    (``S``/``$``), an underscore lost to a space, or, on a longer text, any one character in twelve
    (``S whois 194.207.219.16`` then ``$ whois 194.207.219.163``: a prefix, not a value).
    """
    a, b = _norm(earlier), _norm(later)
    if len(b) <= len(a):
        return False
    head = b[: len(a)]
    if head == a or skeleton(head) == skeleton(a):
        return True
    if all(misread_pair(x, y) for x, y in zip(head, a, strict=True)):
        return True
    if len(a) < 8:
        return False
    limit = max(1, len(a) // 12)
    return any(_edit_distance(a, b[:k], limit) <= limit for k in (len(a), len(a) - 1, len(a) + 1)
               if k < len(b))


def consensus(readings: list[Reading], partial: Iterable[Reading] = ()) -> tuple[str, list[float]]:
    """The agreed text of some readings and the support of each of its characters (0..1).

    Readings of the same length vote per character, each vote weighted by that character's score;
    otherwise the text whose readings carry the most total confidence wins, and its characters'
    support is their score times that text's share of the weight. ``partial`` readings (of the
    prefixes a typed line grew from) vote on the characters they show.
    """
    text, support, _frames, _rivals, _margins = _vote(readings, list(partial))
    return text, support


def _vote(readings: list[Reading], partial: list[Reading]
          ) -> tuple[str, list[float], list[set[tuple[int, str]]], list[str], list[float]]:
    """:func:`consensus`, plus per character the frames that voted for it, its rivals and margin.

    A rival is a character other readings put there with at least ``RIVAL_SHARE`` of the vote. The
    margin is the best evidence one plain reading gave for the winning character against its
    confusable class-mates (see :func:`_margin`).
    """
    if not readings:
        return "", [], [], [], []
    by_len: dict[int, list[Reading]] = defaultdict(list)
    for r in readings:
        by_len[len(r.text)].append(r)
    total = sum(r.confidence for r in readings)
    length, group = max(by_len.items(), key=lambda kv: sum(r.confidence for r in kv[1]))
    share = sum(r.confidence for r in group) / total if total else 0.0
    lead = max(group, key=lambda r: r.confidence).text
    voters = list(group)
    for r in partial:
        # a prefix of the line, read in an earlier frame: it votes on what it shows but its last
        # character (the one being typed, perhaps half drawn)
        n = len(r.text) - 1
        if r.enhanced or n < 4 or n >= length:
            continue
        # a character the two readings could both be (``l``/``1``, ``_``/`` ``) is no disagreement:
        # the vote is there to settle it
        diffs = sum(1 for x, y in zip(r.text[:n], lead[:n], strict=True) if not misread_pair(x, y))
        if diffs <= max(1, n // 12):
            voters.append(r)
    chars: list[str] = []
    support: list[float] = []
    frames: list[set[tuple[int, str]]] = []
    rivals: list[str] = []
    margins: list[float] = []
    for i in range(length):
        votes: dict[str, float] = defaultdict(float)
        best_conf: dict[str, float] = defaultdict(float)
        best_margin: dict[str, float] = defaultdict(lambda: -1.0)
        by: dict[str, set[tuple[int, str]]] = defaultdict(set)  # (frame, variant): the readings
        for r in voters:
            if i >= len(r.text) or (r not in group and i >= len(r.text) - 1):
                continue
            score = r.char_conf[i] if i < len(r.char_conf) else r.confidence
            votes[r.text[i]] += score
            best_conf[r.text[i]] = max(best_conf[r.text[i]], score)
            if not r.enhanced:
                by[r.text[i]].add((r.frame_index, r.variant))
                best_margin[r.text[i]] = max(best_margin[r.text[i]], _margin(r, i, score))
        char, weight = max(votes.items(), key=lambda kv: kv[1])
        chars.append(char)
        support.append(share * weight / sum(votes.values()) * best_conf[char])
        frames.append(by[char])
        margins.append(best_margin[char])
        total_votes = sum(votes.values())
        rivals.append("".join(c for c, w in votes.items() if c != char and w >= RIVAL_SHARE * total_votes))
    return "".join(chars), support, frames, rivals, margins


def _margin(reading: Reading, i: int, score: float) -> float:
    """How far the reading's character ``i`` beat its confusable class-mates.

    Its score minus the best class-mate's probability, or ``2 * score - 1`` (the worst case) when
    the recogniser's probabilities are not known.
    """
    if len(reading.char_alt) == len(reading.text):
        return score - reading.char_alt[i]
    return 2 * score - 1


def contested_positions(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Indexes in ``text[start:end]`` of confusable glyphs whose context argues for a class-mate.

    A digit that looks like a letter next to a letter (``nul1``, ``payrol1.sh``, ``f1-voter``,
    ``protonma11``), a letter that looks like a digit next to a digit (``192.l68``), and a thin
    ``l``/``I``/``1`` with at least two other letters in its word (``lnvoice``, ``aIaska``): the
    recogniser's choice between the two is the only thing that tells them apart.
    """
    stop = len(text) if end is None else end
    out = []
    for i in range(start, stop):
        ch = text[i]
        near = [text[j] for j in (i - 1, i + 1) if 0 <= j < len(text)]
        against = (ch in _DIGIT_MATES and any(c.isalpha() for c in near)) or (
            ch in _LETTER_MATES and any(c.isdigit() for c in near))
        if against:
            out.append(i)
        elif ch in _THIN_IN_WORDS:
            lo = hi = i
            while lo > 0 and text[lo - 1].isalnum():
                lo -= 1
            while hi + 1 < len(text) and text[hi + 1].isalnum():
                hi += 1
            if sum(1 for j in range(lo, hi + 1) if j != i and text[j].isalpha()) >= 2:
                out.append(i)
    return out


class ScreenText:
    """Follows the lines of one video through its reads; see the module docstring.

    Feed it with :meth:`scroll`, :meth:`add` and :meth:`lost` as the video is read, then call
    :meth:`occurrences` once at the end.
    """

    def __init__(self) -> None:
        self.tracks: list[Track] = []
        self._starts: list[tuple[float, int, int, int]] = []  # (t, track id, column, y) of new values
        self._unseen: set[int] = set()
        self.bounds: dict[int, tuple[int, int]] = {}  # column -> (x0, x1) in frame pixels
        self.end_t = float("inf")  # when the recording ends (set once it has been read)

    # -- feeding ---------------------------------------------------------------------------------

    def scroll(self, dy: int, t: float, columns: Iterable[int] | None = None) -> None:
        """The screen (or the given columns) moved up by ``dy`` pixels (down if negative)."""
        wanted = set(columns) if columns is not None else None
        for track in self.tracks:
            if not track.alive or (wanted is not None and track.column not in wanted):
                continue
            x, y, w, h = track.box
            track.box = (x, y - dy, w, h)
            if y - dy + h <= 0:
                self._end(track, t)

    def lost(self, region: tuple[int, int, int, int], t: float, column: int | None = None) -> None:
        """A region was read and showed no text where tracks were: those lines are gone."""
        for track in self._overlapping(region, column):
            self._end(track, t)

    def begin_whole(self) -> None:
        """The whole screen is about to be read afresh: lines not read again will have ended."""
        self._unseen = {track.id for track in self.tracks if track.alive}

    def end_whole(self, t: float) -> None:
        """The whole screen was read: every line that was not read again has ended."""
        for track in self.tracks:
            if track.id in self._unseen:
                self._end(track, t)
        self._unseen = set()

    def add(self, reading: Reading) -> Track:
        """Adds one reading to the track of its line (a new track for a new line)."""
        track = self._match(reading)
        if track is None:
            track = Track(len(self.tracks), reading.box, reading.column)
            self.tracks.append(track)
        track.alive, track.ended_t = True, None
        self._unseen.discard(track.id)
        if reading.variant and track.values:
            # a second recognition of the pixels just read: evidence on that value, never a new one
            track.values[-1].readings.append(reading)
            return track
        if not reading.enhanced:
            track.box = reading.box
        current = track.values[-1] if track.values else None
        before = track.values[-2] if len(track.values) >= 2 else None
        if current is not None and (similar(current.readings[-1], reading) or reading.enhanced):
            current.readings.append(reading)
        elif (before is not None and current is not None and len(current.readings) == 1
              and reading.t - current.first_t < EDIT_DWELL_S
              and similar(before.readings[-1], reading)):
            # a glitch (a pointer over the line, a frame caught mid-redraw) between two readings of
            # the same value: forget it
            track.values.pop()
            before.readings.append(reading)
        else:
            track.values.append(Value([reading]))
            self._starts.append((reading.t, track.id, reading.column, reading.box[1]))
        return track

    def _match(self, reading: Reading) -> Track | None:
        x, y, w, h = reading.box
        best: tuple[float, Track] | None = None
        for track in self.tracks:
            if not track.alive or track.column != reading.column:
                continue
            tx, ty, tw, th = track.box
            overlap = min(y + h, ty + th) - max(y, ty)
            if overlap < 0.5 * min(h, th):
                continue
            # a line grows to the right while typed; its left edge stays within a character
            if abs(tx - x) > max(h, 12) and not (x < tx + tw and tx < x + w):
                continue
            score = overlap / max(h, th) - abs(tx - x) / 1000
            if best is None or score > best[0]:
                best = (score, track)
        return best[1] if best else None

    def _overlapping(self, region: tuple[int, int, int, int], column: int | None) -> list[Track]:
        x, y, w, h = region
        out = []
        for track in self.tracks:
            if not track.alive or (column is not None and track.column != column):
                continue
            tx, ty, tw, th = track.box
            if min(y + h, ty + th) - max(y, ty) >= 0.5 * th and min(x + w, tx + tw) > max(x, tx):
                out.append(track)
        return out

    def _end(self, track: Track, t: float) -> None:
        track.alive = False
        track.ended_t = t

    # -- results ---------------------------------------------------------------------------------

    def settled(self) -> list[tuple[Track, Value]]:
        """The values that settled: not a prefix being typed, not an edit that was never run."""
        self._mark_run()
        out = []
        for track in self.tracks:
            for i, value in enumerate(track.values):
                nxt = track.values[i + 1] if i + 1 < len(track.values) else None
                if nxt is not None and not value.run:
                    if extends(value.text, nxt.text):
                        continue  # a prefix that later grew: keystrokes, not a value
                    if nxt.first_t - value.first_t < EDIT_DWELL_S and _edited(value.text, nxt.text):
                        continue  # edited again at once: a typo being corrected
                if nxt is None and not value.run and self._grew_elsewhere(track, value):
                    continue  # the line moved (a redraw, a scroll not followed) and went on growing
                value.doubt = ""
                value.earlier = []
                for before in reversed(track.values[:i]):
                    if before.run or not extends(before.text, value.text):
                        break
                    value.earlier = [r for r in before.readings if not r.enhanced] + value.earlier
                prev = track.values[i - 1] if i > 0 else None
                if nxt is None and track.ended_t is None and prev is not None and not value.run \
                        and value.first_t >= self.end_t - TYPED_AT_END_S and extends(prev.text, value.text):
                    # still being typed when the recording ended: the next key press may extend it
                    value.doubt = "typed until the recording ended"
                elif nxt is None and track.ended_t is not None and prev is not None and not value.run \
                        and len({r.frame_index for r in value.readings if not r.enhanced}) < 2 \
                        and extends(prev.text, value.text):
                    # the line was lost (moved, scrolled, covered) while it was being typed, and
                    # only one frame shows this state of it: the next key press may have extended it
                    value.doubt = "read in one frame only while its line was being typed"
                out.append((track, value))
        return out

    def _grew_elsewhere(self, track: Track, value: Value) -> bool:
        """The last value of a line reappears, extended, on another line of its column soon after."""
        last_t = value.readings[-1].t
        for other in self.tracks:
            if other is track or other.column != track.column:
                continue
            for later in other.values:
                if last_t - 0.05 <= later.first_t <= last_t + LOST_LINE_S and extends(value.text, later.text):
                    return True
        return False

    def _mark_run(self) -> None:
        """A value was run if a new line started below it, in its column, while it was shown."""
        for track in self.tracks:
            for i, value in enumerate(track.values):
                until = track.values[i + 1].first_t if i + 1 < len(track.values) else (
                    track.ended_t if track.ended_t is not None else float("inf"))
                y = track.box[1]
                value.run = any(
                    value.first_t < t0 < until and tid != track.id and col == track.column and y0 > y
                    for t0, tid, col, y0 in self._starts)

    def occurrences(self) -> list[Occurrence]:
        """Every indicator of every settled value, with its status; see :class:`Occurrence`.

        A line that reaches the right edge of its column and continues on the next row (a wrap)
        is also read joined to that row; an indicator across the wrap replaces the pieces of it
        that each row holds on its own (``records-vot`` / ``er.info``).
        """
        settled = self.settled()
        wrapped, cut, at_edge = self._wrapped(settled)
        out: list[Occurrence] = []
        for _track, value in settled:
            for occ in _value_occurrences(value):
                edge = cut.get(id(value))
                ends_line = occ.found.end >= len(occ.text) - 1
                if edge is not None and ((edge == "end" and ends_line)
                                         or (edge == "start" and occ.found.start <= 1)):
                    continue
                # only what ends the line can be extended by a key press that never came
                if occ.status != "uncertain" and ((value.doubt and ends_line) or not occ.found.raw.isascii()):
                    # typed until the end, or read with letters that screens of commands and
                    # addresses do not show
                    why = value.doubt if value.doubt and ends_line else "read with letters outside ASCII"
                    occ = replace(occ, status="uncertain", enhanced="", doubt=why)
                if occ.status != "uncertain" and ends_line and id(value) in at_edge:
                    # the line runs into the edge of its screen or pane and no row below continues
                    # it: the value may be cut there (``...\\Civic-Q3`` of ``...\\Civic-Q3.js``)
                    occ = replace(occ, status="uncertain", enhanced="",
                                  doubt="its line runs to the edge of the screen or pane: it may go on")
                out.append(replace(occ, run=value.run))
        return _grown_or_glued(out + wrapped)

    def _wrapped(self, settled: list[tuple[Track, Value]]
                 ) -> tuple[list[Occurrence], dict[int, str], set[int]]:
        by_column: dict[int, list[tuple[Track, Value]]] = defaultdict(list)
        for track, value in settled:
            by_column[track.column].append((track, value))
        out: list[Occurrence] = []
        cut: dict[int, str] = {}
        at_edge: set[int] = set()
        for column, items in by_column.items():
            widest = max(v.readings[0].box[0] + v.readings[0].box[2] for _, v in items)
            right = self.bounds.get(column, (0, widest))[1]
            left = min(v.readings[0].box[0] for _, v in items)
            edge = right
            typical_w, right = _wrap_margin(items, right)
            for track, value in items:
                x, y, w, h = value.readings[0].box
                text = value.text
                # a wide gap read as one space makes the line's own estimate too wide
                char_w = min(w / max(1, len(text)), typical_w or w / max(1, len(text)))
                # a wrapped row fills its column to the edge (less the terminal's margin)
                # rows wrapped at a pane's margin end where the others do, to half a character
                slack = 1.2 * char_w + 16 if right == edge else 0.5 * char_w
                if len(text) < 8 or right - (x + w) > slack:
                    continue
                inked = [r.edge for r in value.readings if not r.enhanced and r.edge is not None]
                if column in self.bounds and (not inked or any(inked)):
                    at_edge.add(id(value))  # it touches the edge of its pane: it may go on past it
                below = [(t2, v2) for t2, v2 in items if t2 is not track
                         and -0.3 * h <= v2.readings[0].box[1] - (y + h) <= 0.8 * h
                         and abs(v2.readings[0].box[0] - left) <= 1.5 * char_w
                         and abs(v2.first_t - value.first_t) <= 1.0]
                if not below:
                    continue
                _, nxt = min(below, key=lambda tv: tv[1].readings[0].box[1])
                a, sa = consensus([r for r in value.readings if not r.enhanced] or value.readings)
                b, sb = consensus([r for r in nxt.readings if not r.enhanced] or nxt.readings)
                first, second = value.readings[0], nxt.readings[0]
                bx, by = min(x, second.box[0]), y
                bw = max(x + w, second.box[0] + second.box[2]) - bx
                bh = second.box[1] + second.box[3] - by
                box = (bx, by, bw, bh)
                weakest = min(first.confidence, second.confidence)
                joined = [Reading(first.t, first.frame_index, box, a + b, weakest, tuple(sa + sb), None,
                                  track.column)]
                # the two rows read in the same frames: one joined reading per frame, so that a
                # value across the wrap keeps the evidence of every frame that read both rows
                # (a second opinion of both rows, stretched, pairs with its twin: a reading apart)
                frames = {(r.frame_index, r.variant): r for r in value.readings
                          if not r.enhanced and r.text == a}
                pairs = [(frames[(q.frame_index, q.variant)], q) for q in nxt.readings
                         if not q.enhanced and q.text == b and (q.frame_index, q.variant) in frames]
                if pairs:
                    joined = [Reading(r.t, r.frame_index, box, a + b, min(r.confidence, q.confidence),
                                      r.char_conf + q.char_conf, None, track.column,
                                      char_alt=r.char_alt + q.char_alt
                                      if len(r.char_alt) == len(a) and len(q.char_alt) == len(b) else (),
                                      variant=r.variant)
                              for r, q in pairs]
                across = [o for o in _value_occurrences(Value(joined))
                          if o.found.start < len(a) < o.found.end]
                if across:
                    out += [Occurrence(o.found, o.text, max(first.t, second.t), o.frame_index, o.box,
                                       o.confidence, o.frames_agree, o.reads, o.status, o.alternatives,
                                       frame_time_s=round(first.t, 3), doubt=o.doubt)
                            for o in across]
                    cut[id(value)], cut[id(nxt)] = "end", "start"
                    at_edge.discard(id(value))
        return out, cut, at_edge


def _wrap_margin(items: list[tuple[Track, Value]], right: int) -> tuple[float, int]:
    """The typical character width of a column's lines, and where its wrapped rows end.

    A terminal pane wraps at a character count, a little short of the pane's edge (its margin).
    Where two lines end within a character of each other near the edge, that is the margin:
    rows that end there were wrapped, not only rows that reach the edge itself.
    """
    rows = [(v.readings[0].box, len(v.text)) for _, v in items if len(v.text) >= 8]
    if not rows:
        return 0.0, right
    widths = sorted(box[2] / n for box, n in rows)
    typical = widths[len(widths) // 2]
    ends = sorted(box[0] + box[2] for box, _ in rows)
    for i in range(len(ends) - 1, 0, -1):
        if right - ends[i] > WRAP_MARGIN_CHARS * typical:
            break
        if ends[i] - ends[i - 1] <= typical:
            return typical, min(right, ends[i])
    return typical, right


def _grown_or_glued(occurrences: list[Occurrence]) -> list[Occurrence]:
    """Presented values the rest of the recording shows to be a stage of typing, or a glued glyph.

    Tracks are lost (a redraw, a scroll not followed, a pointer over a line), and then a prefix
    of a value being typed settles on a line of its own. Whatever else was read tells: a value
    ``V`` of which a longer value ``W`` of the same type became visible soon after, where ``W``
    goes on *inside* the token ``V`` ends (``/etc/h`` -> ``/etc/hosts``, ``194.207.219.16`` ->
    ``194.207.219.163``, ``orbit.con`` -> ``orbit.conf``; a URL by any path), is uncertain. A value
    that ends at a separator of the longer one (``/var/log`` and ``/var/log/nginx``) stays: both are
    commonly shown, and so does a value on a line that was run (a command executed, then recalled
    and extended). A value that is another value read on screen with one thin glyph before it
    (``162.53.41.24`` beside ``62.53.41.24``) is uncertain: the glyph is a pointer or a border as
    often as a character.
    """
    by_type: dict[str, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        by_type[occ.found.type].append(occ)
    out = []
    for occ in occurrences:
        if occ.status != "uncertain":
            why = ("" if occ.run else _grown_into(occ, by_type[occ.found.type])) or _glued_glyph(
                occ, by_type[occ.found.type])
            if why:
                occ = replace(occ, status="uncertain", enhanced="", doubt=why)
        out.append(occ)
    return out


def _fold(occ: Occurrence) -> str:
    return occ.found.value.casefold() if _is_windows(occ.found) else occ.found.value


def _grown_into(occ: Occurrence, same_type: list[Occurrence]) -> str:
    mine = _fold(occ)
    for other in same_type:
        theirs = _fold(other)
        if len(theirs) <= len(mine) or not theirs.startswith(mine):
            continue
        if not occ.time_s - 0.05 <= other.time_s <= occ.time_s + GREW_WITHIN_S:
            continue
        rest = theirs[len(mine):]
        inside = rest[0].isalnum() or rest[0] in "_-" or (rest[0] == "." and rest[1:2].isalnum())
        if inside or occ.found.type == "url":
            return f"{other.found.value} was visible {other.time_s - occ.time_s:.1f} s later (typed on)"
    # the line goes on after a space where another reading had an underscore (``id rsa``/``id_rsa``)
    after = occ.text[occ.found.end:occ.found.end + 1]
    if after == " ":
        joined = occ.found.raw + "_" + occ.text[occ.found.end + 1:]
        for other in same_type:
            if len(other.found.value) > len(occ.found.value) and joined.startswith(other.found.raw):
                return f"{other.found.value} was read too: the space after it may be an underscore"
    return ""


def _glued_glyph(occ: Occurrence, same_type: list[Occurrence]) -> str:
    value = occ.found.value
    if len(value) < 5 or value[0] not in THIN_GLYPHS:
        return ""
    for other in same_type:
        if other.found.value == value[1:]:
            return f"{other.found.value} was read too: {value[0]!r} may be a pointer or a border"
    return ""


def _edited(a: str, b: str) -> bool:
    """``b`` keeps at least half of ``a`` from the start: the end of the line was edited."""
    a, b = _norm(a), _norm(b)
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(1, len(a) // 2)


def _key(f: Found) -> tuple[str, str]:
    return f.type, f.value.casefold() if _is_windows(f) else f.value


def _value_occurrences(value: Value) -> list[Occurrence]:
    """The indicators of one settled value, each with its status (see the module docstring).

    Other readings of the same place that give a different value of the same type are its
    alternatives, and make it uncertain; an enhanced reading that shows *more* of a value than the
    original pixels did (``cdn.florida.org`` where the faint original read ``orida.org``) replaces
    the partial reading, with status ``enhanced``.

    A character is confirmed when plain readings of two frames agree on it (the readings of the
    prefixes the line grew from included), or when the one frame that shows it scored it high
    (``SINGLE_CHAR_CONF``, a confusable ``CONFIRM_CONF``). A value is certain when every character
    of it is confirmed, the characters one frame shows average ``CERTAIN_CONF``, no other reading
    of the place gives another value, and the separators around it are not in doubt.
    """
    readings = value.readings
    plain = [r for r in readings if not r.enhanced]
    earlier = [r for r in value.earlier if not r.enhanced]
    text, support, frames_at, rivals, margins = _vote(plain or readings, earlier if plain else [])
    found = extract(text, ocr=True)
    per_reading = [(r, extract(r.text, ocr=True)) for r in readings]
    first = plain[0] if plain else readings[0]
    enhanced_found = [(r, g) for r, got in per_reading if r.enhanced for g in got]
    # an enhanced value that contains a plain one at the same place supersedes it
    superseded: set[tuple[str, str]] = set()
    extra: list[tuple[Reading, Found]] = []
    for r, g in enhanced_found:
        inside = [f for f in found if f.type == g.type and f.value != g.value and f.value in g.value
                  and _same_place(f, text, g, r.text)]
        if inside:
            superseded |= {_key(f) for f in inside}
            if _key(g) not in {_key(e) for _, e in extra}:
                extra.append((r, g))
    out = []
    for f in found:
        key = _key(f)
        if key in superseded:
            continue
        agree = [r for r, got in per_reading if key in {_key(g) for g in got}]
        agree_plain = [r for r in agree if not r.enhanced]
        # a prefix reading agrees when it shows the whole value and something after it
        agree_earlier = [r for r in earlier if len(r.text) > f.end + 1
                         and key in {_key(g) for g in extract(r.text, ocr=True)}]
        alternatives = sorted({g.value for r, got in per_reading for g in got
                               if _key(g) != key and g.type == f.type and _same_place(f, text, g, r.text)
                               and not _outvoted_space(f, text, frames_at, g, r.text)}
                              - {f.value})
        span = support[f.start:f.end] or [0.0]
        confidence = sum(span) / len(span)
        doubt = _char_doubt(text, support, frames_at, f, margins, typed={len(r.text) - 1 for r in earlier})
        if not doubt:
            doubt = _boundary_doubt(text, support, rivals, f)
        # the original and an enhanced image (e.g. the average of the static frames) that read the
        # same value, each with strong characters
        backed = bool(agree_plain) and confidence >= BACKED_CONF and any(_strong(r, key) for r in agree
                                                                          if r.enhanced)
        if alternatives:
            doubt = f"another reading gave {', '.join(alternatives[:3])}"
        if (not doubt or (backed and not alternatives)) and (agree_plain or agree_earlier):
            status, doubt = "certain", ""
        elif any(r.enhanced for r in agree) and not alternatives:
            status = "enhanced"  # what makes it legible is the enhanced image, not the original pixels
            doubt = ""
        else:
            status = "uncertain"
            doubt = doubt or "read on an enhanced image only, not confirmed"
        enhanced_by = next((r for r in agree if r.enhanced), None)
        shown = min(agree_plain + agree_earlier, key=lambda r: r.t) if agree_plain or agree_earlier else (
            agree[0] if agree else first)
        time_s = _first_visible(shown, f, text) if shown.char_times else shown.t
        frames_agree = len({r.frame_index for r in agree_plain + agree_earlier}) or len(agree)
        out.append(Occurrence(f, text, round(time_s, 3), shown.frame_index, shown.box, round(confidence, 4),
                              max(1, frames_agree), len(readings) + len(earlier), status, tuple(alternatives),
                              enhanced_by.enhanced if status == "enhanced" and enhanced_by else "",
                              round(shown.t, 3), doubt))
    for r, g in extra:
        scores = r.char_conf[g.start:g.end] or (0.0,)
        confidence = sum(scores) / len(scores)
        others = sorted({e.value for rr, e in enhanced_found if e.type == g.type and _key(e) != _key(g)
                         and _same_place(g, r.text, e, rr.text) and g.value not in e.value})
        status = "enhanced" if confidence >= CERTAIN_CONF * 0.9 and not others else "uncertain"
        agreeing = sum(1 for _, got in per_reading if _key(g) in {_key(e) for e in got})
        t = plain[0].t if plain else r.t
        doubt = "" if status == "enhanced" else (
            f"another enhanced image gave {', '.join(others[:3])}" if others
            else f"read weakly on an enhanced image ({confidence:.2f})")
        out.append(Occurrence(g, r.text, round(t, 3), first.frame_index, first.box, round(confidence, 4),
                              agreeing, len(readings), status, tuple(others),
                              r.enhanced if status == "enhanced" else "", round(first.t, 3), doubt))
    return out


def _outvoted_space(f: Found, text: str, frames_at: list[set[tuple[int, str]]], g: Found, other: str) -> bool:
    """``g`` is ``f`` cut short where one reading saw a space and two frames an underscore.

    ``~/.ssh/id rsa`` against ``~/.ssh/id_rsa`` twice: that reading's doubt about the underscore
    was out-voted; it is not another value.
    """
    cut = f.start + len(g.value)
    return (f.value.startswith(g.value) and cut < f.end and text[cut] == "_"
            and len(frames_at[cut]) >= 2 and other[g.end:g.end + 1] == " ")


def _char_doubt(text: str, support: list[float], frames_at: list[set[tuple[int, str]]], f: Found,
                margins: list[float] | None = None, *, typed: frozenset[int] | set[int] = frozenset()) -> str:
    """Why the characters of a value are not confirmed (see ``_value_occurrences``), or "".

    A contested glyph (:func:`contested_positions`) needs one reading that chose it by
    ``CONTESTED_MARGIN`` over its class-mates, however many frames agree. A value of a numeric type
    needs two readings of every character, but a typed value's last key press and the characters
    that a reading of the line showed as it was typed (``typed``: the last index of each reading
    of a prefix the line grew from; the vote leaves that half-drawn character out).
    """
    confusable = set(confusable_positions(text, f.start, f.end))
    contested = set(contested_positions(text, f.start, f.end))
    if f.type in HEX_TYPES:
        contested = {i for i in contested if text[i] in _HEX_MATES}
    numeric = f.type in NUMERIC_TYPES
    single: list[float] = []
    for i in range(f.start, min(f.end, len(support))):
        if i in contested and margins is not None and i < len(margins) and margins[i] < CONTESTED_MARGIN:
            return (f"{text[i]!r} among {'letters' if text[i].isdigit() else 'its neighbours'} "
                    f"chosen over a look-alike by {max(0.0, margins[i]):.2f} only")
        if len(frames_at[i]) >= 2 and support[i] >= 0.5:
            continue  # two frames agree on it
        if numeric and not (typed and (i == f.end - 1 or i in typed)):
            return f"{text[i]!r} read in one frame only: a digit may be lost or doubled"
        need = CONFIRM_CONF if i in confusable else SINGLE_CHAR_CONF
        if support[i] < need:
            return f"{text[i]!r} read once, scored {support[i]:.2f}"
        single.append(support[i])
    if single and len(single) == f.end - f.start and sum(single) / len(single) < CERTAIN_CONF:
        return f"read once, scored {sum(single) / len(single):.2f}"
    return ""


def _boundary_doubt(text: str, support: list[float], rivals: list[str], f: Found) -> str:
    """The value may be longer than read: a separator next to it is in doubt.

    The recogniser scored the separator weakly (it scores a space near 0 when there is ink in it:
    ``id rsa`` for ``id_rsa``); other readings put a character there that, read instead, would
    change the value or undo it (``evil.com-x1`` is no domain);
    or the separator is a space that looks like a gap the reader put into one token (``www.
    registration.me``: a joiner on the far side of the space, against the value).
    """
    for j in (f.start - 1, f.end):
        if not (0 <= j < len(text) and j < len(support)) or text[j].isalnum():
            continue
        side = "before" if j < f.start else "after"
        if support[j] < BOUNDARY_CONF:
            return f"the {text[j]!r} {side} it may be another character ({support[j]:.2f})"
        # a rival that, read instead, would change or undo the value (``@``/``e`` before an IP does not)
        rival = next((c for c in (rivals[j] if j < len(rivals) else "") if (c.isalnum() or c in JOINERS)
                      and _key(f) not in {_key(g) for g in extract(text[:j] + c + text[j + 1:], ocr=True)}),
                     "")
        if rival:
            return f"another reading shows {rival!r} {side} it: it may go on"
        if text[j] == " ":
            k, beyond = (j - 1, j - 2) if side == "before" else (j + 1, j + 2)
            if 0 <= beyond < len(text) and text[k] in GAP_JOINERS and text[beyond].isalnum():
                return f"the space {side} it may be a gap in one token ({text[min(k, j):max(k, j) + 1]!r})"
    return ""


def _strong(reading: Reading, key: tuple[str, str]) -> bool:
    """The reading shows the value with every character scored high (confusables higher still)."""
    for found in extract(reading.text, ocr=True):
        if _key(found) != key:
            continue
        scores = reading.char_conf[found.start:found.end]
        if not scores or sum(scores) / len(scores) < CERTAIN_CONF:
            return False
        weak = confusable_positions(reading.text, found.start, found.end)
        return all(reading.char_conf[i] >= CONFIRM_CONF for i in weak if i < len(reading.char_conf))
    return False


def _same_place(a: Found, text_a: str, b: Found, text_b: str) -> bool:
    """Two findings of two readings of one line cover the same part of it (relative positions)."""
    la, lb = max(1, len(text_a)), max(1, len(text_b))
    a0, a1 = a.start / la, a.end / la
    b0, b1 = b.start / lb, b.end / lb
    return min(a1, b1) - max(a0, b0) > -0.02


def _is_windows(f: Found) -> bool:
    # Windows paths are case-insensitive: readings that differ only in case agree
    return f.type == "file_path" and (f.value[1:3] == ":\\" or f.value.startswith("\\\\"))


def _first_visible(reading: Reading, f: Found, text: str) -> float:
    """When the last pixel of the indicator's characters took the value it has in the reading."""
    times = reading.char_times or ()
    if len(times) != len(reading.text):
        return reading.t
    # the consensus text may differ from this reading by a character or two: same offsets
    lo, hi = f.start, min(f.end, len(times))
    if lo >= hi:
        return reading.t
    del text
    return min(reading.t, max(times[lo:hi]))


def occurrence_record(occ: Occurrence) -> Record:
    """One settled on-screen indicator as the occurrence the pipeline records.

    The ``where`` says what kind of reading it is, so that every view, export and briefing that
    prints it says so: ``enhanced image of the frame at …`` (never presented as the original
    pixels) or ``… (uncertain reading)``.
    """
    found = occ.found
    where = f"frame at {occ.time_s:.2f} s"
    record: Record = {
        "type": found.type, "where": "", "value": found.value, "raw": found.raw, "source": "ocr",
        "bbox": list(occ.box),
        "confidence": occ.confidence, "time_s": occ.time_s, "frame_index": occ.frame_index,
        "status": occ.status, "frames_agree": occ.frames_agree, "reads": occ.reads,
        "alternatives": list(occ.alternatives), "frame_time_s": occ.frame_time_s}
    if occ.doubt:
        record["doubt"] = occ.doubt
    if occ.status == "enhanced":
        where = f"enhanced image of the frame at {occ.time_s:.2f} s ({occ.enhanced})"
        record["recipe"] = occ.enhanced
        record["enhanced_key"] = [occ.frame_index, list(occ.box), occ.enhanced]
    if occ.status == "uncertain":
        where += f" (uncertain reading: {occ.doubt})" if occ.doubt else " (uncertain reading)"
    record["where"] = where
    return record
