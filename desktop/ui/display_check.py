# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a window can be shown at all, asked before Qt is (Qt-free on purpose).

Without a display, Qt's xcb plug-in calls ``qFatal``: the process is killed with SIGABRT (exit
134) after a hint about libxcb that sends the analyst looking for missing libraries. The window
commands ask here first and say in one sentence that no display is available.

Only local sockets are looked at (the X server's ``/tmp/.X11-unix/X<n>``, also in Linux's
abstract namespace, and the Wayland socket); a display on another host (``host:0``) or a Qt
platform that needs none (``offscreen``, ``vnc``, ``eglfs`` …) is left to Qt, which may know
better: this check never touches the network and never refuses what might work.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path

# Qt platforms that need a display server this module can look for.
_NEEDS_SERVER = frozenset({"xcb", "wayland", "wayland-egl"})
_LOCAL_X = re.compile(r"^(?:unix)?:(\d+)(?:\.\d+)?$")


def _unix_socket_answers(address: str) -> bool:
    """Whether something accepts a connection on a local socket (a path, or NUL + a name)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(address)
        except OSError:
            return False
    return True


def _x_problem(display: str | None) -> str | None:
    if not display:
        return "DISPLAY is not set"
    local = _LOCAL_X.match(display)
    if local is None:
        if display.startswith("/") and not Path(display.split(":")[0]).exists():
            return f"nothing answers on DISPLAY={display}"
        return None  # another host, or a form this module does not know: Qt decides
    path = f"/tmp/.X11-unix/X{local.group(1)}"  # noqa: S108 - the X server's fixed socket path
    if _unix_socket_answers(path) or _unix_socket_answers("\0" + path):
        return None
    return f"no X server answers on DISPLAY={display}"


def _wayland_problem(environ: Mapping[str, str]) -> str | None:
    name = environ.get("WAYLAND_DISPLAY")
    if not name:
        return "WAYLAND_DISPLAY is not set"
    runtime = Path(environ.get("XDG_RUNTIME_DIR") or "/nonexistent")
    path = Path(name) if name.startswith("/") else runtime / name
    if _unix_socket_answers(str(path)):
        return None
    return f"no Wayland compositor answers on WAYLAND_DISPLAY={name}"


def display_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why no window can be shown (one clause), or None when one can (or Qt must decide).

    Args:
        environ: the environment to judge (``os.environ`` by default).
    """
    env = os.environ if environ is None else environ
    requested = env.get("QT_QPA_PLATFORM", "")
    platforms = [p.split(":", 1)[0].strip() for p in requested.split(";") if p.strip()]
    if platforms and any(p not in _NEEDS_SERVER for p in platforms):
        return None  # offscreen, vnc, eglfs, minimal …: no display server needed
    if not platforms:
        platforms = ["wayland", "xcb"] if env.get("WAYLAND_DISPLAY") else ["xcb"]
    problems = []
    for platform in platforms:
        problem = _x_problem(env.get("DISPLAY")) if platform == "xcb" else _wayland_problem(env)
        if problem is None:
            return None
        problems.append(problem)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return "DISPLAY and WAYLAND_DISPLAY are not set"
    return "; ".join(dict.fromkeys(problems))


def no_display_sentence(problem: str) -> str:
    """The one sentence the window commands print when :func:`display_problem` found one."""
    return (f"no display is available to show the window ({problem}); run it in a desktop "
            "session, or use the command-line commands (casetrail --help)")
