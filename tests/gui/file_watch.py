# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeing whether anything in this process opens a file: inotify on a folder, through ctypes.

Qt's text engine opens the image of an ``<img src=…>`` with its own C++ file code, behind every
Python hook (``sys.addaudithook`` never sees it), so the hostile-text test watches the folders the
markup points at from the kernel's side instead: any open of a file there, by anyone, is an event.
Linux only (the platform CI runs on); :func:`available` says whether it works here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from pathlib import Path

IN_ACCESS = 0x00000001
IN_OPEN = 0x00000020
IN_ISDIR = 0x40000000  # the folder itself was opened (a listing, e.g. an interpreter's start): not a file
_EVENT = struct.Struct("iIII")


def available() -> bool:
    """Whether inotify can be used in this process."""
    try:
        watch = FileWatch([Path("/")])
    except OSError:
        return False
    watch.close()
    return True


class FileWatch:
    """Records every open or read of a file inside the given folders (folders opened are not counted).

    Args:
        folders: folders to watch (not recursively: put the files the markup names in them).
    """

    def __init__(self, folders: list[Path]) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._names: dict[int, Path] = {}
        for folder in folders:
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), IN_OPEN | IN_ACCESS)
            if wd < 0:
                self.close()
                raise OSError(ctypes.get_errno(), f"cannot watch {folder}")
            self._names[wd] = folder
        self.events: list[Path] = []

    def poll(self) -> list[Path]:
        """Read the events that arrived; return every path opened or read so far."""
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset:offset + length].rstrip(b"\0")
                offset += length
                if not mask & IN_ISDIR:
                    self.events.append(self._names.get(wd, Path("?")) / os.fsdecode(name))
        return list(self.events)

    def close(self) -> None:
        """Stop watching."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
