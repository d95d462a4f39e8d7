"""crm_shared.http_server: a connection's writes made once per loop turn, answers unchanged."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from crm_shared.http_server import KEPT_BYTES, TurnWrites, TurnWritesHttpToolsProtocol
from tests.polling import eventually


class _Transport:
    """What TurnWrites hands on: each write, and whether it was closed or aborted."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _turn_writes() -> tuple[TurnWrites, _Transport]:
    inner = _Transport()
    wrapped: Any = inner
    return TurnWrites(wrapped, asyncio.get_running_loop()), inner


async def test_the_writes_of_one_turn_leave_in_one_write_at_its_end() -> None:
    writes, inner = _turn_writes()
    writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
    writes.write(memoryview(b"body"))
    assert inner.writes == []
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]


async def test_more_than_the_kept_bytes_are_written_at_once() -> None:
    writes, inner = _turn_writes()
    writes.write(b"h")
    writes.write(b"x" * KEPT_BYTES)
    assert inner.writes == [b"h" + b"x" * KEPT_BYTES]
    writes.write(b"tail")
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"tail"]


async def test_a_close_writes_what_is_kept_first_and_an_abort_drops_it() -> None:
    closing, inner = _turn_writes()
    closing.write(b"last answer")
    closing.close()
    assert (inner.writes, inner.closed) == ([b"last answer"], True)
    aborting, dropped = _turn_writes()
    aborting.write(b"never sent")
    aborting.abort()
    await asyncio.sleep(0)
    assert (dropped.writes, dropped.aborted) == ([], True)


async def test_everything_else_is_the_transports() -> None:
    writes, _ = _turn_writes()
    assert writes.get_extra_info("peername") == "info:peername"


async def _big_stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(40):
            yield bytes([65 + n % 26]) * 4096

    return StreamingResponse(parts(), media_type="text/plain")


async def _one(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["item"], "text": "é" * 3})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def served() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/items/{item}", _one), Route("/stream", _big_stream)])
    port = _free_port()
    config = uvicorn.Config(
        app, port=port, http=TurnWritesHttpToolsProtocol, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="the server started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_answers_on_one_kept_alive_connection_arrive_whole(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        for n in range(5):
            one = await http.get(f"/items/{n}")
            assert (one.status_code, one.json()) == (200, {"id": str(n), "text": "ééé"})
            assert one.headers["content-length"] == str(len(one.content))
        stream = await http.get("/stream")
        assert stream.content == b"".join(bytes([65 + n % 26]) * 4096 for n in range(40))
        closing = await http.get("/items/last", headers={"Connection": "close"})
        assert closing.json()["id"] == "last"
