"""A key's rate limit holds across replicas: its one bucket lives in the store they share.

Two app instances (each its own store connection, as two processes have) over one SQLite file
must together serve no more than one key's limit; a replica takes a slice of tokens per store
write, so a key at full rate costs a few writes a second, and refusals cost none.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.auth import Principal
from crm_shared.http import ViewerAuth
from crm_shared.problems import TooManyRequests
from crm_shared.rate_limit import Limit
from crm_shared.rate_limit_store import (
    HOLD_SECONDS,
    RATE_LIMIT_BUCKETS,
    RATE_LIMIT_COLLECTION,
    StoreRateLimiter,
    slice_size,
)
from crm_shared.service import new_service_app
from crm_shared.settings import PlatformSettings
from crm_shared.storage import DocumentStore, Session
from crm_shared.storage.delegating import DelegatingStore
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from tests.polling import app_lifespan

KEYS = "k1:acme:viewer:dash,k2:acme:viewer:other"
# Four requests at once, then one every 1,000 s: the test never sees a refill.
LIMIT = "0.001/4"


def _replica(db: Path) -> FastAPI:
    """One service instance: its own connection to the shared SQLite file."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = SqliteStore(db)
        await store.start([RATE_LIMIT_COLLECTION])
        app.state.store = store
        try:
            yield
        finally:
            await store.close()

    settings = PlatformSettings(crm_api_keys=KEYS, crm_rate_limit=LIMIT)
    app = new_service_app(
        title="CRM t service", description="t", settings=settings, lifespan=lifespan
    )

    @app.get("/things")
    async def things(principal: ViewerAuth) -> dict[str, str]:
        return {"tenant": principal.tenant}

    return app


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    db = tmp_path / "service.sqlite3"
    async with AsyncExitStack() as stack:
        clients = []
        for app in (_replica(db), _replica(db)):
            await stack.enter_async_context(app_lifespan(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://test")
            clients.append(await stack.enter_async_context(client))
        yield clients[0], clients[1]


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_two_replicas_over_one_sqlite_file_serve_a_key_its_limit_once_not_twice(
    replicas: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    a, b = replicas
    # Alternating between the replicas: per-process buckets would serve 8 of these.
    answers = [await (a if i % 2 == 0 else b).get("/things", headers=_as("k1")) for i in range(8)]
    assert [r.status_code for r in answers] == [200] * 4 + [429] * 4
    for refused in answers[4:]:
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"].startswith("application/problem+json")
    # Another key's bucket is its own, on either replica.
    assert (await a.get("/things", headers=_as("k2"))).status_code == 200
    assert (await b.get("/things", headers=_as("k2"))).status_code == 200


async def test_concurrent_requests_on_both_replicas_share_one_bucket(
    replicas: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    a, b = replicas
    answers = await asyncio.gather(
        *(client.get("/things", headers=_as("k1")) for client in (a, b) * 6)
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 4 + [429] * 8


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class _CountingStore(DelegatingStore):
    """Counts the transactions the limiter opens (each a read, and at most one write)."""

    def __init__(self, inner: DocumentStore) -> None:
        super().__init__(inner)
        self.transactions = 0

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        self.transactions += 1
        return self.inner.transaction()


@pytest.fixture
async def shared_store() -> AsyncIterator[_CountingStore]:
    store = MemoryStore()
    await store.start([RATE_LIMIT_COLLECTION])
    yield _CountingStore(store)
    await store.close()


def _limiters(
    store: DocumentStore, limit: Limit, clock: Callable[[], float]
) -> tuple[StoreRateLimiter, StoreRateLimiter]:
    return (
        StoreRateLimiter(limit, store=lambda: store, clock=clock),
        StoreRateLimiter(limit, store=lambda: store, clock=clock),
    )


DASH = Principal(key_id="key:dash", tenant="acme", roles=frozenset({"viewer"}))


async def _served(limiter: StoreRateLimiter, requests: int) -> int:
    served = 0
    for _ in range(requests):
        try:
            await limiter.check(DASH)
        except TooManyRequests:
            continue
        served += 1
    return served


async def test_each_replica_takes_a_slice_per_write_and_refusals_cost_no_store_access(
    shared_store: _CountingStore,
) -> None:
    clock = _Clock()
    limit = Limit(rate=40, burst=20)
    assert slice_size(limit) == 10  # a quarter second of the rate, at most half the burst
    a, b = _limiters(shared_store, limit, clock)
    assert await _served(a, 10) == 10
    assert await _served(b, 10) == 10
    assert shared_store.transactions == 2  # one slice each
    # The bucket is empty: both refuse, asking the store once each, then from memory.
    assert await _served(a, 5) + await _served(b, 5) == 0
    assert shared_store.transactions == 4
    clock.now += 0.25  # ten tokens' refill at 40 a second
    assert await _served(b, 15) == 10
    with pytest.raises(TooManyRequests) as refused:
        await a.check(DASH)
    assert refused.value.retry_after == 1


async def test_at_its_full_rate_a_key_costs_a_replica_a_few_writes_a_second(
    shared_store: _CountingStore,
) -> None:
    clock = _Clock()
    limit = Limit(rate=100, burst=200)
    a, b = _limiters(shared_store, limit, clock)
    served = 0
    for _ in range(1_000):  # ten seconds at 100 a second, spread over both replicas
        clock.now += 0.01
        served += await _served(a, 1) + await _served(b, 1)
    # Both together never beat one bucket: its burst plus ten seconds of its rate.
    assert served <= 200 + 100 * 10
    assert served >= 100 * 10 * 0.9  # and slices left unspent waste little of it
    async with shared_store.reader() as session:
        bucket = await session.get(RATE_LIMIT_BUCKETS, tenant="acme", id=DASH.key_id)
    assert bucket is not None
    writes = bucket["version"]
    # About four slices a second per replica, where taking every refilled token would be 100.
    assert writes <= 2 * 4 * 10 + 2
    assert shared_store.transactions <= 2 * writes + 2 * 4 * 10 + 2


async def test_a_slice_left_unspent_is_dropped_after_a_while(shared_store: _CountingStore) -> None:
    clock = _Clock()
    limit = Limit(rate=16, burst=8)  # slices of 4
    a, b = _limiters(shared_store, limit, clock)
    assert await _served(a, 1) == 1  # a holds 3 more of its slice of 4
    assert await _served(b, 4) == 4  # the bucket is now empty
    clock.now += HOLD_SECONDS + 0.01  # the bucket refilled 16 tokens (capped at 8)...
    before = shared_store.transactions
    assert await _served(a, 1) == 1
    assert shared_store.transactions == before + 1  # ...and a took a fresh slice from it
