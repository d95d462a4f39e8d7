"""SQLite read blocks on the reader: one snapshot across their queries, begun in the first
query's hand-off and committed without a hand-off of their own. (Blocks that begin with a read by
key run on the loop reader: test_sqlite_point_reads.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore

THINGS = "things"


async def _started(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.start((CollectionSpec(THINGS),))
    return store


async def _insert(store: SqliteStore) -> None:
    async with store.transaction() as session:
        await session.insert(THINGS, {"id": new_id(), "tenant": "t"})


async def test_a_read_block_sees_one_snapshot_across_its_queries(tmp_path: Path) -> None:
    store = await _started(tmp_path)
    try:
        await _insert(store)
        async with store.reader() as session:
            assert len(await session.find(THINGS, tenant="t")) == 1
            await _insert(store)  # committed by the writer while the block is open
            assert len(await session.find(THINGS, tenant="t")) == 1
            assert await session.count(THINGS, tenant="t") == 1
        async with store.reader() as session:
            assert await session.count(THINGS, tenant="t") == 2
    finally:
        await store.close()


async def test_a_read_block_costs_one_hand_off_per_query_and_none_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await _started(tmp_path)
    await _insert(store)
    hand_offs: list[object] = []
    hand_off = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hand_offs.append(fn)
        return await hand_off(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    try:
        async with store.reader() as session:
            await session.find(THINGS, tenant="t")
        assert len(hand_offs) == 1  # BEGIN with the query; the COMMIT is queued, not awaited
        hand_offs.clear()
        async with store.reader() as session:
            await session.find(THINGS, tenant="t")
            await session.count(THINGS, tenant="t")
            await session.get(THINGS, tenant="t", id="none")  # on the block's connection
        assert len(hand_offs) == 3
        hand_offs.clear()
        async with store.reader():
            pass
        assert hand_offs == []  # nothing read: nothing begun, nothing to end
    finally:
        await store.close()


async def test_a_read_block_leaves_no_transaction_open_once_it_ends(tmp_path: Path) -> None:
    store = await _started(tmp_path)
    try:
        await _insert(store)
        reader = store._reader
        assert reader is not None
        async with store.reader() as session:
            await session.count(THINGS, tenant="t")
            assert await reader._execute(lambda: reader._conn.in_transaction)
        # The next call on the connection's thread runs after the queued COMMIT.
        assert not await reader._execute(lambda: reader._conn.in_transaction)
    finally:
        await store.close()


async def test_a_read_block_cancelled_in_its_query_still_ends_its_transaction(
    tmp_path: Path,
) -> None:
    store = await _started(tmp_path)
    try:
        await _insert(store)
        reader = store._reader
        assert reader is not None

        async def read() -> None:
            async with store.reader() as session:
                await session.find(THINGS, tenant="t")

        task = asyncio.create_task(read())
        await asyncio.sleep(0)  # the query is handed to the thread
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not await reader._execute(lambda: reader._conn.in_transaction)
        async with store.reader() as session:
            await _insert(store)
            assert await session.count(THINGS, tenant="t") == 2  # a fresh snapshot
    finally:
        await store.close()
