# SPDX-License-Identifier: GPL-3.0-or-later
"""A second held-out set of screen recordings: other templates, fonts, themes, sizes and encoders.

``recordings.py`` makes the tuned set and the first held-out set from one family of templates (the
same commands, word lists, prompts and layouts with other fonts and colours). Acceptance is measured
on recordings nobody here has seen, so this set is built from templates of its own and is not used
while tuning: other commands and outputs (PowerShell, netstat, web server logs, traceroute, hashes in
upper case, IPv6, SHA-1, UNC paths), other word lists, TLDs and prompts, other fonts (Liberation
Mono, Hack, JetBrains Mono, Inconsolata, Fira Code, Noto Mono), themes (Monokai, Dracula, Gruvbox,
Nord, cmd.exe, amber, white), screen sizes (1024x768 to 2560x1440), frame rates (24-60 fps) and
encoders (x264 at other settings, MPEG-4 Part 2, VP8, AV1, x265), and new layouts (an editor with
line numbers, a horizontal split, a chat window). Blurring is also done another way (mosaic and box
blur), as people hide parts of a screen with those too.

Fonts outside the base system are Debian packages (fonts-liberation, fonts-hack,
fonts-jetbrains-mono, fonts-inconsolata, fonts-firacode, fonts-noto-mono, fonts-urw-base35); when
one is missing its recording falls back to a font that is there (``_FALLBACK``), so the set still
renders, in other letters.
"""

from __future__ import annotations

import random
from pathlib import Path

from .recordings import FONTS, Content, Line, Pane, Recording, _type_line

UNSEEN_FONTS = {
    "liberation-mono": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "hack": "/usr/share/fonts/truetype/hack/Hack-Regular.ttf",
    "jetbrains-mono": "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Regular.ttf",
    "inconsolata": "/usr/share/fonts/truetype/inconsolata/Inconsolata.otf",
    "fira-code": "/usr/share/fonts/truetype/firacode/FiraCode-Regular.ttf",
    "noto-mono-plain": "/usr/share/fonts/truetype/noto/NotoMono-Regular.ttf",
    "nimbus-mono-bold": "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Bold.otf",
    "liberation-sans": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "liberation-serif": "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "urw-gothic": "/usr/share/fonts/opentype/urw-base35/URWGothic-Book.otf",
}
_FALLBACK = {
    "liberation-mono": "noto-mono",
    "hack": "dejavu-mono",
    "jetbrains-mono": "noto-mono",
    "inconsolata": "nimbus-mono",
    "fira-code": "noto-mono",
    "liberation-sans": "nimbus-sans",
    "liberation-serif": "dejavu-serif",
}
for _name, _path in UNSEEN_FONTS.items():
    FONTS.setdefault(_name, _path if Path(_path).is_file() else FONTS[_FALLBACK.get(_name, "dejavu-mono")])

MONO = (
    "liberation-mono",
    "hack",
    "jetbrains-mono",
    "inconsolata",
    "fira-code",
    "noto-mono-plain",
    "nimbus-mono-bold",
)
THEMES = {
    "monokai": ((248, 248, 242), (39, 40, 34)),
    "dracula": ((248, 248, 242), (40, 42, 54)),
    "gruvbox": ((235, 219, 178), (40, 40, 40)),
    "nord": ((216, 222, 233), (46, 52, 64)),
    "cmd": ((204, 204, 204), (12, 12, 12)),
    "amber": ((255, 176, 0), (22, 14, 0)),
    "ubuntu": ((255, 255, 255), (48, 10, 36)),
}
LIGHT = {
    "white": ((0, 0, 0), (255, 255, 255)),
    "tango": ((46, 52, 54), (238, 238, 236)),
    "github": ((36, 41, 47), (246, 248, 250)),
}
SIZES = ((1920, 1080), (1366, 768), (1600, 900), (1024, 768), (1280, 800))
ENCODERS = (
    ("libx264", 28, None),
    ("mpeg4", None, 1_800_000),
    ("libvpx", None, 1_200_000),
    ("libsvtav1", 38, None),
    ("libx265", 30, None),
)

_WORDS = (
    "invoice",
    "payroll",
    "vpn",
    "backup",
    "shipping",
    "kraken",
    "nimbus",
    "lotus",
    "harbor",
    "quartz",
    "ember",
    "atlas",
    "vector",
    "orbit",
    "delta",
    "sigma",
    "crest",
    "pine",
    "falcon",
    "beacon",
    "vault",
    "signal",
    "metro",
    "civic",
    "polls",
    "canvass",
    "district",
    "ledger",
)
_TLDS = ("de", "fr", "top", "su", "cc", "us", "ch", "se", "pw", "online", "site", "club", "ua", "com.br")
_USERS = ("kali", "svc-web", "backup01", "mwilson", "ubuntu", "ec2-user", "helpdesk")
_PROMPTS = ("kali@kali:~$ ", "[root@srv01 ~]# ", "ubuntu@ip-172-31-8-4:/tmp$ ", "> ", "% ")
_EXT = ("pdf", "rar", "bat", "vbs", "js", "iso", "lnk", "xlsm", "tar.gz", "json")


class UnseenContent(Content):
    """Values and commands of templates the tuned and first held-out sets never use."""

    def ip(self) -> str:
        r = self.rng
        first = r.choice([2, 37, 46, 79, 88, 109, 146, 151, 176, 178, 195, 198, 203, 217, 8, 13])
        return f"{first}.{r.randrange(0, 256)}.{r.randrange(0, 256)}.{r.randrange(1, 255)}"

    def ipv6(self) -> str:
        r = self.rng
        groups = [
            f"{r.randrange(0x2001, 0x2A10):x}",
            f"{r.randrange(0, 0xFFFF):x}",
            f"{r.randrange(0, 0xFFF):x}",
        ]
        return ":".join(groups) + f"::{r.randrange(1, 0xFF):x}"

    def domain(self) -> str:
        r = self.rng
        label = r.choice(_WORDS) + (r.choice(["-", ""]) + r.choice(_WORDS) if r.random() < 0.5 else "")
        if r.random() < 0.35:
            label = r.choice(["app", "dl", "m", "secure", "ns1", "vpn"]) + "." + label
        return f"{label}.{r.choice(_TLDS)}"

    def email(self) -> str:
        r = self.rng
        return f"{r.choice(_WORDS)}{r.choice(['', '.', '-'])}{r.randrange(1, 99)}@{self.domain()}"

    def file(self) -> str:
        r = self.rng
        name = f"{r.choice(_WORDS).capitalize()}-{r.choice(['Q3', '2025', 'draft', 'signed', 'x64'])}"
        return f"{name}.{r.choice(_EXT)}"

    def posix(self) -> str:
        r = self.rng
        root = r.choice(
            [
                "/usr/local/bin",
                "/var/backups",
                "/dev/shm",
                "/root/.cache",
                "/mnt/usb",
                f"/home/{r.choice(_USERS)}/Downloads",
            ]
        )
        return f"{root}/{r.choice(_WORDS)}{r.choice(['', '.sh', '.py', '.conf'])}"

    def windows(self) -> str:
        r = self.rng
        return r.choice(
            [
                f"C:\\ProgramData\\{r.choice(_WORDS).capitalize()}",
                f"D:\\Exports\\{r.choice(_WORDS)}",
                f"C:\\Users\\{r.choice(_USERS)}\\AppData\\Local\\Temp\\{r.choice(_WORDS)}",
            ]
        )

    def url(self) -> str:
        r = self.rng
        host = self.domain() if r.random() < 0.75 else self.ip() + r.choice([":8443", ":4444", ""])
        path = (
            r.choice(["", f"{r.choice(_WORDS)}/"])
            + f"{r.choice(_WORDS)}.{r.choice(['aspx', 'jsp', 'bin', 'ps1'])}"
        )
        return f"{r.choice(['http', 'https'])}://{host}/{path}"

    def sha1(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(40))

    def command(self) -> tuple[str, list[str]]:
        r = self.rng
        ip, dom, f = self.ip(), self.domain(), self.file()
        port = r.choice([22, 443, 4444, 8080, 3389])
        choices: list[tuple[str, list[str]]] = [
            (f"nc -vz {ip} {port}", [f"Connection to {ip} {port} port [tcp/*] succeeded!"]),
            (f"dig +short {dom}", [ip]),
            (
                f"traceroute -n -m 3 {ip}",
                [f" 1  {self.ip()}  0.412 ms", f" 2  {self.ip()}  8.120 ms", f" 3  {ip}  31.774 ms"],
            ),
            (
                "netstat -tn | grep ESTAB",
                [f"tcp        0      0 10.0.2.15:{r.randrange(30000, 60000)}   {ip}:{port}   ESTABLISHED"],
            ),
            (
                f"tail -n 2 /var/log/nginx/{r.choice(_WORDS)}.log",
                [
                    f'{ip} - - [14/Mar/2025:09:{r.randrange(10, 59)}:02 +0000] '
                    f'"GET /{r.choice(_WORDS)}.php HTTP/1.1" 200'
                ],
            ),
            (f"sha1sum {f}", [f"{self.sha1()}  {f}"]),
            (f"md5sum {self.posix()}", [f"{self.md5()}  -"]),
            (f"echo '{ip} {dom}' >> /etc/hosts", []),
            (f"curl -sk -o {self.posix()} {self.url()}", ["  % Total    % Received  Xferd"]),
            (f"sendmail -f {self.email()} {self.email()} < body.txt", []),
            (f"ping6 -c1 {self.ipv6()}", ["1 packets transmitted, 1 received, 0% packet loss"]),
            (f"whois {dom} | grep -i registrar", [f"Registrar: {r.choice(_WORDS).upper()} REGISTRY LTD"]),
            (f"rsync -avz {self.posix()} {r.choice(_USERS)}@{dom}:{self.posix()}", ["sent 1,204 bytes"]),
            ("crontab -l", [f"*/10 * * * * {self.posix()} >/dev/null 2>&1"]),
            ("whoami", [r.choice(_USERS)]),
        ]
        return r.choice(choices)

    def powershell(self) -> tuple[str, list[str]]:
        r = self.rng
        path = f"{self.windows()}\\{self.file()}"
        choices: list[tuple[str, list[str]]] = [
            (f"Get-FileHash {path}", ["Algorithm   Hash", f"SHA256      {self.sha256().upper()}"]),
            (f"Invoke-WebRequest -Uri {self.url()} -OutFile {path}", []),
            (
                f"Test-NetConnection {self.ip()} -Port 443",
                [f"RemoteAddress    : {self.ip()}", "TcpTestSucceeded : True"],
            ),
            (
                f"Resolve-DnsName {self.domain()}",
                ["Name                  Type   IPAddress", f"{self.domain()}   A      {self.ip()}"],
            ),
            (f"copy {path} \\\\fs{r.randrange(1, 9)}\\{r.choice(_WORDS)}$\\", ["        1 file(s) copied."]),
            ("ipconfig", [f"   IPv4 Address. . . . . . . . . . . : {self.ip()}"]),
        ]
        return r.choice(choices)


def _session(
    pane: Pane,
    content: UnseenContent,
    rng: random.Random,
    *,
    start: float,
    end: float,
    cps: float,
    prompt: str,
    powershell: bool = False,
) -> None:
    """Commands typed at a prompt, some run again after an edit, each followed by its output."""
    t = start
    while t < end - 2.0:
        command, output = content.powershell() if powershell and rng.random() < 0.7 else content.command()
        line = _type_line(t, prompt, command, rng, cps)
        pane.lines.append(line)
        t = line.done + rng.uniform(0.2, 0.9)
        for text in output:
            pane.lines.append(Line(t, text))
            t += rng.uniform(0.02, 0.3)
        t += rng.uniform(0.4, 1.8)


def make_unseen(kind: str, seed: int, *, duration_s: float = 30.0) -> Recording:
    """A recording of one kind from the templates of this module (see its docstring)."""
    rng = random.Random(seed * 104729 + sum(map(ord, kind)))
    content = UnseenContent(seed * 31 + len(kind))
    size = rng.choice(SIZES)
    fps = rng.choice([24, 25, 30, 60])
    codec, crf, bitrate = rng.choice(ENCODERS)
    fg, bg = THEMES[rng.choice(sorted(THEMES))]
    mono = rng.choice(MONO)
    scale = size[1] / 768
    font_size = round(rng.choice([15, 16, 18, 20]) * scale)
    cps = rng.uniform(6, 16)
    prompt = rng.choice(_PROMPTS)
    name = f"{kind}-unseen-{seed}"
    rec = Recording(
        name,
        kind,
        size,
        fps,
        duration_s,
        [],
        background=bg,
        codec=codec,
        crf=crf,
        bitrate=bitrate,
        held_out=True,
    )
    w, h = size
    if kind == "typed":
        pane = Pane((0, 0, w, h), mono, font_size, fg, bg, line_gap=rng.choice([3, 5, 8]))
        _session(pane, content, rng, start=0.4, end=duration_s, cps=cps, prompt=prompt)
        rec.panes.append(pane)
    elif kind == "powershell":
        fg, bg = (238, 237, 240), (12, 12, 12) if rng.random() < 0.5 else (1, 36, 86)
        rec.background = bg
        pane = Pane(
            (0, 0, w, h),
            rng.choice(["liberation-mono", "noto-mono-plain", "jetbrains-mono"]),
            font_size,
            fg,
            bg,
        )
        _session(
            pane,
            content,
            rng,
            start=0.4,
            end=duration_s,
            cps=cps,
            prompt=f"PS C:\\Users\\{rng.choice(_USERS)}> ",
            powershell=True,
        )
        rec.panes.append(pane)
    elif kind == "logtail":
        pane = Pane((0, 0, w, h), mono, round(14 * scale), fg, bg, cursor=False, line_gap=3)
        t = 0.3
        while t < duration_s - 1:
            ip = content.ip()
            pane.lines.append(
                Line(
                    t,
                    f"Mar 14 09:{int(t) // 60:02d}:{int(t) % 60:02d} sshd[{rng.randrange(900, 9999)}]: "
                    f"Failed password for {rng.choice(_USERS)} from {ip} port "
                    f"{rng.randrange(30000, 65000)} ssh2",
                )
            )
            if rng.random() < 0.3:
                pane.lines.append(
                    Line(
                        t + 0.05,
                        f"Mar 14 09:{int(t) // 60:02d}:{int(t) % 60:02d} kernel: "
                        f"[UFW BLOCK] SRC={content.ip()} DST=10.0.0.4 DPT=445",
                    )
                )
            t += rng.uniform(0.15, 0.9)
        rec.panes.append(pane)
    elif kind == "lightterm":
        fg, bg = LIGHT[rng.choice(sorted(LIGHT))]
        rec.background = bg
        pane = Pane((0, 0, w, h), mono, round(rng.choice([13, 14, 15]) * scale), fg, bg)
        _session(pane, content, rng, start=0.4, end=duration_s, cps=cps, prompt=prompt)
        rec.panes.append(pane)
    elif kind == "editor":
        # a hosts or config file open in an editor: line numbers glued to the text by the eye
        pane = Pane((0, 0, w, h - round(24 * scale)), mono, font_size, fg, bg, cursor=False)
        rows = []
        for n in range(1, 40):
            entry = rng.choice(
                [
                    f"{content.ip()}\t{content.domain()}",
                    f"server {content.domain()}:{rng.choice([443, 8443])};",
                    f"upstream_relay = {content.email()}",
                    f"log_path = {content.posix()}",
                    "# ---",
                    f"proxy_pass {content.url()};",
                ]
            )
            rows.append(f"{n:>3} {entry.expandtabs(4)}")
        t = 0.5
        for text in rows:
            pane.lines.append(Line(t, text))
            t += rng.uniform(0.4, 1.2) if t < duration_s - 3 else 0.0
        rec.panes.append(pane)
        rec.bars = [((0, h - round(24 * scale), w, round(24 * scale)), (80, 80, 80))]
    elif kind == "hsplit":
        top = Pane((0, 0, w, h // 2 - 2), mono, font_size - 2, fg, bg)
        bottom = Pane((0, h // 2 + 2, w, h // 2 - 2), mono, font_size - 2, fg, bg)
        _session(top, content, rng, start=0.4, end=duration_s, cps=cps, prompt=prompt)
        _session(bottom, UnseenContent(seed * 31 + 7), rng, start=1.2, end=duration_s, cps=cps, prompt="$ ")
        rec.panes += [top, bottom]
        rec.bars = [((0, h // 2 - 2, w, 4), (120, 120, 120))]
    elif kind == "chat":
        rec.background = (235, 236, 240)
        body = Pane(
            (w // 6, 0, 2 * w // 3, h),
            rng.choice(["liberation-sans", "urw-gothic", "liberation-serif"]),
            round(rng.choice([15, 16, 18]) * scale),
            (20, 20, 20),
            (255, 255, 255),
            cursor=False,
            line_gap=14,
            margin=20,
        )
        t = 0.6
        while t < duration_s - 2:
            body.lines.append(
                Line(
                    t,
                    rng.choice(
                        [
                            f"new drop is up at {content.url()}",
                            f"send the list to {content.email()} not the old one",
                            f"box is {content.ip()}, creds as before",
                            f"use {content.domain()} for the mail relay",
                            f"file is {content.file()}, hash {content.md5()}",
                            "ok",
                            "will do in 10 min",
                        ]
                    ),
                )
            )
            t += rng.uniform(1.0, 2.5)
        rec.panes.append(body)
    elif kind == "mosaic":
        rec.category = "faint"
        pane = Pane((0, 0, w, h), mono, font_size, fg, bg)
        t = 0.4
        while t < duration_s - 2:
            command, output = content.command()
            pane.lines.append(_type_line(t, prompt, command, rng, cps))
            t = pane.lines[-1].done + 0.4
            for text in output:
                line = Line(t, text, category="faint")
                if rng.random() < 0.5:
                    # pixelated: blocks of 2-6 px; legible while a block is under a fifth of the letters
                    line.blur_kind, line.blur = "mosaic", rng.choice([2, 3, 4, 6])
                    line.readable = line.blur <= font_size / 5
                else:
                    line.blur_kind, line.blur = "box", rng.choice([1.0, 1.5, 2.0, 3.0])
                    line.readable = line.blur <= 1.5 or (font_size >= 24 and line.blur <= 2.0)
                pane.lines.append(line)
                t += 0.25
            t += rng.uniform(0.6, 1.5)
        rec.panes.append(pane)
    elif kind == "faded":
        rec.category = "faint"
        fg, bg = LIGHT[rng.choice(sorted(LIGHT))] if rng.random() < 0.5 else (fg, bg)
        rec.background = bg
        pane = Pane((0, 0, w, h), mono, font_size, fg, bg)
        t = 0.4
        while t < duration_s - 2:
            command, output = content.command()
            pane.lines.append(_type_line(t, prompt, command, rng, cps))
            t = pane.lines[-1].done + 0.4
            for text in output:
                delta = rng.choice([20, 30, 40, 60])
                dark = sum(bg) < 384
                line = Line(
                    t,
                    text,
                    category="faint",
                    fg=tuple(min(255, c + delta) if dark else max(0, c - delta) for c in bg),
                )  # type: ignore[arg-type]
                line.readable = delta >= 30
                pane.lines.append(line)
                t += 0.25
            t += rng.uniform(0.6, 1.5)
        rec.panes.append(pane)
    elif kind == "lowbitrate":
        rec.category = "lowbitrate"
        rec.size = size = rng.choice([(1280, 720), (1920, 1080)])
        w, h = size
        scale = h / 768
        rec.codec, rec.crf = rng.choice(["libx264", "libx265", "libvpx-vp9"]), None
        rec.bitrate = 300_000 if h == 720 else 500_000
        pane = Pane((0, 0, w, h), mono, round(rng.choice([17, 19]) * scale), fg, bg)
        _session(pane, content, rng, start=0.4, end=duration_s, cps=cps, prompt=prompt)
        rec.panes.append(pane)
    elif kind == "bigscreen":
        rec.size = size = (2560, 1440)
        w, h = size
        rec.fps = 20
        rec.codec, rec.crf, rec.bitrate = "libx264", 27, None
        rec.background = (58, 110, 165)
        s = w / 1920
        pane = Pane(
            (round(300 * s), round(120 * s), round(1200 * s), round(800 * s)),
            mono,
            round(15 * s),
            fg,
            bg,
            margin=round(8 * s),
        )
        _session(pane, content, rng, start=0.4, end=duration_s, cps=cps, prompt=prompt)
        rec.panes.append(pane)
        rec.pointer = True
    else:
        raise ValueError(kind)
    return rec


UNSEEN_KINDS = (
    "typed",
    "powershell",
    "logtail",
    "lightterm",
    "editor",
    "hsplit",
    "chat",
    "mosaic",
    "faded",
    "lowbitrate",
    "bigscreen",
)
