# SPDX-License-Identifier: GPL-3.0-or-later
"""No network, proven: a whole case and the window's HTML mail view inside a network namespace
with no interfaces, while an audit hook records every attempt to open an Internet socket.

``unshare -rn`` (an unprivileged user and network namespace) leaves only a loopback device that
is down: nothing can reach any host. That alone would let a code path that *tries* the network
and quietly falls back pass, so every Python process of the run (the CLI, the sandboxed
analysers, the frame renderer, the window) also loads an audit hook (``sitecustomize``) that
writes down each ``socket.connect``/``getaddrinfo``/... on an Internet address family; the test
passes only when that list is empty and the round trip finished.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

AUDIT_HOOK = '''
import os, socket, sys
_out = os.environ["CASETRAIL_NET_AUDIT"]
_INET = (socket.AF_INET, socket.AF_INET6)
def _note(what):
    with open(_out, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {what}\\n")
def _hook(event, args):
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"):
        # Binding to loopback is a local probe, not traffic (urllib3 binds ('::1', 0) at import
        # to learn whether the host has IPv6); connecting anywhere is an attempt.
        local = event == "socket.bind" and str(args[1][0]) in ("::1", "127.0.0.1", "localhost")
        if getattr(args[0], "family", None) in _INET and not local:
            _note(f"{event} {args[1]!r}")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                   "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request",
                   "http.client.connect", "ftplib.connect", "smtplib.connect", "webbrowser.open"):
        _note(f"{event} {args[:2]!r}")
sys.addaudithook(_hook)
'''

HOSTILE_EML = """From: "Election Office" <notice@pb-notices-demo.com>
To: voter@example.org
Subject: Verify your registration
Date: Tue, 20 Oct 2020 14:02:11 +0000
Message-ID: <hostile-1@pb-notices-demo.com>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><link rel=stylesheet href="http://evil.example/track.css"></head>
<body background="http://evil.example/b.png"><p>Please <a href="http://evil.example/login">verify your
account</a> today.</p><img src="http://tracker.example/pixel.gif?id=42"><img src="file:///etc/passwd">
<iframe src="http://evil.example/frame"></iframe></body></html>
"""


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _unshare_works(),
                                reason="unprivileged network namespaces (unshare -rn) are not available")


def _offline(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "-rn", *cmd], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def test_a_whole_case_and_the_mail_view_run_with_no_network(tmp_path: Path) -> None:
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    audit = tmp_path / "network-attempts.txt"
    evidence = tmp_path / "evidence"
    shutil.copytree(REPO / "resources" / "demo", evidence)
    (evidence / "hostile-html.eml").write_text(HOSTILE_EML)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook_dir), str(REPO)]),
               CASETRAIL_NET_AUDIT=str(audit), CASETRAIL_HOME=str(tmp_path / "home"),
               QT_QPA_PLATFORM="offscreen", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")

    # The namespace really has no way out: no interface but loopback, and no IPv4 route at all
    # (/proc/net follows the reading process's namespace; /sys/class/net would show the host's).
    probe = _offline(["cat", "/proc/net/dev"], env, 30)
    assert probe.returncode == 0
    assert [line.split(":")[0].strip() for line in probe.stdout.splitlines()[2:]] == ["lo"]
    routes = _offline(["cat", "/proc/net/route"], env, 30).stdout.splitlines()
    assert [r for r in routes if not r.startswith("Iface")] == []
    # ... and the audit hook sees what it must see (a check that cannot fail proves nothing).
    tried = _offline([sys.executable, "-c", "import socket; socket.getaddrinfo('evil.example', 80)"],
                     env, 60)
    assert tried.returncode != 0
    assert "socket.getaddrinfo" in audit.read_text()
    audit.unlink()

    work = tmp_path / "work"
    run = _offline([str(REPO / "packaging" / "roundtrip.sh"), str(BIN / "casetrail"), str(evidence),
                    str(work)], env, 900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "roundtrip: ok" in run.stdout

    items = json.loads((work / "items.json").read_text())
    hostile = next(i for i in items if i["name"] == "hostile-html.eml")
    window = _offline([sys.executable, str(REPO / "tests" / "integration" / "offline_window.py"),
                       str(work / "roundtrip.casetrail"), str(hostile["id"]), str(tmp_path / "window.png")],
                      env, 300)
    assert window.returncode == 0, window.stderr[-3000:]
    assert (tmp_path / "window.png").stat().st_size > 0

    attempts = audit.read_text() if audit.exists() else ""
    assert attempts == "", f"network attempts while offline:\n{attempts}"
