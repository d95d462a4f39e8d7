"""Every stored value of a SQLite file as text, for tests that look for what must be gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def dump_rows(path: Path) -> str:
    """The schema and every row of every ordinary table, one line per row.

    Virtual tables (the text index) are not scanned: a contentless one refuses a scan, and
    what it holds lives in its shadow tables, which are ordinary tables and are dumped.
    """
    conn = sqlite3.connect(path)
    try:
        tables = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
        ).fetchall()
        lines = []
        for name, sql in tables:
            lines.append(sql)
            if sql.upper().startswith("CREATE VIRTUAL TABLE"):
                continue
            quoted = name.replace('"', '""')
            for row in conn.execute(f'SELECT * FROM "{quoted}"'):
                lines.append("|".join(_text(value) for value in row))
        return "\n".join(lines)
    finally:
        conn.close()


def _text(value: object) -> str:
    # A blob (a stored document, a text index segment) is read as the bytes it holds.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)
