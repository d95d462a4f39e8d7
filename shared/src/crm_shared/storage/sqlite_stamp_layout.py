"""Stores written before timestamps were integers: their documents rewritten when the store starts.

Older code stored a declared timestamp field (`CollectionSpec.timestamps`) as its text. SQLite
sorts every INTEGER before every TEXT, so a field must never hold both kinds of timestamps: a
range or a page would skip the text ones. So a store rewrites its older documents before it
serves anything, as it does for short keys (sqlite_keys.py) and byte ids (sqlite_ids.py): the
process is not started until they are done, and no query ever sees a mixed field. (Serving
meanwhile would need every condition on the field twice, once per kind.)

Resumable and shared: the rewrite goes in batches, each its own transaction under SQLite's write
lock with its position (the last document rewritten), so a crash loses at most the batch under
way and a store started again goes on from there; processes starting together take turns on
the batches instead of rewriting a document twice. `_stamp_layout` says which fields every
document holds as integers: a field declared later gets a pass of its own, and a field once
converted stays a timestamp for the store even if no spec declares it any more.

The indexes on a field being rewritten are dropped with the first batch and built again by the
store once the documents are done: a sorted build instead of a million entry moves.
"""

from __future__ import annotations

from typing import Any

import aiosqlite
import orjson

from crm_shared.storage.sqlite_keys import KeyMap, rows_after
from crm_shared.storage.sqlite_stamps import stored_stamp
from crm_shared.storage.sqlite_tx import immediate

STAMP_LAYOUT_TABLE = "_stamp_layout"
# Documents rewritten per transaction: a few MB of WAL at a time.
STAMP_BATCH = 5000


async def create_stamp_table(conn: aiosqlite.Connection) -> None:
    """The rewrite's state per collection (idempotent)."""
    # done: the fields every document holds as integers; target: those of the pass under way
    # (documents up to the position hold them as integers); after_*: its position.
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {STAMP_LAYOUT_TABLE} (collection TEXT PRIMARY KEY, "
        "done TEXT NOT NULL, target TEXT NOT NULL, after_tenant TEXT, after_id) WITHOUT ROWID"
    )


async def stored_stamps(conn: aiosqlite.Connection, collection: str) -> frozenset[str]:
    """The fields some of the collection's documents hold as integers (done or under way)."""
    done, target, _ = await _layout(conn, collection)
    return done | target


async def stamps_as_integers(
    conn: aiosqlite.Connection,
    table: str,
    collection: str,
    keys: KeyMap,
    *,
    batch: int = STAMP_BATCH,
) -> int:
    """Rewrite the documents holding `keys.stamps` fields as text; how many were rewritten."""
    done, target, _ = await _layout(conn, collection)
    if not target and keys.stamps <= done:
        return 0  # the usual start: nothing to do, and no write lock taken to see it
    rewritten = 0
    while True:
        async with immediate(conn):
            done, target, after = await _layout(conn, collection)
            if not target:
                target = keys.stamps - done
                if not target:
                    return rewritten
                await _drop_indexes_on(conn, table, [keys.path(name) for name in target])
            stored = [keys.stored_key(name) for name in sorted(target)]
            rows = await rows_after(conn, table, after, batch)
            changed = [
                (new, tenant, id)
                for tenant, id, doc in rows
                if (new := _with_integers(doc, stored)) is not None
            ]
            await conn.executemany(
                f"UPDATE {table} SET doc = ? WHERE tenant = ? AND id = ?", changed
            )
            rewritten += len(changed)
            if len(rows) < batch:  # the pass is over
                done, target, after = done | target, frozenset(), None
            else:
                # The id as stored: text, or a UUID's bytes (sqlite_ids.py).
                after = (str(rows[-1][0]), rows[-1][1])
            await conn.execute(
                f"INSERT OR REPLACE INTO {STAMP_LAYOUT_TABLE} (collection, done, target, "
                "after_tenant, after_id) VALUES (?, ?, ?, ?, ?)",
                (collection, _names(done), _names(target), *(after or (None, None))),
            )


def _with_integers(stored: str | bytes, keys: list[str]) -> str | None:
    """The document with its fields `keys` as stored now; None if none of them changes."""
    doc = orjson.loads(stored)
    changed = False
    for key in keys:
        value = doc.get(key)
        if value is not None:
            doc[key] = stored_stamp(value)
            changed = changed or doc[key] is not value
    return orjson.dumps(doc).decode() if changed else None


def _names(fields: frozenset[str]) -> str:
    return orjson.dumps(sorted(fields)).decode()


async def _layout(
    conn: aiosqlite.Connection, collection: str
) -> tuple[frozenset[str], frozenset[str], tuple[str, Any] | None]:
    """(fields done, fields of the pass under way, its position)."""
    async with conn.execute(
        f"SELECT done, target, after_tenant, after_id FROM {STAMP_LAYOUT_TABLE} "
        "WHERE collection = ?",
        (collection,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return frozenset(), frozenset(), None
    position = None if row[2] is None else (str(row[2]), row[3])
    return frozenset(orjson.loads(row[0])), frozenset(orjson.loads(row[1])), position


async def _drop_indexes_on(conn: aiosqlite.Connection, table: str, paths: list[str]) -> None:
    """Drop the table's indexes reading any of these JSON paths (the store builds them again)."""
    async with conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table,),
    ) as cur:
        indexes = [(str(row[0]), str(row[1])) for row in await cur.fetchall()]
    for name, sql in indexes:
        if any(f"'{path}'" in sql for path in paths):
            await conn.execute(f"DROP INDEX IF EXISTS {name}")
