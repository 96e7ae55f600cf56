# SPDX-License-Identifier: GPL-3.0-or-later
"""A small case built through the core, shaped like what the window lists: messages with parts."""

from __future__ import annotations

from pathlib import Path

from desktop.core.acquire import DerivedFile, acquire_derived_files, import_paths
from desktop.core.case import Case
from desktop.core.findings import mark_analysed, record_occurrences
from desktop.core.progress import run_to_end


def build(case: Case, folder: Path) -> dict[str, int]:
    """Three top-level files (one with two parts), a duplicate, and indicators on them.

    Returns:
        Item ids by name.
    """
    folder.mkdir(exist_ok=True)
    (folder / "b-mail.eml").write_bytes(b"From: a@example.org\n\nbody 10.0.0.10\n")
    (folder / "a-note.txt").write_bytes(b"note 9.9.9.9 and 10.0.0.9" * 40)
    (folder / "c-big.bin").write_bytes(b"\x00" * 5000)
    (folder / "copy.txt").write_bytes(b"note 9.9.9.9 and 10.0.0.9" * 40)  # the same content as a-note
    run_to_end(import_paths(case, sorted(folder.iterdir())))
    ids = {i.name: i.id for i in case.items()}
    parent = case.item(ids["b-mail.eml"])
    assert parent is not None
    parts = []
    for name, data in (("invoice.pdf", b"%PDF-1.4 fake"), ("logo.png", b"\x89PNG fake")):
        (folder / name).write_bytes(data)
        parts.append(DerivedFile(folder / name, name, "attachment"))
    acquire_derived_files(case, parent, parts)
    ids = {i.name: i.id for i in case.items()}
    with case.transaction() as conn:
        record_occurrences(conn, ids["b-mail.eml"], [
            {"type": "ipv4", "value": "10.0.0.10", "source": "body", "where": "text body"},
            {"type": "email", "value": "a@example.org", "source": "header", "where": "From"},
            {"type": "ipv4", "value": "10.0.0.10", "source": "header", "where": "Received (hop 1 of 1)"}])
        record_occurrences(conn, ids["a-note.txt"], [
            {"type": "ipv4", "value": "9.9.9.9", "source": "body", "where": "text"},
            {"type": "ipv4", "value": "10.0.0.9", "source": "body", "where": "text"}])
        record_occurrences(conn, ids["invoice.pdf"], [
            {"type": "ipv4", "value": "10.0.0.10", "source": "attachment", "where": "pdf"}])
        for item in case.items():  # findings are recorded as custody binds them (issue 11)
            mark_analysed(conn, examiner=case.examiner, item_id=item.id, sha256=item.sha256, kind=item.kind)
    return ids
