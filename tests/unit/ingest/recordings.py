# SPDX-License-Identifier: GPL-3.0-or-later
"""Generated screen recordings with exact ground truth, for the OCR tests and the benchmark.

A recording is a screen made of panes (terminals, a browser page, tmux panes side by side) in which
lines are typed key by key or printed at once, scroll, wrap at the pane's width, and may be blurred
or faint; a mouse pointer may wander and a window may be dragged across. It is rendered with Pillow
and encoded with PyAV (H.264, H.265, VP9 or MPEG-4 at a given quality or bitrate).

The ground truth is computed from the exact text: every indicator of every line's *final* text
(``desktop.core.indicators.extract`` on the true string, derived values included) with the moment
its complete value first became visible, i.e. when the last character of its span was drawn. A
line's category says what makes it hard (``clean``, ``faint`` for blurred or low-contrast lines);
``readable`` is False for lines blurred or faded beyond what a person can read, whose indicators
are not expected (but are still not allowed to come out wrong).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from desktop.core.indicators import extract

FONTS = {
    "dejavu-mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "noto-mono": "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
    "nimbus-mono": "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Regular.otf",
    "dejavu-mono-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "dejavu-sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "nimbus-sans": "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
    "dejavu-serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
}
Colour = tuple[int, int, int]


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = Path(FONTS.get(name, FONTS["dejavu-mono"]))
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


@dataclass
class Line:
    """One logical line of a pane: typed from ``start`` at ``cps`` after ``prompt``, or shown at once.

    ``keys`` holds the time each character after the prompt appeared (typed lines only).
    """

    start: float
    text: str
    prompt: str = ""
    keys: list[float] = field(default_factory=list)
    blur: float = 0.0
    fg: Colour | None = None
    blur_kind: str = "gaussian"  # or "box" (box blur of radius ``blur``), "mosaic" (blocks of ``blur`` px)
    readable: bool = True
    category: str = "clean"

    def shown(self, t: float) -> str:
        if not self.keys:
            return self.text
        n = sum(1 for k in self.keys if k <= t + 1e-9)
        return self.prompt + self.text[len(self.prompt) : len(self.prompt) + n]

    def char_time(self, index: int) -> float:
        """When character ``index`` of the final text first appeared."""
        if not self.keys or index < len(self.prompt):
            return self.start
        return self.keys[min(index - len(self.prompt), len(self.keys) - 1)]

    @property
    def done(self) -> float:
        return self.keys[-1] if self.keys else self.start


@dataclass
class Pane:
    """A text area: a terminal, a tmux pane or a page body."""

    rect: tuple[int, int, int, int]  # x, y, w, h
    font_name: str
    font_size: int
    fg: Colour
    bg: Colour
    lines: list[Line] = field(default_factory=list)
    cursor: bool = True
    wrap: bool = True
    line_gap: int = 6
    margin: int = 10

    def metrics(self) -> tuple[int, int, int]:
        f = font(self.font_name, self.font_size)
        char_w = max(1, round(f.getlength("M")))
        line_h = self.font_size + self.line_gap
        cols = max(8, (self.rect[2] - 2 * self.margin) // char_w)
        rows = max(1, (self.rect[3] - 2 * self.margin) // line_h)
        return cols, rows, line_h

    def visible(self, t: float) -> bool:
        """Whether the pane is drawn at all at ``t``."""
        del t
        return True

    def rows_at(self, t: float) -> list[tuple[Line, str, int]]:
        """Visible rows ``(line, row text, offset of the row in the line's text)``, scrolled.

        A terminal (monospaced) wraps at its column count; a window in a proportional font wraps
        as a text view does: at the last space that fits its width, a word wider than the whole
        width broken at the edge.
        """
        cols, rows, _ = self.metrics()
        f = font(self.font_name, self.font_size)
        proportional = abs(f.getlength("i") - f.getlength("M")) > 0.5
        width = self.rect[2] - 2 * self.margin
        out: list[tuple[Line, str, int]] = []
        for line in self.lines:
            if line.start > t + 1e-9:
                continue
            text = line.shown(t)
            if self.wrap and proportional and f.getlength(text) > width:
                out += [(line, row, i) for row, i in _wrap_pixels(text, f, width)]
            elif self.wrap and not proportional and len(text) > cols:
                out += [(line, text[i : i + cols], i) for i in range(0, len(text), cols)]
            else:
                out.append((line, text, 0))
        return out[-rows:]


def _wrap_pixels(text: str, f: ImageFont.FreeTypeFont | ImageFont.ImageFont,
                 width: int) -> list[tuple[str, int]]:
    """Rows ``(text, offset)`` of a line wrapped at ``width`` pixels, at spaces where one fits."""
    out: list[tuple[str, int]] = []
    start = 0
    while start < len(text):
        end = start + 1
        while end < len(text) and f.getlength(text[start : end + 1]) <= width:
            end += 1
        if end < len(text):
            space = text.rfind(" ", start, end + 1)
            if space > start:
                end = space
        out.append((text[start:end], start))
        start = end + 1 if end < len(text) and text[end] == " " else end
    return out


@dataclass
class Recording:
    """A whole generated screen recording and how it is encoded."""

    name: str
    kind: str
    size: tuple[int, int]
    fps: int
    duration_s: float
    panes: list[Pane]
    background: Colour = (30, 30, 30)
    codec: str = "libx264"
    crf: int | None = 23
    bitrate: int | None = None
    pointer: bool = False
    drag: Pane | None = None  # a small window dragged across the screen from drag_t
    drag_t: float = 0.0
    bars: list[tuple[tuple[int, int, int, int], Colour]] = field(default_factory=list)
    dividers: list[tuple[int, int, int, Colour]] = field(default_factory=list)  # x, y0, y1, colour
    category: str = "clean"  # of the whole recording: clean, lowbitrate, faint
    held_out: bool = False


@dataclass(frozen=True)
class Truth:
    """One indicator the recording shows, and when its complete value was first visible.

    ``required`` is False for a value completed in the last half second: it is on screen (reading
    it is right) but a reader that waits for a line to settle cannot be asked to have read it.
    """

    type: str
    value: str
    time_s: float
    category: str
    readable: bool
    line: str
    required: bool = True


def truth(rec: Recording) -> list[Truth]:
    """Every indicator shown, from the exact final texts (first visibility per (type, value))."""
    best: dict[tuple[str, str], Truth] = {}
    panes = [*rec.panes, *([rec.drag] if rec.drag else [])]
    last_frame = (round(rec.duration_s * rec.fps) - 1) / rec.fps
    for pane in panes:
        for line in pane.lines:
            if line.start > last_frame + 1e-9:
                continue
            for found in extract(line.text):
                at = line.char_time(found.end - 1)
                if pane is rec.drag:
                    at = max(at, rec.drag_t + 3.0)  # legible once the window stops moving
                if at > last_frame + 1e-9:
                    continue  # never complete on screen
                category = line.category if line.category != "clean" else rec.category
                item = Truth(found.type, found.value, round(at, 3), category, line.readable, line.text,
                             at <= rec.duration_s - 0.5)
                key = (found.type, found.value)
                old = best.get(key)
                if old is None or (item.readable, -item.time_s) > (old.readable, -old.time_s):
                    best[key] = item
    return sorted(best.values(), key=lambda x: (x.time_s, x.type, x.value))


# ------------------------------------------------------------------------------------ rendering


def _draw_pointer(draw: ImageDraw.ImageDraw, x: int, y: int, scale: float) -> None:
    pts = [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)]
    shape = [(x + px * scale, y + py * scale) for px, py in pts]
    draw.polygon(shape, fill=(255, 255, 255), outline=(0, 0, 0))


def _draw_pane(
    image: Image.Image,
    pane: Pane,
    t: float,
    cache: dict[tuple[object, ...], Image.Image],
    cursor_on: bool,
    offset: tuple[int, int] = (0, 0),
) -> None:
    if not pane.visible(t):
        return
    x0, y0, w, h = pane.rect
    x0, y0 = x0 + offset[0], y0 + offset[1]
    draw = ImageDraw.Draw(image)
    draw.rectangle((x0, y0, x0 + w - 1, y0 + h - 1), fill=pane.bg)
    f = font(pane.font_name, pane.font_size)
    _, _, line_h = pane.metrics()
    y = y0 + pane.margin
    rows = pane.rows_at(t)
    for line, text, _offset in rows:
        fg = line.fg or pane.fg
        if line.blur > 0:
            key = (pane.font_name, pane.font_size, text, fg, pane.bg, line.blur, line.blur_kind)
            strip = cache.get(key)
            if strip is None:
                strip = Image.new("RGB", (w - pane.margin, line_h), pane.bg)
                ImageDraw.Draw(strip).text((0, 1), text, font=f, fill=fg)
                if line.blur_kind == "mosaic":
                    block = max(1, round(line.blur))
                    small = strip.resize((max(1, strip.width // block), max(1, strip.height // block)),
                                         Image.Resampling.BOX)
                    strip = small.resize(strip.size, Image.Resampling.NEAREST)
                elif line.blur_kind == "box":
                    strip = strip.filter(ImageFilter.BoxBlur(line.blur))
                else:
                    strip = strip.filter(ImageFilter.GaussianBlur(line.blur))
                cache[key] = strip
            image.paste(strip, (x0 + pane.margin, y - 1))
        else:
            draw.text((x0 + pane.margin, y), text, font=f, fill=fg)
        y += line_h
    if pane.cursor and cursor_on and rows:
        line, text, _ = rows[-1]
        if (line.keys and line.shown(t) != line.text) or (line.keys and t - line.done < 0.6):
            cx = x0 + pane.margin + round(f.getlength(text))
            cy = y - line_h
            draw.rectangle((cx + 1, cy + 1, cx + pane.font_size // 2, cy + pane.font_size + 2), fill=pane.fg)


def encoder_options(rec: Recording) -> dict[str, str]:
    """The encoder's options: the recording's codec and quality, rendered the same bytes every time.

    Every encoder runs on one thread (a thread pool's split of the work, and so the bytes, depends
    on the machine's cores and timing; x264's rate control with VBV differed run to run). VP8's
    real-time mode picks its speed from how long the previous frames took to encode unless the
    speed is given as a negative ``cpu-used`` (libvpx: fixed speed), so it is: still real-time
    coding (no look-ahead, the same kind of artefacts), but at a speed that does not depend on the
    machine's load. ``render`` also asks the muxer for bit-exact output (no random Matroska UIDs).
    """
    options: dict[str, str] = {"threads": "1"}
    if rec.codec in ("libx264", "libx265"):
        options["preset"] = "veryfast"
        if rec.codec == "libx265":
            options["x265-params"] = "log-level=error:pools=1:frame-threads=1"
    if rec.codec == "libvpx" and rec.bitrate:
        options.update({"deadline": "realtime", "cpu-used": f"-{VP8_SPEED}"})
    elif rec.codec == "libvpx-vp9" and rec.bitrate:
        options.update({"deadline": "realtime", "cpu-used": "8", "row-mt": "0"})
    if rec.bitrate:
        if rec.codec == "libx264":
            options["maxrate"] = str(rec.bitrate)
            options["bufsize"] = str(rec.bitrate * 2)
    elif rec.crf is not None:
        if rec.codec in ("libx264", "libx265"):
            options["crf"] = str(rec.crf)
        elif rec.codec == "libvpx-vp9":
            options.update({"crf": str(rec.crf), "b": "0", "deadline": "realtime", "cpu-used": "8",
                            "row-mt": "0"})
        elif rec.codec == "libsvtav1":
            options.update({"crf": str(rec.crf), "preset": "10", "svtav1-params": "lp=1"})
    return options


VP8_SPEED = 12  # libvpx VP8 real-time speed 0..16 (fixed; see encoder_options)


def render(rec: Recording, path: Path) -> Path:
    """Encodes the recording to ``path`` and returns it; the same recording gives the same bytes."""
    width, height = rec.size
    rng = random.Random(rec.name)
    cache: dict[tuple[object, ...], Image.Image] = {}
    with av.open(str(path), "w") as out:
        out.flags |= av.container.Flags.bitexact.value
        stream = out.add_stream(rec.codec, rate=rec.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        stream.codec_context.flags |= av.codec.context.Flags.bitexact.value
        if rec.bitrate:
            stream.bit_rate = rec.bitrate
        elif rec.crf is not None and rec.codec not in ("libx264", "libx265", "libvpx-vp9", "libsvtav1"):
            stream.bit_rate = 4_000_000
        stream.options = encoder_options(rec)
        last_key: tuple[object, ...] | None = None
        frame_rgb: np.ndarray | None = None
        path_pts = [(rng.randrange(width), rng.randrange(height)) for _ in range(8)]
        for index in range(round(rec.duration_s * rec.fps)):
            t = index / rec.fps
            cursor_on = int(t * 2) % 2 == 0
            pointer = None
            if rec.pointer:
                seg = (t / 2.5) % (len(path_pts) - 1)
                i = int(seg)
                a, b = path_pts[i], path_pts[i + 1]
                frac = seg - i
                pointer = (round(a[0] + (b[0] - a[0]) * frac), round(a[1] + (b[1] - a[1]) * frac))
            drag_at = None
            if rec.drag is not None and t >= rec.drag_t - 1e-9:
                progress = min(1.0, (t - rec.drag_t) / 3.0)
                drag_at = (round(-0.4 * width * (1 - progress)), round(0.1 * height * progress))
            key = (
                tuple((id(p), tuple(txt for _, txt, _ in p.rows_at(t))) for p in rec.panes),
                cursor_on,
                pointer,
                drag_at,
                tuple(line.shown(t) for line in rec.drag.lines) if rec.drag and drag_at else None,
            )
            if key != last_key or frame_rgb is None:
                image = Image.new("RGB", rec.size, rec.background)
                draw = ImageDraw.Draw(image)
                for rect, colour in rec.bars:
                    draw.rectangle(
                        (rect[0], rect[1], rect[0] + rect[2] - 1, rect[1] + rect[3] - 1), fill=colour
                    )
                for pane in rec.panes:
                    _draw_pane(image, pane, t, cache, cursor_on)
                for x, y0, y1, colour in rec.dividers:
                    draw.line((x, y0, x, y1), fill=colour, width=max(1, width // 1280))
                if rec.drag is not None and drag_at is not None:
                    _draw_pane(image, rec.drag, t, cache, False, drag_at)
                if pointer is not None:
                    _draw_pointer(ImageDraw.Draw(image), pointer[0], pointer[1], max(1.0, width / 1280))
                frame_rgb = np.asarray(image)
                last_key = key
            frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


# ------------------------------------------------------------------------------------- content

_WORDS = (
    "voter",
    "registration",
    "alaska",
    "florida",
    "ballot",
    "mailpanel",
    "official",
    "secure",
    "update",
    "files",
    "proton",
    "relay",
    "panel",
    "cdn",
    "static",
    "login",
    "portal",
    "notice",
    "election",
    "county",
    "records",
    "tips",
    "news",
    "archive",
    "upload",
    "drop",
    "sync",
    "gate",
    "admin",
    "mx",
)
_TLDS = ("com", "org", "net", "ru", "info", "io", "nl", "co.uk", "biz", "xyz", "me")
_USERS = ("root", "admin", "operator", "deploy", "svc_backup", "jdoe", "kali")
_EXT = ("xlsx", "zip", "exe", "ps1", "docx", "sh", "txt", "csv", "7z", "dll")


class Content:
    """Random but reproducible indicator values and the shell lines that show them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def ip(self) -> str:
        r = self.rng
        return (
            f"{r.choice([5, 23, 31, 45, 62, 77, 91, 103, 141, 185, 193, 194, 212])}.{r.randrange(1, 255)}."
            f"{r.randrange(0, 255)}.{r.randrange(1, 255)}"
        )

    def domain(self) -> str:
        r = self.rng
        labels = [r.choice(_WORDS)]
        if r.random() < 0.6:
            labels[0] += r.choice(["-", ""]) + r.choice(_WORDS)
        if r.random() < 0.3:
            labels.insert(0, r.choice(["mx2", "www", "cdn", "api", "fl", "mail"]))
        return ".".join(labels) + "." + r.choice(_TLDS)

    def email(self) -> str:
        r = self.rng
        local = r.choice(_WORDS) + r.choice(["", ".", "_"]) + r.choice(_WORDS)
        return f"{local}@{self.domain()}"

    def file(self) -> str:
        r = self.rng
        return f"{r.choice(_WORDS)}_{r.choice(['FL', 'PA', 'AK', '2024', 'final', 'v2'])}.{r.choice(_EXT)}"

    def posix(self) -> str:
        r = self.rng
        root = r.choice(
            ["/tmp", "/var/www/html", "/etc", "/opt/tools", "/home/" + r.choice(_USERS), "/srv/data"]
        )
        return f"{root}/{r.choice(_WORDS)}"

    def windows(self) -> str:
        r = self.rng
        return (
            f"C:\\Users\\{r.choice(_USERS)}\\{r.choice(['Desktop', 'Documents', 'Downloads'])}\\"
            f"{r.choice(_WORDS)}"
        )

    def url(self) -> str:
        r = self.rng
        host = self.domain() if r.random() < 0.8 else self.ip() + r.choice(["", ":8080"])
        page = f"{r.choice(_WORDS)}.{r.choice(['php', 'html', 'exe', 'zip'])}"
        return f"{r.choice(['http', 'https'])}://{host}/{page}"

    def sha256(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(64))

    def md5(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(32))

    def command(self) -> tuple[str, list[str]]:
        """A shell command and the output it prints."""
        r = self.rng
        ip, dom, f = self.ip(), self.domain(), self.file()
        choices: list[tuple[str, list[str]]] = [
            (
                f"ping -c1 {ip}",
                [
                    f"PING {ip} ({ip}) 56(84) bytes of data.",
                    f"64 bytes from {ip}: icmp_seq=1 ttl=52 time={r.randrange(9, 90)}.{r.randrange(10)} ms",
                ],
            ),
            (
                f"scp {f} {r.choice(_USERS)}@{ip}:{self.posix()}/",
                [f"{f}    100%   {r.randrange(2, 900)}KB   1.2MB/s   00:00"],
            ),
            (f"curl -s {self.url()}", ['{"status":"queued","relay":"' + dom + '"}']),
            (f"cat {self.posix()}", ["127.0.0.1 localhost", f"{ip} {dom}"]),
            (
                f"ssh -i ~/.ssh/id_rsa {r.choice(_USERS)}@{ip}",
                [f"Last login: Wed Oct  2 10:58:11 2024 from {self.ip()}"],
            ),
            (f"nslookup {dom}", [f"Name:    {dom}", f"Address: {ip}"]),
            (f"wget {self.url()} -O {self.posix()}.bin", [f"Saving to: '{self.posix()}.bin'"]),
            (f"mail -s update {self.email()} < {f}", ["sent"]),
            (f"ls {self.posix()}", [f"{self.file()}  {self.file()}  notes.txt"]),
            (f"sha256sum {f}", [f"{self.sha256()}  {f}"]),
            ("ip addr show eth0", [f"    inet {ip}/24 brd {ip.rsplit('.', 1)[0]}.255 scope global eth0"]),
            (f"whois {ip} | grep -i netname", [f"netname:        {r.choice(_WORDS).upper()}-NET"]),
            ("echo done", ["done"]),
        ]
        return r.choice(choices)


def _type_line(line_start: float, prompt: str, command: str, rng: random.Random, cps: float) -> Line:
    keys, t = [], line_start
    for _ in command:
        t += rng.uniform(0.5, 1.5) / cps
        keys.append(round(t, 4))
    return Line(line_start, prompt + command, prompt, keys)


def terminal_session(
    pane: Pane,
    content: Content,
    *,
    start: float,
    end: float,
    cps: float,
    prompt: str = "$ ",
    style: dict[str, object] | None = None,
) -> None:
    """Fills a pane with typed commands and their output until ``end``."""
    rng = content.rng
    t = start
    while t < end - 2.0:
        command, output = content.command()
        if rng.random() < 0.25:
            # a command typed, run, then recalled and edited: both values were run
            line = _type_line(t, prompt, command, rng, cps)
            pane.lines.append(line)
            t = line.done + rng.uniform(0.3, 0.8)
            for text in output:
                pane.lines.append(Line(t, text))
            t += rng.uniform(0.5, 1.2)
            command, output = content.command()
        line = _type_line(t, prompt, command, rng, cps)
        pane.lines.append(line)
        t = line.done + rng.uniform(0.3, 0.8)
        for text in output:
            out = Line(t, text)
            if style:
                for k, v in style.items():
                    setattr(out, k, v)
            pane.lines.append(out)
            t += rng.uniform(0.0, 0.15)
        t += rng.uniform(0.6, 1.6)


THEMES = {
    "dark": ((220, 220, 220), (24, 26, 30)),
    "solarized": ((131, 148, 150), (0, 43, 54)),
    "green": ((80, 250, 120), (12, 12, 12)),
    "light": ((30, 30, 30), (250, 250, 250)),
    "paper": ((60, 56, 50), (253, 246, 227)),
    "powershell": ((238, 237, 240), (1, 36, 86)),
}


def make(
    kind: str, seed: int, *, held_out: bool = False, duration_s: float = 40.0, small: bool = False
) -> Recording:
    """A recording of one kind; the held-out set uses other fonts, colours and encoders."""
    rng = random.Random(seed * 7919 + len(kind))
    content = Content(seed)
    mono = ["noto-mono", "nimbus-mono"] if held_out else ["dejavu-mono", "dejavu-mono-bold"]
    sans = "nimbus-sans" if held_out else "dejavu-sans"
    codec = rng.choice(["libx265", "libvpx-vp9"]) if held_out else "libx264"
    name = f"{kind}{'-heldout' if held_out else ''}-{seed}"
    size = (1280, 720)
    fps = 30
    theme = rng.choice(["dark", "solarized", "green"] if not held_out else ["dark", "green", "powershell"])
    fg, bg = THEMES[theme]
    font_size = rng.choice([18, 20, 22])
    cps = rng.uniform(8, 14)
    rec = Recording(name, kind, size, fps, duration_s, [], background=bg, codec=codec, held_out=held_out)
    if small:
        rec.size = size = (640, 360)
        font_size = 16
    w, h = size
    if kind == "typed":
        pane = Pane((0, 0, w, h), rng.choice(mono), font_size, fg, bg)
        terminal_session(pane, content, start=0.5, end=duration_s, cps=cps)
        rec.panes.append(pane)
    elif kind == "scroll":
        pane = Pane((0, 0, w, h), rng.choice(mono), font_size, fg, bg)
        t = 0.5
        while t < duration_s - 2:
            command, output = content.command()
            pane.lines.append(Line(t, "$ " + command))
            t += 0.3
            for text in output + [
                f"[{rng.randrange(100, 999)}] job {rng.randrange(10, 99)} finished"
            ] * rng.randrange(1, 4):
                pane.lines.append(Line(t, text))
                t += rng.uniform(0.05, 0.4)
            t += rng.uniform(0.2, 0.8)
        rec.panes.append(pane)
    elif kind == "light":
        fg, bg = THEMES[rng.choice(["light", "paper"])]
        rec.background = bg
        pane = Pane((0, 0, w, h), rng.choice(mono), rng.choice([14, 15, 16]), fg, bg)
        terminal_session(pane, content, start=0.5, end=duration_s, cps=cps)
        rec.panes.append(pane)
    elif kind == "smallfont":
        pane = Pane((0, 0, w, h), rng.choice(mono), rng.choice([12, 13]), fg, bg, line_gap=4)
        terminal_session(pane, content, start=0.5, end=duration_s, cps=cps)
        rec.panes.append(pane)
    elif kind == "browser":
        rec.background = (222, 225, 230)
        rec.bars = [((0, 0, w, 36), (222, 225, 230)), ((90, 6, w - 180, 26), (255, 255, 255))]
        body = Pane(
            (0, 40, w, h - 40),
            sans,
            rng.choice([16, 17, 18]),
            (34, 34, 34),
            (255, 255, 255),
            cursor=False,
            line_gap=10,
            margin=24,
        )
        typed: list[Line] = []
        t = 0.5
        while t < duration_s - 4:
            line = _type_line(t, "", content.url(), rng, cps)
            typed.append(line)
            t = line.done + rng.uniform(0.5, 1.0)
            for _ in range(rng.randrange(2, 5)):
                para = rng.choice(
                    [
                        f"Contact {content.email()} for the updated list of registered voters.",
                        f"Mirror: {content.url()} (updated daily)",
                        f"Our servers at {content.ip()} and {content.domain()} are reachable again.",
                        f"Download {content.file()} ({rng.randrange(20, 900)} KB) before Friday.",
                        "Please read the notice below carefully before you continue.",
                    ]
                )
                body.lines.append(Line(t, para))
                t += rng.uniform(0.1, 0.5)
            t += rng.uniform(2.0, 4.0)
        # the address bar shows one URL at a time, each until the next one is typed
        for i, line in enumerate(typed):
            until = typed[i + 1].start if i + 1 < len(typed) else duration_s + 1
            bar = Pane(
                (96, 6, w - 200, 26), sans, 15, (20, 20, 20), (255, 255, 255), [line], margin=4, wrap=False
            )
            rec.panes.append(_Until(bar, until))
        rec.panes.append(body)
    elif kind == "tmux":
        half = w // 2
        left = Pane((0, 0, half - 2, h - 24), rng.choice(mono), font_size - 2, fg, bg)
        right = Pane((half + 2, 0, w - half - 2, h - 24), left.font_name, font_size - 2, fg, bg)
        terminal_session(left, content, start=0.5, end=duration_s, cps=cps)
        terminal_session(right, Content(seed + 1000), start=1.5, end=duration_s, cps=cps)
        cols, _, _ = right.metrics()
        # a long line that wraps in the narrow pane, with an address range across the wrap
        pad = cols - len("inet ") - 6
        cidr = f"{content.ip().rsplit('.', 1)[0]}.0/24"
        right.lines.append(
            Line(duration_s * 0.6, "inet " + "x" * max(0, pad - 20) + " " * 20 + cidr + " scope")
        )
        right.lines.sort(key=lambda ln: ln.start)
        rec.panes += [left, right]
        rec.dividers = [(half, 0, h - 24, (90, 200, 90))]
        rec.bars = [((0, h - 24, w, 24), (40, 140, 60))]
        rec.panes.append(
            _Clock(
                Pane((0, h - 24, w, 24), left.font_name, 14, (0, 0, 0), (40, 140, 60), margin=4, cursor=False)
            )
        )
    elif kind in ("blur", "lowcontrast"):
        rec.category = "faint"
        pane = Pane((0, 0, w, h), rng.choice(mono), font_size, fg, bg)
        t = 0.5
        while t < duration_s - 2:
            command, output = content.command()
            pane.lines.append(_type_line(t, "$ ", command, rng, cps))
            t = pane.lines[-1].done + 0.4
            for text in output:
                line = Line(t, text, category="faint")
                if kind == "blur":
                    line.blur = rng.choice([1.5, 2.0, 2.5, 3.0, 4.0])
                    line.readable = line.blur <= 2.5 or (font_size >= 22 and line.blur <= 3.0)
                else:
                    delta = rng.choice([18, 26, 35, 50])
                    dark = sum(bg) < 384
                    r_, g_, b_ = (min(255, c + delta) if dark else max(0, c - delta) for c in bg)
                    line.fg = (r_, g_, b_)
                    line.readable = delta >= 26
                pane.lines.append(line)
                t += 0.2
            t += rng.uniform(0.8, 1.6)
        rec.panes.append(pane)
    elif kind == "cursor":
        pane = Pane((0, 0, w, h), rng.choice(mono), font_size, fg, bg)
        terminal_session(pane, content, start=0.5, end=duration_s, cps=cps)
        rec.panes.append(pane)
        rec.pointer = True
        drag = Pane((w // 2, h // 3, w // 2 - 40, 90), sans, 16, (20, 20, 20), (240, 240, 240), cursor=False)
        drag.lines = [Line(0.0, "Notes - upload target"), Line(0.0, f"sftp {content.email()} {content.ip()}")]
        rec.drag, rec.drag_t = drag, duration_s * 0.4
    elif kind == "lowbitrate":
        rec.category = "lowbitrate"
        rec.bitrate, rec.crf = 360_000, None
        rec.codec = "libx264"
        pane = Pane((0, 0, w, h), rng.choice(mono), font_size, fg, bg)
        terminal_session(pane, content, start=0.5, end=duration_s, cps=cps)
        rec.panes.append(pane)
    elif kind == "4k":
        rec.size = size = (3840, 2160) if not small else (1920, 1080)
        w, h = size
        rec.fps = 15
        rec.codec = "libx264"
        rec.crf = 26
        scale = w / 1920
        fg, bg = THEMES["powershell"]
        rec.background = (0, 90, 158)
        rec.bars = [((0, h - round(48 * scale), w, round(48 * scale)), (32, 32, 32))]
        pane = Pane(
            (round(80 * scale), round(60 * scale), round(1400 * scale), round(900 * scale)),
            rng.choice(mono),
            round(rng.choice([14, 16]) * scale),
            fg,
            bg,
            margin=round(10 * scale),
        )
        terminal_session(pane, content, start=0.5, end=duration_s, cps=cps, prompt="PS C:\\> ")
        for line in pane.lines[::3]:
            if not line.keys:
                line.text = f"    Directory: {content.windows()}"
        rec.panes.append(pane)
    else:
        raise ValueError(kind)
    return rec


class _Until(Pane):
    """A pane shown only until a time (an address bar showing one URL at a time)."""

    def __init__(self, pane: Pane, until: float) -> None:
        super().__init__(
            pane.rect,
            pane.font_name,
            pane.font_size,
            pane.fg,
            pane.bg,
            pane.lines,
            pane.cursor,
            pane.wrap,
            pane.line_gap,
            pane.margin,
        )
        self.until = until

    def visible(self, t: float) -> bool:
        """Drawn from its URL's first key press until the next URL is typed."""
        return bool(self.lines) and self.lines[0].start <= t + 1e-9 < self.until

    def rows_at(self, t: float) -> list[tuple[Line, str, int]]:
        return [] if t >= self.until else super().rows_at(t)


class _Clock(Pane):
    """A tmux status bar whose clock ticks every second: a line that keeps changing."""

    def __init__(self, pane: Pane) -> None:
        super().__init__(
            pane.rect,
            pane.font_name,
            pane.font_size,
            pane.fg,
            pane.bg,
            [],
            False,
            False,
            pane.line_gap,
            pane.margin,
        )

    def rows_at(self, t: float) -> list[tuple[Line, str, int]]:
        s = int(t)
        text = f'[0] 0:bash* 1:ssh-  "vps" 10:{(58 + s // 60) % 60:02d}:{s % 60:02d} 02-Oct-24'
        return [(Line(0.0, text), text, 0)]


KINDS = (
    "typed",
    "scroll",
    "light",
    "smallfont",
    "browser",
    "tmux",
    "blur",
    "lowcontrast",
    "cursor",
    "lowbitrate",
    "4k",
)
