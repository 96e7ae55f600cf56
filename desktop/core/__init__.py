# SPDX-License-Identifier: GPL-3.0-or-later
"""The Qt-free domain: cases, the vault, custody, indicators. Never imports PySide6."""
