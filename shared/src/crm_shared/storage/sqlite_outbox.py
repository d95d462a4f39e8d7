"""The outbox table of the SQLite adapter: a rowid table, so an event's row fits in its page.

It was a WITHOUT ROWID table keyed by `outbox_id`. Such a table is an index b-tree, whose cells
hold at most ~1,000 bytes on a 4 KB page; an event's row (a contact's created event or state
record, ~0.9-1.1 KB with its envelope) is just over that, so nearly every row spilled into an
overflow page of its own: 4,719 pages for 4,003 rows of an import, 4.7 KB written per row. A
rowid table keeps up to ~4 KB in the cell (three or four such rows a page) and its `outbox_id`
key lives in a small index. Measured on 20,000 rows of 1,050-byte values, 1,000 a transaction:
insert 24.3 -> 10.8 µs a row, delete (by outbox_id, 500 at a time) 25.8 -> 11.2 µs, pages
22,858 -> 6,683; at two rows per imported contact the outbox is written and deleted for every
contact, then checkpointed, both times.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Set
from typing import Any

import aiosqlite

from crm_shared.storage.sqlite_tx import immediate

_COLUMNS = (
    "(outbox_id TEXT PRIMARY KEY, topic TEXT NOT NULL, key TEXT, value BLOB NOT NULL, "
    "created_at TEXT NOT NULL)"
)


# Bound parameters per read of chosen entries: well under SQLite's limit of 32,766.
_READ_CHUNK = 500
_COLUMNS_READ = "outbox_id, topic, key, value"


def _read_pending(conn: sqlite3.Connection, limit: int, sent: Set[str]) -> list[Any]:
    """The first `limit` entries not in `sent`, in id order, in one snapshot.

    Entries the relay published wait for the next write to delete them (sqlite_sent.py): under
    an import's stream of events the relay reads again before that write, thousands of them
    still there. Their ids come off the key's index alone; only the chosen entries' values
    (~1 KB each) are read, not every published one's again and again.
    """
    if not sent:
        sql = f"SELECT {_COLUMNS_READ} FROM _outbox ORDER BY outbox_id LIMIT ?"
        return conn.execute(sql, (limit,)).fetchall()
    conn.execute("BEGIN")
    try:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT outbox_id FROM _outbox ORDER BY outbox_id LIMIT ?", (limit + len(sent),)
            )
            if row[0] not in sent
        ][:limit]
        rows: list[Any] = []
        for start in range(0, len(ids), _READ_CHUNK):
            chunk = ids[start : start + _READ_CHUNK]
            placeholders = ", ".join("?" for _ in chunk)
            sql = f"SELECT {_COLUMNS_READ} FROM _outbox WHERE outbox_id IN ({placeholders})"
            rows += conn.execute(sql + " ORDER BY outbox_id", chunk).fetchall()
        return rows
    finally:
        conn.execute("COMMIT")


async def read_pending(conn: aiosqlite.Connection, limit: int, sent: Set[str]) -> list[Any]:
    """`_read_pending` in one trip to the connection's thread (as sqlite_commit.py does)."""
    run: Any = conn._execute
    return list(await run(lambda: _read_pending(conn._conn, limit, sent)))


async def _layout(conn: aiosqlite.Connection) -> str | None:
    """The table's CREATE statement, or None when there is no outbox yet."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '_outbox'"
        )
    )
    return str(rows[0][0]) if rows else None


def _without_rowid(sql: str) -> bool:
    return "WITHOUT ROWID" in sql.upper()


async def create_outbox(conn: aiosqlite.Connection) -> None:
    """Create the outbox, or move an older WITHOUT ROWID one's entries into the new layout.

    The move keeps every unpublished entry under its id (they are published as before). It runs
    under SQLite's write lock and looks again once it has it: another process sharing the file
    may have moved it meanwhile.
    """
    sql = await _layout(conn)
    if sql is None:
        await conn.execute(f"CREATE TABLE IF NOT EXISTS _outbox {_COLUMNS}")
        return
    if not _without_rowid(sql):
        return
    async with immediate(conn):
        sql = await _layout(conn)
        if sql is not None and _without_rowid(sql):
            await conn.execute(f"CREATE TABLE _outbox__rowid {_COLUMNS}")
            await conn.execute(
                "INSERT INTO _outbox__rowid (outbox_id, topic, key, value, created_at) "
                "SELECT outbox_id, topic, key, value, created_at FROM _outbox ORDER BY outbox_id"
            )
            await conn.execute("DROP TABLE _outbox")
            await conn.execute("ALTER TABLE _outbox__rowid RENAME TO _outbox")
