"""The read benchmark's load generator: 64 keep-alive HTTP/1.1 connections, one request in flight.

Closed loop (as fast as answers come) or open loop (a fixed offered rate). It runs in a process
of its own so that it does not share the event loop, or the GIL, with what it measures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import NamedTuple

import httpx

from bench.processes import cpu_seconds

CONCURRENCY = 64


class _Connection:
    """One keep-alive HTTP/1.1 connection sending GETs, one in flight.

    The load generator speaks HTTP itself: httpx's pool, shared by 64 tasks, served ~130
    requests/s against a bare route on this machine (one connection alone ~600), so the bench
    measured the client, not the servers.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self._address = (host, port)
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head = f"Host: {host}:{port}\r\n{extra}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(*self._address)
        self._writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._head)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError(f"{path}: chunked answer, not expected here")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def _drive(
    base: str, paths: list[str], headers: dict[str, str], seconds: float, rate: float | None = None
) -> tuple[list[float], int]:
    """The measured requests' latencies, and how many requests the warm-up second sent.

    Closed loop by default (each connection sends its next request when its answer arrives). With
    `rate`, open loop: the connections together offer `rate` requests a second, each request
    due at a fixed time, and its latency counts from when it was due, so time spent waiting
    behind a slow answer is in it (no coordinated omission).
    """
    url = httpx.URL(base)
    assert url.port is not None, base
    latencies: list[float] = []
    warm_requests = 0
    connections = [_Connection(url.host, url.port, headers) for _ in range(CONCURRENCY)]

    async def worker(start: int, until: float, record: bool) -> None:
        nonlocal warm_requests
        at, connection = start, connections[start]
        interval = CONCURRENCY / rate if rate else 0.0
        due = time.perf_counter() + interval * start / CONCURRENCY  # spread over the interval
        while time.perf_counter() < until:
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                began, due = due, due + interval
            else:
                began = time.perf_counter()
            status, body = await connection.get(paths[at % len(paths)])
            if status != 200:
                raise RuntimeError(f"{paths[at % len(paths)]}: {status} {body[:200]!r}")
            if record:
                latencies.append(time.perf_counter() - began)
            else:
                warm_requests += 1
            at += CONCURRENCY

    try:
        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(i, warm, False) for i in range(CONCURRENCY)))
        until = time.perf_counter() + seconds
        await asyncio.gather(*(worker(i, until, True) for i in range(CONCURRENCY)))
    finally:
        for connection in connections:
            connection.close()
    return latencies, warm_requests


def _generator(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    seconds: float,
    rate: float | None,
    out: multiprocessing.Queue[tuple[list[float], int] | str],
) -> None:
    try:
        out.put(asyncio.run(_drive(base, paths, headers, seconds, rate)))
    except Exception as exc:  # reported by the parent, which would otherwise wait in vain
        out.put(f"{type(exc).__name__}: {exc}")


class Figures(NamedTuple):
    """What one drive measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    # The server process's CPU time (every thread) over the whole drive, warm-up included, per
    # request sent, less what it spends idle (its consumers' fetches): less skewed than
    # requests/s by other work on the cores.
    cpu_ms: float


def drive(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    seconds: float,
    *,
    server_pid: int,
    idle_cpu: float = 0.0,
    rate: float | None = None,
) -> Figures:
    """The figures of `paths` served at `base` by `server_pid`, driven from a separate process."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[list[float], int] | str] = ctx.Queue()
    process = ctx.Process(target=_generator, args=(base, paths, headers, seconds, rate, queue))
    cpu_before, started = cpu_seconds(server_pid), time.monotonic()
    process.start()
    got = queue.get(timeout=seconds + 300)
    cpu = cpu_seconds(server_pid) - cpu_before - idle_cpu * (time.monotonic() - started)
    process.join(timeout=30)
    if isinstance(got, str):
        raise RuntimeError(f"load generator on {base}: {got}")
    latencies, warm_requests = sorted(got[0]), got[1]
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    requests = len(latencies) + warm_requests
    return Figures(len(latencies) / seconds, p50, p99, cpu * 1000 / max(1, requests))
