# SPDX-License-Identifier: GPL-3.0-or-later
"""A hostile corpus, made on the spot: every class of input an adversary or an accident sends.

Each file comes with the class it stands for, so a campaign can count them by class
(``docs/reliability.md``). Nothing here is downloaded; the Outlook classes start from a real
message of ``../shared/corpora/msg`` and are left out (and said so) when it is absent.

Run ``python tests/reliability/hostile.py DEST`` to write the corpus to a folder and list it.
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import struct
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

MSG = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "msg" / "strangeDate.msg"


@dataclass(frozen=True)
class Hostile:
    """One file of the corpus: where it is, what it stands for."""

    path: Path
    cls: str
    what: str


def _mail(headers: list[str], body: str = "hello 198.51.100.23\n", *,
          attachments: Sequence[tuple[str, bytes]] = ()) -> bytes:
    head = "\n".join(headers)
    if not attachments:
        return f"{head}\n\n{body}".encode()
    parts = [f"{head}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n--b0\n"
             f"Content-Type: text/plain\n\n{body}\n"]
    for name, data in attachments:
        parts.append(f"--b0\nContent-Type: application/octet-stream; name=\"{name}\"\n"
                     f"Content-Disposition: attachment; filename=\"{name}\"\n"
                     f"Content-Transfer-Encoding: base64\n\n{base64.encodebytes(data).decode()}\n")
    parts.append("--b0--\n")
    return "".join(parts).encode()


_BASE = ["From: sender@hostile.example", "To: analyst@example.org", "Date: Mon, 19 Oct 2020 10:00:00 +0000"]


def _zip_bomb(member_mib: int) -> bytes:
    """A small zip whose one member inflates to ``member_mib`` MiB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z, \
            z.open("zeros.bin", "w", force_zip64=True) as member:
        chunk = bytes(1 << 20)
        for _ in range(member_mib):
            member.write(chunk)
    return buf.getvalue()


def _nested_zip(depth: int) -> bytes:
    data = b"innermost 203.0.113.250\n"
    for k in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(f"level{k}.zip" if k else "inner.txt", data)
        data = buf.getvalue()
    return data


def _traversal_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in ("../../../../tmp/casetrail-escaped", "/etc/casetrail-escaped", "a/../../b",
                     "C:\\x\\..\\y"):
            z.writestr(name, b"escape")
    return buf.getvalue()


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` over a tiny, valid stream of zero rows."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
    rows = zlib.compress(bytes(1 + width // 8) * min(height, 64), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def _tiff_bomb() -> bytes:
    im = Image.new("1", (64, 64))
    buf = io.BytesIO()
    im.save(buf, format="TIFF")
    data = bytearray(buf.getvalue())
    # Rewrite ImageWidth (256) and ImageLength (257) in the first IFD to 100,000.
    ifd = struct.unpack_from("<I", data, 4)[0]
    for k in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * k
        tag, _typ = struct.unpack_from("<HH", data, at)
        if tag in (256, 257):
            struct.pack_into("<HHII", data, at, tag, 4, 1, 100_000)
    return bytes(data)


def _webp_bomb() -> bytes:
    im = Image.new("RGB", (16, 16))
    buf = io.BytesIO()
    im.save(buf, format="WEBP", lossless=True)
    data = bytearray(buf.getvalue())
    # VP8L: 14-bit width-1 and height-1 after the signature byte at 20 (RIFF header + chunk header).
    bits = (16383) | (16383 << 14) | (int.from_bytes(data[22:25] + b"\0", "little") & ~((1 << 28) - 1))
    struct.pack_into("<I", data, 21, bits & 0xFFFFFFFF)
    return bytes(data)


def _msg_variants() -> list[tuple[str, str, bytes]]:
    if not MSG.is_file():
        return []
    real = MSG.read_bytes()

    def patched(offset: int, value: int) -> bytes:
        data = bytearray(real)
        struct.pack_into("<I", data, offset, value)
        return bytes(data)

    shift = struct.unpack_from("<H", real, 0x1E)[0]
    dir_at = 512 + struct.unpack_from("<I", real, 0x30)[0] * (1 << shift)
    fat0 = struct.unpack_from("<I", real, 0x4C)[0]
    looping = bytearray(real)
    for k in range(128):
        struct.pack_into("<I", looping, 512 + fat0 * 512 + 4 * k, k)
    return [
        ("fat-count.msg", "a FAT count of 16,777,215 sectors", patched(0x2C, 0x00FFFFFF)),
        ("minifat-count.msg", "a mini FAT count of 2^31", patched(0x40, 0x7FFFFFFF)),
        ("difat-count.msg", "an extended FAT count of 2^31", patched(0x48, 0x7FFFFFFF)),
        ("stream-4gb.msg", "a root stream claiming 4 GB", patched(dir_at + 0x78, 0xFFFFFFF0)),
        ("looping.msg", "every FAT sector pointing to itself", bytes(looping)),
        ("truncated.msg", "a real message cut in half", real[: len(real) // 2]),
    ]


def _names() -> list[tuple[bytes, str]]:
    """File names as bytes: not UTF-8, control characters, markup, a leading dash, 255 bytes."""
    return [
        (b"latin1-\xe9t\xe9.eml", "a Latin-1 name (not UTF-8)"),
        (b"ctrl-\x1b[31mred\x1b[0m-\x07.eml", "terminal escapes and a bell in the name"),
        (b"new\nline.eml", "a newline in the name"),
        (b"<b>markup<\\b>&amp;.eml", "markup in the name"),
        (b"-leading-dash.eml", "a name that looks like an option"),
        (b"invoice\xe2\x80\xaegpj.exe.eml", "a right-to-left override"),
        (b"x" * 251 + b".eml", "a name of 255 bytes"),
    ]


def generate(dest: Path, *, scale: int = 1, utf8_names: bool = False) -> list[Hostile]:
    """Write the corpus to ``dest`` (made if needed); ``scale`` multiplies the sizes of the big ones.

    ``utf8_names`` leaves out the names that are not UTF-8 (for code that cannot take them yet).

    At ``scale=1`` the corpus is a few MiB and imports in well under a minute; the campaigns of
    ``make crash`` and the benchmarks use larger scales for the size classes.
    """
    dest.mkdir(parents=True, exist_ok=True)
    made: list[Hostile] = []

    def put(name: str | bytes, data: bytes, cls: str, what: str) -> None:
        path = dest / (os.fsdecode(name) if isinstance(name, bytes) else name)
        path.write_bytes(data)
        made.append(Hostile(path, cls, what))

    # Sizes and lengths: the briefing and the window must bound what they print.
    put("long-url.eml", _mail([*_BASE, "Subject: a long URL"], "see http://hostile.example/"
                              + "a" * 3000 + " now\n"), "length", "a URL of 3,000 characters")
    put("long-subject.eml", _mail([*_BASE, "Subject: " + "word " * 2000]), "length",
        "a Subject of 10,000 characters")
    put("huge-subject.eml", _mail([*_BASE, "Subject: " + ("x" * 76 + " ") * (13_000 * scale)]), "length",
        f"a Subject of {scale} MB")
    put("received-only.eml", "".join(
        f"Received: from h{i}.hostile.example (h{i}.hostile.example [198.51.100.{i % 250}]) by "
        f"mx{i}.example.org; Mon, 19 Oct 2020 10:00:{i % 60:02d} +0000\n" for i in range(300)
    ).encode() + b"\n",
        "length", "a mail of 300 Received headers and nothing else")
    put("encoded-words.eml", _mail([*_BASE, "Subject: " + " ".join(["=?utf-8?B?w6k=?="] * 100_000)]),
        "length", "a Subject of 100,000 encoded words")
    put("big-plain.eml", _mail([*_BASE, "Subject: big"], ("plain text line 203.0.113.9 "
                                                          "https://big.example/x\n") * (120_000 * scale)),
        "size", f"a plain-text body of {6 * scale} MB")
    put("many-headers.eml", _mail([*_BASE, *(f"X-H{i}: {'v' * 50}" for i in range(20_000))]), "length",
        "20,000 header fields")
    deep = "".join(f"Content-Type: multipart/mixed; boundary=\"d{i}\"\n\n--d{i}\n" for i in range(500))
    put("deep-mime.eml", (("\n".join(_BASE) + "\nMIME-Version: 1.0\n") + deep + "\nend\n").encode(),
        "structure", "MIME nested 500 deep")
    put("empty.eml", b"", "size", "an empty file")
    put("nul-bytes.eml", b"From: a\x00b@x\n\x00\x00Subject: \x00\n\n\x00" * 1000, "structure",
        "NUL bytes in headers and body")
    put("bad-mbox.mbox",
        b"From nobody\n" + b"From \n\n" * 5000 + b"From x Mon Oct 19 00:00:00 2020\nnot a header\n",
        "structure", "an mbox of 5,000 empty messages and a broken one")

    # Archives and compression as attachments: stored, never expanded.
    put("zip-bomb.eml", _mail([*_BASE, "Subject: zip bomb"],
                              attachments=[("bomb.zip", _zip_bomb(64 * scale))]),
        "archive", f"a zip attachment inflating to {64 * scale} MiB")
    put("gzip-bomb.eml", _mail([*_BASE, "Subject: gzip bomb"],
                               attachments=[("bomb.gz", gzip.compress(bytes((64 * scale) << 20), 9))]),
        "archive", f"a gzip attachment inflating to {64 * scale} MiB")
    put("nested.eml", _mail([*_BASE, "Subject: nested"], attachments=[("nested.zip", _nested_zip(30))]),
        "archive", "zip files nested 30 deep")
    put("traversal.eml", _mail([*_BASE, "Subject: traversal"],
                               attachments=[("../../../../tmp/casetrail-escaped-attachment", b"escape"),
                                            ("/etc/passwd", b"root:x:0:0"), ("evil.zip", _traversal_zip())]),
        "names", "attachment names and zip members that climb out of the case")
    put("tnef.eml", _mail([*_BASE, "Subject: tnef"],
                          attachments=[("winmail.dat", b"\x78\x9f\x3e\x22" + bytes(4096))]),
        "structure", "a TNEF attachment (winmail.dat) of garbage")
    put("mail-in-mail.eml", _mail([*_BASE, "Subject: outer"], attachments=[
        ("inner.eml", _mail([*_BASE, "Subject: inner"],
                            attachments=[("inner2.eml", _mail([*_BASE, "Subject: x"]))]))]),
        "structure", "a message carrying a message carrying a message")

    # Images whose headers lie about their size.
    put("png-bomb.png", _png_bomb(100_000, 100_000), "image", "a PNG claiming 100,000 x 100,000")
    put("tiff-bomb.tif", _tiff_bomb(), "image", "a TIFF claiming 100,000 x 100,000")
    put("webp-bomb.webp", _webp_bomb(), "image", "a WebP claiming 16,384 x 16,384")
    put("truncated.jpg", _jpeg()[:300], "image", "a JPEG cut short")
    put("not-a-video.mp4", b"\x00\x00\x00\x18ftypisom" + bytes(2000), "video", "an MP4 with no streams")

    # Outlook messages with a damaged compound file.
    for name, what, data in _msg_variants():
        put(name, data, "msg", what)

    # Names.
    for raw, what in _names():
        if utf8_names and not _is_utf8(raw):
            continue
        put(raw, _mail([*_BASE, "Subject: named"]), "names", what)
    return made


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 40)).save(buf, format="JPEG")
    return buf.getvalue()


def counts(corpus: list[Hostile]) -> Counter[str]:
    """How many files of each class."""
    return Counter(h.cls for h in corpus)


if __name__ == "__main__":
    out = generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("hostile-corpus"))
    for h in out:
        print(f"{h.cls:<10} {h.path.name!r:<60.60} {h.what}")
    print(dict(counts(out)))
