# SPDX-License-Identifier: GPL-3.0-or-later
"""ui/ holds no SQL: every read and write the window makes is a core function (issue 15).

The window's modules are read as Python (their string literals and calls), not grepped as text,
so a comment that mentions SELECT is fine and an f-string that builds a query is not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "desktop" / "ui"
# A statement an SQL string starts with, or names a table with (SQL is upper case in Casetrail).
_SQL = re.compile(r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|"
                  r"(CREATE|DROP)\s+(TABLE|INDEX|TRIGGER|VIEW)\s|ALTER\s+TABLE\s|PRAGMA\s)"
                  r"|\b(FROM|JOIN)\s+\w+(\s+\w+)?\s+(WHERE|ORDER BY|GROUP BY|JOIN|ON)\b")
# Calls that run SQL on a connection, whatever the string is.
_CALLS = {"execute", "executemany", "executescript", "cursor", "transaction", "create_function"}


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value):
            out.append(f"{path.name}:{node.lineno}: SQL text {node.value[:60]!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CALLS:
            out.append(f"{path.name}:{node.lineno}: .{node.func.attr}() runs SQL")
    return out


def test_no_module_of_the_window_holds_sql_or_runs_it() -> None:
    modules = sorted(UI.glob("*.py"))
    assert len(modules) > 20, "the window's modules were found"
    found = [line for module in modules for line in _findings(module)]
    assert found == [], "SQL belongs in a core function the window calls:\n" + "\n".join(found)


def test_the_check_sees_sql_where_it_is() -> None:
    probe = UI.parent.parent / "tests" / "unit" / "_sql_probe.py"
    probe.write_text('conn.execute("SELECT id FROM items WHERE x = 1")\nq = f"UPDATE tags SET a = 1"\n',
                     encoding="utf-8")
    try:
        found = _findings(probe)
    finally:
        probe.unlink()
    assert len(found) >= 2
