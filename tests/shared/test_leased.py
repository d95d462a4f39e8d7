"""LeasedWork: a loop wrapped in a store lease runs on one replica at a time and fails over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from crm_shared.leased import LeasedWork, LeaseLost, run_holding
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.storage import DocumentStore, Lease
from crm_shared.storage.memory import MemoryStore
from tests.polling import eventually
from tests.shared.storage.test_store_contract import outgoing

TTL = 0.3


@pytest.fixture
async def store() -> AsyncIterator[DocumentStore]:
    s = MemoryStore()
    await s.start(())
    yield s
    await s.close()


class Loops:
    """Loop bodies that record which replica runs, and fail if two ever run at once."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.ran: list[str] = []
        self.overlaps = 0

    def body(self, replica: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def loop() -> None:
            if self.running:
                self.overlaps += 1
            self.running.add(replica)
            self.ran.append(replica)
            try:
                await asyncio.Event().wait()
            finally:
                self.running.discard(replica)

        return loop


def replica(store: DocumentStore, loops: Loops, name: str) -> LeasedWork:
    return LeasedWork(store, "purge", loops.body(name), ttl=TTL, holder=name)


async def test_only_one_of_two_replicas_runs_the_work(store: DocumentStore) -> None:
    loops = Loops()
    a, b = replica(store, loops, "a"), replica(store, loops, "b")
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    try:
        await eventually(lambda: loops.running == {"a"} or loops.running == {"b"})
        await asyncio.sleep(TTL * 3)  # several renewals later, still one
        assert len(loops.running) == 1 and loops.overlaps == 0
        assert len(loops.ran) == 1
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)


async def test_the_other_replica_takes_over_when_the_holder_stops(store: DocumentStore) -> None:
    loops = Loops()
    a, b = replica(store, loops, "a"), replica(store, loops, "b")
    first = asyncio.create_task(a.run())
    await eventually(lambda: loops.running == {"a"})
    second = asyncio.create_task(b.run())
    try:
        first.cancel()
        await asyncio.wait([first])
        await eventually(lambda: loops.running == {"b"})
        assert b.token == 2 and loops.overlaps == 0
    finally:
        second.cancel()
        await asyncio.wait([second])


async def test_a_holder_that_lost_its_lease_stops_its_work(store: DocumentStore) -> None:
    loops = Loops()
    a = replica(store, loops, "a")
    task = asyncio.create_task(a.run())
    try:
        await eventually(lambda: loops.running == {"a"})
        assert a.held()
        # As if a paused "a" had let the lease expire and "b" had taken it meanwhile.
        await store.release_lease("purge", holder="a")
        assert await store.acquire_lease("purge", holder="b", ttl=30) is not None
        await eventually(lambda: loops.running == set())
        assert not a.held()
    finally:
        task.cancel()
        await asyncio.wait([task])


async def test_a_relay_without_its_lease_publishes_nothing(store: DocumentStore) -> None:
    async with store.transaction() as session:
        await session.add_events([outgoing(1)])

    def no_producer() -> Any:
        raise AssertionError("a relay without its lease must not connect to publish")

    relay = OutboxRelay(store, no_producer, may_publish=lambda: False)
    assert await relay.publish_pending() == 0
    assert len(await store.pending_events(10)) == 1


class LosingStore(MemoryStore):
    """A memory store whose renewals fail once `lose` is set (another replica took the lease)."""

    def __init__(self) -> None:
        super().__init__()
        self.lose = False

    async def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease | None:
        return None if self.lose else await super().acquire_lease(name, holder=holder, ttl=ttl)


async def test_run_holding_returns_the_result_and_frees_the_lease(store: DocumentStore) -> None:
    assert await store.acquire_lease("scan", holder="a", ttl=TTL) is not None

    async def work() -> int:
        await asyncio.sleep(TTL * 2)  # outlives the time to live: renewed meanwhile
        return 42

    assert await run_holding(store, "scan", holder="a", ttl=TTL, work=work()) == 42
    assert await store.acquire_lease("scan", holder="b", ttl=TTL) is not None, "released"


async def test_run_holding_stops_the_work_when_the_lease_is_lost() -> None:
    store = LosingStore()
    await store.start(())
    assert await store.acquire_lease("scan", holder="a", ttl=TTL) is not None
    cancelled = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    store.lose = True
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(run_holding(store, "scan", holder="a", ttl=TTL, work=work()), 5)
    assert cancelled.is_set(), "the work went on without the lease"
    await store.close()
