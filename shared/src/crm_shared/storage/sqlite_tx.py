"""Write transactions on one of the SQLite adapter's connections: the one BEGIN IMMEDIATE shape.

Start-up steps and migrations, as well as the store's own writes, take SQLite's write lock with
BEGIN IMMEDIATE so that several processes starting on one file take turns, and end in COMMIT, or
in ROLLBACK on an error or a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite


@asynccontextmanager
async def immediate(conn: aiosqlite.Connection) -> AsyncIterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on an error or a cancellation.

    Leaving the block normally (a `return` or `continue` inside it included) commits. Even a
    cancellation that lands while BEGIN itself runs is undone: aiosqlite runs the BEGIN in its
    thread regardless, and the ROLLBACK queued after it undoes it. Left open, the connection's
    next BEGIN would fail ("cannot start a transaction within a transaction") for every caller.
    """
    try:
        await conn.execute("BEGIN IMMEDIATE")
        yield
    except BaseException:
        await end_transaction(conn, "ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def end_transaction(conn: aiosqlite.Connection, statement: str) -> None:
    """COMMIT or ROLLBACK, carried out even if the caller is being cancelled; none open: fine."""
    with contextlib.suppress(sqlite3.OperationalError):
        await asyncio.shield(conn.execute(statement))
