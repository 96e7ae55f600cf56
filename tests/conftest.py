# SPDX-License-Identifier: GPL-3.0-or-later
"""Suite-wide settings that must be in place before any test module imports Qt."""

import os

# Qt picks its platform when the first QApplication is made: without a display, use offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Examiner keys are encrypted (issue 11). Set here, not only in a fixture: module-scoped fixtures
# and the child processes they start (the soak) run before any function fixture.
os.environ.setdefault("CASETRAIL_PASSPHRASE", "test-suite-passphrase")


import pytest


@pytest.fixture(autouse=True)
def _workstation_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's workstation library and examiner keys out of the real user data dir."""
    monkeypatch.setenv("CASETRAIL_HOME", str(tmp_path_factory.mktemp("casetrail-home")))


@pytest.fixture(autouse=True)
def _examiner_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    """Examiner keys are encrypted (issue 11): every test signs with this passphrase."""
    monkeypatch.setenv("CASETRAIL_PASSPHRASE", "test-suite-passphrase")
