"""GET /v1/contacts/{id} answered by its fast endpoint and by its FastAPI route: the same answers.

The service's app (fast endpoint installed) and a reference app built with `fast_reads=False`
share one state (store, keys, rate limiter), so each request of the matrix is sent to both and
their answers compared: status, the headers a client reads, and the body byte for byte.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app
from crm_shared.events import ErasureRequested
from crm_shared.rate_limit import Limit
from crm_shared.rate_limit_store import StoreRateLimiter
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope

# What a client reads of an answer (x-request-id differs by design: it is random).
COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "etag",
    "www-authenticate",
    "retry-after",
    "allow",
    "location",
)
MISSING_ID = "01a230ba-798f-7165-8cd8-089a76caf01d"


@pytest.fixture
async def reference(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same service with the read left to its FastAPI route, on `app`'s state."""
    plain = create_app(fast_reads=False)
    plain.state = app.state
    transport = httpx.ASGITransport(app=plain)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _seen(response: httpx.Response) -> tuple[int, dict[str, str | None], bytes]:
    headers = {name: response.headers.get(name) for name in COMPARED_HEADERS}
    return response.status_code, headers, response.content


async def _both(
    harness: Harness,
    reference: httpx.AsyncClient,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
) -> tuple[int, dict[str, str | None], bytes]:
    fast = await harness.client.request(method, path, headers=headers)
    plain = await reference.request(method, path, headers=headers)
    assert _seen(fast) == _seen(plain), f"{method} {path} {headers}"
    assert fast.headers["x-request-id"]
    return _seen(fast)


def test_the_openapi_document_is_the_same_with_the_fast_endpoint(app: FastAPI) -> None:
    assert create_app().openapi() == create_app(fast_reads=False).openapi()


async def test_every_answer_of_the_read_is_the_same_from_both(
    harness: Harness, reference: httpx.AsyncClient
) -> None:
    live = await harness.create(name="Ada", email="ada@x.example", tags=["VIP"])
    deleted = await harness.create(name="Bob", email="bob@x.example")
    erased = await harness.create(name="Cy", email="cy@x.example")
    assert (
        await harness.client.delete(f"/v1/contacts/{deleted['id']}", headers=auth(EDITOR_KEY))
    ).status_code == 204
    await harness.handle(
        envelope(ErasureRequested(erasure_id="er-1", contact_id=erased["id"], identifier_hashes=[]))
    )
    viewer = list(auth(VIEWER_KEY).items())
    one = f"/v1/contacts/{live['id']}"
    cases: list[tuple[str, str, list[tuple[str, str]], int]] = [
        ("GET", one, viewer, 200),
        ("GET", one, list(auth(ADMIN_KEY).items()), 200),
        ("GET", one, [], 401),
        ("GET", one, [("Authorization", "Basic dXNlcjpwdw==")], 401),
        ("GET", one, [("Authorization", "Bearer ")], 401),
        ("GET", one, list(auth("not-a-key").items()), 401),
        ("GET", one, [*viewer, ("If-None-Match", '"1"')], 304),
        ("GET", one, [("If-None-Match", '"1"')], 401),
        ("GET", one, list(auth(OTHER_TENANT_KEY).items()), 404),
        ("GET", f"/v1/contacts/{MISSING_ID}", viewer, 404),
        ("GET", f"/v1/contacts/{MISSING_ID}", [*viewer, ("If-None-Match", "*")], 404),
        ("GET", f"/v1/contacts/{MISSING_ID}", [*viewer, ("If-None-Match", "1")], 404),
        ("GET", f"/v1/contacts/{deleted['id']}", viewer, 404),
        ("GET", f"/v1/contacts/{erased['id']}", viewer, 410),
        ("GET", one, [*viewer, ("If-None-Match", 'W/"1"')], 304),
        ("GET", one, [*viewer, ("If-None-Match", "*")], 304),
        ("GET", one, [*viewer, ("If-None-Match", '"7"'), ("If-None-Match", 'W/"1"')], 304),
        ("GET", one, [*viewer, ("If-None-Match", '"2"')], 200),
        ("GET", one, [*viewer, ("If-None-Match", "1")], 400),
        ("GET", f"{one}?x=%00", viewer, 422),
        ("GET", f"{one}?fields=name", viewer, 200),
        ("GET", f"{one}/", viewer, 307),
        ("GET", "/v1/contacts/a%2Fb", viewer, 404),
        ("GET", "/v1/contacts/stream", [], 401),
        ("GET", "/v1/contacts/purge", viewer, 405),
        ("HEAD", one, viewer, 200),
        ("HEAD", one, [], 401),
        ("HEAD", one, [*viewer, ("If-None-Match", '"1"')], 304),
        ("HEAD", one, [*viewer, ("If-None-Match", "1")], 400),
        ("HEAD", f"/v1/contacts/{MISSING_ID}", viewer, 404),
        ("HEAD", f"/v1/contacts/{erased['id']}", viewer, 410),
        ("HEAD", "/v1/contacts/purge", viewer, 405),
        ("PUT", one, viewer, 405),
        ("POST", one, viewer, 405),
    ]
    for method, path, headers, status in cases:
        seen = await _both(harness, reference, method, path, headers)
        assert seen[0] == status, f"{method} {path} {headers}: {seen}"
        if method == "HEAD":  # the GET's status and headers, without its body
            got = await _both(harness, reference, "GET", path, headers)
            assert seen == (got[0], got[1], b""), f"{method} {path} {headers}"
    ok = await harness.client.get(one, headers=viewer)
    assert ok.json() == live
    assert ok.headers["etag"] == '"1"'


async def test_the_rate_limit_spends_the_same_on_both(
    app: FastAPI, harness: Harness, reference: httpx.AsyncClient
) -> None:
    live = await harness.create(name="Ada", email="ada@x.example")
    # Two requests a key, then one per 100 s: each client uses a key of its own.
    app.state.rate_limiter = StoreRateLimiter(Limit(0.01, 2), store=lambda: app.state.store)
    path = f"/v1/contacts/{live['id']}"
    answers = []
    for client, key in ((harness.client, VIEWER_KEY), (reference, ADMIN_KEY)):
        answers.append([_seen(await client.get(path, headers=auth(key))) for _ in range(4)])
    fast, plain = answers
    assert [status for status, _, _ in fast] == [200, 200, 429, 429]
    assert fast == plain
    assert fast[2][1]["retry-after"] == "100"
