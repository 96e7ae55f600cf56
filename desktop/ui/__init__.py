# SPDX-License-Identifier: GPL-3.0-or-later
"""All PySide6 code: the main window, models over the case, views and the task runner."""
