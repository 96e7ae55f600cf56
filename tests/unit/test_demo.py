# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo case builder, headless: built once, reused after, verified, and Qt-free at import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop import demo
from desktop.core import analysis
from desktop.core.case import Case, Item
from desktop.core.correlate import indicators_with_matches


def case_items(path: Path) -> list[Item]:
    with Case.open(path, read_only=True) as case:
        return case.items()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@dataclass(frozen=True)
class Built:
    """A workstation home in which the demo was built from nothing, once for the module."""

    home: Path
    path: Path
    built: bool


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Build the demo once in a fresh home: the tests that need a built demo copy this home.

    A build imports and analyses the demo's video (most of this file's time); only the test of
    the headless first run builds again, because building is what it checks.
    """
    home = tmp_path_factory.mktemp("demo") / "home"
    with pytest.MonkeyPatch.context() as m:
        m.setenv("CASETRAIL_HOME", str(home))
        path, built = demo.build_demo()
    return Built(home, path, built)


def copy_of(first: Built, home: Path) -> Path:
    """The built demo's home copied to ``home`` (where ``CASETRAIL_HOME`` points); its case path."""
    shutil.copytree(first.home, home, symlinks=True)
    return home / first.path.relative_to(first.home)


def test_demo_is_built_once_then_reused(first_build: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASETRAIL_HOME", str(first_build.home))
    home, path, built = first_build.home, first_build.path, first_build.built
    assert built
    assert path == home / "demo" / "Demo - Proud Boys emails.casetrail"
    with Case.open(path, read_only=True) as case:
        items = {i.name: i for i in case.items(parent_id=None)}
        derived = [i for i in case.items() if i.parent_id is not None]
        case_id = case.meta["case_id"]
        indicators = {r["value"]: r for r in indicators_with_matches(case)}
        hypotheses = analysis.matrix(case)
    assert set(items) == set(demo.DEMO_FILES)
    # The story: the email carries a video; frames of it showing indicators are kept as exhibits.
    video = next(i for i in derived if i.name == "video.mp4")
    assert video.parent_id == items["threat-email.eml"].id
    assert video.kind == "video"
    frames = [i for i in derived if i.derived_how == "video frame"]
    assert frames
    assert all(f.parent_id == video.id for f in frames)
    assert all(i.status == "analysed" for i in case_items(path))
    # The IP on screen matches the partner's report and the Dutch hosting provider.
    ip = indicators["185.141.63.120"]
    assert any(o["source"] == "ocr" and o["item_id"] == video.id for o in ip["occurrences"])
    assert any(o["source"] == "header" for o in ip["occurrences"])
    assert any(m["source"] == "feed" and "SANDSTORM-7" in m["name"] for m in ip["matches"])
    assert ip["asn"]["country"] == "NL"
    assert "tlp:amber" in ip["tags"]
    assert hypotheses.hypotheses[0].title.startswith("State-linked")
    assert items["flyer.jpg"].ext_mismatch
    assert items["flyer.jpg"].mime == "image/png"
    assert items["forwarded-message.eml"].kind == "email"
    assert not items["analyst-note.txt"].ext_mismatch
    assert "185.141.63.120" in demo.resource_path("demo", "analyst-note.txt").read_text()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no build folder left behind

    again, built_again = demo.build_demo()
    assert (again, built_again) == (path, False)
    with Case.open(path, read_only=True) as case:
        assert case.meta["case_id"] == case_id


def test_headless_run_verifies_and_says_where(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--headless"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"demo case built: {demo.demo_case_path()}"
    with Case.open(demo.demo_case_path(), read_only=True) as case:
        # the feeds behind the matches became reference items at the briefing (issue 11)
        n = len([i for i in case.items() if i.derived_how != "intelligence reference"])
        actions = [e["action"] for e in case.custody()]
    assert out[1].startswith(f"intact: {n}/{n} items ok, custody chain of ")
    pdf = demo.demo_case_path() / "exports" / "demo-briefing.pdf"
    assert out[3] == f"demo briefing: {pdf}"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert actions[-3:-1] == ["verified", "note"]  # verify, then the briefing's signed checkpoint
    assert actions[-1] == "exported"


def test_a_modified_demo_is_reported(first_build: Built, home: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_of(first_build, home)
    assert demo.build_demo() == (path, False)
    with Case.open(path, read_only=True) as case:
        sha = case.items()[0].sha256
    blob = path / "vault" / sha[:2] / sha[2:4] / sha
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes() + b"x")
    with Case.open(path, read_only=True) as case:
        n = len(case.items())
    assert demo.main(["--headless"]) == 1
    assert f"DISCREPANCIES FOUND: {n - 1}/{n} items ok" in capsys.readouterr().out


def test_launch_without_a_display_says_so_once_and_runs_headless(first_build: Built, home: Path) -> None:
    path = copy_of(first_build, home)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    code = ("import sys, desktop.demo as d; rc = d.main(['--launch']); "
            "assert 'PySide6' not in sys.modules, 'the demo imported Qt'; sys.exit(rc)")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "no display" in lines[0]
    assert "headless" in lines[0]
    assert sum("no display" in line for line in lines) == 1
    assert lines[1] == f"demo case reused: {path}"  # building it is test_headless_run's
    assert lines[2].startswith("intact: ")
