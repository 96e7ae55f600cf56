# SPDX-License-Identifier: GPL-3.0-or-later
import sys
import time
from pathlib import Path

import pytest

from desktop.ingest.sandbox import AnalysisFailed, Sandbox

FAKE = str(Path(__file__).with_name("fake_worker.py"))


@pytest.fixture
def box():
    sandbox = Sandbox(memory_mb=512, command=[sys.executable, FAKE])
    yield sandbox
    sandbox.close()


def job(name: str) -> dict:
    return {"id": 1, "name": name}


def test_answers_and_reuses_the_child(box):
    first = box.run(job("a"), timeout_s=30)
    second = box.run(job("b"), timeout_s=30)
    assert first["echo"] == "a"
    assert second["echo"] == "b"
    assert first["pid"] == second["pid"]


def test_stdout_noise_does_not_corrupt_answers(box):
    assert box.run(job("print"), timeout_s=30)["echo"] == "print"


def test_exception_becomes_reason_and_child_survives(box):
    pid = box.run(job("a"), timeout_s=30)["pid"]
    with pytest.raises(AnalysisFailed, match="ValueError: the file is not what it claims"):
        box.run(job("raise"), timeout_s=30)
    assert box.run(job("a"), timeout_s=30)["pid"] == pid


def test_timeout_kills_and_next_job_gets_a_fresh_child(box):
    pid = box.run(job("a"), timeout_s=30)["pid"]
    started = time.monotonic()
    with pytest.raises(AnalysisFailed, match=r"timed out after 1 s"):
        box.run(job("hang"), timeout_s=1)
    assert time.monotonic() - started < 10
    assert box.run(job("a"), timeout_s=30)["pid"] != pid


def test_crash_is_reported_with_the_signal(box):
    with pytest.raises(AnalysisFailed, match="crashed \\(SIGSEGV\\)"):
        box.run(job("segfault"), timeout_s=30)
    assert box.run(job("a"), timeout_s=30)["echo"] == "a"


def test_memory_limit_is_enforced(box):
    with pytest.raises(AnalysisFailed, match="memory"):
        box.run(job("memory"), timeout_s=60)
    assert box.run(job("a"), timeout_s=30)["echo"] == "a"


def test_terminate_from_another_thread_wakes_a_waiting_job(box):
    import threading

    outcome: list[str] = []

    def waiting() -> None:
        try:
            box.run(job("hang"), timeout_s=120)
        except AnalysisFailed as exc:
            outcome.append(str(exc))

    box.run(job("a"), timeout_s=30)  # the child is up
    thread = threading.Thread(target=waiting)
    thread.start()
    started = time.monotonic()
    while not outcome and time.monotonic() - started < 0.3:
        time.sleep(0.01)
    box.terminate()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert outcome
    assert "killed" in outcome[0]


def test_a_jobs_memory_limit_counts_from_what_the_child_holds():
    """A reused child that mapped a lot (the OCR engine) still gives the next job its own limit."""
    sandbox = Sandbox(memory_mb=2048, command=[sys.executable, FAKE])
    try:
        assert sandbox.run({"id": 1, "name": "hold", "hold_mb": 400}, timeout_s=60)["held_mb"] == 400
        # 192 MiB on top of the 400 held: within a 256 MiB job limit, which a flat limit refused
        grew = sandbox.run({"id": 2, "name": "grow", "memory_mb": 256}, timeout_s=60)
        assert grew["grew_mb"] == 192
        with pytest.raises(AnalysisFailed, match="memory"):  # the job's own limit still binds
            sandbox.run({"id": 3, "name": "memory", "memory_mb": 256}, timeout_s=60)
    finally:
        sandbox.close()
