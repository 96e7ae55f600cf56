# SPDX-License-Identifier: GPL-3.0-or-later
"""Importers: one module per evidence kind, and the sandbox that runs them. Never imports Qt."""
