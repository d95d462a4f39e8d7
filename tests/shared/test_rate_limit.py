"""Per-key rate limits: 429 with Retry-After once a key's bucket is empty; other keys go on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.http import (
    CurrentPrincipal,
    EditorAuth,
    ViewerAuth,
    ViewerWithStore,
    install_problem_handlers,
)
from crm_shared.problems import TooManyRequests
from crm_shared.rate_limit import Limit, RateLimiter, parse_limits
from crm_shared.rate_limit_store import RATE_LIMIT_COLLECTION, StoreRateLimiter
from crm_shared.service import authenticator_for
from crm_shared.settings import PlatformSettings
from crm_shared.storage.memory import MemoryStore


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_burst_then_one_request_per_refill() -> None:
    clock = _Clock()
    limiter = RateLimiter(Limit(rate=2, burst=3), clock=clock)
    for _ in range(3):
        limiter.check("ops")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("ops")
    assert refused.value.retry_after == 1
    assert refused.value.response_headers()["Retry-After"] == "1"
    limiter.check("other")  # another key has its own bucket
    clock.now += 0.5  # one request's worth at 2 per second
    limiter.check("ops")
    with pytest.raises(TooManyRequests):
        limiter.check("ops")


def test_a_per_key_limit_overrides_the_default_and_zero_means_none() -> None:
    limiter = RateLimiter(Limit(rate=0, burst=1), parse_limits("batch-bot=0.1/1"), clock=_Clock())
    for _ in range(50):
        limiter.check("dash")
    limiter.check("batch-bot")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("batch-bot")
    assert refused.value.retry_after == 10


@pytest.mark.parametrize("spec", ["bot", "=1", "bot=-1", "bot=1/0", "bot=fast"])
def test_a_malformed_limit_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_limits(spec)


async def _limited_app(api_keys: str) -> FastAPI:
    """An app whose callers have two requests each (then one per 100 s), counted in its store."""
    settings = PlatformSettings(crm_api_keys=api_keys, crm_rate_limit="0.01/2")
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = authenticator_for(settings)
    store = MemoryStore()
    await store.start([RATE_LIMIT_COLLECTION])
    app.state.rate_limiter = StoreRateLimiter(
        Limit.parse(settings.crm_rate_limit), store=lambda: store
    )
    app.state.store = store
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = await _limited_app("k1:acme:viewer:dash,k2:acme:viewer:other")

    @app.get("/things")
    async def things(principal: ViewerAuth) -> dict[str, str]:
        return {"tenant": principal.tenant}

    @app.get("/things-with-store")
    async def things_with_store(caller: ViewerWithStore) -> dict[str, str]:
        return {"tenant": caller.principal.tenant}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize("path", ["/things", "/things-with-store"])
async def test_over_its_limit_a_key_gets_429_with_retry_after_as_problem_json(
    client: httpx.AsyncClient, path: str
) -> None:
    first = [await client.get(path, headers={"Authorization": "Bearer k1"}) for _ in range(2)]
    assert [r.status_code for r in first] == [200, 200]
    refused = await client.get(path, headers={"Authorization": "Bearer k1"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["retry_after"] == int(refused.headers["retry-after"])
    other = await client.get(path, headers={"Authorization": "Bearer k2"})
    assert other.status_code == 200


async def test_a_request_asking_for_its_caller_twice_spends_one_request_of_the_limit() -> None:
    app = await _limited_app("k1:acme:admin:dash")

    # A role's dependency and the plain caller's (as the idempotency guard asks for it).
    @app.post("/things")
    async def things(principal: EditorAuth, caller: CurrentPrincipal) -> dict[str, str]:
        assert caller is principal
        return {"tenant": principal.tenant}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answers = [
            await http.post("/things", headers={"Authorization": "Bearer k1"}) for _ in "abc"
        ]
    assert [r.status_code for r in answers] == [200, 200, 429]
