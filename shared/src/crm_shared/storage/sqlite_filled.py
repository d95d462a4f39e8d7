"""Which derived index entries of a SQLite store are filled: one marker row per index.

A multi-value index's side-table entries (sqlite_multi.py) and a text index's postings
(sqlite_text.py) are derived from the documents, and the adapter's writes keep them from Python
inside the writing transaction (inserts, replaces: sqlite_replace.py, deletes:
sqlite_delete.py). They are filled from the stored documents once, when the index is created on a
collection that already holds some; a row in `_filled_entries`, committed with the fill, says
that was done, under a name that carries the entries' layout version (a new version fills again).
Whatever drops the entries (their table, or the collection's table rebuilt with new row keys)
forgets the marker in the same transaction.

Stores laid out by earlier code said "filled" with the index's AFTER DELETE trigger, which kept
the entries on deletes by reading the deleted row's JSON in SQL. A store started by this code
drops those triggers once and records the marker in the same transaction (the entries the
trigger kept still hold), under SQLite's write lock: processes starting together take turns,
and the second finds the work done.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from crm_shared.storage.sqlite_tx import immediate

FILLED_TABLE = "_filled_entries"


async def create_filled_table(conn: aiosqlite.Connection) -> None:
    """The markers' table (idempotent)."""
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {FILLED_TABLE} (collection TEXT NOT NULL, "
        "name TEXT NOT NULL, PRIMARY KEY (collection, name)) WITHOUT ROWID"
    )


async def filled(conn: aiosqlite.Connection, collection: str, names: Sequence[str]) -> set[str]:
    """Those of `names` marked filled in the collection."""
    marks = ", ".join("?" for _ in names)
    async with conn.execute(
        f"SELECT name FROM {FILLED_TABLE} WHERE collection = ? AND name IN ({marks})",
        (collection, *names),
    ) as cur:
        return {str(row[0]) for row in await cur.fetchall()}


async def mark_filled(
    conn: aiosqlite.Connection, collection: str, name: str, *, replacing: Sequence[str] = ()
) -> None:
    """Mark `name` filled, forgetting the markers of its other layouts (`replacing`).

    Inside the caller's transaction, which fills the entries or finds them kept.
    """
    await forget_filled(conn, collection, replacing)
    await conn.execute(
        f"INSERT OR IGNORE INTO {FILLED_TABLE} (collection, name) VALUES (?, ?)",
        (collection, name),
    )


async def forget_filled(
    conn: aiosqlite.Connection,
    collection: str,
    names: Sequence[str] = (),
    *,
    prefix: str | None = None,
) -> None:
    """Forget the collection's markers `names`, and those starting with `prefix` ("": all);
    in the caller's transaction."""
    if names:
        marks = ", ".join("?" for _ in names)
        await conn.execute(
            f"DELETE FROM {FILLED_TABLE} WHERE collection = ? AND name IN ({marks})",
            (collection, *names),
        )
    if prefix is not None:
        await conn.execute(
            f"DELETE FROM {FILLED_TABLE} WHERE collection = ? AND substr(name, 1, ?) = ?",
            (collection, len(prefix), prefix),
        )


async def present_triggers(conn: aiosqlite.Connection, names: Sequence[str]) -> list[str]:
    """Those of the triggers `names` the store has, in the order given."""
    marks = ", ".join("?" for _ in names)
    async with conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})", names
    ) as cur:
        present = {str(row[0]) for row in await cur.fetchall()}
    return [name for name in names if name in present]


async def drop_with_triggers(
    conn: aiosqlite.Connection,
    table: str,
    triggers: Sequence[str],
    *,
    collection: str,
    markers: str,
) -> None:
    """Drop a table of derived entries laid out by older code, its triggers, and the markers
    starting with `markers`, in one transaction; the store builds it again after."""
    async with immediate(conn):
        for name in triggers:
            await conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await forget_filled(conn, collection, prefix=markers)
