# SPDX-License-Identifier: GPL-3.0-or-later
"""What the reliability campaigns share: small file systems to fill, a shim that fails writes.

A full disk is a real one (a tmpfs of a few MiB: mounting needs root, which CI has; elsewhere
the tests that need it skip and say why). An I/O error is injected below Python and SQLite by
``eio_shim.c`` (LD_PRELOAD), compiled with the system's C compiler (``make system-deps``
installs one; without it those tests skip and say why).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def mount_tmpfs(where: Path, size_kib: int) -> str:
    """Mount a tmpfs of ``size_kib`` at ``where``; return "" or why it could not be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0777", "tmpfs", str(where)],
                       capture_output=True, text=True, check=False)
    return "" if p.returncode == 0 else (p.stderr.strip() or f"mount exited {p.returncode}")


def remount_read_only(where: Path) -> None:
    """Make a mounted tmpfs read-only (a DVD, a write-blocked disk)."""
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)


def unmount(where: Path) -> None:
    """Unmount (lazily: a test that failed may still hold a file open)."""
    subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def build_shim(folder: Path) -> Path | str:
    """Compile the EIO shim into ``folder``; return its path, or why it cannot be built."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return "no C compiler (install gcc: make system-deps)"
    out = folder / "eio_shim.so"
    p = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(HERE / "eio_shim.c"), "-ldl"],
                       capture_output=True, text=True, check=False)
    return out if p.returncode == 0 else f"the shim did not compile: {p.stderr.strip()[:200]}"


