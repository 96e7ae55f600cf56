# SPDX-License-Identifier: GPL-3.0-or-later
"""The examiner's passphrase, asked once a session before the first signature (issue 11).

Signing keys are encrypted (``desktop.core.keys``). The window asks for the passphrase the first
time something must be signed — a briefing preview or export — and hands it to the core with
:func:`desktop.core.keys.set_passphrase`; it is kept in memory for the session only. The dialog
shows the key's fingerprint, so the examiner sees which key is about to sign.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from desktop.core import keys


def ensure_passphrase(parent: QWidget | None, examiner: str) -> bool:
    """Ask for the examiner's passphrase unless the session (or the environment) has one.

    Returns:
        True when signing can proceed; False when the examiner cancelled.
    """
    if keys.passphrase_available():
        return True
    fp = keys.fingerprint_of(examiner)
    which = (f"the signing key of {examiner}\nfingerprint {fp}" if fp
             else f"a new signing key for {examiner} (it is created now, encrypted with it)")
    text, ok = QInputDialog.getText(parent, "Examiner passphrase",
                                    f"Passphrase of {which}:", QLineEdit.EchoMode.Password)
    if not ok or not text:
        return False
    keys.set_passphrase(text)
    return True
