"""Point reads on the event loop's own thread, on a read-only connection of their own.

A read by key is a few b-tree seeks: tens of µs. Handing it to aiosqlite's thread and back costs
more than that (about ten thread switches: its queue, the GIL, the loop's wake-up), so such a read
runs on the loop's thread, synchronously. Anything that may scan never does: it would hold up
every request the loop serves.

A read block stays one read transaction on one connection (a snapshot across its queries), the
connection its first query takes. A point read first takes the loop reader when no other block
holds it; the block then keeps it to its end: its later point reads run on the loop too, and
anything else on the loop reader's own thread, in the same transaction. From then on the loop
leaves the connection alone until the block's COMMIT has run on that thread (a query whose caller
was cancelled may still be running there). Any other block reads through the store's reader
connection and its thread, as before (sqlite_reads.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

import aiosqlite

from crm_shared.storage.sqlite_reads import LazyRead, end_read, fetch_all

# Pragmas of the loop reader beside the store's: it never writes, and it never waits for a lock
# on the loop's thread (a busy file is read through the reader's thread, which waits).
LOOP_READER_PRAGMAS = ("PRAGMA query_only=ON", "PRAGMA busy_timeout=0")


class LoopReader:
    """The store's connection for reads on the loop's thread, and whether a block holds it."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        # Used on the loop's thread by the process that opened it: another thread's blocks and a
        # forked child read through the reader. sqlite3's own same-thread check is off, as the
        # connection's thread runs the scans of a block that holds it.
        self._pid = os.getpid()
        self._thread = threading.get_ident()
        self._held = False

    def take(self) -> bool:
        """Hold the connection for one block: when it is free and this is its loop's thread."""
        if self._held or self._thread != threading.get_ident() or self._pid != os.getpid():
            return False
        self._held = True
        return True

    def release(self) -> None:
        """Free the connection for the next block (its transaction has ended)."""
        self._held = False


async def open_loop_reader(path: str, pragmas: Sequence[str]) -> LoopReader:
    """The loop reader of a store's file, opened with the store's pragmas and its own."""
    conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in (*pragmas, *LOOP_READER_PRAGMAS):
        await conn.execute(pragma)
    return LoopReader(conn)


class ReadBlock:
    """A read block's transaction, on the connection its first query took.

    A point read first: the loop reader, if it is free. Anything else first (or the loop reader
    held): the reader, whose lock is then held to the block's end.
    """

    def __init__(
        self, reader: aiosqlite.Connection, lock: asyncio.Lock, loop_reader: LoopReader | None
    ) -> None:
        self._reader = reader
        self._lock = lock
        self._loop_reader = loop_reader
        self._read: LazyRead | None = None  # on the reader
        self._held: LoopReader | None = None  # on the loop reader
        # A query of the block went to the loop reader's thread: the loop stays off it.
        self._handed = False

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of a query that may scan, on the block's connection's thread."""
        if self._held is not None:
            self._handed = True
            return await fetch_all(self._held.conn, sql, params)
        if self._read is None:
            await self._lock.acquire()
            self._read = LazyRead(self._reader)
        return await self._read.fetch(sql, params)

    async def fetch_point(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of a read by key: on the loop's thread when the block is on the loop reader."""
        if self._held is None and self._read is None and self._take_loop_reader():
            rows = self._first_point(sql, params)
            if rows is not None:
                return rows
        if self._held is not None and not self._handed:
            return self._held.conn._conn.execute(sql, params).fetchall()
        return await self.fetch(sql, params)

    def _take_loop_reader(self) -> bool:
        if self._loop_reader is None or not self._loop_reader.take():
            return False
        self._held = self._loop_reader
        return True

    def _first_point(self, sql: str, params: Sequence[Any]) -> list[Any] | None:
        """The block's first query, begun on the loop reader; None if the file was busy.

        A busy file (recovery, a checkpoint resetting the log) leaves the block to the reader,
        whose thread waits for it: the loop's thread never does.
        """
        assert self._held is not None
        conn = self._held.conn._conn  # aiosqlite's own connection, here on the loop's thread
        try:
            conn.execute("BEGIN")
            rows: list[Any] = conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            _commit(conn)
            self._held.release()
            self._held = None
            if isinstance(exc, sqlite3.OperationalError):
                return None
            raise
        return rows

    def end(self) -> None:
        """End the block's transaction and free its connection (never waits for a thread)."""
        if self._held is not None:
            held, self._held = self._held, None
            if self._handed:
                end_read(held.conn, then=held.release)
            else:
                _commit(held.conn._conn)
                held.release()
        elif self._read is not None:
            if self._read.began:
                end_read(self._reader)  # queued, not waited for (sqlite_reads.py)
            self._lock.release()


def _commit(conn: sqlite3.Connection) -> None:
    # A read transaction: nothing to write, and nothing to report if it never began.
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("COMMIT")
