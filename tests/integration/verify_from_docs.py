# SPDX-License-Identifier: GPL-3.0-or-later
"""An independent check of a Casetrail case, written from docs/verification.md alone.

Written without looking at Casetrail's code (nor at packaging/verify_case.py), as an opposing
expert would, to show that the document is enough: §3 (the chain, with the JCS equivalence the
document states for objects of strings, integers and nulls), §4.1 (vault hashes), §5 (checkpoint
signatures and heads) and §6 (the ledger's receipts). Usage: verify_from_docs.py CASE [LEDGER]
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MEMBERS = ["seq", "at", "action", "item_id", "examiner", "os_user", "host", "source", "reason", "tool",
           "sha256", "hash_before", "hash_after", "result", "detail", "prev_hash"]


def main(case: Path, ledger: Path | None) -> list[str]:
    bad: list[str] = []
    db = sqlite3.connect(f"file:{case / 'case.sqlite'}?mode=ro", uri=True)
    rows = db.execute(f"SELECT {', '.join(MEMBERS)}, entry_hash FROM custody ORDER BY seq").fetchall()  # noqa: S608
    prev, heads = "0" * 64, {}
    for n, row in enumerate(rows, 1):
        obj = dict(zip(MEMBERS, row[:16], strict=True))
        canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
        if obj["seq"] != n or obj["prev_hash"] != prev or digest != row[16]:
            bad.append(f"chain breaks at entry {n}")
            break
        prev = heads[n] = row[16]
    for item_id, sha in db.execute("SELECT id, sha256 FROM items"):
        blob = case / "vault" / sha[:2] / sha[2:4] / sha
        if not blob.is_file() or hashlib.sha256(blob.read_bytes()).hexdigest() != sha:
            bad.append(f"item {item_id}: vault copy missing or changed")
    case_id = dict(db.execute("SELECT key, value FROM case_meta"))["case_id"]
    receipts = [dict(zip(("custody_seq", "head", "at", "key_id", "public_key", "signature", "export",
                          "content_sha256", "message_format"), r, strict=True))
                for r in db.execute("SELECT custody_seq, head, at, key_id, public_key, signature, export, "
                                    "content_sha256, message_format FROM checkpoints")]
    if ledger is not None and ledger.is_file():
        receipts += [r for r in map(json.loads, ledger.read_text().splitlines())
                     if r.get("type") == "receipt" and r.get("case_id") == case_id]
    for r in receipts:
        lines = [r["message_format"], case_id, str(r["custody_seq"]), r["head"]]
        if r["message_format"] == "casetrail-checkpoint-v2":
            lines += [r["at"], r["export"], r["content_sha256"]]
        key = base64.b64decode(r["public_key"])
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(r["signature"]),
                                                           "\n".join(lines).encode())
        except Exception:  # any failure to check is a failure
            bad.append(f"receipt at seq {r['custody_seq']}: bad signature")
        if hashlib.sha256(key).hexdigest()[:16] != r["key_id"]:
            bad.append(f"receipt at seq {r['custody_seq']}: key id does not match")
        if r["custody_seq"] and heads.get(r["custody_seq"]) != r["head"]:
            bad.append(f"receipt at seq {r['custody_seq']}: the case no longer has that head")
    return bad


if __name__ == "__main__":
    found = main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    print("\n".join(found) or "intact")
    sys.exit(1 if found else 0)
