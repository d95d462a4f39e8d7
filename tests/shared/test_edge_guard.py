"""The edge guard: JSON bodies no store holds and NUL in query strings are a 422 naming where."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.edge import body_errors, query_errors
from crm_shared.http import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    @app.get("/find")
    async def find(q: str = "") -> dict[str, str]:
        return {"q": q}

    return app


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test")


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"name": "\\ud800"}', "body.name"),
        (b'{"a": [1, {"b": "x\\u0000"}]}', "body.a.1.b"),
        (b'{"n": 100000000000000000000}', "body.n"),
        (b'{"n": -9223372036854775809}', "body.n"),
        (b'{"x": NaN}', "body.x"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "body.a.a.a"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
    ],
    ids=["lone surrogate", "NUL", "above 64 bits", "below 64 bits", "NaN", "100 levels", "deep"],
)
async def test_an_unstorable_body_is_a_422_naming_where(raw: bytes, where: str) -> None:
    async with await _client() as client:
        response = await client.post(
            "/echo", content=raw, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"].startswith(where)
    assert body["errors"][0]["type"] == "value_error"


async def test_a_fine_body_reaches_the_route_unchanged() -> None:
    payload = {"name": "Zoë 🎉", "n": 2**63 - 1, "nested": {"list": [1, 2.5, None, True]}}
    async with await _client() as client:
        response = await client.post("/echo", json=payload)
    assert response.status_code == 200
    assert response.json() == payload


async def test_malformed_json_is_still_the_apps_400() -> None:
    async with await _client() as client:
        response = await client.post(
            "/echo", content=b'{"name": ', headers={"content-type": "application/json"}
        )
    assert response.status_code == 400


async def test_nul_in_a_query_parameter_is_a_422_naming_it() -> None:
    async with await _client() as client:
        refused = await client.get("/find?q=a%00b")
        fine = await client.get("/find?q=a%20b")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["query", "q"]
    assert fine.json() == {"q": "a b"}


def test_bodies_that_are_not_json_objects_are_judged_too() -> None:
    assert body_errors(b"") == []
    assert body_errors(b"not json") == []
    assert body_errors(b'["\\udc00"]')[0]["loc"] == ["body", 0]
    assert query_errors(b"a=1&b=2") == []
