# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m desktop.cli``: the same as the ``casetrail`` command."""

import sys

from desktop.cli import main

sys.exit(main())
