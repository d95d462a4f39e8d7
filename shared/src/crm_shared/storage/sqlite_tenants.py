"""Tenants in the SQLite adapter's document tables: a small integer code per tenant, not its name.

A document row held its tenant's name, and so did every index led by the tenant (the (tenant, id)
key and each field index): 6 bytes a copy with a short name, ~37 with a UUID, six copies a
contact. Rows and indexes now hold the tenant's code from one dictionary per file,
`_tenant_codes` (1 or 2 bytes), so a store's size no longer depends on its tenants' names. The
column is declared INTEGER: a TEXT column would store a bound code as the text '1'.

Codes are append-only and never change meaning. A store loads them when it starts; a tenant's
first write makes its code inside the writing transaction (INSERT OR IGNORE, then SELECT: another
process sharing the file may have made it first), and the store learns it only when that
transaction commits (a rolled-back one leaves none behind). A read for a tenant without a code
looks it up in the file (another process may have made it) and answers nothing if there is none;
it never makes one. The side tables' key dictionaries (`mvk_<collection>`, sqlite_multi.py) keep
tenants by name, and filling them from stored rows reads the names through `named_rows`.

Stores written before hold names: each document table is rebuilt once when the store starts
(`tenants_as_codes`), in bounded transactions under SQLite's write lock, each moving the next
batch of rows (in key order, row keys `n` kept: text postings and side-table entries name rows
by them) from the old table into the new one and deleting them from the old. A killed rewrite
goes on from the rows left; processes starting together take turns on the batches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import aiosqlite

from crm_shared.storage.sqlite_keys import drop_derived, rows_after
from crm_shared.storage.sqlite_tx import immediate

TENANT_TABLE = "_tenant_codes"
# The code of one tenant (one parameter: its name).
TENANT_CODE_SQL = f"SELECT code FROM {TENANT_TABLE} WHERE tenant = ?"
# The code of a tenant named by one parameter, as an SQL value: for SQL written by hand over a
# store's file (benchmarks, tools) that binds a tenant's name.
TENANT_CODE_OF = f"({TENANT_CODE_SQL})"
# Rows moved per transaction by the start-up rewrite: a few MB of WAL at a time.
TENANT_BATCH = 5000
# The tenant column of the document tables.
TENANT_COLUMN = "tenant INTEGER NOT NULL"
# The document tables: WITHOUT ROWID for a collection without a text or multi-value index,
# else keyed by a stable integer `n` (sqlite_text.py).
PLAIN_TABLE = (
    f"({TENANT_COLUMN}, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) "
    "WITHOUT ROWID"
)
KEYED_TABLE = (
    f"(n INTEGER PRIMARY KEY, {TENANT_COLUMN}, id TEXT NOT NULL, doc TEXT NOT NULL, "
    "UNIQUE (tenant, id))"
)


async def create_tenant_table(conn: aiosqlite.Connection) -> None:
    """The file's tenant dictionary (idempotent)."""
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {TENANT_TABLE} (code INTEGER PRIMARY KEY, "
        "tenant TEXT NOT NULL UNIQUE)"
    )


async def load_tenant_codes(conn: aiosqlite.Connection) -> dict[str, int]:
    """Every tenant's code in the file."""
    async with conn.execute(f"SELECT tenant, code FROM {TENANT_TABLE}") as cur:
        return {str(row[0]): int(row[1]) for row in await cur.fetchall()}


def made_codes(db: sqlite3.Connection, tenants: Iterable[str]) -> dict[str, int]:
    """The codes of these tenants, made for those that have none: inside a write transaction,
    run in the connection's thread (one hand-off for a batch's new tenants)."""
    wanted = [(tenant,) for tenant in dict.fromkeys(tenants)]
    db.executemany(f"INSERT OR IGNORE INTO {TENANT_TABLE} (tenant) VALUES (?)", wanted)
    codes: dict[str, int] = {}
    for (tenant,) in wanted:
        row = db.execute(TENANT_CODE_SQL, (tenant,)).fetchone()
        assert row is not None  # inserted just above, or already there
        codes[tenant] = int(row[0])
    return codes


async def make_codes(conn: aiosqlite.Connection, tenants: Iterable[str]) -> dict[str, int]:
    """`made_codes` on the connection's thread."""
    run: Any = conn._execute
    codes: dict[str, int] = await run(made_codes, conn._conn, list(tenants))
    return codes


def named_rows(table: str) -> str:
    """A document table's rows (n, id, doc) with their tenant's name, as an SQL subquery."""
    return (
        f"(SELECT d.n AS n, d.id AS id, d.doc AS doc, k.tenant AS tenant FROM {table} AS d "
        f"JOIN {TENANT_TABLE} AS k ON k.code = d.tenant)"
    )


def stored_tenant(db: sqlite3.Connection, tenant: str) -> int | None:
    """A tenant's code in a started store's file (None: it has no document), for code reading
    the file by hand (benchmarks, tools): what the document tables' `tenant` column holds."""
    row = db.execute(TENANT_CODE_SQL, (tenant,)).fetchone()
    return None if row is None else int(row[0])


async def tenant_type(conn: aiosqlite.Connection, table: str) -> str | None:
    """The declared type of a table's tenant column (None: no such table)."""
    async with conn.execute(
        f"SELECT type FROM pragma_table_info('{table}') WHERE name = 'tenant'"
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0]).upper()


async def _has_row_keys(conn: aiosqlite.Connection, table: str) -> bool:
    async with conn.execute(f"SELECT 1 FROM pragma_table_info('{table}') WHERE name = 'n'") as cur:
        return await cur.fetchone() is not None


async def tenants_as_codes(
    conn: aiosqlite.Connection, table: str, *, batch: int = TENANT_BATCH
) -> tuple[int, frozenset[str]]:
    """Rebuild a document table holding tenant names into one holding their codes; return how
    many rows moved and the triggers dropped with the old table's indexes.

    The indexes are dropped with the first batch (the store builds them again on the new
    table: a sorted build, not a million entry moves); the new table is `<table>__coded` until
    the last batch drops the emptied old table and renames it.
    """
    if await tenant_type(conn, table) != "TEXT":
        return 0, frozenset()  # the usual start: no write lock taken to see it
    coded = f"{table}__coded"
    moved = 0
    dropped: frozenset[str] = frozenset()
    while True:
        async with immediate(conn):
            if await tenant_type(conn, table) != "TEXT":
                return moved, dropped  # another process finished the rewrite
            keyed = await _has_row_keys(conn, table)
            dropped |= await drop_derived(conn, table)
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {coded} {KEYED_TABLE if keyed else PLAIN_TABLE}"
            )
            # The first rows left, in key order: those before were moved by earlier batches.
            columns = "tenant, id, doc, n" if keyed else "tenant, id, doc"
            rows = await rows_after(conn, table, None, batch, columns=columns)
            codes = await make_codes(conn, (row[0] for row in rows))
            marks = "?, ?, ?, ?" if keyed else "?, ?, ?"
            await conn.executemany(
                f"INSERT INTO {coded} ({columns}) VALUES ({marks})",
                [(codes[row[0]], *row[1:]) for row in rows],
            )
            if rows:
                last = rows[-1]
                await conn.execute(
                    f"DELETE FROM {table} WHERE (tenant, id) <= (?, ?)", (last[0], last[1])
                )
            moved += len(rows)
            if len(rows) < batch:
                await conn.execute(f"DROP TABLE {table}")
                await conn.execute(f"ALTER TABLE {coded} RENAME TO {table}")
                return moved, dropped
