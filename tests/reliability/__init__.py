# SPDX-License-Identifier: GPL-3.0-or-later
"""The reliability campaigns: crashes, faults, fuzzing and hostile inputs (docs/reliability.md)."""
