# SPDX-License-Identifier: GPL-3.0-or-later
"""What this Casetrail is: its version, the revision it was built from, and what it runs on.

A briefing is only as defensible as the tools that made it: an opposing expert must be able to
name the exact libmagic that typed each file, the FFmpeg that decoded the video and the OCR model
that read its frames. :func:`build_info` gathers that once per process; ``casetrail --version``,
Help → About and the briefing all print the same :meth:`BuildInfo.text`.

Qt-free on purpose (the briefing and the CLI use it): the Qt version is that of the PySide6
distribution it was built against, read from its metadata, not from a loaded Qt. Nothing here
touches the network; the one process it may start is ``git``, in a source checkout, to read the
revision.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as md
import importlib.util
import platform
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from desktop import __version__
from desktop.core import detect

# ``make package`` / ``make bundle`` write the revision here before building, since a wheel or a
# bundle has no git checkout to ask (the file is not committed).
REVISION_FILE = Path(__file__).resolve().parent / "build_revision.txt"
_UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    """The versions that make a result reproducible.

    Attributes:
        version: Casetrail's version.
        revision: the git commit it was built from (``-dirty`` when the tree had changes), or
            ``unknown``.
        python: the interpreter's version and implementation.
        qt: the Qt (PySide6) version.
        sqlite: the SQLite library version.
        libmagic: the libmagic version that identifies file types.
        ffmpeg: the FFmpeg version inside PyAV that decodes video.
        ocr_engine: the OCR engine and its inference runtime.
        ocr_models: each OCR model file with the first 16 hex digits of its SHA-256.
        platform: the operating system and C library.
    """

    version: str
    revision: str
    python: str
    qt: str
    sqlite: str
    libmagic: str
    ffmpeg: str
    ocr_engine: str
    ocr_models: tuple[str, ...]
    platform: str

    def rows(self) -> list[tuple[str, str]]:
        """Return ``(label, value)`` pairs in the order they are printed."""
        return [("Casetrail", self.version), ("Built from", self.revision), ("Python", self.python),
                ("Qt", self.qt), ("SQLite", self.sqlite), ("libmagic", self.libmagic),
                ("FFmpeg", self.ffmpeg), ("OCR engine", self.ocr_engine),
                ("OCR models", "; ".join(self.ocr_models) or _UNKNOWN), ("Platform", self.platform)]

    def text(self) -> str:
        """Return the block ``casetrail --version`` prints: its first line is ``casetrail VERSION``."""
        lines = [f"casetrail {self.version}"]
        for label, value in self.rows()[1:]:
            if label == "OCR models":
                models = self.ocr_models or (_UNKNOWN,)
                lines += [f"  {'OCR models:':<12}{models[0]}", *(f"  {'':<12}{m}" for m in models[1:])]
            else:
                lines.append(f"  {label + ':':<12}{value}")
        return "\n".join(lines)


def _dist_version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return _UNKNOWN


def _git_revision(root: Path) -> str | None:
    """Ask git for the checkout's commit, when Casetrail runs from one."""
    if not (root / ".git").exists():
        return None
    def git(*args: str) -> str:
        # A fixed git command line on our own checkout; no shell, no input from a case.
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,  # noqa: S603,S607
                              text=True, timeout=5, check=True).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{'-dirty' if dirty else ''}" if head else None


def revision() -> str:
    """Return the git commit this Casetrail was built from, or ``unknown``."""
    live = _git_revision(Path(__file__).resolve().parent.parent)
    if live:
        return live
    try:
        recorded = REVISION_FILE.read_text(encoding="utf-8").strip()
    except OSError:
        return _UNKNOWN
    return recorded or _UNKNOWN


def _ffmpeg() -> str:
    try:
        import av  # only to read which FFmpeg PyAV was built with; video.py decodes

        libs = getattr(av, "library_versions", {})
        avcodec = ".".join(str(n) for n in libs.get("libavcodec", ()))
        return f"{av.ffmpeg_version_info} (PyAV {av.__version__}, libavcodec {avcodec})"
    except ImportError:
        return _UNKNOWN


def _ocr_models() -> tuple[str, ...]:
    # Found without importing rapidocr (which loads onnxruntime and OpenCV): the models are
    # data files inside its package folder, where desktop.ingest.ocr loads them from.
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    out = []
    for model in sorted(folder.glob("*.onnx")):
        digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
        out.append(f"{model.name} (SHA-256 {digest}…)")
    return tuple(out)


def _platform() -> str:
    libc, libc_version = platform.libc_ver()
    base = f"{platform.system()} {platform.machine()}"
    return f"{base}, {libc} {libc_version}" if libc else base


@functools.cache
def build_info() -> BuildInfo:
    """Return what this installation is (computed once per process: about 0.3 s)."""
    impl = platform.python_implementation()
    frozen = " (bundled)" if getattr(sys, "frozen", False) else ""
    return BuildInfo(
        version=__version__,
        revision=revision(),
        python=f"{impl} {platform.python_version()}{frozen}",
        qt=f"{_dist_version('PySide6-Essentials')} (PySide6)",
        sqlite=sqlite3.sqlite_version,
        libmagic=detect.libmagic_version(),
        ffmpeg=_ffmpeg(),
        ocr_engine=f"RapidOCR {_dist_version('rapidocr')} on ONNX Runtime {_dist_version('onnxruntime')}",
        ocr_models=_ocr_models(),
        platform=_platform(),
    )
