"""The idempotency mechanism on a minimal app: in-flight keys, lapsed claims, failures, purge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, Response

from crm_shared import idempotency_records as records
from crm_shared.clock import utcnow
from crm_shared.http import EditorAuth
from crm_shared.idempotency import Idempotent
from crm_shared.problems import Conflict
from crm_shared.service import new_service_app
from crm_shared.settings import PlatformSettings
from crm_shared.storage.memory import MemoryStore
from tests.conftest import EDITOR_KEY, TEST_API_KEYS, auth
from tests.polling import app_lifespan, eventually


def _app(calls: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = MemoryStore()
        await store.start([records.IDEMPOTENCY_COLLECTION])
        app.state.store = store
        yield

    settings = PlatformSettings(crm_api_keys=TEST_API_KEYS)
    app = new_service_app(title="t", description="t", settings=settings, lifespan=lifespan)
    app.state.gate = asyncio.Event()  # what a "slow" request waits for

    @app.post("/things", status_code=201, dependencies=[Idempotent])
    async def create(body: dict[str, str], _: EditorAuth, response: Response) -> dict[str, str]:
        calls.append(body.get("mode", "ok"))
        if body.get("mode") == "conflict":
            raise Conflict("taken")
        if body.get("mode") == "crash":
            raise RuntimeError("boom")
        if body.get("mode") == "slow":
            await app.state.gate.wait()
        response.headers["Location"] = f"/things/{len(calls)}"
        return {"n": str(len(calls))}

    return app


@pytest.fixture
async def calls() -> list[str]:
    return []


@pytest.fixture
async def app(calls: list[str]) -> AsyncIterator[FastAPI]:
    application = _app(calls)
    async with app_lifespan(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _h(key: str = "k") -> dict[str, str]:
    return {**auth(EDITOR_KEY), "Idempotency-Key": key}


async def test_a_replay_while_the_first_is_running_is_409_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, calls: list[str]
) -> None:
    slow = asyncio.create_task(client.post("/things", json={"mode": "slow"}, headers=_h()))
    await eventually(lambda: calls, what="the first request running")
    busy = await client.post("/things", json={"mode": "slow"}, headers=_h())
    app.state.gate.set()
    assert busy.status_code == 409
    assert busy.headers["retry-after"] == "1"
    assert busy.headers["content-type"] == "application/problem+json"
    assert (await slow).status_code == 201
    replay = await client.post("/things", json={"mode": "slow"}, headers=_h())
    assert replay.status_code == 201
    assert replay.headers["location"] == "/things/1"
    assert calls == ["slow"]


async def test_a_claim_left_by_a_dead_process_lapses_after_its_lease(
    app: FastAPI, client: httpx.AsyncClient, calls: list[str]
) -> None:
    # A claim as a process killed mid-request leaves it: in flight, never completed.
    started = utcnow() - timedelta(seconds=61)
    principal = app.state.authenticator.authenticate(f"Bearer {EDITOR_KEY}")
    fingerprint = await _fingerprint_of(client, app, {"mode": "ok"})
    outcome = await records.claim(
        app.state.store,
        tenant="acme",
        id=records.record_id(tenant="acme", principal=principal.key_id, key="k2"),
        fingerprint=fingerprint,
        now=started,
    )
    assert outcome.outcome == "claimed"
    response = await client.post("/things", json={"mode": "ok"}, headers=_h("k2"))
    assert response.status_code == 201
    assert calls == ["ok", "ok"]  # once for the fingerprint probe, once after the lapse


async def _fingerprint_of(client: httpx.AsyncClient, app: FastAPI, body: dict[str, str]) -> str:
    """The fingerprint the app records for `body` (read back from a probe request's record)."""
    await client.post("/things", json=body, headers=_h("probe"))
    async with app.state.store.reader() as session:
        docs = await session.find(records.IDEMPOTENCY_KEYS, tenant="acme")
    return str(docs[0]["fingerprint"])


async def test_a_problem_answer_is_not_kept(client: httpx.AsyncClient, calls: list[str]) -> None:
    for _ in range(2):
        response = await client.post("/things", json={"mode": "conflict"}, headers=_h())
        assert response.status_code == 409
        assert "retry-after" not in response.headers
    assert calls == ["conflict", "conflict"]


async def test_a_server_error_releases_the_key(
    app: FastAPI, client: httpx.AsyncClient, calls: list[str]
) -> None:
    crashed = await client.post("/things", json={"mode": "crash"}, headers=_h())
    assert crashed.status_code == 500
    async with app.state.store.reader() as session:
        assert await session.count(records.IDEMPOTENCY_KEYS, tenant="acme") == 0


async def test_purge_deletes_only_expired_keys(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.post("/things", json={"mode": "ok"}, headers=_h("old"))
    store = app.state.store
    now: datetime = utcnow()
    assert await records.purge_expired(store, tenants=["acme", "globex"], now=now) == 0
    later = now + timedelta(hours=24, seconds=1)
    assert await records.purge_expired(store, tenants=["acme", "globex"], now=later) == 1
    async with store.reader() as session:
        assert await session.count(records.IDEMPOTENCY_KEYS, tenant="acme") == 0


async def test_the_record_keeps_no_key_in_clear(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.post("/things", json={"mode": "ok"}, headers=_h("my-secret-ish-key"))
    async with app.state.store.reader() as session:
        (doc,) = await session.find(records.IDEMPOTENCY_KEYS, tenant="acme")
    assert "my-secret-ish-key" not in str(doc)


async def test_the_app_shell_runs_the_purge_loop(app: FastAPI) -> None:
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "idempotency-purge" in names
