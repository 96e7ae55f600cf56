# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from pathlib import Path

from desktop.core.case import Case
from desktop.core.findings import record_ocr_lines, record_text, search_text


def test_search_finds_every_word_literally_and_marks_them(tmp_path: Path) -> None:
    with Case.create(tmp_path / "s.casetrail", title="t", examiner="e") as case:
        with case.transaction() as conn:
            conn.execute("INSERT INTO items (id, kind, name, source_path, size, sha256, sha1, md5, mime, "
                         "magic, acquired_at, acquired_by) VALUES (1, 'text', 'n', 'p', 1, 'a', 'b', 'c', "
                         "'text/plain', 'x', 'now', 'e')")
            record_text(conn, 1, "body:text", "You are registered as a Democrat. Vote or else.")
            record_ocr_lines(conn, 1, [{"text": "ssh root@185.141.63.120", "confidence": 0.9,
                                        "box": [0, 0, 10, 10], "time_s": 0.5}])
        hits = search_text(case.db.conn, "democrat vote")
        assert [(h.item_id, h.part) for h in hits] == [(1, "body:text")]
        assert "«Democrat»" in hits[0].snippet
        assert [h.part for h in search_text(case.db.conn, "185.141.63.120")] == ["ocr"]
        assert search_text(case.db.conn, "democrat nowhere") == []  # every word must occur
        # Query syntax in evidence-like input is searched as text, never parsed.
        for hostile in ('"', "-rf", "NEAR(a b)", "a OR b", "col:x", "*", "C:\\Users"):
            assert search_text(case.db.conn, hostile) == []
        assert search_text(case.db.conn, "   ") == []
