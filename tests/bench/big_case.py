# SPDX-License-Identifier: GPL-3.0-or-later
"""A case of 100,000 items and 1,000,000 indicator occurrences, built through the core (issue 15).

What an analyst's big case looks like: tens of thousands of loose files (notes, logs, pictures,
mail exports), mailboxes whose messages are derived items, attachments under those messages,
duplicates, and indicators that follow a long tail — a few hosting addresses and domains in
thousands of items, most values in one or two. Every item is acquired through the vault
(``acquire.import_paths``, ``acquire.acquire_derived_files``) with its custody entries, every
occurrence recorded with ``findings.record_occurrences``; a handful of real phishing e-mails from
``../shared/corpora/phishing-dev`` is imported and analysed too, so the message view has
something to show.

Building takes minutes; the result is kept (``--out``, default under ``/tmp``) and reused while
its stamp matches the arguments. Used by ``tests/bench/ui_latency.py`` and to look at the window
on a big case::

    .venv/bin/python tests/bench/big_case.py [--items 100000] [--occurrences 1000000] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "phishing-dev"
VERSION = 5  # bump when the shape changes: a kept case with another stamp is built again


def say(msg: str) -> None:
    print(msg, flush=True)


def _values(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` distinct indicator values of every type, in the order of how common they will be."""
    out: list[tuple[str, str]] = []
    tlds = ("com", "net", "org", "ru", "xyz", "info", "top")
    for i in range(n):
        kind = i % 7
        if kind == 0:
            a, b, c = rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255)
            out.append(("ipv4", f"{a}.{b}.{c}.{i % 250 + 1}"))
        elif kind == 1:
            out.append(("domain", f"cdn-{i:06d}.example-{i % 97}.{tlds[i % len(tlds)]}"))
        elif kind == 2:
            out.append(("url", f"https://files-{i % 503}.example.net/dl/{i:07d}/payload.bin"))
        elif kind == 3:
            out.append(("email", f"user{i:06d}@mail-{i % 89}.example.org"))
        elif kind == 4:
            out.append(("sha256", f"{rng.getrandbits(256):064x}"))
        elif kind == 5:
            out.append(("file_path", f"C:\\Users\\op{i % 211}\\AppData\\Local\\Temp\\stage{i:06d}.ps1"))
        else:
            out.append(("file_name", f"invoice_{i:06d}.docm"))
    return out


def _write_files(folder: Path, count: int, rng: random.Random) -> None:
    kinds = (("note", ".txt"), ("log", ".log"), ("export", ".csv"), ("page", ".html"), ("mail", ".eml"))
    for i in range(count):
        name, ext = kinds[i % len(kinds)]
        sub = folder / f"batch-{i // 5000:02d}"
        if i % 5000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        body = (f"{name} {i} from workstation {i % 37}\n" * (1 + rng.randint(0, 40))).encode()
        if i % 20 == 19:
            body = f"duplicate {i % 7}\n".encode() * 10  # duplicates of a few contents
        (sub / f"{name}-{i:06d}{ext}").write_bytes(body)


def build(path: Path, items: int = 100_000, occurrences: int = 1_000_000, *, real_mail: int = 40) -> Path:
    """Build the case at ``path`` (replacing one that is there) and return it."""
    from desktop.core.acquire import DerivedFile, acquire_derived_files, import_paths
    from desktop.core.case import Case
    from desktop.core.findings import record_occurrences
    from desktop.core.progress import run_to_end
    from desktop.ingest.pipeline import import_and_analyse

    rng = random.Random(15)
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="big-case-src-"))
    started = time.perf_counter()
    mailboxes = 20
    messages_per_box = items // 5 // mailboxes  # 20% of the items are messages of mailboxes
    parts_each = 10
    parents_with_parts = items // 5 // parts_each  # 20% are attachments: ten under 10% of the messages
    loose = items - mailboxes - mailboxes * messages_per_box - parents_with_parts * parts_each - real_mail
    try:
        _write_files(work / "loose", loose, rng)
        for b in range(mailboxes):
            (work / "boxes").mkdir(exist_ok=True)
            (work / "boxes" / f"mailbox-{b:02d}.mbox").write_bytes(f"From box {b}\n".encode() * 100)
        say(f"  {loose:,} loose files, {mailboxes} mailboxes written ({time.perf_counter() - started:.0f} s)")
        with Case.create(path, title="Operation Longtail (100,000 items)", examiner="A. Analyst") as case:
            run_to_end(import_paths(case, [work / "loose", work / "boxes"], "bench: ui_latency"))
            say(f"  acquired ({time.perf_counter() - started:.0f} s)")
            boxes = [i for i in case.items() if i.name.endswith(".mbox")]
            parts_dir = work / "parts"
            parts_dir.mkdir()
            messages = []
            for box in boxes:
                files = []
                for m in range(messages_per_box):
                    f = parts_dir / f"{box.id}-{m}.eml"
                    f.write_bytes(f"From: sender{m}@example.org\nSubject: message {m} of box {box.id}\n\n"
                                  f"body {m}\n".encode())
                    files.append(DerivedFile(f, f"message {m + 1}.eml", "mbox message", {"index": m}))
                messages += [a.item for a in acquire_derived_files(case, box, files)]
                for f in files:
                    f.path.unlink()
            say(f"  {len(messages):,} mailbox messages derived ({time.perf_counter() - started:.0f} s)")
            for n, parent in enumerate(messages[:parents_with_parts]):
                files = []
                for k, ext in enumerate((".pdf", ".png", ".docx", ".xlsx", ".zip") * (parts_each // 5)):
                    f = parts_dir / f"att-{parent.id}-{k}{ext}"
                    f.write_bytes(f"attachment {k} of {parent.id}\n".encode() * (5 + n % 50))
                    files.append(DerivedFile(f, f"attachment-{k + 1}{ext}", "attachment"))
                acquire_derived_files(case, parent, files)
                for f in files:
                    f.path.unlink()
            say(f"  attachments derived ({time.perf_counter() - started:.0f} s)")
            mails = sorted(CORPUS.glob("*.eml"))[:real_mail] if CORPUS.is_dir() else []
            if mails:
                real = work / "real"
                real.mkdir()
                for m in mails:
                    shutil.copy(m, real / m.name)
                run_to_end(import_and_analyse(case, [real], "bench: real phishing mail"))
            say(f"  {len(mails)} real messages imported and analysed ({time.perf_counter() - started:.0f} s)")
            ids = [int(r[0]) for r in case.db.execute("SELECT id FROM items ORDER BY id")]
            pool = _values(rng, max(1000, occurrences // 16))
            weights = [1.0 / (1 + r) ** 1.1 for r in range(len(pool))]  # a long tail: a few values everywhere
            written = 0
            sources = ("body", "header", "attachment", "metadata")
            # OCR occurrences on one item in a hundred (OCR comes from pictures and videos), recorded
            # first: each OCR batch looks for confusable twins among the case's values so far.
            order = [k for k in range(len(ids)) if k % 100 == 0] + [k for k in range(len(ids)) if k % 100]
            for start in range(0, len(order), 2000):
                with case.transaction() as conn:
                    for k in order[start:start + 2000]:
                        item_id = ids[k]
                        n = occurrences * (k + 1) // len(ids) - occurrences * k // len(ids)
                        if n <= 0:
                            continue
                        picks = rng.choices(pool, weights=weights, k=n)
                        ocr = k % 100 == 0
                        record_occurrences(conn, item_id, [
                            {"type": t, "value": v, "where": "text body", "offset": j * 40,
                             **({"source": "ocr", "status": "certain", "time_s": j * 0.5} if ocr else
                                {"source": sources[(item_id + j) % len(sources)]})}
                            for j, (t, v) in enumerate(picks)])
                        written += n
            say(f"  {written:,} occurrences recorded ({time.perf_counter() - started:.0f} s)")
            count = int(case.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
            (path / "bench-stamp.json").write_text(json.dumps(
                {"version": VERSION, "items": items, "occurrences": occurrences, "built_items": count,
                 "built_occurrences": written, "seconds": round(time.perf_counter() - started)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path


def ensure(path: Path, items: int = 100_000, occurrences: int = 1_000_000) -> Path:
    """The kept case at ``path`` when its stamp matches, else a fresh build."""
    stamp = path / "bench-stamp.json"
    if stamp.is_file():
        got = json.loads(stamp.read_text())
        if (got.get("version"), got.get("items"), got.get("occurrences")) == (VERSION, items, occurrences):
            return path
    say(f"building a case of {items:,} items and {occurrences:,} occurrences at {path} (minutes) ...")
    return build(path, items, occurrences)


def default_path(items: int) -> Path:
    """Where the kept case of this size lives."""
    return Path(os.environ.get("BENCH_DIR", tempfile.gettempdir())) / f"casetrail-bench-{items}.casetrail"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--occurrences", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    path = ensure(args.out or default_path(args.items), args.items, args.occurrences)
    say(str(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
