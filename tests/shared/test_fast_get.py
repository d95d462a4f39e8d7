"""crm_shared.fast_get: a GET answered in front of FastAPI's routing, as its FastAPI route would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_shared.conditional import if_none_match, versioned_json
from crm_shared.fast_get import FastGet, Representation, install_fast_gets
from crm_shared.http import EditorAuth, install_problem_handlers, request_store
from crm_shared.observability.http_middleware import ObservabilityMiddleware
from crm_shared.problems import NotFound
from crm_shared.service import authenticator_for
from crm_shared.settings import PlatformSettings
from crm_shared.storage import DocumentStore
from crm_shared.storage.memory import MemoryStore

KEYS = "ed:acme:editor:ed,vi:acme:viewer:vi,gx:globex:admin:gx"
EDITOR = {"Authorization": "Bearer ed"}
VIEWER = {"Authorization": "Bearer vi"}


async def _thing(store: DocumentStore, tenant: str, path_params: dict[str, Any]) -> Representation:
    """A fixed thing per tenant: version 3; "missing" is a 404."""
    assert isinstance(store, MemoryStore)
    if path_params["thing_id"] == "missing":
        raise NotFound("no such thing")
    if path_params["thing_id"] == "broken":
        raise RuntimeError("a bug")
    body = {"id": path_params["thing_id"], "tenant": tenant}
    return 3, lambda: orjson.dumps(body)


async def _app(*, fast: bool, served_by_route: list[str]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(ObservabilityMiddleware)
    app.state.authenticator = authenticator_for(PlatformSettings(crm_api_keys=KEYS))
    app.state.rate_limiter = None
    store = MemoryStore()
    await store.start([])
    app.state.store = store

    @app.get("/things/special")
    async def special() -> dict[str, str]:
        return {"special": "yes"}

    @app.post("/things/purge")
    async def purge() -> dict[str, str]:  # a literal path the template fits, without GET
        return {"purged": "yes"}

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str, principal: EditorAuth, request: Request) -> Response:
        served_by_route.append(thing_id)
        version, body = await _thing(
            request_store(request), principal.tenant, {"thing_id": thing_id}
        )
        return versioned_json(version, if_none_match(request), body)

    if fast:
        install_fast_gets(app, FastGet(thing, "editor", _thing))
    return app


@pytest.fixture
async def clients() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, list[str]]]:
    """(the app with the fast GET, one without it, what the fast app's FastAPI route served)."""
    served: list[str] = []
    fast, plain = (
        await _app(fast=True, served_by_route=served),
        await _app(fast=False, served_by_route=[]),
    )
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fast, raise_app_exceptions=False), base_url="http://t"
        ) as one,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=plain, raise_app_exceptions=False),
            base_url="http://t",
        ) as two,
    ):
        yield one, two, served


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/things/a", EDITOR, 200),
        ("GET", "/things/a", {**EDITOR, "If-None-Match": 'W/"3"'}, 304),
        ("GET", "/things/a", {**EDITOR, "If-None-Match": "3"}, 400),
        ("GET", "/things/a", VIEWER, 403),
        ("GET", "/things/a", {}, 401),
        ("GET", "/things/missing", EDITOR, 404),
        ("GET", "/things/missing", VIEWER, 403),
        ("GET", "/things/special", {}, 200),
        ("GET", "/things/a/", EDITOR, 307),
        ("GET", "/things/purge", EDITOR, 405),  # the literal path's methods, not the template's
        ("GET", "/things/a?name=%00", EDITOR, 422),  # the edge guard's
        ("GET", "/things/broken", EDITOR, 500),
        ("HEAD", "/things/a", EDITOR, 200),
        ("HEAD", "/things/a", {**EDITOR, "If-None-Match": '"3"'}, 304),
        ("HEAD", "/things/a", VIEWER, 403),
        ("HEAD", "/things/missing", EDITOR, 404),
        ("DELETE", "/things/a", EDITOR, 405),
    ],
)
async def test_the_fast_get_answers_as_the_route_does(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, list[str]],
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    fast_client, plain_client, served_by_route = clients
    fast = await fast_client.request(method, path, headers=headers)
    plain = await plain_client.request(method, path, headers=headers)
    assert fast.status_code == plain.status_code == status
    if status != 500:  # a 500 names its own request
        assert fast.content == plain.content
    kept = ("content-type", "content-length", "etag", "allow", "www-authenticate", "location")
    assert {h: fast.headers.get(h) for h in kept} == {h: plain.headers.get(h) for h in kept}
    assert fast.headers["x-request-id"]
    if status == 500:  # the error handler names the request it logged
        assert fast.json()["detail"] == plain.json()["detail"]
    assert served_by_route == []  # every GET (and HEAD) of the template went to the fast endpoint
    if method == "HEAD":
        assert fast.content == b""
        got = await fast_client.request("GET", path, headers=headers)
        assert (got.status_code, got.headers.get("content-length")) == (
            status,
            fast.headers.get("content-length"),
        )


async def test_the_fast_get_is_counted_under_its_route_template(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, list[str]],
) -> None:
    fast_client, _, _ = clients
    labels = {"method": "GET", "route": "/things/{thing_id}", "status": "200"}
    before = REGISTRY.get_sample_value("crm_http_requests_total", labels) or 0.0
    await fast_client.get("/things/metric-check", headers=EDITOR)
    assert REGISTRY.get_sample_value("crm_http_requests_total", labels) == before + 1


def test_installing_for_an_endpoint_no_get_route_has_is_refused() -> None:
    app = FastAPI()

    async def nowhere(
        store: DocumentStore, tenant: str, path_params: dict[str, Any]
    ) -> Representation:
        return 1, lambda: b"{}"

    with pytest.raises(ValueError, match="no GET route"):
        install_fast_gets(app, FastGet(nowhere, "viewer", nowhere))


class _Counting:
    """A middleware that counts the requests it sees; with `leaves_alone`, it passes GETs on."""

    seen: list[str]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


class _LeavesGetsAlone(_Counting):
    seen: list[str] = []

    @staticmethod
    def leaves_alone(scope: Scope) -> bool:
        return bool(scope["method"] == "GET")


class _ActsOnEverything(_Counting):
    seen: list[str] = []


async def test_a_fast_get_skips_the_middlewares_that_leave_it_alone_and_no_other() -> None:
    app = await _app(fast=False, served_by_route=[])
    # Outermost first: _ActsOnEverything, then _LeavesGetsAlone (then the problem handlers').
    app.user_middleware.insert(1, Middleware(_LeavesGetsAlone))
    app.user_middleware.insert(1, Middleware(_ActsOnEverything))
    install_fast_gets(app, FastGet(_route_endpoint(app), "editor", _thing))
    _LeavesGetsAlone.seen.clear()
    _ActsOnEverything.seen.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/things/a", headers=EDITOR)).status_code == 200
        assert (await c.head("/things/a", headers=EDITOR)).status_code == 200
    assert _ActsOnEverything.seen == ["GET /things/a", "HEAD /things/a"]
    assert _LeavesGetsAlone.seen == ["HEAD /things/a"]  # the HEAD goes the whole way


def _route_endpoint(app: FastAPI) -> Any:
    return next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/things/{thing_id}")


async def test_fast_gets_are_installed_before_the_app_starts() -> None:
    app = await _app(fast=False, served_by_route=[])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.get("/things/special")
    with pytest.raises(RuntimeError, match="before the app has started"):
        install_fast_gets(app, FastGet(_route_endpoint(app), "editor", _thing))
