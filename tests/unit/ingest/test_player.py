# SPDX-License-Identifier: GPL-3.0-or-later
"""The playback child: frame-exact stepping by index and by time, and hostile videos refused."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest

from desktop.ingest.frames import RenderError
from desktop.ingest.player import Player

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screencast import Shown, render_screencast


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_screencast(tmp_path_factory.mktemp("player") / "rec.mp4",
                             [Shown(0.2, "ssh root@203.0.113.77"), Shown(1.2, "cat /etc/hosts")],
                             duration_s=2.0, fps=25, size=(320, 180), font_size=14)


def _pixels(frame_rgb: bytes) -> np.ndarray:
    return np.frombuffer(frame_rgb, np.uint8)


def test_frames_by_index_and_time_are_the_same_pictures_in_any_order(recording: Path) -> None:
    with Player(recording) as player:
        assert player.info.frames == 50
        assert player.info.fps == pytest.approx(25.0)
        assert (player.info.width, player.info.height) == (320, 180)
        forward = {i: player.frame(i) for i in range(50)}
        assert [f.index for f in forward.values()] == list(range(50))
        assert forward[30].time_s == pytest.approx(1.2)
        # Backwards after a seek, and by time: the same frames, pixel for pixel.
        for i in (49, 31, 30, 29, 5, 0):
            again = player.frame(i)
            assert again.index == i
            assert again.rgb == forward[i].rgb
        at = player.frame(time_s=1.2)
        assert at.index == 30
        assert at.rgb == forward[30].rgb
        assert player.frame(time_s=1.219).index == 30  # the frame a paused player shows
        assert player.frame(10_000).index == 49  # clamped to the video
        assert not np.array_equal(_pixels(forward[0].rgb), _pixels(forward[30].rgb))  # text appeared


def _many_streams(path: Path, streams: int) -> Path:
    with av.open(str(path), "w", format="matroska") as out:
        made = []
        for _ in range(streams):
            stream = out.add_stream("ffv1", rate=5)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
            made.append(stream)
        picture = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for stream in made:
            for packet in [*stream.encode(picture.reformat(format="yuv420p")), *stream.encode()]:
                out.mux(packet)
    return path


def test_a_video_of_many_streams_plays_its_first_video_stream(tmp_path: Path) -> None:
    """200 streams here (1,000 take 20 s on a loaded machine, most of it FFmpeg probing them all:
    the window shows "Decoding..." meanwhile and stays usable; measured by hand)."""
    with Player(_many_streams(tmp_path / "many.mkv", 200)) as player:
        assert player.info.frames == 1
        assert (player.frame(0).width, player.frame(0).height) == (16, 16)


def test_hostile_videos_are_refused_in_one_sentence(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-video.mp4"
    empty.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(2000))
    with pytest.raises(RenderError, match=r"not a readable video|no video stream"):
        Player(empty)
    # A header claiming 65,535 x 65,535 pixel frames: refused, not allocated.
    small = tmp_path / "small.mkv"
    with av.open(str(small), "w", format="matroska") as out:
        stream = out.add_stream("ffv1", rate=5)
        stream.width, stream.height, stream.pix_fmt = 320, 256, "yuv420p"
        picture = av.VideoFrame.from_ndarray(np.zeros((256, 320, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(picture.reformat(format="yuv420p")), *stream.encode()]:
            out.mux(packet)
    data = bytearray(small.read_bytes())
    for element in (b"\xb0\x82\x01\x40", b"\xba\x82\x01\x00"):  # Matroska PixelWidth 320, PixelHeight 256
        at = data.find(element)
        assert at > 0
        data[at + 2:at + 4] = b"\xff\xff"
    huge = tmp_path / "huge.mkv"
    huge.write_bytes(bytes(data))
    with pytest.raises(RenderError) as refused, Player(huge) as player:
        player.frame(0)
    assert "\n" not in str(refused.value)
    assert str(refused.value)
