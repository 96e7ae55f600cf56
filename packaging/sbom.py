# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the CycloneDX 1.5 SBOM of what ``make package`` ships (``dist/sbom.cdx.json``).

The same inventory as ``THIRD-PARTY-NOTICES`` (``inventory.py``): every Python distribution with
its package URL, licence and, when its wheel is in the wheelhouse, the wheel's SHA-256; the native
libraries inside the wheels; the fonts, reference data and OCR models; and, with ``--bundle``, what
the PyInstaller bundle took from the build machine (Debian packages, CPython, the bootloader).
The serial number is derived from the content, so the same inputs give the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inventory  # the sibling module, found through the line above

_TYPES = {"python": "library", "native": "library", "data": "data"}


def _wheel_hashes(wheelhouse: Path | None) -> dict[tuple[str, str], tuple[str, str]]:
    out: dict[tuple[str, str], tuple[str, str]] = {}
    if wheelhouse is None or not wheelhouse.is_dir():
        return out
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        key = (name.lower().replace("_", "-").replace(".", "-"), version)
        out[key] = (wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest())
    return out


def _component(c: inventory.Component, wheels: dict[tuple[str, str], tuple[str, str]]) -> dict[str, object]:
    entry: dict[str, object] = {"type": "data" if c.kind == "data" and not c.files else _TYPES[c.kind],
                                "bom-ref": c.purl or c.name, "name": c.name}
    if c.version:
        entry["version"] = c.version
    if c.purl:
        entry["purl"] = c.purl
    if c.licence:
        entry["licenses"] = [{"expression": c.licence}]
    props = [{"name": "casetrail:scope", "value": c.scope}]
    if c.inside:
        props.append({"name": "casetrail:inside", "value": c.inside})
    props += [{"name": "casetrail:licence-text", "value": t} for t in c.texts[:8]]
    entry["properties"] = props
    wheel = wheels.get((c.name.lower().replace("_", "-").replace(".", "-"), c.version))
    if wheel:
        entry["hashes"] = [{"alg": "SHA-256", "content": wheel[1]}]
        props.append({"name": "casetrail:wheel", "value": wheel[0]})
    if c.scope == "test":
        entry["scope"] = "excluded"  # in the wheelhouse for the tests; never run by Casetrail
    return entry


def build(wheelhouse: Path | None, bundle: Path | None) -> dict[str, object]:
    """Return the SBOM document."""
    comps = inventory.components()
    if bundle is not None:
        extra, problems = inventory.bundle_components(bundle)
        if problems:
            raise SystemExit("sbom: " + "; ".join(problems))
        comps += extra
    wheels = _wheel_hashes(wheelhouse)
    version = md.version(inventory.ROOT)
    components = [_component(c, wheels) for c in comps]
    body = json.dumps(components, sort_keys=True).encode()
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(body).hexdigest())}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "casetrail packaging/sbom.py",
                                      "version": version}]},
            "component": {"type": "application", "bom-ref": f"pkg:pypi/casetrail@{version}",
                          "name": "casetrail", "version": version, "purl": f"pkg:pypi/casetrail@{version}",
                          "licenses": [{"expression": "GPL-3.0-or-later"}]},
        },
        "components": components,
        "dependencies": [{"ref": f"pkg:pypi/casetrail@{version}",
                          "dependsOn": [c["bom-ref"] for c in components if c.get("scope") != "excluded"]}],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``sbom.py -o FILE [--wheelhouse DIR] [--bundle DIR]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--wheelhouse", type=Path)
    ap.add_argument("--bundle", type=Path)
    args = ap.parse_args(argv)
    doc = build(args.wheelhouse, args.bundle)
    args.output.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"sbom: wrote {args.output} ({len(doc['components'])} components)")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
