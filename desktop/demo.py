"""The demo case: a small, realistic case built from ``resources/demo/`` for first runs and tours.

``python -m desktop.demo --headless`` builds the case (once; later runs reuse it), verifies it and
prints where it is; ``--launch`` opens it in the window and verifies it there, when there is a
display. This module must stay importable without Qt: PySide6 is imported only inside
:func:`launch`, so the headless path works on a server with no display libraries at all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from desktop.core.acquire import import_paths
from desktop.core.case import Case
from desktop.core.errors import CasetrailError
from desktop.core.progress import run_to_end
from desktop.core.verify import VerifyReport, verify_case
from desktop.resources import resource_path

DEMO_TITLE = "Demo - Proud Boys emails"
DEMO_EXAMINER = "Demo Analyst"
DEMO_TLP = "amber"
DEMO_REASON = "demo case built by `python -m desktop.demo` from the bundled sample files"
DEMO_FILES = ("analyst-note.txt", "forwarded-message.eml", "terminal-screenshot.png", "flyer.jpg")


def workstation_home() -> Path:
    """Return the workstation data folder: ``CASETRAIL_HOME`` if set, else the platform's."""
    env = os.environ.get("CASETRAIL_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("casetrail"))


def demo_case_path() -> Path:
    """Return where the demo case lives (whether or not it has been built yet)."""
    return workstation_home() / "demo" / f"{DEMO_TITLE}.casetrail"


def demo_sources() -> list[Path]:
    """Return the bundled demo files, in import order.

    Raises:
        CasetrailError: a bundled file is missing (a broken installation).
    """
    paths = [resource_path("demo", name) for name in DEMO_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CasetrailError(f"the demo files are missing from this installation: {', '.join(missing)}")
    return paths


def build_demo() -> tuple[Path, bool]:
    """Build the demo case if it does not exist yet.

    The case is built in a sibling folder and renamed into place only when complete, so an
    interrupted build never leaves a half-filled demo that later runs would reuse.

    Returns:
        The case folder and whether it was built now (False: an existing one was reused).
    """
    final = demo_case_path()
    if final.exists():
        return final, False
    sources = demo_sources()
    building = final.with_name(f"{final.name}.building-{os.getpid()}")
    if building.exists():  # our own leftover from a crashed build with a recycled pid
        shutil.rmtree(building)
    with Case.create(building, title=DEMO_TITLE, examiner=DEMO_EXAMINER, tlp=DEMO_TLP) as case:
        report = run_to_end(import_paths(case, sources, DEMO_REASON))
    if report.failed:
        problems = "; ".join(err for _path, err in report.failed)
        raise CasetrailError(f"the demo case could not be built: {problems}")
    building.rename(final)
    return final, True


def verify_demo(path: Path) -> VerifyReport:
    """Verify the demo case (recorded in its custody when it is not open elsewhere)."""
    with Case.open(path) as case:
        return run_to_end(verify_case(case))


def summary(report: VerifyReport) -> str:
    """One line saying what verification found, in the CLI's words."""
    good = sum(1 for s in report.items.values() if s == "ok")
    chain = report.chain
    return (f"{'intact' if report.ok else 'DISCREPANCIES FOUND'}: {good}/{len(report.items)} items ok, "
            f"custody chain of {chain.length if chain else 0} entries "
            f"{'ok' if report.custody_ok else 'BROKEN'}")


def has_display() -> bool:
    """Whether a window can be shown: an X11 or Wayland display, or an explicit Qt platform."""
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def headless() -> int:
    """Build (or reuse) and verify the demo case, printing where it is and what verify found."""
    path, built = build_demo()
    print(f"demo case {'built' if built else 'reused'}: {path}")
    report = verify_demo(path)
    print(summary(report))
    return 0 if report.ok else 1


def launch() -> int:
    """Open the window on the demo case, or run headless when there is no display."""
    if not has_display():
        print("casetrail demo: no display found (DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM are "
              "unset); running the demo headless instead")
        return headless()
    path, _built = build_demo()
    from desktop.ui.app import run_app  # Qt only on this path: see the module docstring

    return run_app(path, verify_on_open=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m desktop.demo``."""
    parser = argparse.ArgumentParser(prog="python -m desktop.demo",
                                     description="Build and open the Casetrail demo case.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--launch", action="store_true", help="open the demo case in the window (default)")
    mode.add_argument("--headless", action="store_true", help="build and verify it without a window")
    args = parser.parse_args(argv)
    try:
        return headless() if args.headless else launch()
    except CasetrailError as exc:
        print(f"casetrail demo: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
