"""`/readyz` answers 503 naming the dependency that is down, within a bounded time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.devstack import EmbeddedBroker
from crm_shared.http import READY_CHECK_SECONDS, install_health_routes
from crm_shared.service import new_service_app
from crm_shared.settings import PlatformSettings
from crm_shared.storage.memory import MemoryStore
from tests.conftest import TEST_API_KEYS
from tests.polling import app_lifespan

pytestmark = pytest.mark.integration


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own, which it may stop (the session broker serves others)."""
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.stop()


def _app(bootstrap_servers: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = MemoryStore()
        await store.start([])
        app.state.store = store
        yield

    settings = PlatformSettings(
        crm_api_keys=TEST_API_KEYS, kafka_bootstrap_servers=bootstrap_servers
    )
    return new_service_app(title="t", description="t", settings=settings, lifespan=lifespan)


async def _readyz(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/readyz")


async def test_readyz_names_the_broker_once_it_is_stopped(own_broker: EmbeddedBroker) -> None:
    app = _app(own_broker.bootstrap_servers)
    async with app_lifespan(app):
        before = await _readyz(app)
        assert before.status_code == 200, before.text
        assert before.json()["down"] == []

        await asyncio.to_thread(own_broker.stop)
        after = await _readyz(app)

    assert after.status_code == 503
    assert after.json()["down"] == ["broker"]
    assert after.json()["checks"]["store"] == "ok"
    assert after.json()["checks"]["broker"].startswith("unavailable")


async def test_readyz_names_the_store_when_it_is_closed(own_broker: EmbeddedBroker) -> None:
    app = _app(own_broker.bootstrap_servers)
    async with app_lifespan(app):
        await app.state.store.close()
        response = await _readyz(app)
    assert response.status_code == 503
    assert response.json()["down"] == ["store"]


async def test_a_hanging_dependency_answers_within_the_bound() -> None:
    app = FastAPI()

    async def hangs() -> None:
        await asyncio.sleep(3600)

    async def fine() -> None:
        return None

    install_health_routes(app, {"store": hangs, "broker": hangs, "other": fine})
    started = time.monotonic()
    response = await _readyz(app)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert sorted(response.json()["down"]) == ["broker", "store"]
    assert elapsed < READY_CHECK_SECONDS + 1.0  # both checks ran side by side, not one after other
