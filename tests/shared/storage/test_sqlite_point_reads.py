"""SQLite reads by key on the loop's own thread (the loop reader), everything else on a thread,
and a read block one snapshot whichever connection it took."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, In
from crm_shared.storage.sqlite import POINT_READ_IDS, SqliteStore
from crm_shared.storage.sqlite_point_reads import LoopReader
from crm_shared.storage.sqlite_sql import table_name

THINGS = "things"
T = "t"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    started = SqliteStore(tmp_path / "s.sqlite3")
    await started.start((CollectionSpec(THINGS),))
    try:
        yield started
    finally:
        await started.close()


async def _insert(store: SqliteStore, count: int = 1) -> list[dict[str, Any]]:
    docs = [{"id": new_id(), "tenant": T, "n": n} for n in range(count)]
    async with store.transaction() as session:
        await session.insert_many(THINGS, docs)
    return docs


async def _set_n(store: SqliteStore, doc: dict[str, Any], n: int) -> None:
    async with store.transaction() as session:
        assert await session.replace(THINGS, {**doc, "n": n})


def _loop_reader(store: SqliteStore) -> LoopReader:
    assert store._loop_reader is not None
    return store._loop_reader


class Statements:
    """The statements the store's two read connections run, each with the thread it ran on."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, int]] = []

    def record(self, sql: str) -> None:
        self.ran.append((sql.split()[0], threading.get_ident()))

    def threads_of(self, verb: str) -> list[int]:
        return [thread for sql, thread in self.ran if sql == verb]


@pytest.fixture
async def statements(store: SqliteStore) -> Statements:
    traced = Statements()
    reader = store._reader
    assert reader is not None
    # Set on the reader's own thread: sqlite3 checks that it is the thread that opened it.
    await reader._execute(reader._conn.set_trace_callback, traced.record)
    _loop_reader(store).conn._conn.set_trace_callback(traced.record)
    return traced


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every call handed to a connection's thread and awaited there."""
    handed: list[object] = []
    hand_off = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(fn)
        return await hand_off(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return handed


async def test_a_read_by_id_runs_on_the_loops_thread_without_a_hand_off(
    store: SqliteStore, statements: Statements, hand_offs: list[object]
) -> None:
    [doc] = await _insert(store)
    hand_offs.clear()  # the insert's
    async with store.reader() as session:
        assert await session.get(THINGS, tenant=T, id=doc["id"]) == doc
        assert await session.get(THINGS, tenant=T, id=new_id()) is None
    here = threading.get_ident()
    assert statements.ran == [("BEGIN", here), ("SELECT", here), ("SELECT", here), ("COMMIT", here)]
    assert hand_offs == []
    assert not _loop_reader(store).conn._conn.in_transaction


async def test_a_read_of_a_few_ids_runs_on_the_loops_thread_and_of_more_on_a_thread(
    store: SqliteStore, statements: Statements
) -> None:
    docs = await _insert(store, POINT_READ_IDS + 1)
    few = tuple(d["id"] for d in docs[:POINT_READ_IDS])
    async with store.reader() as session:
        assert await session.find(THINGS, tenant=T, where=[In("id", few)]) == docs[:-1]
    assert statements.threads_of("SELECT") == [threading.get_ident()]
    statements.ran.clear()
    every = tuple(d["id"] for d in docs)
    async with store.reader() as session:
        assert await session.find(THINGS, tenant=T, where=[In("id", every)]) == docs
    assert threading.get_ident() not in statements.threads_of("SELECT")


async def test_pages_counts_and_searches_still_run_on_a_thread(
    store: SqliteStore, statements: Statements
) -> None:
    [doc] = await _insert(store)
    async with store.reader() as session:
        assert await session.find(THINGS, tenant=T) == [doc]
        assert await session.count(THINGS, tenant=T) == 1
    async with store.reader() as session:  # on the loop reader, taken by its first read
        assert await session.get(THINGS, tenant=T, id=doc["id"]) == doc
        assert await session.find(THINGS, tenant=T) == [doc]
        # Once a query went to the loop reader's thread, the block's reads by key follow it.
        assert await session.get(THINGS, tenant=T, id=doc["id"]) == doc
    here = threading.get_ident()
    assert [thread == here for thread in statements.threads_of("SELECT")] == [
        False,
        False,
        True,
        False,
        False,
    ]


async def test_a_read_by_id_in_a_block_sees_its_snapshot_while_a_writer_commits(
    store: SqliteStore,
) -> None:
    [doc] = await _insert(store)
    async with store.reader() as session:
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 0
        await _set_n(store, doc, 1)  # committed while the block is open
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 0
        await _insert(store)
        assert await session.find(THINGS, tenant=T) == [doc]  # same snapshot, on a thread
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 0
    async with store.reader() as session:
        assert await session.count(THINGS, tenant=T) == 2
        await _set_n(store, doc, 2)
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 1
    async with store.reader() as session:
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 2


async def test_a_block_holding_the_loop_reader_leaves_other_blocks_to_the_reader(
    store: SqliteStore, statements: Statements
) -> None:
    [doc] = await _insert(store)
    here = threading.get_ident()
    async with store.reader() as holding:
        assert await holding.get(THINGS, tenant=T, id=doc["id"]) == doc
        await _set_n(store, doc, 1)
        async with store.reader() as other:
            assert (await other.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 1
        assert (await holding.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 0
    assert [thread == here for thread in statements.threads_of("SELECT")] == [True, False, True]
    statements.ran.clear()
    async with store.reader() as session:  # freed at the end of the block
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 1
    assert statements.threads_of("SELECT") == [here]


async def test_the_loop_reader_is_free_again_once_a_handed_query_has_committed(
    store: SqliteStore,
) -> None:
    [doc] = await _insert(store)
    loop_reader = _loop_reader(store)
    async with store.reader() as session:
        await session.get(THINGS, tenant=T, id=doc["id"])
        await session.find(THINGS, tenant=T)
    # The COMMIT is queued to its thread, not awaited: the next call there runs after it.
    assert not await loop_reader.conn._execute(lambda: loop_reader.conn._conn.in_transaction)
    await asyncio.sleep(0)  # the thread's word that the COMMIT ran reaches the loop
    assert loop_reader.take()
    loop_reader.release()


async def test_a_block_on_the_loop_reader_cancelled_in_a_scan_still_ends_its_transaction(
    store: SqliteStore,
) -> None:
    [doc] = await _insert(store)
    loop_reader = _loop_reader(store)

    async def read() -> None:
        async with store.reader() as session:
            await session.get(THINGS, tenant=T, id=doc["id"])
            await session.find(THINGS, tenant=T)

    task = asyncio.create_task(read())
    await asyncio.sleep(0)  # the get ran; the find is handed to the loop reader's thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await loop_reader.conn._execute(lambda: loop_reader.conn._conn.in_transaction)
    await _set_n(store, doc, 1)
    await asyncio.sleep(0)
    async with store.reader() as session:
        assert (await session.get(THINGS, tenant=T, id=doc["id"]) or {})["n"] == 1


async def test_a_failed_first_read_by_id_on_the_loop_is_read_through_the_reader(
    store: SqliteStore, statements: Statements
) -> None:
    [doc] = await _insert(store)
    loop_conn = _loop_reader(store).conn._conn
    running: list[str] = []
    interrupted: list[str] = []

    def trace(sql: str) -> None:
        running[:] = [sql.split()[0]]
        statements.record(sql)

    def interrupt_the_first_select() -> int:
        # Refused once, as a busy file refuses the loop reader (which never waits for it).
        if running == ["SELECT"] and not interrupted:
            interrupted.append("SELECT")
            return 1
        return 0

    loop_conn.set_trace_callback(trace)
    loop_conn.set_progress_handler(interrupt_the_first_select, 1)
    async with store.reader() as session:
        assert await session.get(THINGS, tenant=T, id=doc["id"]) == doc
    assert interrupted
    assert not loop_conn.in_transaction
    assert [thread == threading.get_ident() for thread in statements.threads_of("SELECT")] == [
        True,  # interrupted
        False,  # read again on the reader's thread
    ]
    statements.ran.clear()
    async with store.reader() as session:
        assert await session.get(THINGS, tenant=T, id=doc["id"]) == doc
    assert statements.threads_of("SELECT") == [threading.get_ident()]


async def test_another_threads_blocks_read_by_id_through_the_reader(
    store: SqliteStore, statements: Statements
) -> None:
    [doc] = await _insert(store)

    async def read() -> tuple[dict[str, Any] | None, int]:
        async with store.reader() as session:
            return await session.get(THINGS, tenant=T, id=doc["id"]), threading.get_ident()

    found, other = await asyncio.to_thread(asyncio.run, read())
    assert found == doc
    [select] = statements.threads_of("SELECT")
    assert select not in (other, threading.get_ident())  # the reader's own thread


def test_a_forked_child_never_takes_the_loop_reader(tmp_path: Path) -> None:
    async def started() -> SqliteStore:
        store = SqliteStore(tmp_path / "s.sqlite3")
        await store.start((CollectionSpec(THINGS),))
        return store

    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(started())
    try:
        loop_reader = _loop_reader(store)
        pid = os.fork()
        if pid == 0:  # the child: only look, then leave without running any cleanup
            os._exit(0 if not loop_reader.take() else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert loop_reader.take()  # the parent still does
        loop_reader.release()
    finally:
        loop.run_until_complete(store.close())
        loop.close()


def test_the_loop_reader_refuses_writes(tmp_path: Path) -> None:
    async def write_through_it() -> None:
        store = SqliteStore(tmp_path / "s.sqlite3")
        await store.start((CollectionSpec(THINGS),))
        try:
            conn = _loop_reader(store).conn._conn
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                conn.execute(f"DELETE FROM {table_name(THINGS)}")
        finally:
            await store.close()

    asyncio.run(write_through_it())
