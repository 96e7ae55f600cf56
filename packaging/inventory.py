# SPDX-License-Identifier: GPL-3.0-or-later
"""What Casetrail carries: every Python distribution, native library, font and data set, with its licence.

One inventory feeds both ``THIRD-PARTY-NOTICES`` (``notices.py``) and the CycloneDX SBOM
(``sbom.py``), so the two never disagree. Python distributions are read from the environment that
runs this module (``importlib.metadata``): the requirement closure of ``casetrail`` (the runtime)
and of its ``test`` extra (tools that travel in the wheelhouse only). Their licence comes from the
distribution's own metadata (``License-Expression``, a ``License`` field that is a valid SPDX
expression, or an unambiguous classifier); where a wheel says too little, :data:`LICENCE_OVERRIDES`
says what its licence text says, and :func:`unresolved` names what is still unknown, so a new
dependency cannot slip in without a notice (``tests/unit/test_notices.py``).

Native libraries vendored inside wheels (``<dist>.libs/*.so``, Qt inside PySide6, PDFium inside
pypdfium2) and the data in ``resources/`` are described in :data:`EMBEDDED`; every vendored
library file must match one of its patterns.

This module never touches the network and never writes anything.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata as md
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = "casetrail"
REPO = Path(__file__).resolve().parent.parent

# Licence texts Casetrail supplies itself, for components whose wheels carry none; shipped in the
# wheel as ``casetrail_resources/licenses/`` (and in the bundle under ``resources/licenses/``).
OWN_TEXTS = "casetrail_resources/licenses"

_LICENCE_FILE = re.compile(r"(^|/)(licen[cs]e|copying|notice|authors|thirdpartynotices|"
                           r"model_licenses|license_geos|build_licenses)[^/]*$", re.IGNORECASE)

_CLASSIFIERS = {
    "MIT License": "MIT",
    "Apache Software License": "Apache-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "ISC License (ISCL)": "ISC",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "Python Software Foundation License": "PSF-2.0",
}

# What the licence text in the wheel says, where its metadata is ambiguous ("BSD", "GPL") or
# missing. Each value was read from the distribution's own licence file.
LICENCE_OVERRIDES: dict[str, str] = {
    "antlr4-python3-runtime": "BSD-3-Clause",
    "click-default-group": "BSD-3-Clause",
    "easygui": "BSD-3-Clause",
    "extract-msg": "GPL-3.0-only",
    "flatbuffers": "Apache-2.0",
    "scipy": "BSD-3-Clause",  # dist-info/LICENSE.txt: the 3-clause BSD text (bundled parts listed there)
    "olefile": "BSD-2-Clause",
    "oletools": "BSD-2-Clause",
    "onnxruntime": "MIT",
    "pcodedmp": "GPL-3.0-or-later",
    "reportlab": "BSD-3-Clause",
    "rtfde": "LGPL-3.0-or-later",
    "sqlite-fts4": "Apache-2.0",
    # Sharing (issue 17): each says "BSD"; their licence texts are the 3-clause BSD licence.
    "cybox": "BSD-3-Clause",
    "itsdangerous": "BSD-3-Clause",  # medallion's Flask (tests)
    "jinja2": "BSD-3-Clause",  # medallion's Flask (tests)
    "maec": "BSD-3-Clause",
    "medallion": "BSD-3-Clause",
    "mixbox": "BSD-3-Clause",
    "stix": "BSD-3-Clause",
    "stix-edh": "BSD-3-Clause",
    "taxii2-client": "BSD-3-Clause",
    "stix2": "BSD-3-Clause",
    "stix2-patterns": "BSD-3-Clause",
    "stix2-validator": "BSD-3-Clause",
    "sortedcontainers": "Apache-2.0",
    "cpe": "LGPL-3.0-only",
    "python-dateutil": "Apache-2.0 AND BSD-3-Clause",
    "isoduration": "ISC",
    "omegaconf": "BSD-3-Clause",
    "rfc3339-validator": "MIT",
    "rfc3986-validator": "MIT",
    "protobuf": "BSD-3-Clause",
    "uri-template": "MIT",
    "opencv-python-headless": "Apache-2.0",
    "imagehash": "BSD-2-Clause",
    "pypdfium2": "Apache-2.0 OR BSD-3-Clause",
    "python-bidi": "LGPL-3.0-or-later",
    "arrow": "Apache-2.0",
    "colorama": "BSD-3-Clause",
    "grimp": "BSD-2-Clause",
    "import-linter": "BSD-2-Clause",
    "markdown-it-py": "MIT",
    "mdurl": "MIT",
    "pathspec": "MPL-2.0",
}

# Licence texts for distributions whose wheel has none of its own (path relative to site-packages).
TEXT_OVERRIDES: dict[str, list[str]] = {
    "pyside6-essentials": [f"{OWN_TEXTS}/LGPL-3.0-only.txt", f"{OWN_TEXTS}/GPL-3.0-only.txt"],
    "shiboken6": [f"{OWN_TEXTS}/LGPL-3.0-only.txt", f"{OWN_TEXTS}/GPL-3.0-only.txt"],
    "flatbuffers": [f"{OWN_TEXTS}/Apache-2.0.txt"],
    "antlr4-python3-runtime": [f"{OWN_TEXTS}/BSD-3-Clause-antlr4.txt"],
    "ordered-set": [f"{OWN_TEXTS}/MIT-X11.txt"],  # MIT by its classifier; the wheel carries no text
}


@dataclass(frozen=True)
class Component:
    """One thing Casetrail carries, with its licence.

    Attributes:
        name: the component's own name (the distribution name for Python packages).
        version: its version, or ``""`` when the component does not state one.
        licence: an SPDX licence expression (``LicenseRef-`` for non-SPDX terms).
        texts: where the licence text is: paths relative to site-packages (an installation) or to
            the bundle's ``licenses/`` folder.
        kind: ``python`` (a distribution), ``native`` (a library inside a wheel or the bundle),
            ``data`` (fonts, lists, models).
        scope: ``runtime`` (runs with Casetrail) or ``test`` (travels in the wheelhouse only).
        inside: for embedded parts, the distribution or folder they come in.
        files: the files of it found in this installation (native libraries), relative.
        note: anything a reader must know (a GPL combination, a source offer).
        purl: its package URL, for the SBOM.
    """

    name: str
    version: str
    licence: str
    texts: tuple[str, ...]
    kind: str
    scope: str = "runtime"
    inside: str = ""
    files: tuple[str, ...] = ()
    note: str = ""
    purl: str = ""


@dataclass(frozen=True)
class Embedded:
    """A component inside a wheel or the resources folder, described by hand.

    Attributes:
        name, licence, texts, note: as in :class:`Component`.
        inside: the distribution (canonical name) or ``resources`` it comes in.
        patterns: glob patterns (relative to site-packages) of its files; a pattern that matches
            nothing is reported by :func:`unresolved`, so a stale entry is noticed too.
        version: its version, or a callable name resolved by :func:`_embedded_version`.
    """

    name: str
    licence: str
    inside: str
    patterns: tuple[str, ...]
    texts: tuple[str, ...]
    version: str = ""
    note: str = ""
    upstream: str = ""
    optional: bool = False
    extra: dict[str, str] = field(default_factory=dict)


_FFMPEG_NOTE = ("PyAV's FFmpeg is configured as LGPL-3.0-or-later (--enable-version3) and linked with "
                "x264 and x265, which are GPL-2.0-or-later; the combination is distributed under the "
                "GPL (compatible with Casetrail's GPL-3.0-or-later). The corresponding source is "
                "FFmpeg's release tarball of this version and PyAV's build scripts "
                "(https://github.com/PyAV-Org/pyav-ffmpeg); it is available from the Casetrail "
                "maintainers on request for three years from the date of this release.")

EMBEDDED: tuple[Embedded, ...] = (
    # -- Qt, inside PySide6-Essentials ------------------------------------------------------
    Embedded("Qt", "LGPL-3.0-only", "pyside6-essentials",
             ("PySide6/Qt/lib/libQt6*", "PySide6/Qt/plugins/*", "PySide6/Qt/libexec/*",
              "PySide6/Qt/qml/*", "PySide6/Qt/translations/*", "PySide6/Qt/metatypes/*"),
             (f"{OWN_TEXTS}/LGPL-3.0-only.txt",), version="@pyside6",
             note="Qt 6 libraries used under the LGPL-3.0: they are shipped as separate shared "
                  "libraries that can be replaced; Qt's source is at https://download.qt.io/.",
             upstream="https://www.qt.io/"),
    Embedded("ICU (inside Qt)", "Unicode-3.0", "pyside6-essentials", ("PySide6/Qt/lib/libicu*",),
             (f"{OWN_TEXTS}/LGPL-3.0-only.txt",), optional=True),
    # -- FFmpeg and codecs, inside PyAV -------------------------------------------------------
    Embedded("FFmpeg", "LGPL-3.0-or-later", "av",
             ("av.libs/libavcodec-*", "av.libs/libavformat-*", "av.libs/libavutil-*",
              "av.libs/libavdevice-*", "av.libs/libavfilter-*", "av.libs/libswscale-*",
              "av.libs/libswresample-*"),
             (f"{OWN_TEXTS}/LGPL-3.0-only.txt",), version="@ffmpeg", note=_FFMPEG_NOTE,
             upstream="https://ffmpeg.org/"),
    Embedded("x264", "GPL-2.0-or-later", "av", ("av.libs/libx264-*",),
             (f"{OWN_TEXTS}/GPL-2.0-only.txt",), note="Linked into PyAV's FFmpeg (see FFmpeg).",
             upstream="https://www.videolan.org/developers/x264.html"),
    Embedded("x265", "GPL-2.0-or-later", "av", ("av.libs/libx265-*",),
             (f"{OWN_TEXTS}/GPL-2.0-only.txt",), note="Linked into PyAV's FFmpeg (see FFmpeg).",
             upstream="https://www.x265.org/"),
    Embedded("dav1d", "BSD-2-Clause", "av", ("av.libs/libdav1d-*",), (f"{OWN_TEXTS}/BSD-2-Clause.txt",)),
    Embedded("SVT-AV1", "BSD-3-Clause-Clear", "av", ("av.libs/libSvtAv1Enc-*",),
             (f"{OWN_TEXTS}/BSD-3-Clause.txt",)),
    Embedded("libvpx", "BSD-3-Clause", "av", ("av.libs/libvpx-*",), (f"{OWN_TEXTS}/BSD-3-Clause.txt",)),
    Embedded("LAME", "LGPL-2.0-or-later", "av", ("av.libs/libmp3lame-*",),
             (f"{OWN_TEXTS}/LGPL-2.1-only.txt",)),
    Embedded("opencore-amr", "Apache-2.0", "av", ("av.libs/libopencore-amr*",),
             (f"{OWN_TEXTS}/Apache-2.0.txt",)),
    Embedded("Opus", "BSD-3-Clause", "av", ("av.libs/libopus-*",), (f"{OWN_TEXTS}/BSD-3-Clause.txt",)),
    Embedded("libwebp", "BSD-3-Clause", "av",
             ("av.libs/libwebp*", "av.libs/libsharpyuv-*"), (f"{OWN_TEXTS}/BSD-3-Clause.txt",)),
    Embedded("GnuTLS", "LGPL-2.1-or-later", "av", ("av.libs/libgnutls-*",),
             (f"{OWN_TEXTS}/LGPL-2.1-only.txt",)),
    Embedded("Nettle", "LGPL-3.0-or-later OR GPL-2.0-or-later", "av",
             ("av.libs/libnettle-*", "av.libs/libhogweed-*"), (f"{OWN_TEXTS}/LGPL-3.0-only.txt",)),
    Embedded("GMP", "LGPL-3.0-or-later OR GPL-2.0-or-later", "av", ("av.libs/libgmp-*",),
             (f"{OWN_TEXTS}/LGPL-3.0-only.txt",)),
    Embedded("libunistring", "LGPL-3.0-or-later OR GPL-2.0-or-later", "av", ("av.libs/libunistring-*",),
             (f"{OWN_TEXTS}/LGPL-3.0-only.txt",)),
    Embedded("oneVPL", "MIT", "av", ("av.libs/libvpl-*",), (f"{OWN_TEXTS}/MIT-X11.txt",)),
    Embedded("ALSA library", "LGPL-2.1-or-later", "av", ("av.libs/libasound-*",),
             (f"{OWN_TEXTS}/LGPL-2.1-only.txt",)),
    Embedded("libxcb, libXau, libdrm", "MIT", "av",
             ("av.libs/libxcb*", "av.libs/libXau-*", "av.libs/libdrm-*"), (f"{OWN_TEXTS}/MIT-X11.txt",)),
    # -- numpy, OpenCV, Pillow, Shapely: their wheels' licence files list these ------------------
    Embedded("OpenBLAS, libgfortran, libquadmath (in numpy)",
             "BSD-3-Clause AND GPL-3.0-or-later WITH GCC-exception-3.1 AND LGPL-2.1-or-later", "numpy",
             ("numpy.libs/*",), ("numpy-{version}.dist-info/licenses/LICENSE.txt",)),
    Embedded("OpenBLAS, libgfortran, libquadmath (in SciPy, under datasketch and imagehash)",
             "BSD-3-Clause AND GPL-3.0-or-later WITH GCC-exception-3.1 AND LGPL-2.1-or-later", "scipy",
             ("scipy.libs/*",), ("scipy-{version}.dist-info/LICENSE.txt",)),
    Embedded("FFmpeg, libaom, libavif, libvpx, libpng, OpenSSL 1.1.1, OpenBLAS (in OpenCV)",
             "LGPL-2.1-or-later AND BSD-2-Clause AND BSD-3-Clause AND Libpng AND OpenSSL",
             "opencv-python-headless",
             ("opencv_python_headless.libs/*",),
             ("opencv_python_headless-{version}.dist-info/LICENSE-3RD-PARTY.txt",)),
    Embedded("libjpeg-turbo, libpng, libtiff, FreeType, HarfBuzz, Little CMS, libwebp, OpenJPEG, libavif, "
             "Brotli, XZ, Zstandard, libxcb (in Pillow)",
             "IJG AND BSD-3-Clause AND Libpng AND libtiff AND FTL AND MIT AND BSD-2-Clause AND 0BSD",
             "pillow", ("pillow.libs/*",), ("pillow-{version}.dist-info/licenses/LICENSE",)),
    Embedded("qpdf (in pikepdf)", "Apache-2.0", "pikepdf", ("pikepdf.libs/libqpdf-*",),
             ("pikepdf-{version}.dist-info/licenses/third-party-licenses/qpdf.txt",),
             upstream="https://qpdf.sourceforge.io/"),
    Embedded("libjpeg-turbo (in pikepdf)", "IJG AND BSD-3-Clause AND Zlib", "pikepdf",
             ("pikepdf.libs/libjpeg-*",),
             ("pikepdf-{version}.dist-info/licenses/third-party-licenses/libjpeg-turbo.txt",)),
    Embedded("GEOS (in Shapely)", "LGPL-2.1-or-later", "shapely", ("shapely.libs/*",),
             ("shapely-{version}.dist-info/licenses/LICENSE_GEOS",)),
    Embedded("PDFium (in pypdfium2)", "BSD-3-Clause AND Apache-2.0", "pypdfium2",
             ("pypdfium2_raw/libpdfium*",),
             ("pypdfium2-{version}.dist-info/licenses/BUILD_LICENSES/pdfium.txt",),
             version="@pdfium"),
    Embedded("PP-OCR models (PaddleOCR, converted to ONNX by RapidOCR)", "Apache-2.0", "rapidocr",
             ("rapidocr/models/*.onnx",), ("rapidocr-{version}.dist-info/licenses/MODEL_LICENSES.md",),
             version="@ocr_models", upstream="https://github.com/PaddlePaddle/PaddleOCR"),
    # -- resources/: fonts and reference data ------------------------------------------------------
    Embedded("DejaVu fonts", "Bitstream-Vera AND LicenseRef-DejaVu-public-domain", "resources",
             ("casetrail_resources/fonts/DejaVu*.ttf",), ("casetrail_resources/fonts/DejaVu.LICENSE.txt",),
             version="2.37"),
    Embedded("Droid Sans Fallback font", "Apache-2.0", "resources",
             ("casetrail_resources/fonts/DroidSansFallback*.ttf",),
             ("casetrail_resources/fonts/DroidSansFallback.LICENSE.txt",), version="6.0.1r16"),
    Embedded("NanumSquare font", "OFL-1.1", "resources", ("casetrail_resources/fonts/NanumSquare*.ttf",),
             ("casetrail_resources/fonts/NanumSquare.LICENSE.txt",), version="20200506"),
    Embedded("MISP warninglists", "CC0-1.0", "resources",
             ("casetrail_resources/data/warninglists/*.json",),
             ("casetrail_resources/data/warninglists/LICENSE.md",),
             upstream="https://github.com/MISP/misp-warninglists"),
    Embedded("MISP taxonomies", "CC0-1.0", "resources", ("casetrail_resources/data/taxonomies/*.json",),
             ("casetrail_resources/data/taxonomies/LICENSE.md",),
             upstream="https://github.com/MISP/misp-taxonomies"),
    Embedded("IANA top-level domains (from the MISP warninglist)", "CC0-1.0", "resources",
             ("casetrail_resources/data/tlds.txt",), ("casetrail_resources/data/tlds.LICENSE.md",)),
    Embedded("MITRE ATT&CK Enterprise techniques", "LicenseRef-MITRE-ATTACK-Terms-of-Use", "resources",
             ("casetrail_resources/data/attack-techniques.json",),
             ("casetrail_resources/data/attack-techniques.LICENSE.md",), version="18.1",
             upstream="https://attack.mitre.org/"),
)

def _marker_ok(marker: Marker | None, extra: str) -> bool:
    return marker is None or marker.evaluate({"extra": extra})


def _requirements(name: str, extras: Iterable[str]) -> Iterator[Requirement]:
    for raw in md.requires(name) or []:
        req = Requirement(raw)
        if _marker_ok(req.marker, "") or any(_marker_ok(req.marker, e) for e in extras):
            yield req


def closure(extra: str | None = None) -> dict[str, md.Distribution]:
    """Return the installed distributions Casetrail needs (its runtime, or one extra's additions).

    Args:
        extra: None for the runtime closure; ``"test"`` for what the test extra adds to it.
    """
    def walk(start: list[Requirement]) -> dict[str, md.Distribution]:
        seen: dict[str, md.Distribution] = {}
        todo = list(start)
        while todo:
            req = todo.pop()
            key = canonicalize_name(req.name)
            if key in seen or key == ROOT:
                continue
            try:
                dist = md.distribution(req.name)
            except md.PackageNotFoundError:
                continue  # a marker-excluded or optional dependency that is not installed
            seen[key] = dist
            todo.extend(_requirements(req.name, req.extras))
        return seen

    runtime_reqs = [r for r in (Requirement(x) for x in md.requires(ROOT) or []) if _marker_ok(r.marker, "")]
    runtime = walk(runtime_reqs)
    if extra is None:
        return runtime
    extra_reqs = [r for r in (Requirement(x) for x in md.requires(ROOT) or [])
                  if not _marker_ok(r.marker, "") and _marker_ok(r.marker, extra)]
    return {k: v for k, v in walk(extra_reqs).items() if k not in runtime}


def _spdx(text: str | None) -> str | None:
    if not text or "\n" in text.strip() or len(text) > 120:
        return None
    try:
        return str(canonicalize_license_expression(text.strip()))
    except InvalidLicenseExpression:
        return None


def licence_of(dist: md.Distribution) -> str:
    """Return the SPDX expression of a distribution's licence, or ``""`` when it cannot be told."""
    name = canonicalize_name(dist.metadata["Name"])
    if name in LICENCE_OVERRIDES:
        return LICENCE_OVERRIDES[name]
    for field_name in ("License-Expression", "License"):
        values = dist.metadata.get_all(field_name) or []
        found = _spdx(values[0] if values else None)
        if found:
            return found
    classified = {_CLASSIFIERS.get(c.split(" :: ")[-1]) for c in dist.metadata.get_all("Classifier") or []
                  if c.startswith("License :: OSI Approved :: ")}
    classified.discard(None)
    return next(iter(classified)) if len(classified) == 1 else ""  # type: ignore[return-value]


def licence_texts(dist: md.Distribution) -> tuple[str, ...]:
    """Return the licence files a distribution installs, relative to site-packages."""
    name = canonicalize_name(dist.metadata["Name"])
    if name in TEXT_OVERRIDES:
        return tuple(TEXT_OVERRIDES[name])
    found = [str(f) for f in dist.files or []
             if (_LICENCE_FILE.search(str(f)) or ".dist-info/licenses/" in str(f))
             and not str(f).endswith((".pyc", ".py")) and "__pycache__" not in str(f)]
    in_meta = [f for f in found if ".dist-info/" in f]
    return tuple(sorted(in_meta or found))


def site_packages() -> Path:
    """Return the site-packages folder the inventory reads (where ``casetrail``'s deps are)."""
    return Path(str(md.distribution("reportlab").locate_file("")))


def _version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return ""


def _embedded_version(entry: Embedded) -> str:
    if entry.version == "@pyside6":
        return _version("PySide6-Essentials")
    if entry.version == "@ffmpeg":
        try:
            import av  # only to read the version string of the FFmpeg it was built with

            return str(av.ffmpeg_version_info)
        except ImportError:
            return ""
    if entry.version == "@pdfium":
        info = site_packages() / "pypdfium2_raw" / "version.json"
        try:
            return f"build {json.loads(info.read_text())['build']}"
        except (OSError, ValueError, KeyError):
            return ""
    if entry.version == "@ocr_models":
        return f"as shipped in rapidocr {_version('rapidocr')}"
    return entry.version


def _resources_root() -> Path:
    from desktop.resources import resources_root

    return resources_root()


def _match(entry: Embedded, root: Path) -> list[str]:
    out: list[str] = []
    for pattern in entry.patterns:
        if entry.inside == "resources":
            base = _resources_root()
            rel = pattern.removeprefix("casetrail_resources/")
            out += [f"casetrail_resources/{p.relative_to(base)}" for p in sorted(base.glob(rel))]
        else:
            out += [str(p.relative_to(root)) for p in sorted(root.glob(pattern))]
    return out


def _fill(text: str, entry: Embedded) -> str:
    return text.replace("{version}", _version(entry.inside))


def components() -> list[Component]:
    """Return everything Casetrail carries: distributions, embedded libraries and data, in that order."""
    out: list[Component] = []
    for scope, dists in (("runtime", closure()), ("test", closure("test"))):
        for key in sorted(dists):
            dist = dists[key]
            version = dist.version
            out.append(Component(dist.metadata["Name"], version, licence_of(dist), licence_texts(dist),
                                 "python", scope, purl=f"pkg:pypi/{key}@{version}"))
    root = site_packages()
    for entry in EMBEDDED:
        files = _match(entry, root)
        kind = "data" if entry.inside == "resources" or entry.name.startswith("PP-OCR") else "native"
        version = _embedded_version(entry)
        slug = re.sub(r"[^a-z0-9]+", "-", entry.name.lower()).strip("-")
        inside = entry.inside if entry.inside == "resources" else f"{entry.inside} {_version(entry.inside)}"
        out.append(Component(entry.name, version, entry.licence, tuple(_fill(t, entry) for t in entry.texts),
                             kind, inside=inside, files=tuple(files), note=entry.note,
                             purl=f"pkg:generic/{slug}@{version}" if version else f"pkg:generic/{slug}"))
    return out


def vendored_libraries(root: Path | None = None) -> list[str]:
    """Return every native library vendored inside the installed wheels, relative to site-packages.

    These are the files auditwheel copied into ``<dist>.libs/`` and the libraries PySide6 and
    pypdfium2 carry; each must be covered by an :data:`EMBEDDED` entry.
    """
    root = root or site_packages()
    names = {canonicalize_name(n) for n in list(closure()) + list(closure("test"))}
    found: list[str] = []
    for libs in sorted(root.glob("*.libs")):
        owner = canonicalize_name(libs.name.removesuffix(".libs"))
        if owner in names:
            found += [str(p.relative_to(root)) for p in sorted(libs.iterdir()) if ".so" in p.name]
    found += [str(p.relative_to(root)) for p in sorted((root / "PySide6" / "Qt" / "lib").glob("lib*.so*"))]
    found += [str(p.relative_to(root)) for p in sorted((root / "pypdfium2_raw").glob("lib*.so*"))]
    return found


def unresolved() -> list[str]:
    """Say what the inventory cannot account for; empty when every component has a notice.

    Fails closed: a distribution whose licence cannot be told, a licence text that is not there,
    a vendored library no entry covers, or an entry that matches nothing is each one line.
    """
    problems: list[str] = []
    root = site_packages()
    comps = components()
    for c in comps:
        if c.kind == "python" and not c.licence:
            problems.append(f"{c.name} {c.version}: its licence cannot be told from its metadata; "
                            "read its licence text and add it to LICENCE_OVERRIDES")
        if not c.texts:
            problems.append(f"{c.name} {c.version}: no licence text found; add one to TEXT_OVERRIDES")
        for text in c.texts:
            if not _exists(root, text):
                problems.append(f"{c.name}: its licence text {text} is not installed")
        if c.kind != "python" and not c.files:
            entry = next(e for e in EMBEDDED if e.name == c.name)
            if not entry.optional:
                problems.append(f"{c.name}: no file matches {', '.join(entry.patterns)} (a stale entry?)")
    covered = {f for c in comps for f in c.files}
    for lib in vendored_libraries(root):
        if lib not in covered and not any(fnmatch.fnmatch(lib, p) for e in EMBEDDED for p in e.patterns):
            problems.append(f"{lib}: a vendored native library with no entry in EMBEDDED")
    return problems


def _exists(root: Path, text: str) -> bool:
    if text.startswith("casetrail_resources/"):
        return (_resources_root() / text.removeprefix("casetrail_resources/")).is_file()
    return (root / text).is_file()


# -- the bundle: what PyInstaller took from the build machine -------------------------------------

# Licences of the Debian packages whose libraries the bundle carries most visibly; every other
# package is named with its Debian copyright file, which is copied into the bundle.
DEBIAN_LICENCES = {
    "libmagic1": "BSD-2-Clause", "libmagic-mgc": "BSD-2-Clause",
    "libxcb-cursor0": "MIT", "libxkbcommon-x11-0": "MIT", "libxkbcommon0": "MIT",
}


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    # dpkg's own query tools on the build machine, no shell, arguments we made.
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)  # noqa: S603


def _dpkg_owner(name: str) -> tuple[str, str] | None:
    for folder in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib"):
        path = Path(folder) / name
        if not path.exists():
            continue
        found = _run("dpkg", "-S", str(path))
        if found.returncode != 0:
            found = _run("dpkg", "-S", str(path.resolve()))
        if found.returncode == 0:
            package = found.stdout.split(":", 1)[0].strip()
            version = _run("dpkg-query", "-W", "-f=${Version}", package).stdout.strip()
            return package, version
    return None


def bundle_components(bundle: Path) -> tuple[list[Component], list[str]]:
    """Return the bundle's own components (system libraries, CPython, the bootloader), and problems.

    Every shared library in the bundle either came from a wheel (already in :func:`components`)
    or from the build machine; each of the latter is traced to its Debian package with ``dpkg``,
    and that package's copyright file is copied to ``_internal/licenses/debian/``. A library that
    cannot be traced is a problem: the bundle must not carry what its notices do not name.
    """
    internal = bundle / "_internal"
    from_wheels = {p.name for p in site_packages().rglob("*.so*")}
    packages: dict[str, tuple[str, list[str]]] = {}
    problems: list[str] = []
    cpython: list[str] = []
    for lib in sorted(internal.rglob("*.so*")):
        if lib.name in from_wheels or not lib.is_file():
            continue
        if lib.name.startswith("libpython3") or "lib-dynload" in lib.parts:
            cpython.append(str(lib.relative_to(internal)))
            continue
        owner = _dpkg_owner(lib.name)
        if owner is None:
            problems.append(f"{lib.relative_to(internal)}: a library from the build machine that no "
                            "Debian package owns")
            continue
        packages.setdefault(owner[0], (owner[1], []))[1].append(str(lib.relative_to(internal)))
    if (internal / "magic" / "magic.mgc").exists():
        owner = _dpkg_owner("libmagic.so.1")
        packages.setdefault("libmagic-mgc", (owner[1] if owner else "", []))[1].append("magic/magic.mgc")
    out: list[Component] = []
    target = internal / "licenses" / "debian"
    target.mkdir(parents=True, exist_ok=True)
    for package, (version, files) in sorted(packages.items()):
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        texts: tuple[str, ...] = ()
        if copyright_file.is_file():
            (target / f"{package}.copyright").write_bytes(copyright_file.read_bytes())
            texts = (f"licenses/debian/{package}.copyright",)
        else:
            problems.append(f"{package}: no /usr/share/doc/{package}/copyright to carry")
        licence = DEBIAN_LICENCES.get(package, "LicenseRef-Debian-copyright-file")
        out.append(Component(package, version, licence, texts, "native", inside="bundle",
                             files=tuple(files),
                             purl=f"pkg:deb/debian/{package}@{version}?arch=amd64"))
    py = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    out.append(Component("CPython", py, "PSF-2.0", (f"{OWN_TEXTS}/PSF-2.0.txt",), "native",
                         inside="bundle", files=tuple(cpython), purl=f"pkg:generic/cpython@{py}"))
    out.append(Component("PyInstaller bootloader", _version("pyinstaller"),
                         "GPL-2.0-or-later WITH Bootloader-exception",
                         (f"{OWN_TEXTS}/GPL-2.0-only.txt",), "native", inside="bundle",
                         files=("casetrail",), note="The bundle's executable is PyInstaller's bootloader, "
                         "whose licence lets it start programs under any licence.",
                         purl=f"pkg:pypi/pyinstaller@{_version('pyinstaller')}"))
    return out, problems
