# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate the demo's screen recording and the threatening email that carries it.

Run once by a maintainer (`.venv/bin/python packaging/gen_demo_evidence.py`); the outputs are
committed under ``resources/demo/`` so the demo never depends on this script at run time. All
names, addresses and domains are fictional demo data (private-use AS numbers, made-up domains).
"""

from __future__ import annotations

import base64
import textwrap
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[1] / "resources" / "demo"
FONT = Path(__file__).resolve().parents[1] / "resources" / "fonts" / "DejaVuSansMono.ttf"

# (time the line appears, text) — an operator's terminal, as the video in the story showed.
LINES = [
    (0.5, "operator@ws-07:~$ ssh root@185.141.63.120"),
    (1.5, "Welcome to Ubuntu 20.04.1 LTS (GNU/Linux 5.4.0-48-generic x86_64)"),
    (3.0, "root@vps-nl-120:~# cd /var/www/html/mailer"),
    (4.5, "root@vps-nl-120:/var/www/html/mailer# ls"),
    (5.0, "send.php  templates  voters_FL.xlsx  voters_AK.xlsx  smtp.conf"),
    (6.5, "root@vps-nl-120:/var/www/html/mailer# python3 sender.py --list voters_FL.xlsx"),
    (8.0, "loaded 4122 addresses; template threat_v2.html; relay mail.pb-notices-demo.com"),
    (9.5, "C:\\Users\\operator\\Desktop\\emails\\voters_AK.xlsx copied to server"),
    (11.0, "curl -s http://pb-notices-demo.com/send.php?batch=7 -o /tmp/out.log"),
]
DURATION, FPS, SIZE = 14.0, 10, (1280, 720)


def render_video(path: Path) -> None:
    """Draw the operator's screen, frame by frame, into an H.264 file."""
    font = ImageFont.truetype(str(FONT), 20)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        out.metadata["creation_time"] = "2020-10-19T22:41:07.000000Z"
        out.metadata["encoder"] = "OBS 26.0.2"
        stream = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for index in range(int(DURATION * FPS)):
            t = index / FPS
            image = Image.new("RGB", SIZE, (24, 26, 30))
            draw = ImageDraw.Draw(image)
            y = 16
            for when, text in LINES:
                if when <= t:
                    draw.text((16, y), text, font=font, fill=(200, 230, 200))
                    y += 30
            frame = av.VideoFrame.from_image(image)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def write_email(video: Path, path: Path) -> None:
    """Write the threatening email with the recording attached."""
    sent = datetime(2020, 10, 20, 14, 2, 11, tzinfo=UTC)
    body = textwrap.dedent("""\
        We are in possession of all your information. You are currently registered as a
        Democrat and we know this because we have gained access into the entire voting
        infrastructure. You will vote for Trump on Election Day or we will come after you.

        Watch the attached video to see what we can do. Change your party affiliation to
        Republican to let us know you received our message.

        Details: hxxp://pb-notices-demo[.]com/verify
        """)
    video_b64 = base64.encodebytes(video.read_bytes()).decode()
    message = (
        "Return-Path: <bounce-7@mail.pb-notices-demo.com>\n"
        "Received: from mx.mail-provider.example.org (mx.mail-provider.example.org [198.51.100.25])\n"
        "\tby inbound.county-voter.example.org with ESMTPS id 8Kq2vL; "
        f"{format_datetime(sent.replace(second=19))}\n"
        "Received: from mail.pb-notices-demo.com (vps-nl-120.demo-hosting.example [185.141.63.120])\n"
        "\tby mx.mail-provider.example.org with ESMTP id 4TvQ2k1X; "
        f"{format_datetime(sent.replace(second=14))}\n"
        "Authentication-Results: mx.mail-provider.example.org; spf=softfail "
        "smtp.mailfrom=mail.pb-notices-demo.com; dkim=none; dmarc=fail header.from=officialpb.example.com\n"
        'From: "Proud Boys" <info@officialpb.example.com>\n'
        "Reply-To: <pb.response.desk@protonmail.com>\n"
        "To: voter.4121@county-voter.example.org\n"
        "Subject: Vote for Trump or else!\n"
        f"Date: {format_datetime(sent)}\n"
        "Message-ID: <20201020140211.77@mail.pb-notices-demo.com>\n"
        "X-Mailer: PHPMailer 6.1.7 (https://github.com/PHPMailer/PHPMailer)\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="=_demo_boundary"\n\n'
        "--=_demo_boundary\nContent-Type: text/plain; charset=utf-8\n\n"
        f"{body}\n"
        "--=_demo_boundary\nContent-Type: video/mp4; name=\"video.mp4\"\n"
        "Content-Disposition: attachment; filename=\"video.mp4\"\n"
        "Content-Transfer-Encoding: base64\n\n"
        f"{video_b64}\n--=_demo_boundary--\n")
    path.write_bytes(message.encode())


def main() -> None:
    """Write both outputs under resources/demo/."""
    video = OUT / "screen-recording.mp4"
    render_video(video)
    write_email(video, OUT / "threat-email.eml")
    video.unlink()  # the demo carries the video only inside the email, as the campaign did
    print(f"wrote {OUT / 'threat-email.eml'}")


if __name__ == "__main__":
    main()
