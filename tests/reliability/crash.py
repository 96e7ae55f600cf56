# SPDX-License-Identifier: GPL-3.0-or-later
"""The kill campaign (``make crash``): SIGKILL at random moments, and after each, nothing lost.

Every round starts one command of the command line on a case — an import of a new message
(acquisition, its attachment derived, analysis in the sandbox children), ``analyse --all``,
``verify``, ``brief``, ``export --package``, ``export --csv``, ``tag``, ``items`` (an opening,
and so the recovery after the previous kill) — and kills it with SIGKILL at a random moment of
its run. The command runs in a process forked from this one (the same code as ``casetrail``,
without an interpreter's start-up each round) in a session of its own; only that process is
killed: its analysis and frame children must die with it (``desktop.ingest.lifeline``). After
each kill:

1. no process of the killed command's session is left after 10 s (no orphan);
2. the case opens (and recovers);
3. ``PRAGMA integrity_check`` says ok;
4. every item row has its blob in the vault, of its recorded size;
5. ``verify`` passes (hashes, custody chain, state replay);
6. a plain re-import of every message written so far converges: nothing pending, every
   message present once, nothing failed that had not failed before.

At the end, litter: no temp file beside the export destinations and no scratch folder in the
case after one more command. The table printed is the one in ``docs/reliability.md``.

Usage: ``python tests/reliability/crash.py [--kills N] [--seed S] [--work DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

OPS = ("import", "analyse", "verify", "brief", "package", "csv", "tag", "items")
ORPHAN_WAIT_S = 10.0


@dataclass
class Campaign:
    """What a campaign did and found."""

    kills: Counter[str] = field(default_factory=Counter)
    finished: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    messages: int = 0
    seconds: float = 0.0

    @property
    def total_kills(self) -> int:
        return sum(self.kills.values())

    def table(self) -> str:
        """The campaign's counts, as docs/reliability.md gives them."""
        lines = ["| command killed | kills | ran to the end |", "|---|---:|---:|"]
        for op in OPS:
            lines.append(f"| {op} | {self.kills[op]} | {self.finished[op]} |")
        lines.append(f"| **all** | **{self.total_kills}** | {sum(self.finished.values())} |")
        lines += ["", "| check after each kill | passed |", "|---|---:|"]
        for name in ("no orphan", "opens", "integrity_check", "blobs", "verify", "re-import converges"):
            lines.append(f"| {name} | {self.checks[name]} |")
        lines.append("")
        lines.append(f"{self.total_kills} kills, {len(self.failures)} failures, {self.messages} messages "
                     f"imported, {self.seconds:.0f} s")
        return "\n".join(lines)


def _message(n: int, rng: random.Random) -> bytes:
    ip = f"198.51.{rng.randrange(0, 100)}.{rng.randrange(1, 255)}"
    att = os.urandom(rng.randrange(1, 64) * 1024).hex().encode()
    return (f"From: crash{n}@sender.example\nTo: analyst@example.org\nSubject: crash round {n}\n"
            f"Date: Mon, 19 Oct 2020 10:{n % 60:02d}:00 +0000\nMessage-ID: <crash{n}@sender.example>\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
            f"Content-Type: text/plain\n\nround {n} from {ip} via https://c{n}.crash.example/p\n--b\n"
            f"Content-Type: text/plain; name=\"att{n}.txt\"\nContent-Disposition: attachment; "
            f"filename=\"att{n}.txt\"\n\nattachment of round {n} naming 203.0.113.{n % 250}\n"
            ).encode() + att + b"\n--b--\n"


class Runner:
    """One case, its evidence folder, and the rounds of a campaign."""

    def __init__(self, work: Path, seed: int) -> None:
        self.work = work
        self.rng = random.Random(seed)
        self.case = work / "c.casetrail"
        self.evidence = work / "evidence"
        self.out = work / "out"
        self.evidence.mkdir(parents=True, exist_ok=True)
        self.out.mkdir(exist_ok=True)
        self.result = Campaign()
        self.durations: dict[str, float] = {}
        self.failed_before: set[str] = set()

    # -- the commands -----------------------------------------------------------------------

    def _argv(self, op: str) -> list[str]:
        c = str(self.case)
        if op == "import":
            n = self.result.messages
            self.result.messages += 1
            path = self.evidence / f"m{n:05d}.eml"
            path.write_bytes(_message(n, self.rng))
            return ["import", c, str(path)]
        return {
            "analyse": ["analyse", c, "--all"],
            "verify": ["verify", c],
            "brief": ["brief", c, "-o", str(self.out / "b.pdf")],
            "package": ["export", c, "--package", str(self.out / "p.zip")],
            "csv": ["export", c, "--csv", str(self.out / "i.csv")],
            "tag": ["tag", c, "--indicator", "203.0.113.1", f"round-{self.rng.randrange(1000)}"],
            "items": ["items", c],
        }[op]

    def _start(self, argv: list[str]) -> int:
        pid = os.fork()
        if pid == 0:  # the command, as `casetrail` would run it
            code = 99
            try:
                os.setsid()
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                from desktop.cli import main
                code = main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:  # a child of the campaign reports by its exit code
                code = 98
            finally:
                os._exit(code)
        return pid

    def run_op(self, op: str, *, kill: bool) -> str:
        """Run ``op``; with ``kill``, SIGKILL it at a random moment of its usual run."""
        argv = self._argv(op)
        started = time.monotonic()
        pid = self._start(argv)
        if not kill:
            _, status = os.waitpid(pid, 0)
            self.durations[op] = time.monotonic() - started
            return f"exit {os.waitstatus_to_exitcode(status)}"
        deadline = started + self.rng.uniform(0.0, max(self.durations.get(op, 1.0), 0.05) * 1.2)
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.durations[op] = 0.8 * self.durations.get(op, 1.0) + 0.2 * (time.monotonic() - started)
                self.result.finished[op] += 1
                return f"exit {os.waitstatus_to_exitcode(status)}"
            time.sleep(0.002)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        self.result.kills[op] += 1
        self._no_orphans(pid, op)
        return "killed"

    def _no_orphans(self, sid: int, op: str) -> None:
        deadline = time.monotonic() + ORPHAN_WAIT_S
        while True:
            left = _session_members(sid)
            if not left:
                self.result.checks["no orphan"] += 1
                return
            if time.monotonic() > deadline:
                self.result.failures.append(f"{op}: processes {left} outlived the killed command")
                for p in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p, signal.SIGKILL)
                return
            time.sleep(0.02)

    # -- the checks -------------------------------------------------------------------------

    def check(self, label: str) -> None:
        from desktop.core.case import Case
        from desktop.core.progress import run_to_end
        from desktop.core.verify import verify_case
        from desktop.ingest.pipeline import import_and_analyse

        try:
            with Case.open(self.case) as case:
                self.result.checks["opens"] += 1
                row = case.db.conn.execute("PRAGMA integrity_check").fetchone()
                if row[0] != "ok":
                    raise AssertionError(f"integrity_check: {row[0]}")
                self.result.checks["integrity_check"] += 1
                for item_id, sha, size in case.db.conn.execute("SELECT id, sha256, size FROM items"):
                    blob = case.vault.blob_path(sha)
                    if not blob.is_file() or blob.stat().st_size != size:
                        raise AssertionError(f"item {item_id} lacks its blob {sha[:12]}")
                self.result.checks["blobs"] += 1
                report = run_to_end(verify_case(case, record=False, ledger=False))
                if not report.ok:
                    raise AssertionError(f"verify: {report.summary()}; {report.problems[:3]}")
                self.result.checks["verify"] += 1
                messages = sorted(self.evidence.glob("*.eml"))
                run_to_end(import_and_analyse(case, messages))
                items = case.items()
                pending = [i.id for i in items if i.status == "acquired"]
                top = Counter(i.name for i in items if i.parent_id is None)
                failed = {i.name for i in items if i.status.startswith("analysis failed")}
                if pending:
                    raise AssertionError(f"re-import left items {pending[:5]} pending")
                if any(top[p.name] != 1 for p in messages):
                    raise AssertionError("re-import: a message is missing or twice")
                if failed - self.failed_before:
                    raise AssertionError(f"re-import: analysis failed for {sorted(failed)[:3]}")
                self.result.checks["re-import converges"] += 1
        except (AssertionError, sqlite3.Error, OSError, ValueError, RuntimeError) as e:
            self.result.failures.append(f"after {label}: {type(e).__name__}: {e}")
        except Exception as e:  # a campaign reports whatever broke, then goes on
            self.result.failures.append(f"after {label}: {type(e).__name__}: {e}")

    def litter(self) -> None:
        """After one more command, nothing of the kills is left beside exports or in the case."""
        self.run_op("items", kill=False)
        self.check("the last command")
        stray = [p.name for p in self.out.iterdir() if p.name.startswith(".")]
        if stray:
            self.result.failures.append(f"litter beside the exports: {stray[:5]}")
        scratch_dirs = [p.name for p in self.case.iterdir() if "scratch" in p.name and any(p.iterdir())]
        if scratch_dirs:
            self.result.failures.append(f"litter in the case: {scratch_dirs}")

    # -- a campaign -------------------------------------------------------------------------

    def campaign(self, kills: int, *, say: bool = True) -> Campaign:
        # The commands' modules loaded once here, so each forked command starts warm.
        import desktop.cli  # noqa: F401
        import reports.briefing
        import reports.package  # noqa: F401
        from desktop.core.case import Case

        started = time.monotonic()
        Case.create(self.case, title="crash campaign", examiner="crash").close()
        for op in ("import", "import", *OPS):  # the usual duration of each command, measured
            self.run_op(op, kill=False)
        if say:
            print("  usual durations: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.durations.items()),
                  flush=True)
        rounds = 0
        deck: list[str] = []
        while self.result.total_kills < kills:
            if not deck:  # every command in every eight rounds, in a random order
                deck = self.rng.sample(OPS, len(OPS))
            op = deck.pop()
            outcome = self.run_op(op, kill=True)
            rounds += 1
            if outcome == "killed":
                self.check(f"kill {self.result.total_kills} ({op})")
            if say and rounds % 25 == 0:
                print(f"  {self.result.total_kills} kills, {len(self.result.failures)} failures, "
                      f"{time.monotonic() - started:.0f} s", flush=True)
            if len(self.result.failures) > 20:
                break
        self.litter()
        self.result.seconds = time.monotonic() - started
        return self.result


def _session_members(sid: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            out.append(int(entry.name))
    return out


def _jobs(args: argparse.Namespace, work: Path) -> Campaign:
    """Run ``args.jobs`` campaigns side by side (each its own case and seed) and add them up."""
    import subprocess

    share = [args.kills // args.jobs + (1 if k < args.kills % args.jobs else 0) for k in range(args.jobs)]
    procs = [subprocess.Popen([sys.executable, __file__, "--kills", str(n), "--seed", str(args.seed + k),
                               "--work", str(work / f"job{k}"), "--json"],
                              stdout=subprocess.PIPE, text=True) for k, n in enumerate(share)]
    total = Campaign()
    for k, p in enumerate(procs):
        out, _ = p.communicate()
        last = out.strip().splitlines()[-2] if out.strip() else "{}"  # the JSON line, before uptime
        try:
            part = json.loads(last)
        except ValueError:
            total.failures.append(f"job {k} printed no result (exit {p.returncode})")
            continue
        total.kills.update(part["kills"])
        total.finished.update(part["finished"])
        total.checks.update(part["checks"])
        total.failures += [f"job {k}: {f}" for f in part["failures"]]
        total.messages += part["messages"]
        total.seconds = max(total.seconds, part["seconds"])
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description="SIGKILL campaign against a case (issue 16)")
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=1, help="campaigns side by side, each on its own case")
    ap.add_argument("--work", type=Path, default=None, help="where the case is made (default: a temp folder)")
    ap.add_argument("--json", action="store_true", help="print the counts as JSON too")
    args = ap.parse_args()
    os.environ.setdefault("CASETRAIL_PASSPHRASE", "crash-campaign")
    work = args.work or Path(tempfile.mkdtemp(prefix="casetrail-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CASETRAIL_HOME", str(work / "home"))
    print(f"crash campaign: {args.kills} kills, seed {args.seed}, {args.jobs} job(s), in {work}", flush=True)
    print("machine: " + os.popen("uptime").read().strip(), flush=True)  # noqa: S605 - a fixed command
    result = _jobs(args, work) if args.jobs > 1 else Runner(work, args.seed).campaign(args.kills)
    print(result.table())
    for f in result.failures:
        print(f"FAILURE: {f}")
    if args.json:
        print(json.dumps({"kills": dict(result.kills), "finished": dict(result.finished),
                          "checks": dict(result.checks), "failures": result.failures,
                          "messages": result.messages, "seconds": result.seconds}))
    print("machine: " + os.popen("uptime").read().strip(), flush=True)  # noqa: S605
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
