# SPDX-License-Identifier: GPL-3.0-or-later
"""A folder of evidence cannot replace Casetrail's code in its child processes.

The analysis sandbox starts ``python -m desktop.ingest.worker``; without PYTHONSAFEPATH, ``-m`` puts
the current folder first on sys.path, so an analyst working in a folder that holds a ``desktop``
package (a suspect's source tree, say) would run that package instead of Casetrail's analyser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.ingest.sandbox import AnalysisFailed, Sandbox


def test_the_sandbox_child_ignores_a_desktop_package_in_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trap = tmp_path / "desktop"
    trap.mkdir()
    (trap / "__init__.py").write_text("raise SystemExit('SHADOWED')\n")
    monkeypatch.chdir(tmp_path)
    sandbox = Sandbox(memory_mb=512)
    try:
        with pytest.raises(AnalysisFailed) as failed:
            sandbox.run({"kind": "no such kind"}, 60)  # any job: what matters is which code answers
    finally:
        sandbox.close()
    assert "SHADOWED" not in str(failed.value)
