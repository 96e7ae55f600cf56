# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: big and hostile single inputs stay bounded (issue 16), against baselines of the same run.

1. A 60 MB plain-text e-mail imported and analysed: wall time and peak RSS of the main process
   and of the analysis child (target: main <= 300 MiB), against Python's own ``email`` parser
   reading the same file in one process (time and RSS of that parse).
2. Damaged Outlook ``.msg`` files (FAT counts, a 4 GB stream, a looping chain): time and peak RSS
   of the analysis of each, against the undamaged message they were made from.
3. ``brief`` on a case holding a 10 MB Subject, a 3,000-character URL and a mail of only
   Received headers, against ``brief`` on the same case without them.

Usage: ``.venv/bin/python tests/bench/big_inputs.py [--mb 60] [--skip-brief]``
Prints ``uptime`` first and last: the machine is shared, so read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

_PROBE = """
import json, resource, sys, time
from desktop.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "elapsed": time.perf_counter() - started,
                  "rss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}),
      file=sys.stderr)
"""

_PARSE = """
import email, email.policy, json, resource, sys, time
started = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
body = msg.get_body(("plain",))
text = body.get_content() if body is not None else ""
print(json.dumps({"elapsed": time.perf_counter() - started, "chars": len(text),
                  "rss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def say(msg: str) -> None:
    print(msg, flush=True)


def cli(home: Path, *args: str) -> dict[str, float]:
    env = dict(os.environ, CASETRAIL_HOME=str(home))
    p = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env,
                       check=False)
    tail = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "{}"
    try:
        out: dict[str, float] = json.loads(tail)
    except ValueError:
        raise SystemExit(f"casetrail {' '.join(args[:2])} failed: {p.stderr[-800:]}") from None
    return out


def new_case(home: Path, path: Path) -> None:
    subprocess.run([sys.executable, "-m", "desktop.cli", "new", str(path), "--title", "bench",
                    "--examiner", "bench"], check=True, capture_output=True,
                   env=dict(os.environ, CASETRAIL_HOME=str(home)))


def big_mail(work: Path, home: Path, mb: int) -> None:
    say(f"\n== 1. a {mb} MB plain-text e-mail, imported and analysed")
    path = work / "big.eml"
    line = b"line of a very long plain text message naming 203.0.113.9 and https://big.example/x\n"
    with path.open("wb") as f:
        f.write(b"From: big@sender.example\nTo: analyst@example.org\nSubject: big\n"
                b"Date: Mon, 19 Oct 2020 10:00:00 +0000\nContent-Type: text/plain\n\n")
        for _ in range(mb * 2**20 // len(line)):
            f.write(line)
    parse = json.loads(subprocess.run([sys.executable, "-c", _PARSE, str(path)], capture_output=True,
                                      text=True, check=True).stdout)
    case = work / "big.casetrail"
    new_case(home, case)
    run = cli(home, "import", str(case), str(path))
    main_mib = run["rss_self_kib"] / 1024
    parse_mib = parse["rss_self_kib"] / 1024
    say(f"   Python's email parser  {parse['elapsed']:7.1f} s   peak RSS {parse_mib:6.0f} MiB")
    say(f"   casetrail import       {run['elapsed']:7.1f} s   peak RSS main {main_mib:.0f} MiB "
        f"({main_mib / 300:.2f}x the 300 MiB target: {'met' if main_mib <= 300 else 'MISSED'}), "
        f"analysis child {run['rss_children_kib'] / 1024:.0f} MiB; "
        f"{run['elapsed'] / parse['elapsed']:.1f}x the parser's time")
    shutil.rmtree(case, ignore_errors=True)


def hostile_msg(work: Path, home: Path) -> None:
    from reliability.hostile import MSG, _msg_variants  # type: ignore[import-not-found,unused-ignore]

    variants = _msg_variants()
    if not variants:
        say("\n== 2. damaged .msg: ../shared/corpora/msg is absent, skipped")
        return
    say("\n== 2. damaged Outlook .msg files, each imported and analysed on its own")
    for name, what, data in [("real.msg", "the undamaged message", MSG.read_bytes()), *variants]:
        path = work / name
        path.write_bytes(data)
        case = work / f"{name}.casetrail"
        new_case(home, case)
        run = cli(home, "import", str(case), str(path))
        child_mib = run["rss_children_kib"] / 1024
        say(f"   {name:<18} {run['elapsed']:6.1f} s   analysis child {child_mib:5.0f} MiB   ({what})")
        shutil.rmtree(case, ignore_errors=True)


def brief(work: Path, home: Path) -> None:
    from reliability.hostile import generate  # type: ignore[import-not-found,unused-ignore]

    say("\n== 3. brief with oversized values, against brief without them")
    corpus = generate(work / "hostile")
    big = [h.path for h in corpus if h.path.name in ("long-url.eml", "received-only.eml", "long-subject.eml")]
    (work / "plain").mkdir()
    plain = work / "plain" / "plain.eml"
    plain.write_bytes(b"From: a@sender.example\nTo: b@example.org\nSubject: plain\n\nhello 198.51.100.23\n")
    huge = work / "huge.eml"
    words = b"x" * 76 + (b" " + b"x" * 76) * (10 * 2**20 // 77)
    huge.write_bytes(b"From: a@sender.example\nSubject: " + words + b"\n\nhello\n")
    times = {}
    for label, files in (("baseline", [plain]), ("oversized", [plain, huge, *big])):
        case = work / f"{label}.casetrail"
        new_case(home, case)
        cli(home, "import", str(case), *map(str, files))
        run = cli(home, "brief", str(case), "-o", str(work / f"{label}.pdf"))
        times[label] = run["elapsed"]
        say(f"   {label:<10} brief {run['elapsed']:6.1f} s  exit {run['code']}  peak RSS "
            f"{run['rss_self_kib'] / 1024:.0f} MiB")
    say(f"   oversized / baseline: {times['oversized'] / times['baseline']:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=60)
    ap.add_argument("--skip-brief", action="store_true")
    args = ap.parse_args()
    say("machine: " + subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())
    work = Path(tempfile.mkdtemp(prefix="casetrail-big-"))
    home = work / "home"
    os.environ.setdefault("CASETRAIL_PASSPHRASE", "bench-passphrase")
    started = time.monotonic()
    try:
        big_mail(work, home, args.mb)
        hostile_msg(work, home)
        if not args.skip_brief:
            brief(work, home)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"\n{time.monotonic() - started:.0f} s in all; this process peaked at "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    say("machine: " + subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
