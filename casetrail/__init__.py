# SPDX-License-Identifier: GPL-3.0-or-later
"""The name ``python -m casetrail`` runs: the same command as the installed ``casetrail``.

The code lives in ``desktop`` (and ``reports``); this package only gives the program its own
name on the command line and in the PyInstaller bundle, whose entry point is ``__main__``.
"""
