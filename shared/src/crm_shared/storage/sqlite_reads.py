"""Read transactions of the SQLite adapter: one awaited trip per query, none to begin or end.

Each statement through aiosqlite is a hand-off to the connection's thread and back, which costs
more than a small indexed query (on a busy machine each waits for both threads to be scheduled).
A read block's BEGIN needs nothing back, so it goes with the block's first query, in one
hand-off; a block that runs no query begins and commits nothing. Its COMMIT needs nothing back
either: it is queued to the connection's thread and not waited for (see `end_read`). A block
whose first query is a read by key runs on the loop's own thread instead (sqlite_point_reads.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite

# Runs a query and returns its rows (a session's, in its transaction).
Fetch = Callable[[str, Sequence[Any]], Awaitable[list[Any]]]


def _begin_then_fetch(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    conn.execute("BEGIN")
    return conn.execute(sql, params).fetchall()


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Every row of a query in one trip to the connection's thread.

    A cursor's execute, fetch and close are three trips, each a thread hand-off that costs more
    than a small indexed query (most of a duplicate look-up's time with a million contacts).
    """
    return list(await conn.execute_fetchall(sql, params))


def _commit_read(conn: sqlite3.Connection) -> None:
    # Nothing to commit (the thread ran no BEGIN, or a statement of the block failed): fine.
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("COMMIT")


def _commit_read_then(
    conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop, then: Callable[[], None]
) -> None:
    _commit_read(conn)
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody to tell
        loop.call_soon_threadsafe(then)


def end_read(conn: aiosqlite.Connection, *, then: Callable[[], None] | None = None) -> None:
    """Queue the COMMIT of a read transaction to the connection's thread without waiting for it.

    The thread runs what it is handed in order, so the next block's BEGIN (or a close) comes
    after this COMMIT, and a read-only COMMIT has nothing to report: waiting for it only cost a
    second hand-off per read (the thread waking the loop, the loop resuming the block), half of
    a GET by id's trips. Queued with no future, the thread calls nothing back, but `then`, on
    the loop, once the COMMIT has run. Not cancellable, unlike an awaited COMMIT: a block
    cancelled while it ends still ends its transaction.
    """
    sqlite_conn = conn._conn  # aiosqlite's own connection, used only on the thread
    commit: Callable[[], None] = functools.partial(_commit_read, sqlite_conn)
    if then is not None:
        loop = asyncio.get_running_loop()
        commit = functools.partial(_commit_read_then, sqlite_conn, loop, then)
    # aiosqlite's queue of (future, call); a None future is its own "nothing to report back".
    conn._tx.put_nowait((None, commit))


class LazyRead:
    """One read transaction on a connection: BEGIN is sent with its first query."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.began = False

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of a query; the first one begins the transaction in the same hand-off."""
        if self.began:
            return await fetch_all(self._conn, sql, params)
        # Set before the hand-off: if it is cancelled midway the block still ends with a COMMIT.
        self.began = True
        # aiosqlite runs whatever it is handed in its thread (as sqlite_commit.py does).
        run: Any = self._conn._execute
        rows: list[Any] = await run(_begin_then_fetch, self._conn._conn, sql, params)
        return rows
