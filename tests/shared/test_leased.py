"""LeasedWork: a loop wrapped in a store lease runs on one replica at a time and fails over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from crm_shared.leased import LeasedWork
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.storage import DocumentStore
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
