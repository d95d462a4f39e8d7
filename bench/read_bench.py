"""Read-path benchmark: `GET /v1/contacts/{id}` and `q` search under 64 concurrent connections.

Loads N contacts (default 100,000) as the search benchmark does, starts the contacts service on
them (a process, with the embedded broker) and, as the same-run ceilings, bare Starlette routes
on the same file (bench/read_bare.py): a fixed JSON document, a hand-written SQL read by id and
a bare FTS5 query. A load generator in its own process (plain asyncio HTTP/1.1, keep-alive,
64 connections each with one request in flight) drives each for a few seconds. Prints
requests/s, p50 and p99, and the service's share of the ceiling's requests/s (goal: at least
40% of the bare JSON route, p99 under 20 ms for the read by id). Run it un-niced: other work on
the cores skews every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import httpx

from bench.processes import cpu_seconds
from bench.search_bench import TENANT, load, text_queries
from crm_contacts.domain.derived_fields import DERIVED_FIELDS_VERSION
from crm_shared.devstack import EmbeddedBroker, Platform, free_port
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import stored_path

KEY = "bench-viewer-key"
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
    base: str, paths: list[str], headers: dict[str, str], seconds: float
) -> tuple[list[float], int]:
    """The measured requests' latencies, and how many requests the warm-up second sent."""
    url = httpx.URL(base)
    assert url.port is not None, base
    latencies: list[float] = []
    warm_requests = 0
    connections = [_Connection(url.host, url.port, headers) for _ in range(CONCURRENCY)]

    async def worker(start: int, until: float, record: bool) -> None:
        nonlocal warm_requests
        at, connection = start, connections[start]
        while time.perf_counter() < until:
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
    out: multiprocessing.Queue[tuple[list[float], int] | str],
) -> None:
    try:
        out.put(asyncio.run(_drive(base, paths, headers, seconds)))
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
) -> Figures:
    """The figures of `paths` served at `base` by `server_pid`, driven from a separate process."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[list[float], int] | str] = ctx.Queue()
    process = ctx.Process(target=_generator, args=(base, paths, headers, seconds, queue))
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


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer")


def idle_cpu(pid: int, seconds: float = 3.0) -> float:
    """The CPU seconds a second a server process spends serving nothing."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def _line(label: str, figures: Figures, ceiling: Figures | None = None) -> str:
    text = (
        f"  {label:<44} {figures.rps:>8,.0f} req/s  p50 {figures.p50_ms:6.2f} ms  "
        f"p99 {figures.p99_ms:6.2f} ms  CPU {figures.cpu_ms:5.2f} ms/req"
    )
    if ceiling is not None:
        text += f"  | {figures.rps / ceiling.rps:.0%} of the ceiling's req/s"
    return text


def _spied(pid: int, seconds: float, out: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy recording the service while it serves the reads by id (when asked for)."""
    if out is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    # Started after the warm-up second of the drive, it covers the measured seconds.
    command = [spy, "record", "-p", str(pid), "-d", f"{seconds:.0f}", "-r", "100"]
    command += ["--format", "raw", "--threads", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(
    workdir: Path,
    path: Path,
    emails: list[str],
    seconds: float,
    *,
    spy: Path | None = None,
    search: bool = True,
) -> None:
    """Start the service and the bare routes on the loaded store, drive each, print figures."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id FROM c_contacts ORDER BY random() LIMIT 5000")
        ids = [read_id(r[0]) for r in rows]
    queries = text_queries(emails, 500)["rare substring"]
    by_id = [f"/v1/contacts/{i}" for i in ids]
    searches = [str(httpx.URL("/v1/contacts", params={"q": q})) for q in queries]
    broker = EmbeddedBroker()
    broker.start()
    platform = Platform(
        broker.bootstrap_servers,
        path.parent,
        {"contacts": free_port()},
        extra_env={"CRM_API_KEYS": f"{KEY}:{TENANT}:viewer", "CRM_ENV": "test"},
        ready_timeout=180,
    )
    bare_port = free_port()
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.read_bare:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "READ_BENCH_DB": str(path), "READ_BENCH_TENANT": TENANT},
    )
    try:
        platform.start(iter(["contacts"]))
        bare_url = f"http://127.0.0.1:{bare_port}"
        _wait_for(f"{bare_url}/json")
        service = platform.services["contacts"].url
        process = platform.services["contacts"].process
        assert process is not None
        auth = {"Authorization": f"Bearer {KEY}"}
        service_idle = idle_cpu(process.pid)
        at_service = functools.partial(drive, server_pid=process.pid, idle_cpu=service_idle)
        at_bare = functools.partial(drive, server_pid=bare.pid)
        bare_json = at_bare(bare_url, ["/json"], {}, seconds)
        bare_sql = at_bare(bare_url, [f"/contacts/{i}" for i in ids], {}, seconds)
        recording = _spied(process.pid, seconds, spy)
        get = at_service(service, by_id, auth, seconds)
        if recording is not None:
            recording.wait(timeout=60)
        fts_paths = [str(httpx.URL("/search", params={"q": q})) for q in queries]
        bare_fts = at_bare(bare_url, fts_paths, {}, seconds) if search else None
        found = at_service(service, searches, auth, seconds) if search else None
        load1, load5, _ = os.getloadavg()
        print(
            f"\nread path, {CONCURRENCY} connections, {seconds:.0f} s each "
            f"(load average {load1:.2f} {load5:.2f}); the service idle: "
            f"{service_idle * 1000:.0f} ms of CPU a second"
        )
        print(_line("bare Starlette JSON route (ceiling)", bare_json))
        print(_line("bare Starlette + hand-written SQL by id", bare_sql, bare_json))
        print(_line("GET /v1/contacts/{id} (goal >= 40%, p99 < 20 ms)", get, bare_json))
        if bare_fts is not None and found is not None:
            print(_line("bare Starlette + bare FTS5 query (ceiling)", bare_fts))
            print(_line("GET /v1/contacts?q=<rare substring>", found, bare_fts))
    finally:
        bare.terminate()
        bare.wait(timeout=30)
        platform.stop()
        broker.stop()


def _kept_emails(path: Path, count: int) -> list[str]:
    """The e-mails of a kept store's contacts (the load's order); exits if it holds another N."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        email = stored_path(db, "contacts", "email")  # declared fields have short codes
        rows = db.execute(
            f"SELECT doc ->> '{email}' FROM c_contacts WHERE tenant = ? ORDER BY n", [TENANT]
        ).fetchall()
    finally:
        db.close()
    if len(rows) != count:
        sys.exit(f"{path} holds {len(rows):,} contacts, not {count:,}")
    return [row[0] for row in rows]


def _backfill_pending(path: Path) -> bool:
    """Whether a service started on the kept store would walk it with the derived-fields backfill.

    Stores loaded before the loader recorded the backfill as done (or at an older version of the
    derived fields) are walked at start: minutes of CPU that the idle and read figures include.
    """
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT doc FROM c_derived_backfills WHERE tenant = '' AND id = ?", [TENANT]
        ).fetchone()
    except sqlite3.OperationalError:  # no such table: never recorded
        return True
    finally:
        db.close()
    progress = json.loads(row[0]) if row else {}
    return not (progress.get("version") == DERIVED_FIELDS_VERSION and progress.get("finished"))


def main(argv: list[str] | None = None) -> int:
    """Load N contacts (or reuse a kept store), then drive the read routes and their ceilings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--store",
        type=Path,
        help="a data folder to keep the loaded store in and reuse on later runs (same N)",
    )
    parser.add_argument(
        "--spy",
        type=Path,
        help="record the service with py-spy (raw, per thread) into this file during the reads "
        "by id; summarise it with bench/spy_summary.py",
    )
    parser.add_argument(
        "--by-id-only", action="store_true", help="leave out the search routes (a quicker run)"
    )
    args = parser.parse_args(argv)
    random.seed(7)
    workdir = Path(tempfile.mkdtemp(prefix="crm-read-bench-"))
    path = (args.store or workdir / "data") / "contacts.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.exists():
            emails = _kept_emails(path, args.contacts)
            print(f"reusing {path} ({args.contacts:,} contacts)", flush=True)
            if _backfill_pending(path):
                print(
                    "note: the derived-fields backfill will walk this store while it is measured "
                    "(it was loaded by an older loader or for older derived fields)",
                    flush=True,
                )
        else:
            print(f"loading {args.contacts:,} contacts into {path} ...", flush=True)
            emails, loaded, indexed = asyncio.run(load(path, args.contacts))
            print(f"loaded in {loaded:.1f} s, indexes built in {indexed:.1f} s", flush=True)
        measure(workdir, path, emails, args.seconds, spy=args.spy, search=not args.by_id_only)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
