"""The SQLite adapter when a caller is cancelled mid-statement (a replica stopping, a lease lost):
the connection must not stay inside a transaction nobody will end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore

THINGS = "things"


async def _insert(store: SqliteStore) -> None:
    async with store.transaction() as session:
        await session.insert(THINGS, {"id": new_id(), "tenant": "t"})


async def _read(store: SqliteStore) -> None:
    async with store.reader() as session:
        await session.find(THINGS, tenant="t", limit=1)


async def _lease(store: SqliteStore) -> None:
    await store.acquire_lease("loop", holder="a", ttl=5)


@pytest.mark.parametrize("operation", [_insert, _read, _lease], ids=["write", "read", "lease"])
async def test_a_call_cancelled_while_its_transaction_begins_leaves_the_store_usable(
    tmp_path: Path, operation: Callable[[SqliteStore], Awaitable[None]]
) -> None:
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    await store.start((CollectionSpec(THINGS),))
    try:
        for _ in range(5):
            task = asyncio.create_task(operation(store))
            await asyncio.sleep(0)  # the task now waits for its BEGIN, run in aiosqlite's thread
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await _insert(store)
        await _read(store)
        assert await store.acquire_lease("loop", holder="a", ttl=5) is not None
    finally:
        await store.close()
