"""Layout changes of the SQLite adapter applied when a store starts: retired and changed indexes.

A store keeps every index it was ever asked for until told otherwise: an index nobody queries
still costs its bytes on every document and its work on every write. A collection declares the
indexes an earlier version had and no longer needs (`CollectionSpec.retired`); a store that
still holds one drops it, side-table entries and their marker included (sqlite_filled.py). An
index defined otherwise before (sparse now and full before, sort-only now and with a trailing id
before...) is rebuilt.
Every step is idempotent: a store started again finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from crm_shared.storage.port import CollectionSpec, Index
from crm_shared.storage.sqlite_filled import filled, forget_filled, present_triggers
from crm_shared.storage.sqlite_multi import (
    delete_root_entries_sql,
    drop_old_layout,
    entries_base,
    entries_names,
    side_table,
    trigger_names,
)
from crm_shared.storage.sqlite_tx import immediate


async def _index_sql(conn: aiosqlite.Connection, name: str) -> str | None:
    async with conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0])


async def replace_changed_index(conn: aiosqlite.Connection, name: str, *, create: str) -> None:
    """Drop the index `name` if it exists defined otherwise than by `create` (rebuilt after).

    `create` is the CREATE INDEX statement as the store issues it, IF NOT EXISTS included;
    SQLite keeps it without that clause.
    """
    sql = await _index_sql(conn, name)
    if sql is not None and sql != create.replace(" IF NOT EXISTS", "", 1):
        await conn.execute(f"DROP INDEX {name}")


async def _has_table(conn: aiosqlite.Connection, name: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ) as cur:
        return await cur.fetchone() is not None


async def _drop_multi_value(conn: aiosqlite.Connection, collection: str, index: Index) -> None:
    """Drop a retired multi-value index: its entries in the side table, their markers and the
    triggers older code kept them with."""
    assert index.multi_value is not None
    root = index.fields[0]
    if await _has_table(conn, side_table(collection)):
        await drop_old_layout(conn, collection)  # its triggers and markers go with it
    names = entries_names(entries_base(collection, root, index.multi_value))
    triggers = trigger_names(names)
    if not await filled(conn, collection, names) and not await present_triggers(conn, triggers):
        return  # never created here, or dropped at an earlier start
    async with immediate(conn):
        for name in await present_triggers(conn, triggers):
            await conn.execute(f"DROP TRIGGER {name}")
        await forget_filled(conn, collection, names)
        # Entries sit under the root itself ("array") or under `root.<key>` ("object").
        if await _has_table(conn, side_table(collection)):
            await conn.execute(*delete_root_entries_sql(collection, root))


async def drop_retired_indexes(conn: aiosqlite.Connection, specs: Sequence[CollectionSpec]) -> None:
    """Drop the retired indexes of every collection that no spec declares any more."""
    declared = {(spec.name, index.name) for spec in specs for index in spec.indexes}
    for spec in specs:
        for index in spec.retired:
            if (spec.name, index.name) in declared:
                continue  # another part of the service still declares it
            if index.multi_value is not None:
                await _drop_multi_value(conn, spec.name, index)
            else:
                await conn.execute(f"DROP INDEX IF EXISTS {spec.name}_{index.name}")
