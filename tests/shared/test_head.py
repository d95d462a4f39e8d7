"""crm_shared.head: a HEAD answered as the GET of its URL would be, without the body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import FileResponse, StreamingResponse
from prometheus_client import REGISTRY

from crm_shared.head import with_head
from crm_shared.http import install_problem_handlers
from crm_shared.observability.http_middleware import ObservabilityMiddleware
from tests.head_parity import head_as_get

BIG = 200_000  # more than one of FileResponse's 64 KiB parts


@pytest.fixture
def chunks_made() -> list[int]:
    """Each chunk the stream route generated."""
    return []


@pytest.fixture
async def client(tmp_path: Path, chunks_made: list[int]) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(ObservabilityMiddleware)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * BIG)

    @app.get("/plain/{item}")
    async def plain(item: str) -> dict[str, str]:
        return {"item": item}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def lines() -> AsyncIterator[bytes]:
            for n in range(3):
                chunks_made.append(n)
                yield b"line\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/file")
    async def file() -> FileResponse:
        return FileResponse(big)

    @app.post("/only-post")
    async def only_post() -> dict[str, str]:
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def test_a_head_answers_the_gets_status_and_headers_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    status, headers = await head_as_get(client, "/plain/a", {})
    assert status == 200
    assert headers["content-length"] == str(len(b'{"item":"a"}'))


async def test_a_head_of_a_missing_path_is_the_gets_404(client: httpx.AsyncClient) -> None:
    status, headers = await head_as_get(client, "/nowhere", {})
    assert status == 404
    assert headers["content-type"] == "application/problem+json"


async def test_a_head_of_a_stream_generates_none_of_it(
    client: httpx.AsyncClient, chunks_made: list[int]
) -> None:
    head = await client.head("/stream")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == "application/x-ndjson"
    assert chunks_made == []
    assert (await client.get("/stream")).content == b"line\n" * 3


async def test_a_head_of_a_file_sent_in_parts_keeps_its_length(client: httpx.AsyncClient) -> None:
    status, headers = await head_as_get(client, "/file", {})
    assert (status, headers["content-length"]) == (200, str(BIG))


async def test_a_head_of_a_post_only_route_is_a_405_naming_post(
    client: httpx.AsyncClient,
) -> None:
    head = await client.head("/only-post")
    assert (head.status_code, head.content) == (405, b"")
    assert head.headers["allow"] == "POST"


async def test_a_405_names_head_wherever_it_names_get(client: httpx.AsyncClient) -> None:
    response = await client.delete("/plain/a")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_a_head_is_counted_as_a_head_under_its_route_template(
    client: httpx.AsyncClient,
) -> None:
    labels = {"method": "HEAD", "route": "/plain/{item}", "status": "200"}
    before = REGISTRY.get_sample_value("crm_http_requests_total", labels) or 0.0
    assert (await client.head("/plain/b")).status_code == 200
    assert REGISTRY.get_sample_value("crm_http_requests_total", labels) == before + 1


def test_head_follows_get_in_an_allow_list() -> None:
    assert with_head(["GET", "POST"]) == ["GET", "HEAD", "POST"]
    assert with_head(["POST"]) == ["POST"]
    assert with_head(["GET", "HEAD", "DELETE"]) == ["GET", "HEAD", "DELETE"]
