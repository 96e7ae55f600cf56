# SPDX-License-Identifier: GPL-3.0-or-later
"""How long a GUI test waits for background work: a bound, never a pause.

``qtbot.waitSignal`` and ``waitUntil`` return the moment the signal comes or the condition holds;
the timeout only says when to give up. Imports, analyses in child processes, verify runs and
correlation run on worker threads of a machine that two cores share with other suites and
benchmarks: measured under a load average of 15-19, an import of three files that takes 1 s on
an idle machine took over 10 s, and tests that waited 10 s failed although nothing was wrong.
A wait for background work therefore allows minutes; a hung task still fails the test.
"""

TASK_MS = 180_000
