# SPDX-License-Identifier: GPL-3.0-or-later
"""Crash safety of acquisition (reliability goal G1): kill the importer anywhere, then recover.

Every named failpoint, and SIGKILL at random moments, must leave a case that opens writable,
recovers what the crash left (recorded in custody), verifies, references no missing blob, holds
no blob whose content differs from its name, passes ``integrity_check``, and converges to the
same set of items as a crash-free run when the folder is imported again.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core import custody, store
from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.progress import run_to_end
from desktop.core.vault import CHUNK, sha256_on_disk
from desktop.core.verify import verify_case

pytestmark = pytest.mark.slow

CT = shutil.which("casetrail", path=str(Path(sys.executable).parent))
FAILPOINTS = ("after_tmp_fsync", "after_reread", "after_link", "after_unlink_tmp", "before_commit",
              "after_commit")
N_FILES = 10
KILL_RUNS = int(os.environ.get("CASETRAIL_KILL_RUNS", "22"))  # ~2 s each; raise for a soak


def _fast_flags() -> list[str]:
    if CT is None:
        return []
    p = subprocess.run([CT, "import", "--help"], capture_output=True, text=True, timeout=60, check=False)
    return ["--no-analyse"] if "--no-analyse" in p.stdout else []


FAST = _fast_flags()


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x01\x02\x03" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _make_evidence(root: Path, rng: random.Random, big: int = 0) -> Path:
    files = {
        "a.txt": b"plain text evidence\n" * 50,
        "b.bin": rng.randbytes(100_000),
        "empty.dat": b"",
        "image.png": _png(),
        "renamed.jpg": _png(),  # same content as image.png, other name: one blob, two items
        "nested/c.txt": b"nested\n",
        "nested/deeper/multi-chunk.bin": rng.randbytes(CHUNK + 12_345),
        "nested/deeper/copy-of-a.txt": b"plain text evidence\n" * 50,
        "mail.eml": b"From: a@example.com\nTo: b@example.org\nSubject: hi\n\nbody\n",
        "z.csv": b"a,b\n1,2\n",
    }
    if big:
        files["big/video.raw"] = rng.randbytes(big)
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


@pytest.fixture(scope="module")
def small_evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ev = _make_evidence(tmp_path_factory.mktemp("ev-small"), random.Random(1))
    assert sum(1 for p in ev.rglob("*") if p.is_file()) == N_FILES
    return ev


@pytest.fixture(scope="module")
def big_evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_evidence(tmp_path_factory.mktemp("ev-big"), random.Random(2), big=40 << 20)


def _new_case(path: Path) -> Path:
    Case.create(path, title="crash test", examiner="E").close()
    return path


def _env(crash_at: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CASETRAIL_CRASH_AT", None)
    if crash_at:
        env["CASETRAIL_CRASH_AT"] = crash_at
    return env


def _import_cmd(case: Path, evidence: Path) -> list[str]:
    assert CT is not None, "no casetrail console script next to this Python"
    return [CT, "import", str(case), str(evidence), *FAST]


def _reference(tmp_path_factory: pytest.TempPathFactory, evidence: Path) -> tuple[set[str], float]:
    case = _new_case(tmp_path_factory.mktemp("ref") / "ref.casetrail")
    start = time.perf_counter()
    p = subprocess.run(_import_cmd(case, evidence), capture_output=True, text=True, env=_env(),
                       timeout=300, check=False)
    elapsed = time.perf_counter() - start
    assert p.returncode == 0, p.stderr
    with Case.open(case) as c:
        return {i.sha256 for i in c.items() if i.parent_id is None}, elapsed


@pytest.fixture(scope="module")
def small_reference(tmp_path_factory: pytest.TempPathFactory, small_evidence: Path) -> set[str]:
    hashes, _ = _reference(tmp_path_factory, small_evidence)
    assert len(hashes) == N_FILES - 2  # two files repeat content
    return hashes


@pytest.fixture(scope="module")
def big_reference(tmp_path_factory: pytest.TempPathFactory, big_evidence: Path) -> tuple[set[str], float]:
    return _reference(tmp_path_factory, big_evidence)


def check_after_crash(case_path: Path, evidence: Path, reference: set[str], context: str) -> list[str]:
    """Open (recovery runs), check every G1 invariant, re-import, check convergence."""
    with Case.open(case_path) as c:
        assert not c.read_only, f"{context}: {c.read_only_reason}"
        recovered = list(c.recovery)
        assert c.vault.temp_files() == [], f"{context}: temp files left after recovery"
        assert store.integrity_problems(c.db) == [], context
        assert c.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", context
        for item in c.items():
            blob = c.vault.blob_path(item.sha256)
            assert blob.is_file(), f"{context}: item {item.id} references a missing blob"
        for blob in c.vault.blobs():
            assert sha256_on_disk(blob) == blob.name, f"{context}: blob {blob} does not match its name"
        report = run_to_end(verify_case(c))
        assert report.ok, f"{context}: verify failed: {report.to_json()}"
        entries = c.custody()
        assert sum(1 for e in entries if e["action"] == "recovered") == len(recovered), context
        partial = {i.sha256 for i in c.items()} - reference
        assert not partial, f"{context}: items that the reference run does not have: {partial}"
        report2 = run_to_end(import_paths(c, [evidence]))
        assert report2.failed == [], f"{context}: {report2.failed}"
        got = {i.sha256 for i in c.items() if i.parent_id is None}
        assert got == reference, f"{context}: re-import did not converge"
        assert custody.verify_chain(c.db.conn).ok, context
    with Case.open(case_path) as again:
        assert again.recovery == [], f"{context}: recovery found something twice"
    return recovered


# The 10th hit of a vault failpoint is the multi-chunk file, streamed on its own through a named
# temp file; hits 1-9 are inside the batch of the nine small files before it.
VAULT_FAILPOINTS = {"after_tmp_fsync": (1, 10), "after_reread": (6, 10), "after_link": (1, 6, 10),
                    "after_unlink_tmp": (1, 6, 10)}
FAILPOINT_RUNS = [(f, n) for f in FAILPOINTS for n in VAULT_FAILPOINTS.get(f, (1, 6))]


def _anonymous_copies(case: Path) -> bool:
    """Whether the case's vault stages small files as anonymous (O_TMPFILE) copies."""
    from desktop.core.vault import Vault

    return Vault(case / "vault")._anonymous_temps()


@pytest.mark.parametrize(("failpoint", "nth"), FAILPOINT_RUNS)
def test_crash_at_failpoint(tmp_path: Path, small_evidence: Path, small_reference: set[str],
                            failpoint: str, nth: int) -> None:
    case = _new_case(tmp_path / "c.casetrail")
    anonymous = _anonymous_copies(case) and nth < 10  # the batch's copies have no name
    spec = f"{failpoint}:{nth}"
    p = subprocess.run(_import_cmd(case, small_evidence), capture_output=True, text=True,
                       env=_env(spec), timeout=300, check=False)
    assert p.returncode == 137, f"CASETRAIL_CRASH_AT={spec} did not crash: exit {p.returncode} {p.stderr}"
    with Case.open(case, read_only=True) as peek:
        before = len([i for i in peek.items() if i.parent_id is None])
        left = peek.vault.temp_files()
        linked = list(peek.vault.blobs())
    assert before < N_FILES, f"{spec}: the crash came after the whole import"
    recovered = check_after_crash(case, small_evidence, small_reference, f"CASETRAIL_CRASH_AT={spec}")
    if anonymous:
        # A crash inside a batch of anonymous copies leaves no temp file at all: a copy has a
        # name only once it is its blob. Before the link nothing of the batch is in the vault.
        assert left == [], f"{spec}: a batch of anonymous copies left temp files {left}"
        assert not any("temp" in r for r in recovered), f"{spec}: {recovered}"
        if failpoint in ("after_tmp_fsync", "after_reread"):
            assert len(linked) == before == 0, f"{spec}: blobs before their copies were verified"
    elif failpoint in ("after_tmp_fsync", "after_reread"):
        assert any("temp file" in r for r in recovered), f"{spec}: the leftover temp file was not reported"
    if failpoint == "after_link" and not anonymous:
        # A new blob's temp file is a second name of it: the name goes, the content stays. For
        # content the vault already had it is a plain copy, quarantined. Either way the
        # quarantine holds no hard link through which a blob could be altered.
        assert any("temp link" in r or "temp file" in r for r in recovered), \
            f"{spec}: the leftover temp file was not reported"
        if nth in (1, 10):
            assert any("temp link" in r for r in recovered), f"{spec}: the temp link was not reported"
    quarantine = case / "quarantine"
    assert not quarantine.exists() or all(p.stat().st_nlink == 1 for p in quarantine.iterdir())
    if failpoint in ("after_link", "after_unlink_tmp", "before_commit") and nth in (1, 10):
        assert any("orphan blob" in r for r in recovered), f"{spec}: the unrecorded blob was not reported"


def test_random_kill_loop(tmp_path: Path, big_evidence: Path,
                          big_reference: tuple[set[str], float]) -> None:
    reference, t_ref = big_reference
    start = time.perf_counter()
    subprocess.run([CT or "casetrail", "import", "--help"], capture_output=True, env=_env(), timeout=60,
                   check=True)
    t_start = time.perf_counter() - start  # interpreter start-up: kills before it touch nothing
    master = int(os.environ.get("CASETRAIL_CRASH_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"random-kill master seed {master} (set CASETRAIL_CRASH_SEED to replay); T_ref {t_ref:.2f}s, "
          f"start-up {t_start:.2f}s")
    outcomes = {"killed": 0, "finished": 0, "recovered something": 0}
    for run in range(KILL_RUNS):
        seed = master * 1000 + run
        rng = random.Random(seed)
        delay = rng.uniform(t_start / 2, t_ref)
        case = _new_case(tmp_path / f"k{run}.casetrail")
        proc = subprocess.Popen(_import_cmd(case, big_evidence), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=_env())
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        outcomes["killed" if proc.returncode == -9 else "finished"] += 1
        context = f"seed {seed} (master {master}, run {run}, kill after {delay:.3f}s)"
        assert proc.returncode in (0, -9), f"{context}: import exited {proc.returncode}"
        if check_after_crash(case, big_evidence, reference, context):
            outcomes["recovered something"] += 1
        shutil.rmtree(case)
    print(f"random-kill outcomes over {KILL_RUNS} runs: {outcomes}")
    assert outcomes["killed"] >= KILL_RUNS // 2, f"most runs must die mid-way: {outcomes} (master {master})"


def test_reference_hashes_are_the_files(small_evidence: Path, small_reference: set[str]) -> None:
    assert small_reference == {hashlib.sha256(p.read_bytes()).hexdigest()
                               for p in small_evidence.rglob("*") if p.is_file()}


# -- the batch path and derived parts --------------------------------------------------------

N_MANY = 300  # more than one batch of small files (256)


@pytest.fixture(scope="module")
def many_evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ev-many")
    rng = random.Random(3)
    for i in range(N_MANY):
        (root / f"d{i % 7}").mkdir(exist_ok=True)
        (root / f"d{i % 7}" / f"f{i:04d}.bin").write_bytes(rng.randbytes(rng.randint(0, 3000)))
    return root


@pytest.fixture(scope="module")
def many_reference(tmp_path_factory: pytest.TempPathFactory, many_evidence: Path) -> set[str]:
    hashes, _ = _reference(tmp_path_factory, many_evidence)
    return hashes


@pytest.mark.parametrize("spec", ["after_tmp_fsync:200", "after_link:130",
                                  "before_commit:150", "after_commit:270"])
def test_crash_inside_a_batch(tmp_path: Path, many_evidence: Path, many_reference: set[str],
                              spec: str) -> None:
    case = _new_case(tmp_path / "c.casetrail")
    p = subprocess.run(_import_cmd(case, many_evidence), capture_output=True, text=True, env=_env(spec),
                       timeout=300, check=False)
    assert p.returncode == 137, f"CASETRAIL_CRASH_AT={spec} did not crash: exit {p.returncode} {p.stderr}"
    with Case.open(case, read_only=True) as peek:
        left = peek.vault.temp_files()
        journalled = {sha for _entry, shas in peek.vault.in_flight() for sha in shas or ()}
        unrecorded = {b.name for b in peek.vault.blobs()} - {i.sha256 for i in peek.items()}
    # What recovery looks at is all a crash can leave: every blob no item names is in the journal.
    assert unrecorded <= journalled, \
        f"{spec}: blobs neither recorded nor journalled: {unrecorded - journalled}"
    recovered = check_after_crash(case, many_evidence, many_reference, f"CASETRAIL_CRASH_AT={spec}")
    if spec.startswith("after_tmp_fsync") and _anonymous_copies(case):
        # Copies made durable but not yet verified or linked have no name: nothing to recover.
        assert (left, unrecorded, recovered) == ([], set(), []), f"{spec}: {left} {unrecorded} {recovered}"
    elif not spec.startswith("after_commit"):
        assert recovered, f"{spec}: a crash inside a batch left nothing to recover"


def test_a_kill_while_a_mailbox_is_derived_converges_on_reimport(tmp_path: Path) -> None:
    from desktop.ingest.pipeline import import_and_analyse

    box = tmp_path / "box.mbox"
    box.write_bytes(b"".join(b"From x@example.com Mon Jan  1 00:00:00 2024\n"
                             + f"Subject: m{i}\nFrom: x{i}@example.com\n\nbody {i}\n".encode()
                             for i in range(600)))
    case = _new_case(tmp_path / "c.casetrail")
    assert CT is not None
    p = subprocess.run([CT, "import", str(case), str(box)], capture_output=True, text=True,
                       env=_env("after_commit:400"), timeout=300, check=False)
    assert p.returncode == 137, p.stderr
    with Case.open(case) as c:
        assert c.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert run_to_end(verify_case(c)).ok
        derived = [i for i in c.items() if i.parent_id is not None]
        assert 0 < len(derived) < 600
        report = run_to_end(import_and_analyse(c, [box]))  # a plain re-import finishes the work
        assert report.failed == []
        items = c.items()
        assert len([i for i in items if i.parent_id == items[0].id]) == 600
        assert all(i.status == "analysed" for i in items)
        assert run_to_end(verify_case(c)).ok
