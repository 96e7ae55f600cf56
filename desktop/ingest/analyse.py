# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one analysis job in the sandbox child: the analyser the job names, on the vault blob.

A job names a vault blob (never the original file), the item's name, libmagic type and kind, the
analyser chosen by the parent (:mod:`desktop.ingest.registry`) and a scratch folder for derived
parts. The answer is the analyser's :class:`desktop.ingest.plugin.Result`, bounded
(:mod:`desktop.ingest.bounds`) and with its large lists spooled to files of the scratch folder
(:mod:`desktop.ingest.spool`), so the answer line itself stays small whatever the item holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.ingest import registry
from desktop.ingest.bounds import bound_result
from desktop.ingest.plugin import PartWriter, Probe, Result
from desktop.ingest.spool import spill


def analyse(job: dict[str, Any]) -> Result:
    """Analyse one item; raise with a readable message when it cannot be analysed."""
    path = Path(job["path"])
    probe = Probe.of_file(path, mime=job.get("mime", ""), kind=job.get("kind", "file"),
                          name=job.get("name", ""), derived_how=job.get("derived_how"))
    analyser = registry.by_name(job["analyser"])
    outdir = Path(job["outdir"])
    result = bound_result(analyser.analyse(path, probe, PartWriter(outdir)))
    if job.get("describe"):
        from desktop.core.detect import describe_file  # libmagic's description, off the writer

        result["magic"] = describe_file(path)
    return spill(result, outdir)
