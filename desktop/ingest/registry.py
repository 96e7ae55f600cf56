# SPDX-License-Identifier: GPL-3.0-or-later
"""The one list of evidence kinds, in the order they are asked whether they accept an item.

Adding a kind is a module under :mod:`desktop.ingest.kinds` and one line in :data:`ANALYSERS`:
no other file dispatches on kinds. More specific analysers come first (an Outlook store before a
single message, a mailbox before the text analyser that would also take it).
"""

from __future__ import annotations

from desktop.ingest.kinds import image, mail, mbox, pst, text, video
from desktop.ingest.plugin import Analyser, Probe

ANALYSERS: tuple[Analyser, ...] = (
    pst.ANALYSER,
    mbox.ANALYSER,
    mail.MSG_ANALYSER,
    mail.ANALYSER,
    image.ANALYSER,
    video.ANALYSER,
    text.ANALYSER,
)
_BY_NAME = {a.name: a for a in ANALYSERS}


def choose(probe: Probe) -> Analyser | None:
    """The first analyser that accepts the item, or None (nothing to extract from it)."""
    for analyser in ANALYSERS:
        if analyser.accepts(probe):
            return analyser
    return None


def by_name(name: str) -> Analyser:
    """The analyser a job names.

    Raises:
        KeyError: no analyser has that name (a job from another version of Casetrail).
    """
    return _BY_NAME[name]
