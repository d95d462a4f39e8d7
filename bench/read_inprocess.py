"""CPU per `GET /v1/contacts/{id}` through the contacts app's whole ASGI stack, in one process.

No network and no other process: each request is a scope handed to the app (every middleware,
the route, the store's read, the access line), one after another on uvloop, and the process's
own CPU time is counted. Other work on the cores barely moves the figure, so it serves for
back-to-back comparisons of the service's code on a shared machine. The same run measures the
bare Starlette JSON route of bench/read_bare.py the same way: the ratio is the service's share of
that ceiling (uvicorn's parsing and socket writes, which both pay, are left out of both).

    python -m bench.read_inprocess --store /tmp/crm-read-store 2>/dev/null

`--store` is a data folder bench.read_bench loaded (`--store` there); access lines go to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.search_bench import TENANT

KEY = "bench-viewer-key"
ROUNDS = 5


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _cpu_per_request(app: Any, paths: list[str], headers: list[tuple[bytes, bytes]]) -> float:
    """Milliseconds of this process's CPU per request, over `paths` answered one after another."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for path in paths[:200]:  # warm-up: caches, first series, the loop reader
        await app(_scope(path, headers), receive, send)
    statuses.clear()
    # The least of a few rounds: other work on the cores only ever adds to a round's time.
    spent = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for path in paths:
            await app(_scope(path, headers), receive, send)
        spent.append(time.process_time() - started)
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses: {sorted(set(statuses))}")
    return min(spent) * 1000 / len(paths)


async def _run(store: Path, requests: int, log_level: str, *, fast_reads: bool) -> None:
    os.environ.update(
        {
            "CRM_ENV": "test",
            "CRM_DATA_DIR": str(store),
            "CRM_API_KEYS": f"{KEY}:{TENANT}:viewer",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "READ_BENCH_DB": str(store / "contacts.sqlite3"),
        }
    )
    from bench import read_bare
    from crm_contacts.bootstrap import create_app
    from crm_shared.collection import collect_for_throughput
    from crm_shared.observability.logs import configure_logging
    from crm_shared.storage.sqlite_ids import read_id

    with sqlite3.connect(f"file:{store / 'contacts.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id FROM c_contacts ORDER BY random() LIMIT ?", [requests])
        ids = [read_id(row[0]) for row in rows]
    paths = [f"/v1/contacts/{contact_id}" for contact_id in ids]
    configure_logging("contacts", log_level)
    app = create_app(fast_reads=fast_reads)
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {KEY}".encode())]
    async with app.router.lifespan_context(app):
        collect_for_throughput()  # as serve() does
        gc.collect()
        gc.freeze()
        bare = await _cpu_per_request(read_bare.app, ["/json"] * len(paths), [(b"host", b"b")])
        service = await _cpu_per_request(app, paths, headers)
    load1, _, _ = os.getloadavg()
    print(
        f"in process, {len(paths):,} requests one at a time, least of {ROUNDS} rounds, "
        f"load average {load1:.2f}"
    )
    print(f"  bare Starlette JSON route (ceiling)   CPU {bare:.3f} ms/req")
    share = bare / service
    print(f"  GET /v1/contacts/{{id}}                 CPU {service:.3f} ms/req  | {share:.0%}")


def main() -> None:
    """Measure the contacts app's CPU per GET by id on a kept store, next to the bare route's."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument(
        "--log-level", default="INFO", help="WARNING leaves the access lines out (their cost)"
    )
    parser.add_argument(
        "--fastapi-route",
        action="store_true",
        help="serve the read by its FastAPI route, not its fast endpoint (crm_shared.fast_get)",
    )
    args = parser.parse_args()
    uvloop.run(_run(args.store, args.requests, args.log_level, fast_reads=not args.fastapi_route))


if __name__ == "__main__":
    main()
