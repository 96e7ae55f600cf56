# SPDX-License-Identifier: GPL-3.0-or-later
"""Build a case from the shared mail corpora and dump every analysis output, to compare two revisions.

A speed change to the mail path (parsing, indicator extraction, the analysis children, the
writer) must leave every result as it was. This script imports the shared corpora into a fresh
case and writes what an analyst can read of it, in a stable form:

- ``casetrail items --json``, ``indicators --json``, ``campaigns --json``;
- ``custody --json`` with what differs between two runs of the same code removed: times and
  the values bound to them (entry hashes, the chain, signatures), the case's own id and paths.

Usage::

    .venv/bin/python tests/bench/mail_identical.py dump OUT.json [--corpus DIR ...]
    .venv/bin/python tests/bench/mail_identical.py compare BEFORE.json AFTER.json

``dump`` runs the CLI of the interpreter it is started with (set ``PYTHONPATH`` to a checkout of
another revision to dump that one). ``compare`` prints the first differences and exits 1 if any.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
DEFAULT = ["phishing-dev", "mail-parser", "msg", "pst"]

# Keys whose values change from one run of the same code to the next.
# Indicator ids too are given in the order analyses finish (two children), and digests over rows
# that hold them (an item's findings_sha256, the campaigns' fingerprint and snapshot) or campaign
# ids numbered from them differ with them; what they bind is compared by value instead (every
# occurrence of every indicator, every campaign with its members and indicators).
_VOLATILE = {"at", "acquired_at", "created_at", "entry_hash", "prev_hash", "seq", "case_id",
             "first_seen_at", "grouping_s", "elapsed_s", "findings_sha256", "fingerprint",
             "snapshot_sha256"}
_CAMPAIGN_ID = re.compile(r"^C\d+$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Keys holding item ids. Two analysis children finish in either order, so derived items (the
# attachments) get their ids, and custody its entries, in an order that varies between runs:
# items are renumbered by what they are (source path, or parent, how, name and hash).
_ITEM_KEYS = {"item_id", "parent_id", "same_as", "frame_item_id", "enhanced_item_id", "owner"}
_ITEM_LISTS = {"items", "derived_items", "item_ids"}
_ITEM_TEXT = re.compile(r"\b(items? )(\d+(?:, \d+)*)\b")
# A message rebuilt from an Outlook store got a random MIME boundary (email.generator) before
# boundaries were made from the content, so its hashes differed from one import to the next:
# they are replaced, to compare with revisions from before that.
_REBUILT = "outlook store message"


def _renumbering(items: list[dict[str, Any]]) -> dict[int, int]:
    by_id = {int(i["id"]): i for i in items}
    keys: dict[int, str] = {}

    def key(item_id: int) -> str:
        if item_id not in keys:
            it = by_id[item_id]
            if it.get("parent_id") is None:
                keys[item_id] = f"{it.get('source_path')}|{it['sha256']}"
            else:
                content = "" if it.get("derived_how") == _REBUILT else it["sha256"]
                keys[item_id] = (f"{key(int(it['parent_id']))}/{it.get('derived_how')}|{it.get('name')}|"
                                 f"{content}")
        return keys[item_id]

    ordered = sorted(by_id, key=lambda i: (key(i), i))
    return {old: new for new, old in enumerate(ordered, 1)}


def _scrub(value: Any, ids: dict[int, int], where: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _VOLATILE or (k == "id" and isinstance(v, str) and _CAMPAIGN_ID.match(v)):
                out[k] = "<volatile>"
            elif k == "row" and isinstance(v, dict) and v.get("key") == "campaigns_fingerprint":
                out[k] = {**v, "value": "<volatile>"}
            elif k in _ITEM_KEYS and isinstance(v, int):
                out[k] = ids.get(v, v)
            elif k in _ITEM_LISTS and isinstance(v, list):
                renumbered = [ids.get(x, x) if isinstance(x, int) else x for x in v]
                out[k] = renumbered if k == "derived_items" else sorted(renumbered)
            elif k == "detail" and isinstance(v, str) and v.startswith("{"):
                out[k] = _scrub(json.loads(v), ids, k)
            else:
                out[k] = _scrub(v, ids, k)
        if where == "item" and isinstance(out.get("id"), int):
            out["id"] = ids.get(out["id"], out["id"])
        return out
    if isinstance(value, list):
        return [_scrub(v, ids, "item" if where == "items" else where) for v in value]
    if isinstance(value, str):
        value = _UUID.sub("<uuid>", _TIME.sub("<time>", value))
        return _ITEM_TEXT.sub(lambda m: m.group(1) + ", ".join(
            str(n) for n in sorted(ids.get(int(x), int(x)) for x in m.group(2).split(", "))), value)
    return value


def _stable(entries: list[Any]) -> list[Any]:
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True, ensure_ascii=False))


def _ct(*args: str, env: dict[str, str]) -> Any:
    p = subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True, text=True,
                       env=env, check=False)
    if p.returncode not in (0, 1):
        raise SystemExit(f"casetrail {' '.join(args[:2])} exited {p.returncode}: {p.stderr[-800:]}")
    return p.stdout


def dump(out: Path, corpora: list[str]) -> None:
    """Import ``corpora`` into a fresh case and write its outputs to ``out``."""
    work = Path(tempfile.mkdtemp(prefix="casetrail-identical-"))
    env = dict(os.environ, CASETRAIL_HOME=str(work / "home"))
    case = work / "case.casetrail"
    _ct("new", str(case), "--title", "identical", "--examiner", "bench", env=env)
    sources = [str(CORPORA / c) for c in corpora if (CORPORA / c).exists()]
    _ct("import", str(case), *sources, env=env)
    raw = {what: json.loads(_ct(what, str(case), "--json", env=env))
           for what in ("items", "indicators", "campaigns", "custody")}
    raw_text = json.dumps(raw, ensure_ascii=False).replace(str(case), "<case>")
    out.with_suffix(".raw.json").write_text(raw_text)
    subprocess.run(["rm", "-rf", str(work)], check=False)
    scrub(json.loads(raw_text), corpora, out)


def scrub(raw: dict[str, Any], corpora: list[str], out: Path) -> None:
    """Write the outputs of a case (``raw``) to ``out`` in a form that two runs can be compared in."""
    ids = _renumbering(raw["items"])
    text = json.dumps(raw, ensure_ascii=False)
    for item in raw["items"]:
        if item.get("derived_how") == _REBUILT:
            for algo in ("sha256", "sha1", "md5"):
                text = text.replace(item[algo], f"<rebuilt message's {algo}>")
    raw = json.loads(text)
    result: dict[str, Any] = {"corpora": corpora}
    result["items"] = sorted(_scrub(raw["items"], ids, "items"), key=lambda i: i["id"])
    result["indicators"] = [{**ind, "occurrences": _stable(ind["occurrences"])}
                            for ind in _scrub(raw["indicators"], ids)]
    result["campaigns"] = _stable([{**c, "id": "<volatile>"} for c in _scrub(raw["campaigns"], ids)])
    result["custody"] = _stable(_scrub(raw["custody"], ids))
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(f"{out}: {len(result['items'])} items, {len(result['indicators'])} indicators, "
          f"{len(result['campaigns'])} campaigns, {len(result['custody'])} custody entries")


def _diff(a: Any, b: Any, where: str, out: list[str]) -> None:
    if len(out) >= 20:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{where}.{k}: only in {'after' if k not in a else 'before'}")
            else:
                _diff(a[k], b[k], f"{where}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} entries before, {len(b)} after")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{where}[{i}]", out)
    elif a != b:
        out.append(f"{where}: {str(a)[:200]!r} before, {str(b)[:200]!r} after")


def compare(before: Path, after: Path) -> int:
    """Print the differences between two dumps; 0 when there are none."""
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    out: list[str] = []
    _diff(a, b, "", out)
    for line in out:
        print(line)
    print("identical" if not out else f"DIFFERENT ({len(out)} differences shown, at most 20)")
    return 1 if out else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--corpus", action="append", help=f"folder of {CORPORA} (default: {DEFAULT})")
    r = sub.add_parser("scrub", help="redo the comparable form from a dump's .raw.json")
    r.add_argument("raw", type=Path)
    r.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = ap.parse_args()
    if args.cmd == "dump":
        if not CORPORA.is_dir():
            print(f"corpora {CORPORA} absent; nothing to dump")
            return 0
        dump(args.out, args.corpus or DEFAULT)
        return 0
    if args.cmd == "scrub":
        scrub(json.loads(args.raw.read_text()), DEFAULT, args.out)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
