# SPDX-License-Identifier: GPL-3.0-or-later
"""Evidence kinds: one module per kind, each an :class:`desktop.ingest.plugin.Analyser`.

They are listed in one place, :mod:`desktop.ingest.registry`. A module here imports its heavy
parser (PyAV, extract-msg, libpff …) only inside ``analyse``, so choosing an analyser stays cheap.
"""
