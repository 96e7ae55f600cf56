# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: correlate a new case of 10,000 indicators against a large workstation library.

The library holds 1,000,000 feed indicator values (10 feeds, IPv4 addresses, domains, SHA-256
hashes), 100 indexed cases of 2,000 indicators each and a 200,000-range ip2asn table. The new case
(a real case folder) holds 10,000 indicators: about 10 % are in a feed, about 5 % in another case,
half are IPv4 addresses (so the ASN lookup and the IP warninglists run for them).

Printed: the time of ``desktop.core.correlate.correlate`` (everything: this case, other cases,
feeds, feed networks, ASN, warninglists) as a ratio to a plain SQLite indexed join over the same
data measured in the same run (read the case's indicators, fill a temp table, join it with the
feed entries and with the case index) — target ≤ 2x — and the peak memory of the correlation.

Run: ``.venv/bin/python tests/bench/correlate_speed.py [--feed N] [--cases N] [--new N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import socket
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.core import warninglists  # noqa: E402
from desktop.core.case import Case  # noqa: E402
from desktop.core.correlate import correlate  # noqa: E402
from desktop.core.findings import record_occurrences  # noqa: E402
from desktop.core.intel import Library  # noqa: E402


def value(kind: int, n: int) -> tuple[str, str]:
    """The n-th synthetic value of a kind: 0 IPv4 (public ranges), 1 domain, 2 SHA-256."""
    if kind == 0:
        return "ipv4", f"{45 + (n >> 24) % 100}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
    if kind == 1:
        return "domain", f"host{n}.example-{n % 97}.net"
    return "sha256", hashlib.sha256(str(n).encode()).hexdigest()


def build_library(lib: Library, feed_size: int, cases: int, per_case: int, tmp: Path) -> None:
    """Fill the library: feeds through bulk_load, cases into the index, an ip2asn table."""
    per_feed = feed_size // 10
    for f in range(10):
        rows = (value(n % 3, 10_000_000 + f * per_feed + n) for n in range(per_feed))
        lib.bulk_load(f"feed-{f}", rows, actor=f"Actor {f}")
    conn = lib.conn
    conn.execute("BEGIN IMMEDIATE")
    for c in range(cases):
        cid = f"case-{c:03d}"
        created = f"2025-01-{c % 28 + 1:02d}T00:00:00Z"
        conn.execute("INSERT INTO cases (case_id, title, created_at, path, indexed_at, indicators) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (cid, f"Old case {c}", created, f"/cases/{cid}", "now", per_case))
        pairs = (value(n % 3, 20_000_000 + c * per_case + n) for n in range(per_case))
        conn.executemany("INSERT OR IGNORE INTO case_indicators (value, type, case_id, items) "
                         "VALUES (?, ?, ?, ?)", ((v, t, cid, "1,2") for t, v in pairs))
    conn.execute("COMMIT")
    tsv = tmp / "ip2asn-v4.tsv"
    with tsv.open("w") as fh:
        step = (2**32 - 2**24) // 200_000
        for i in range(200_000):
            start = 2**24 + i * step
            a, b = start, start + step - 1
            first = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
            last = f"{b >> 24}.{(b >> 16) & 255}.{(b >> 8) & 255}.{b & 255}"
            fh.write(f"{first}\t{last}\t{64512 + i % 1000}\tNL\tPROVIDER-{i % 1000}\n")
    lib.import_feed(tsv)
    conn.execute("ANALYZE")


def build_case(path: Path, lib_feed: int, cases: int, per_case: int, new: int, tmp: Path) -> Case:
    """A real case with ``new`` indicators on one item (10 % feed hits, 5 % other-case hits)."""
    case = Case.create(path, title="New case", examiner="Bench")
    now = "2026-01-01T00:00:00Z"
    rng = random.Random(7)
    per_feed = lib_feed // 10
    occ = []
    for n in range(new):
        r = rng.random()
        if r < 0.10:
            f, k = rng.randrange(10), rng.randrange(per_feed)
            t, v = value(k % 3, 10_000_000 + f * per_feed + k)
        elif r < 0.15:
            c, k = rng.randrange(cases), rng.randrange(per_case)
            t, v = value(k % 3, 20_000_000 + c * per_case + k)
        else:
            t, v = value(0 if n % 2 == 0 else 1 + n % 2, 30_000_000 + n)
        occ.append({"type": t, "value": v, "source": "body", "where": f"offset {n}"})
    with case.transaction() as conn:
        # One item row written directly: the benchmark is about correlation, not acquisition.
        conn.execute(
            "INSERT INTO items (id, kind, name, source_path, size, sha256, sha1, md5, mime, magic, "
            "acquired_at, acquired_by) "
            "VALUES (1, 'generic', 'bench.txt', '/dev/null', 0, ?, ?, ?, 'text/plain', 'text', ?, 'b')",
            ("0" * 64, "0" * 40, "0" * 32, now))
        record_occurrences(conn, 1, occ)
    return case


def baseline(case: Case, lib_path: Path, exclude: str, *, with_asn: bool) -> tuple[float, int]:
    """The plain indexed join the target compares with (own connection, same data).

    ``with_asn`` adds the ip2asn range lookup as SQL (the same correlated range probe per address
    that :meth:`Library.asn_lookup` runs), so the baseline does every lookup SQLite can do.
    """
    t0 = time.perf_counter()
    rows = case.db.conn.execute("SELECT id, type, value FROM indicators").fetchall()
    conn = sqlite3.connect(str(lib_path), isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE probe (key INTEGER, type TEXT, value TEXT)")
    conn.executemany("INSERT INTO temp.probe VALUES (?, ?, ?)", rows)
    a = conn.execute("SELECT p.key, e.context_id FROM temp.probe p JOIN feed_entries e "
                     "ON e.value = p.value AND e.type = p.type").fetchall()
    b = conn.execute("SELECT p.key, ci.case_id, ci.items FROM temp.probe p JOIN case_indicators ci "
                     "ON ci.value = p.value AND ci.type = p.type WHERE ci.case_id IS NOT ?",
                     (exclude,)).fetchall()
    c: list[tuple[object, ...]] = []
    if with_asn:
        ips = [(k, b"\x00" * 10 + b"\xff\xff" + socket.inet_aton(v)) for k, t, v in rows if t == "ipv4"]
        conn.execute("CREATE TEMP TABLE ap (key INTEGER, ip BLOB)")
        conn.executemany("INSERT INTO temp.ap VALUES (?, ?)", ips)
        c = conn.execute("SELECT q.key, r.asn, r.name, r.country FROM temp.ap q JOIN asn_ranges r "
                         "ON r.rowid = (SELECT rowid FROM asn_ranges WHERE start <= q.ip "
                         "ORDER BY start DESC LIMIT 1) WHERE r.end >= q.ip").fetchall()
    conn.execute("ROLLBACK")
    conn.close()
    return time.perf_counter() - t0, len(a) + len(b) + len(c)


def main() -> int:
    """Build the data, time both, print the ratio and memory."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feed", type=int, default=1_000_000)
    p.add_argument("--cases", type=int, default=100)
    p.add_argument("--per-case", type=int, default=2_000)
    p.add_argument("--new", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lib_path = tmp / "library.sqlite"
        t0 = time.perf_counter()
        lib = Library.open(lib_path)
        build_library(lib, args.feed, args.cases, args.per_case, tmp)
        case = build_case(tmp / "new.casetrail", args.feed, args.cases, args.per_case, args.new, tmp)
        print(f"built library ({args.feed:,} feed values, {args.cases} cases x {args.per_case:,}, "
              f"200,000 ASN ranges) and a case of {args.new:,} indicators "
              f"in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        warninglists.shipped()
        print(f"warninglists loaded once per process in {time.perf_counter() - t0:.2f} s "
              "(not in the timings)")
        exclude = str(case.meta["case_id"])
        base_times, base_asn_times, ours, ours_core = [], [], [], []
        hits = hits_asn = 0
        result = {}
        for _ in range(args.repeat):
            bt, hits = baseline(case, lib_path, exclude, with_asn=False)
            base_times.append(bt)
            bt, hits_asn = baseline(case, lib_path, exclude, with_asn=True)
            base_asn_times.append(bt)
            t0 = time.perf_counter()
            result = correlate(case, library=lib)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            probe = case.db.conn.execute("SELECT id, type, value FROM indicators").fetchall()
            lib.match(probe, exclude_case=exclude)
            ours_core.append(time.perf_counter() - t0)
        base, base_asn, full, core = min(base_times), min(base_asn_times), min(ours), min(ours_core)
        feed = sum(1 for c in result.values() if any(m.source == "feed" for m in c.matches))
        other = sum(1 for c in result.values() if any(m.kind == "other-case" for m in c.matches))
        asn = sum(1 for c in result.values() if c.asn is not None)
        warned = sum(1 for c in result.values() if c.warninglisted)
        print(f"plain indexed join (feeds + cases): {base * 1000:.1f} ms ({hits:,} joined rows)")
        print(f"plain indexed join (feeds + cases + ASN ranges): {base_asn * 1000:.1f} ms "
              f"({hits_asn:,} rows)")
        print(f"correlate(), everything: {full * 1000:.1f} ms  -> ratio {full / base_asn:.2f}x to the join "
              f"with ASN (target <= 2x), {full / base:.2f}x to the feeds + cases join")
        print(f"  of which Library.match (feeds + cases join): {core * 1000:.1f} ms "
              f"-> ratio {core / base:.2f}x")
        print(f"  indicators with feed matches {feed:,}, other-case matches {other:,}, ASN {asn:,}, "
              f"warninglisted {warned:,}")
        tracemalloc.start()
        correlate(case, library=lib)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak Python memory during correlate(): {peak / 2**20:.1f} MiB; "
              f"process max RSS {rss:.0f} MiB")
        case.close()
        lib.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
