#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify a Casetrail case folder or case package without Casetrail (docs/verification.md).

Standard library and ``cryptography`` only; it imports nothing of Casetrail, so an opposing
expert can read all of it in an afternoon and run it on their own machine::

    python3 verify_case.py CASE.casetrail [--trusted-keys DIR] [--ledger FILE] [--against FILE] [--json]
    python3 verify_case.py PACKAGE.zip --trusted-keys DIR

Exit status: 0 intact, 1 a discrepancy found, 2 cannot open. It never writes to the case: the
database is opened with ``mode=ro`` (``immutable=1`` when the folder is read-only).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import re
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
FIELDS = ("seq", "at", "action", "item_id", "examiner", "os_user", "host", "source", "reason", "tool",
          "sha256", "hash_before", "hash_after", "result", "detail", "prev_hash")
REPLAYED = {"case_meta": ("key",), "hypotheses": ("id",), "evidence": ("id",),
            "ach_ratings": ("evidence_id", "hypothesis_id"), "judgments": ("id",), "notes": ("id",),
            "events": ("id",), "tags": ("id",), "checkpoints": ("id",), "recovery": ("path",),
            "blob_chunks": ("sha256",), "campaign_tags": ("campaign_id", "tag"), "key_findings": ("id",),
            "statements": ("id",), "distribution": ("id",), "briefing_settings": ("key",),
            "source_grades": ("sha256",)}
FINDINGS = {"emails": "SELECT item_id, * FROM emails", "hops": "SELECT item_id, * FROM hops",
            "media": "SELECT item_id, * FROM media", "ocr_lines": "SELECT item_id, * FROM ocr_lines",
            "occurrences": "SELECT o.item_id, o.*, i.type, i.value FROM occurrences o "
                           "JOIN indicators i ON i.id = o.indicator_id"}
SNAPSHOTS = {"intel": ("intel_matches", "intel_asn"), "campaigns": ("campaigns",)}
TRIGGERS = {
    "custody_no_update": "CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody\n"
                         "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: UPDATE refused'); END",
    "custody_no_delete": "CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody\n"
                         "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only: DELETE refused'); END",
}

# The three triggers that keep each indicator's occurrence counts (a cache the window sorts by,
# never evidence: docs/verification.md §4.5). Only their exact text is checked here.
COUNT_TRIGGERS = {
    'occurrences_counted': (
        'CREATE TRIGGER occurrences_counted AFTER INSERT ON occurrences BEGIN\n'
        'UPDATE indicators SET\n'
        '    n_occurrences = n_occurrences + 1,\n'
        '    n_items = n_items + NOT EXISTS (SELECT 1 FROM occurrences o\n'
        '        WHERE o.indicator_id = NEW.indicator_id AND o.item_id = NEW.item_id AND o.id != NEW.id),\n'
        "    n_header = n_header + (NEW.source = 'header'),\n"
        "    n_body = n_body + (NEW.source = 'body'),\n"
        "    n_attachment = n_attachment + (NEW.source = 'attachment'),\n"
        "    n_metadata = n_metadata + (NEW.source = 'metadata'),\n"
        "    n_ocr = n_ocr + (NEW.source = 'ocr'),\n"
        "    n_analyst = n_analyst + (NEW.source = 'analyst')\n"
        '    WHERE id = NEW.indicator_id;\n'
        'END'
    ),
    'occurrences_recounted': (
        'CREATE TRIGGER occurrences_recounted AFTER UPDATE OF indicator_id, item_id, source ON occurrences\n'
        'BEGIN\n'
        'UPDATE indicators SET\n'
        '    n_occurrences = n_occurrences - 1,\n'
        '    n_items = n_items - NOT EXISTS (SELECT 1 FROM occurrences o\n'
        '        WHERE o.indicator_id = OLD.indicator_id AND o.item_id = OLD.item_id AND o.id != OLD.id),\n'
        "    n_header = n_header - (OLD.source = 'header'),\n"
        "    n_body = n_body - (OLD.source = 'body'),\n"
        "    n_attachment = n_attachment - (OLD.source = 'attachment'),\n"
        "    n_metadata = n_metadata - (OLD.source = 'metadata'),\n"
        "    n_ocr = n_ocr - (OLD.source = 'ocr'),\n"
        "    n_analyst = n_analyst - (OLD.source = 'analyst')\n"
        '    WHERE id = OLD.indicator_id;\n'
        'UPDATE indicators SET\n'
        '    n_occurrences = n_occurrences + 1,\n'
        '    n_items = n_items + NOT EXISTS (SELECT 1 FROM occurrences o\n'
        '        WHERE o.indicator_id = NEW.indicator_id AND o.item_id = NEW.item_id AND o.id != NEW.id),\n'
        "    n_header = n_header + (NEW.source = 'header'),\n"
        "    n_body = n_body + (NEW.source = 'body'),\n"
        "    n_attachment = n_attachment + (NEW.source = 'attachment'),\n"
        "    n_metadata = n_metadata + (NEW.source = 'metadata'),\n"
        "    n_ocr = n_ocr + (NEW.source = 'ocr'),\n"
        "    n_analyst = n_analyst + (NEW.source = 'analyst')\n"
        '    WHERE id = NEW.indicator_id;\n'
        'END'
    ),
    'occurrences_uncounted': (
        'CREATE TRIGGER occurrences_uncounted AFTER DELETE ON occurrences BEGIN\n'
        'UPDATE indicators SET\n'
        '    n_occurrences = n_occurrences - 1,\n'
        '    n_items = n_items - NOT EXISTS (SELECT 1 FROM occurrences o\n'
        '        WHERE o.indicator_id = OLD.indicator_id AND o.item_id = OLD.item_id),\n'
        "    n_header = n_header - (OLD.source = 'header'),\n"
        "    n_body = n_body - (OLD.source = 'body'),\n"
        "    n_attachment = n_attachment - (OLD.source = 'attachment'),\n"
        "    n_metadata = n_metadata - (OLD.source = 'metadata'),\n"
        "    n_ocr = n_ocr - (OLD.source = 'ocr'),\n"
        "    n_analyst = n_analyst - (OLD.source = 'analyst')\n"
        '    WHERE id = OLD.indicator_id;\n'
        'END'
    ),
}
TRIGGERS.update(COUNT_TRIGGERS)
# Schema 15 on: the insert trigger stands down while Casetrail's bulk writer counts a batch itself
# (the one row of occurrence_counting is 1 only inside that writer's savepoint, never committed).
COUNTED_SINCE_15 = (
    'CREATE TRIGGER occurrences_counted AFTER INSERT ON occurrences\n'
    'WHEN (SELECT bulk FROM occurrence_counting WHERE id = 1) IS NOT 1\n'
    'BEGIN\n'
    'UPDATE indicators SET\n'
    '    n_occurrences = n_occurrences + 1,\n'
    '    n_items = n_items + NOT EXISTS (SELECT 1 FROM occurrences o\n'
    '        WHERE o.indicator_id = NEW.indicator_id AND o.item_id = NEW.item_id AND o.id != NEW.id),\n'
    "    n_header = n_header + (NEW.source = 'header'),\n"
    "    n_body = n_body + (NEW.source = 'body'),\n"
    "    n_attachment = n_attachment + (NEW.source = 'attachment'),\n"
    "    n_metadata = n_metadata + (NEW.source = 'metadata'),\n"
    "    n_ocr = n_ocr + (NEW.source = 'ocr'),\n"
    "    n_analyst = n_analyst + (NEW.source = 'analyst')\n"
    '    WHERE id = NEW.indicator_id;\n'
    'END'
)


# -- RFC 8785 -------------------------------------------------------------------------------------


def _number(x: float) -> str:
    """ECMAScript Number.prototype.toString (ECMA-262 Number::toString), as RFC 8785 requires."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError("JCS has no NaN or Infinity")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mant, _, e = repr(abs(x)).partition("e")  # repr: the shortest digits that round-trip
    whole, _, frac = mant.partition(".")
    exp = int(e or 0)
    if whole.strip("0"):
        digits, n = (whole + frac).lstrip("0"), len(whole.lstrip("0")) + exp
    else:
        digits, n = frac.lstrip("0"), exp - (len(frac) - len(frac.lstrip("0")))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e_out = n - 1
    return f"{sign}{digits[0]}{'.' + digits[1:] if k > 1 else ''}e{'+' if e_out >= 0 else '-'}{abs(e_out)}"


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(o, f"\\u{o:04x}"))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a value."""
    return _jcs(value).encode("utf-8")


def _jcs(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _number(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(_string(k) + ":" + _jcs(x) for k, x in items) + "}"
    raise TypeError(f"not JSON: {type(v).__name__}")


def sha(data: bytes) -> str:
    """SHA-256 hex."""
    return hashlib.sha256(data).hexdigest()


# -- the checks -----------------------------------------------------------------------------------


class Verifier:
    """Every check of docs/verification.md on one case folder."""

    def __init__(self, folder: Path, trusted: set[str] | None, ledger: Path | None) -> None:
        self.folder = folder
        self.trusted = trusted
        self.ledger = ledger
        self.problems: list[str] = []
        ro = "immutable=1" if not os.access(folder, os.W_OK) else "mode=ro"
        self.conn = sqlite3.connect(f"{(folder / 'case.sqlite').resolve().as_uri()}?{ro}", uri=True)
        if int(self.conn.execute("PRAGMA user_version").fetchone()[0]) == 0:
            raise ValueError("case.sqlite holds no Casetrail schema (empty or replaced)")
        cols = [d[1] for d in self.conn.execute("PRAGMA table_info(custody)")]
        rows = self.conn.execute(f"SELECT {', '.join(FIELDS)}, entry_hash FROM custody ORDER BY seq")  # noqa: S608
        self.entries = [dict(zip([*FIELDS, "entry_hash"], r, strict=False)) for r in rows] if cols else []
        self.meta = dict(self.conn.execute("SELECT key, value FROM case_meta"))
        self.hashes = {int(e["seq"]): str(e["entry_hash"]) for e in self.entries}

    def run(self) -> list[str]:
        """Every check of the case folder; returns the problems found."""
        self.schema()
        self.chain()
        self.vault()
        self.replay()
        self.checkpoints()
        if self.ledger is not None:
            self.against_ledger()
        return self.problems

    def schema(self) -> None:
        """§4.5: the two append-only triggers, byte for byte, and no view."""
        want = dict(TRIGGERS)
        if int(self.conn.execute("PRAGMA user_version").fetchone()[0]) >= 15:
            want["occurrences_counted"] = COUNTED_SINCE_15
        for name, sql in self.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"):
            if name not in want:
                self.problems.append(f"the database holds an extra trigger {name}")
            elif sql != want[name]:
                self.problems.append(f"the trigger {name} is not the one Casetrail creates")
        have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        for name in sorted(set(want) - have):
            self.problems.append(f"the trigger {name} is missing")
        for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'"):
            self.problems.append(f"the database holds an extra view {name}")

    def chain(self) -> None:
        """§3: seq without gaps, each entry linked to and hashed over the one before."""
        prev, expected = GENESIS, 1
        for e in self.entries:
            seq = int(e["seq"])
            if seq != expected:
                self.problems.append(f"custody entry {expected} is missing")
                return
            if e["prev_hash"] != prev:
                self.problems.append(f"custody entry {seq} does not link to the entry before it")
                return
            body = {k: e[k] for k in FIELDS}
            try:
                got = sha(bytes.fromhex(str(e["prev_hash"])) + jcs(body))
            except (ValueError, TypeError):
                got = ""
            if got != e["entry_hash"]:
                self.problems.append(f"custody entry {seq} was altered after it was written")
                return
            prev, expected = str(e["entry_hash"]), seq + 1
        if not self.entries or self.entries[0]["action"] != "created":
            self.problems.append("the custody chain does not start with the case's creation")

    def vault(self) -> None:
        """§4.1: every item's blob exists and hashes to its name."""
        for item_id, digest in self.conn.execute("SELECT id, sha256 FROM items ORDER BY id"):
            path = self.folder / "vault" / digest[:2] / digest[2:4] / digest
            h = hashlib.sha256()
            try:
                with path.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
            except OSError:
                self.problems.append(f"item {item_id} is missing in the vault")
                continue
            if h.hexdigest() != digest:
                self.problems.append(f"item {item_id} is modified in the vault")

    def _rows(self, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        cur = self.conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - names of the spec
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=False)) for r in cur]
        return {tuple(row[c] for c in REPLAYED[table]): row for row in rows}

    def _defaults(self, table: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for _c, name, _t, _nn, default, _pk in self.conn.execute(f"PRAGMA table_info({table})"):
            value: Any = None
            if isinstance(default, str):
                if len(default) >= 2 and default[0] == default[-1] == "'":
                    value = default[1:-1].replace("''", "'")
                else:
                    try:
                        value = int(default)
                    except ValueError:
                        try:
                            value = float(default)
                        except ValueError:
                            value = None
            out[name] = value
        return out

    def _findings(self) -> dict[int, str]:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        per: dict[int, dict[str, list[bytes]]] = {}
        for table, select in FINDINGS.items():
            if table in tables:
                for row in self.conn.execute(select):
                    per.setdefault(int(row[0]), {}).setdefault(table, []).append(jcs(list(row[1:])))
        return {i: sha(jcs({t: [json.loads(r) for r in sorted(rs)] for t, rs in d.items()}))
                for i, d in per.items()}

    def _snapshot(self, name: str) -> str:
        doc = {}
        for table in SNAPSHOTS[name]:
            doc[table] = [json.loads(r) for r in sorted(jcs(list(x)) for x in
                                                         self.conn.execute(f"SELECT * FROM {table}"))]  # noqa: S608
        return sha(jcs(doc))

    def replay(self) -> None:
        """§4.1 to §4.4: items, replayed tables, findings and snapshots agree with custody."""
        details = []
        for e in self.entries:
            try:
                d = json.loads(e["detail"])
            except (TypeError, ValueError):
                d = {}
            details.append(d if isinstance(d, dict) else {})
        bound = bool(details and "state" in details[0]) or any(
            e["action"] == "note" and d.get("what") == "state baseline"
            for e, d in zip(self.entries, details, strict=False))
        if not bound:
            self.problems.append("the case predates state binding: it cannot be replayed")
            return
        state: dict[str, dict[tuple[Any, ...], Any]] = {t: {} for t in REPLAYED}
        findings: dict[int, str] = {}
        snapshots: dict[str, str] = {}
        first: dict[int, dict[str, Any]] = {}
        first_d: dict[int, dict[str, Any]] = {}
        last: dict[int, dict[str, Any]] = {}
        kind: dict[int, str] = {}
        magic: dict[int, str] = {}
        for e, d in zip(self.entries, details, strict=False):
            if e["action"] == "note" and d.get("what") == "state baseline":
                state = {t: {} for t in REPLAYED}
                for t, rows in (d.get("tables") or {}).items():
                    if t in REPLAYED:
                        for r in rows:
                            state[t][tuple(r.get(c) for c in REPLAYED[t])] = r
                findings = {int(k): v for k, v in (d.get("findings") or {}).items()}
            for ch in d.get("state") or []:
                if ch.get("table") in REPLAYED:
                    state[ch["table"]][tuple(ch.get("key") or [])] = ch.get("row")
                else:
                    self.problems.append(f"custody entry {e['seq']} changes an unknown table")
            if d.get("snapshot") in SNAPSHOTS and "snapshot_sha256" in d:
                snapshots[d["snapshot"]] = d["snapshot_sha256"]
            if e["item_id"] is None:
                continue
            i = int(e["item_id"])
            if e["action"] in ("acquired", "derived"):
                if i not in first:
                    first[i], first_d[i] = e, d
                    if "kind" in d:
                        kind.setdefault(i, d["kind"])
            elif e["action"] == "analysed":
                last[i] = e
                if _status(e["result"], d) == "analysed" and "kind" in d:
                    kind[i] = d["kind"]
                if "magic" in d:
                    magic[i] = d["magic"]
            sets_analysed = e["action"] != "analysed" or _status(e["result"], d) == "analysed"
            if "findings_sha256" in d and sets_analysed:
                findings[i] = d["findings_sha256"]
        cur = self.conn.execute("SELECT * FROM items ORDER BY id")
        names = [c[0] for c in cur.description]
        items = [dict(zip(names, r, strict=False)) for r in cur]
        ids = {int(it["id"]) for it in items}
        for i in sorted(set(first) - ids):
            self.problems.append(f"item {i}, acquired in custody entry {first[i]['seq']}, is missing from "
                                 "the items table")
        empty = sha(b"{}")
        actual = self._findings()
        for it in items:
            i = int(it["id"])
            if i not in first:
                self.problems.append(f"item {i} has no acquired or derived custody entry")
                continue
            e, d = first[i], first_d[i]
            pairs = [("SHA-256", it["sha256"], e["sha256"]), ("name", it["name"], d.get("name")),
                     ("source", it["source_path"], e["source"]), ("size", it["size"], d.get("size")),
                     ("SHA-1", it["sha1"], d.get("sha1")), ("MD5", it["md5"], d.get("md5")),
                     ("MIME type", it["mime"], d.get("mime")),
                     ("extension flag", bool(it["ext_mismatch"]), bool(d.get("extension_mismatch"))),
                     ("parent", it["parent_id"], d.get("parent_id")),
                     ("acquiring examiner", it["acquired_by"], e["examiner"])]
            for key in ("name_bytes", "source_bytes"):  # §4.1: a name that is not UTF-8, as hex
                if key in it:
                    raw = it[key]
                    pairs.append((key.replace("_", " "), bytes(raw).hex() if raw is not None else None,
                                  d.get(key)))
            if "magic" in d:
                pairs += [("file type", it["magic"], magic.get(i, d["magic"])),
                          ("acquisition time", it["acquired_at"], e["at"]),
                          ("derivation", it["derived_how"], d.get("how"))]
            for what, have, want in pairs:
                if have != want:
                    self.problems.append(f"item {i}: its {what} differs from custody entry {e['seq']}")
            status, same_as = "acquired", None
            if i in last:
                ld = json.loads(last[i]["detail"]) if isinstance(last[i]["detail"], str) else {}
                same_as = ld.get("same_as")
                status = _status(last[i]["result"], ld)
            if "same_as" in it and it["same_as"] != same_as:
                self.problems.append(f"item {i}: its same_as differs from custody")
            if it["status"] != status:
                self.problems.append(f"item {i}: its status is {it['status']!r} but custody says {status!r}")
            if i in kind and it["kind"] != kind[i]:
                self.problems.append(f"item {i}: its kind differs from custody")
            if actual.get(i, empty) != findings.get(i, empty):
                self.problems.append(f"item {i}: its analysis findings were changed after they were recorded")
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, want in state.items():
            if table not in tables:
                continue
            have, defaults = self._rows(table), self._defaults(table)
            for k in set(want) | set(have):
                w, g = want.get(k), have.get(k)
                if w is not None and g is not None:
                    w = {**{c: defaults.get(c) for c in g if c not in w}, **w}
                if w != g:
                    self.problems.append(f"{table} row {', '.join(map(str, k))} differs from custody")
        for name, tabs in SNAPSHOTS.items():
            if all(t in tables for t in tabs):
                want_s = snapshots.get(name, sha(jcs({t: [] for t in tabs})))
                if self._snapshot(name) != want_s:
                    self.problems.append(f"the {name} snapshot was changed behind the application's back")

    def checkpoints(self) -> None:
        """§5: every checkpoint's signature, trusted key, order and head still in the chain."""
        case_id = self.meta.get("case_id", "")
        last_seq = 0
        for row in self.conn.execute("SELECT id, custody_seq, head, at, examiner, key_id, public_key, "
                                     "signature, export, content_sha256, message_format FROM checkpoints "
                                     "ORDER BY id"):
            cp = dict(zip(("id", "custody_seq", "head", "at", "examiner", "key_id", "public_key", "signature",
                           "export", "content_sha256", "message_format"), row, strict=False))
            cp["case_id"] = case_id
            bad = check_receipt(cp, self.trusted)
            if bad:
                self.problems.append(f"checkpoint {cp['id']}: {bad}")
            if cp["custody_seq"] < last_seq:
                self.problems.append(f"checkpoint {cp['id']} goes backwards")
            last_seq = max(last_seq, cp["custody_seq"])
            bad = self.prefix(cp)
            if bad:
                self.problems.append(f"checkpoint {cp['id']}: {bad}")

    def prefix(self, cp: dict[str, Any]) -> str | None:
        """Why the case no longer holds the chain a receipt saw, or None."""
        seq = int(cp["custody_seq"])
        if seq == 0:
            return None if cp["head"] == GENESIS else "an empty chain must have the genesis head"
        if seq not in self.hashes:
            return (f"custody entry {seq} it saw is gone: the case was restored to an earlier copy or its "
                    "tail was cut")
        if self.hashes[seq] != cp["head"]:
            return f"custody entry {seq} has another hash than it saw: the history was rewritten"
        return None

    def against_ledger(self) -> None:
        """§6: the ledger's lines follow each other; the case holds every chain its receipts saw."""
        if self.ledger is None:
            return
        try:
            lines = self.ledger.read_bytes().split(b"\n")
        except FileNotFoundError:
            return
        prev = GENESIS
        for n, line in enumerate([x for x in lines if x], 1):
            rec = json.loads(line)
            if rec.get("n") != n or rec.get("prev") != prev:
                self.problems.append(f"workstation ledger line {n} does not follow the line before it")
                return
            prev = sha(line)
            if rec.get("type") == "receipt" and rec.get("case_id") == self.meta.get("case_id"):
                bad = check_receipt(rec, None) or self.prefix(rec)
                if bad:
                    self.problems.append(f"ledger receipt of {rec.get('file')}: {bad}")

    def against(self, path: Path) -> None:
        """§5, §7: check the case against a receipt file or a signed briefing PDF."""
        data = path.read_bytes()
        if data.startswith(b"%PDF"):
            found = re.findall(rb'\{"algorithm": "Ed25519", .*?"signature": "[A-Za-z0-9+/=]+"\}', data, re.S)
            if not found:
                self.problems.append(f"{path.name} carries no Casetrail receipt")
                return
            rec = json.loads(found[-1])
            if sha(data[:int(rec["content_size"])]) != rec["content_sha256"]:
                self.problems.append(f"{path.name} was altered: its content does not have the signed SHA-256")
            self.problems += [f"{path.name}: {p}" for p in pdf_signature_problems(data, rec)]
        else:
            rec = json.loads(data)
        if rec.get("case_id") != self.meta.get("case_id"):
            self.problems.append(f"{path.name} is a receipt of another case")
        bad = check_receipt(rec, self.trusted) or self.prefix(rec)
        if bad:
            self.problems.append(f"{path.name}: {bad}")


def _status(result: str, detail: dict[str, Any]) -> str:
    """The status an ``analysed`` entry sets (docs/verification.md §4.1)."""
    if "status" in detail:
        return str(detail["status"])
    if "same_as" in detail and str(result).startswith("same content as item"):
        return "analysed"
    return str(result)


def message(cp: dict[str, Any]) -> bytes:
    """The bytes a checkpoint or receipt signs (§5)."""
    fmt = cp.get("message_format") or "casetrail-checkpoint-v1"
    head = [fmt, str(cp["case_id"]), str(int(cp["custody_seq"])), str(cp["head"])]
    if fmt == "casetrail-checkpoint-v2":
        head += [str(cp["at"]), str(cp.get("export") or ""), str(cp.get("content_sha256") or "")]
    return "\n".join(head).encode()


def check_receipt(cp: dict[str, Any], trusted: set[str] | None) -> str | None:
    """Why a checkpoint or receipt does not hold (signature, key id, trust), or None."""
    try:
        raw = base64.b64decode(cp["public_key"], validate=True)
        signature = base64.b64decode(cp["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message(cp))
    except (ValueError, KeyError):
        return "the public key or signature cannot be read"
    except InvalidSignature:
        return "the signature does not hold"
    if sha(raw)[:16] != cp["key_id"]:
        return "the key id does not belong to its public key"
    if trusted is not None and sha(raw) not in trusted:
        return f"signed by key {cp['key_id']} ({cp.get('examiner')}), which is not trusted"
    return None


# -- the briefing's PDF signature (docs/verification.md §7): CMS SignedData, RFC 5652 --------------

OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
OID_CONTENT_TYPE = bytes.fromhex("2a864886f70d010903")
OID_DATA = bytes.fromhex("2a864886f70d010701")
OID_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")
OID_SIGNING_CERT_V2 = bytes.fromhex("2a864886f70d010910022f")
DIGESTS = {bytes.fromhex("608648016503040201"): hashes.SHA256(),
           bytes.fromhex("608648016503040203"): hashes.SHA512()}
OID_RSA = (bytes.fromhex("2a864886f70d010101"),  # rsaEncryption
           bytes.fromhex("2a864886f70d01010b"))  # sha256WithRSAEncryption
OID_ED25519 = bytes.fromhex("2b6570")


def _tlv(data: bytes, i: int) -> tuple[int, int, int]:
    """(tag, first content byte, end) of the DER element starting at ``i`` (one-byte tags)."""
    tag, n = data[i], data[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n, i = int.from_bytes(data[i:i + k], "big"), i + k
    if i + n > len(data):
        raise ValueError("a DER element runs past its end")
    return tag, i, i + n


def _kids(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements inside ``data[start:end]``: (tag, element start, content start, end)."""
    out, i = [], start
    while i < end:
        tag, s, e = _tlv(data, i)
        out.append((tag, i, s, e))
        i = e
    return out


def pdf_signature_problems(data: bytes, rec: dict[str, Any]) -> list[str]:
    """Check a briefing's PAdES signature and that the receipt's examiner key vouches for its signer.

    The last ``/ByteRange [0 b c d]`` must cover the whole file but the ``/Contents <hex>`` in
    ``b..c``; that hex is a DER CMS SignedData whose ``messageDigest`` is the hash of the covered
    bytes, whose signed attributes (DER, tag [0] read as SET) verify under the signer's
    certificate (RSA PKCS#1 v1.5; Ed25519 for briefings signed before document keys), whose
    ``signingCertificateV2`` names that certificate, and whose certificate has the SHA-256 the
    receipt names and the receipt's Ed25519 key vouches for (``document_binding``).
    """
    ranges = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    if not ranges:
        return ["it carries no PDF signature"]
    a, b, c, d = (int(x) for x in ranges[-1])
    if a != 0 or c + d != len(data) or not b < c or data[b:b + 1] != b"<" or data[c - 1:c] != b">":
        return ["its PDF signature does not cover the whole file (bytes were added after it was signed)"]
    try:
        der = bytes.fromhex(data[b + 1:c - 1].decode("ascii"))
        _, s, e = _tlv(der, 0)  # ContentInfo: contentType, [0] SignedData
        info = _kids(der, s, e)
        if der[info[0][2]:info[0][3]] != OID_SIGNED_DATA or info[1][0] != 0xA0:
            raise ValueError("not a CMS SignedData")
        # SignedData: version, digestAlgorithms, encapContentInfo, [0] certificates, ..., signerInfos
        _, s, e = _tlv(der, info[1][2])
        signed_data = _kids(der, s, e)
        held = next(k for k in signed_data if k[0] == 0xA0)
        certs = [der[x:y] for _, x, _, y in _kids(der, held[2], held[3])]
        first = _kids(der, signed_data[-1][2], signed_data[-1][3])[0]
        # SignerInfo: version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature
        _, sid, digest_alg, attrs_el, sig_alg_el, sig_el = _kids(der, first[2], first[3])[:6]
        if sid[0] != 0x30 or attrs_el[0] != 0xA0:
            raise ValueError("the signer is not named by issuer and serial, or has no signed attributes")
        serial_el = _kids(der, sid[2], sid[3])[1]
        serial = int.from_bytes(der[serial_el[2]:serial_el[3]], "big", signed=True)
        digest_oid = der[slice(*_kids(der, digest_alg[2], digest_alg[3])[0][2:4])]
        sig_alg = der[slice(*_kids(der, sig_alg_el[2], sig_alg_el[3])[0][2:4])]
        signature = der[sig_el[2]:sig_el[3]]
        attrs: dict[bytes, bytes] = {}
        for _, _, x, y in _kids(der, attrs_el[2], attrs_el[3]):  # Attribute: type, SET of values
            oid_el, values = _kids(der, x, y)[:2]
            attrs[der[oid_el[2]:oid_el[3]]] = der[values[2]:values[3]]
        # the signature covers the DER of the signed attributes with the SET tag (RFC 5652 §5.4)
        signed_attrs = b"\x31" + der[attrs_el[1] + 1:attrs_el[3]]
        cert_der = next(c for c in certs if x509.load_der_x509_certificate(c).serial_number == serial)
        cert = x509.load_der_x509_certificate(cert_der)
        ess_hash = b""
        ess = attrs.get(OID_SIGNING_CERT_V2, b"")
        if ess:  # SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2, ... } (RFC 5035)
            outer = _kids(ess, 0, len(ess))[0]
            listed = _kids(ess, outer[2], outer[3])[0]
            first_id = _kids(ess, listed[2], listed[3])[0]
            # ESSCertIDv2 { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
            id_fields = _kids(ess, first_id[2], first_id[3])
            if id_fields[0][0] == 0x30:
                hash_alg = _kids(ess, id_fields[0][2], id_fields[0][3])[0]
                if ess[hash_alg[2]:hash_alg[3]] != bytes.fromhex("608648016503040201"):
                    raise ValueError("signingCertificateV2 does not use SHA-256")
            ess_hash = next(ess[x:y] for t, _, x, y in id_fields if t == 0x04)
    except (ValueError, IndexError, StopIteration):
        return ["its PDF signature cannot be read (not a DER CMS SignedData as Casetrail writes it)"]
    if digest_oid not in DIGESTS:
        return ["its PDF signature uses a digest algorithm this verifier does not know"]
    h = hashes.Hash(DIGESTS[digest_oid])
    h.update(data[:b])
    h.update(data[c:])
    problems = []
    value = attrs.get(OID_MESSAGE_DIGEST, b"")
    if value[:1] != b"\x04" or value[2:] != h.finalize():
        problems.append("its PDF signature does not hold: the signed bytes were changed")
    if attrs.get(OID_CONTENT_TYPE, b"")[2:] != OID_DATA:
        problems.append("its PDF signature does not sign PDF data (content type)")
    key = cert.public_key()
    try:
        if sig_alg in OID_RSA and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_attrs, padding.PKCS1v15(), DIGESTS[digest_oid])
        elif sig_alg == OID_ED25519 and isinstance(key, Ed25519PublicKey):
            key.verify(signature, signed_attrs)
        else:
            return [*problems, "its PDF signature uses a signature algorithm this verifier does not know"]
    except InvalidSignature:
        problems.append("its PDF signature does not hold: the signature does not match its signed attributes")
    if ess_hash != hashlib.sha256(cert_der).digest():  # PAdES: the signed attributes name the signer
        problems.append("its PDF signature does not name its signer certificate (signingCertificateV2)")
    digest = sha(cert_der)
    raw = base64.b64decode(rec["public_key"])
    unvouched = (f"it is signed by a certificate (SHA-256 {digest[:16]}…) that examiner key {rec['key_id']} "
                 f"({rec.get('examiner')}) does not vouch for")
    if rec.get("document_certificate_sha256"):
        message = f"casetrail-document-key-v1\n{sha(raw)}\n{digest}".encode()
        try:
            if digest != rec["document_certificate_sha256"]:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(rec["document_binding"]), message)
        except (InvalidSignature, ValueError, KeyError):
            problems.append(unvouched)
    elif not isinstance(key, Ed25519PublicKey) or key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw) != raw:
        problems.append(unvouched)  # before document keys, the examiner key itself signed the PDF
    return problems


# -- packages -------------------------------------------------------------------------------------

_BLOB = re.compile(r"vault/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\Z")
_FIXED = {"case.sqlite", "manifest.txt", "checkpoint.json", "README.txt", "examiner-key.json"}


def unpack(zip_path: Path, dest: Path, trusted: set[str] | None) -> list[str]:
    """Check a package's members, manifest and signed receipt; extract it into dest."""
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        if len(set(names)) != len(names):
            return ["the package names a file twice"]
        for info in zf.infolist():
            if (info.filename not in _FIXED and not _BLOB.match(info.filename)) or info.is_dir() \
                    or (info.external_attr >> 16) & 0o170000 == 0o120000:
                return [f"the package holds an unexpected or unsafe entry {info.filename!r}"]
        if "checkpoint.json" not in names or "manifest.txt" not in names:
            return ["the package has no checkpoint.json or no manifest.txt"]
        rec = json.loads(zf.read("checkpoint.json"))
        manifest = zf.read("manifest.txt")
        problems = []
        bad = check_receipt(rec, trusted)
        if bad:
            problems.append(f"checkpoint.json: {bad}")
        if rec.get("export") != "case package" or sha(manifest) != rec.get("content_sha256"):
            problems.append("manifest.txt is not the manifest that checkpoint.json signs")
        listed: dict[str, tuple[int, str, str]] = {}
        for line in manifest.decode().splitlines():
            if line and not line.startswith(("%%%%", "#")):
                size, md5, digest, name = line.split(",", 3)
                listed[name] = (int(size), md5, digest)
        payload = set(names) - {"manifest.txt", "checkpoint.json"}
        if set(listed) != payload:
            problems.append("the package's files are not the ones its manifest lists")
        for name in sorted(payload & set(listed)):
            data = zf.read(name)
            if (len(data), hashlib.md5(data, usedforsecurity=False).hexdigest(), sha(data)) != listed[name]:
                problems.append(f"{name} does not match its hash in the manifest")
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return problems


class _Refused(Exception):  # noqa: N818 - a package refused before its database could be read
    """The package failed its own checks; nothing more can be read from it."""


def main(argv: list[str] | None = None) -> int:
    """Run the checks; exit 0 intact, 1 discrepancies, 2 cannot open."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", type=Path, help="a case folder or a case package (.zip)")
    ap.add_argument("--trusted-keys", type=Path, help="folder of trusted public keys (keys/trusted)")
    ap.add_argument("--ledger", type=Path, help="a workstation ledger (ledger.jsonl) to check against")
    ap.add_argument("--against", type=Path, help="a receipt file or a signed briefing PDF")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    trusted: set[str] | None = None
    if args.trusted_keys is not None:
        trusted = {p.stem for p in args.trusted_keys.glob("*.json")
                   if sha(base64.b64decode(json.loads(p.read_text())["public_key"])) == p.stem}
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.case
        try:
            if args.case.is_file():
                folder = Path(tmp) / "case"
                problems += unpack(args.case, folder, trusted)
                if problems and not (folder / "case.sqlite").is_file():
                    raise _Refused
            v = Verifier(folder, trusted, args.ledger)
            v.run()
            if args.against is not None:
                v.against(args.against)
            problems += v.problems
            v.conn.close()
        except _Refused:
            pass
        except (OSError, ValueError, sqlite3.DatabaseError, zipfile.BadZipFile, KeyError) as exc:
            print(f"verify_case: cannot check {args.case}: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps({"ok": not problems, "problems": problems}, indent=2, ensure_ascii=False))
    else:
        for p in problems:
            print(f"PROBLEM\t{p}")
        print("intact" if not problems else f"DISCREPANCIES FOUND: {len(problems)}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
