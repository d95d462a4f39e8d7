"""Document ids in the SQLite adapter: a canonical UUID is stored as its 16 bytes, not 36 chars.

An id is written again in its row's key, in the (tenant, id) index, in every secondary index
that ends with it and in every side-table entry naming its document by id (~8 copies a contact):
as a BLOB of its 16 bytes it takes 20 bytes less each time. The bytes of a canonical (lowercase,
hyphenated) UUID compare as its text does, so pages in id order read straight off any index stay
in order. Any other id (ids need not be UUIDs) is stored as the text it is.

Order across kinds: SQLite sorts every TEXT before every BLOB, so in a collection holding both,
ids that are not canonical UUIDs come first (in text order), then the UUIDs (in text order). The
port promises time-ordered ids (UUIDv7 from `crm_shared.ids`); a collection mixing them with
other ids gets that order on SQLite, where MongoDB and the memory store use plain text order.

Every id bound to a statement goes through `stored_id` and every id read back through `read_id`
(or `ID_TEXT_SQL` in SQL written by hand). Stores written before hold text ids: they are
rewritten when the store starts (`store_ids_as_bytes`: the rows in bounded resumable batches,
then the side-table entries naming them), and the file is VACUUMed once after (`vacuum_if_alone`).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import aiosqlite

from crm_shared.storage.sqlite_multi import key_table, side_table
from crm_shared.storage.sqlite_tx import immediate

ID_LAYOUT_TABLE = "_id_layout"
# Ids rewritten per transaction by the start-up migration.
ID_BATCH = 5000
# The name `stored_id` has as an SQL function on a migrating connection.
_STORED_ID_SQL = "crm_stored_id"
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX = "lower(hex(id))"
# The text of a stored id, in SQL: a BLOB is a canonical UUID's bytes (`read_id`).
ID_TEXT_SQL = (
    f"CASE WHEN typeof(id) = 'blob' THEN substr({_HEX}, 1, 8) || '-' || substr({_HEX}, 9, 4) "
    f"|| '-' || substr({_HEX}, 13, 4) || '-' || substr({_HEX}, 17, 4) || '-' || "
    f"substr({_HEX}, 21) ELSE id END"
)


def stored_id(value: Any) -> Any:
    """An id as the store keeps it: a canonical UUID's 16 bytes, anything else unchanged."""
    if type(value) is str and len(value) == 36 and _CANONICAL.fullmatch(value):
        return bytes.fromhex(value.replace("-", ""))
    return value


def read_id(value: object) -> str:
    """A stored id as its text (the inverse of `stored_id`)."""
    if type(value) is bytes:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(value)


async def store_ids_as_bytes(
    conn: aiosqlite.Connection, table: str, collection: str, *, batch: int = ID_BATCH
) -> int:
    """Rewrite a table's text UUID ids as bytes, and the side-table entries naming its documents
    by id; return how many ids it rewrote.

    Resumable: each batch commits with its position (the last text id it read), and a store
    started again goes on from there; every batch reads the position under the write lock, so
    processes starting together share the work. Then the entries, one side-table key (one
    tenant's path) per transaction: only text ones are rewritten, so a pass begun again skips
    what is done. The table is marked done only after both.
    """
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {ID_LAYOUT_TABLE} (tbl TEXT PRIMARY KEY, done INTEGER NOT "
        "NULL, after_tenant TEXT, after_id TEXT) WITHOUT ROWID"
    )
    rewritten = 0
    while True:
        async with immediate(conn):
            done, after = await _position(conn, table)
            if done:
                return rewritten
            rows = await _next_text_ids(conn, table, after, batch)
            changed = [(key, tenant, id) for tenant, id in rows if (key := stored_id(id)) != id]
            await conn.executemany(
                f"UPDATE {table} SET id = ? WHERE tenant = ? AND id = ?", changed
            )
            after = (str(rows[-1][0]), str(rows[-1][1])) if rows else after
            await _save_position(conn, table, done=False, after=after)
        rewritten += len(changed)
        if len(rows) < batch:
            break
    await _refs_as_bytes(conn, collection)
    async with immediate(conn):
        await _save_position(conn, table, done=True, after=None)
    return rewritten


async def _save_position(
    conn: aiosqlite.Connection, table: str, *, done: bool, after: tuple[str, str] | None
) -> None:
    await conn.execute(
        f"INSERT OR REPLACE INTO {ID_LAYOUT_TABLE} (tbl, done, after_tenant, after_id) "
        "VALUES (?, ?, ?, ?)",
        (table, int(done), *(after or (None, None))),
    )


async def _refs_as_bytes(conn: aiosqlite.Connection, collection: str) -> None:
    """Rewrite the side table's text UUID references as bytes, one key per transaction.

    Entries by row key hold integers and are left as they are. The rewrite runs in SQL through
    `stored_id` itself (a function of this connection): one statement per key, no rows to
    Python and back.
    """
    side, keys = side_table(collection), key_table(collection)
    async with conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", (side, keys)
    ) as cur:
        row = await cur.fetchone()
    if row is None or int(row[0]) < 2:
        return  # no side table yet: no entries
    await conn.create_function(_STORED_ID_SQL, 1, stored_id, deterministic=True)
    async with conn.execute(f"SELECT code FROM {keys} ORDER BY code") as cur:
        codes = [int(row[0]) for row in await cur.fetchall()]
    for code in codes:
        async with immediate(conn):
            await conn.execute(
                f"UPDATE {side} SET e_ref = {_STORED_ID_SQL}(e_ref) WHERE e_key = ? "
                "AND typeof(e_ref) = 'text' AND length(e_ref) = 36",
                (code,),
            )


async def _position(conn: aiosqlite.Connection, table: str) -> tuple[bool, tuple[str, str] | None]:
    async with conn.execute(
        f"SELECT done, after_tenant, after_id FROM {ID_LAYOUT_TABLE} WHERE tbl = ?", (table,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return False, None
    return bool(row[0]), None if row[1] is None else (str(row[1]), str(row[2]))


async def _next_text_ids(
    conn: aiosqlite.Connection, table: str, after: tuple[str, str] | None, batch: int
) -> list[tuple[str, str]]:
    """The next text ids in key order (`id < x''`: every TEXT sorts before every BLOB)."""
    position = "(tenant, id) > (?, ?) AND " if after is not None else ""
    async with conn.execute(
        f"SELECT tenant, id FROM {table} WHERE {position}id < x'' ORDER BY tenant, id LIMIT ?",
        (*(after or ()), batch),
    ) as cur:
        return [(str(row[0]), str(row[1])) for row in await cur.fetchall()]


async def vacuum_if_alone(path: str) -> bool:
    """VACUUM the file, unless another connection is using it; whether it did.

    Rewriting a million ids frees ~20 bytes in each of their ~8 copies, scattered over every
    index: left to themselves those bytes stay in the file (half-empty pages and free ones),
    ~100 bytes a contact at 100,000. Best effort: a busy file keeps them, and later writes
    reuse the free pages. On a connection of its own: VACUUM refuses to run on one that still
    holds a statement, as the store's writer may.
    """
    try:
        async with aiosqlite.connect(path, isolation_level=None) as conn:
            await conn.execute("VACUUM")
    except sqlite3.OperationalError:
        return False
    return True
