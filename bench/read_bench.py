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
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.processes import cpu_seconds
from bench.read_load import CONCURRENCY, Figures, drive
from bench.search_bench import TENANT, load, text_queries
from crm_contacts.domain.derived_fields import DERIVED_FIELDS_VERSION
from crm_shared.devstack import EmbeddedBroker, Platform, free_port
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import stored_path
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF

KEY = "bench-viewer-key"
# uvicorn's (HTTP parser, event loop) by --stack: the services' default, and the pure-Python one.
STACKS = {"httptools": ("httptools", "uvloop"), "h11": ("h11", "asyncio")}


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
        # The ceiling's req/s swings between runs with other work on the cores; CPU per request
        # is steadier: the same share, from what each answer cost the server.
        if figures.cpu_ms > 0:
            text += f", {ceiling.cpu_ms / figures.cpu_ms:.0%} by CPU per request"
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
    stack: str = "httptools",
    rates: Sequence[float] = (),
) -> None:
    """Start the service and the bare routes on the loaded store, drive each, print figures.

    Both run on the same HTTP stack (`stack`: uvicorn's httptools parser on uvloop, or h11 on
    asyncio's loop), so the ratio compares the service's code, not two servers. `rates` are
    offered rates for open-loop drives of the reads by id after the closed-loop one.
    """
    parser, loop = STACKS[stack]
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
        extra_env={
            "CRM_API_KEYS": f"{KEY}:{TENANT}:viewer",
            "CRM_ENV": "test",
            "CRM_HTTP_PARSER": parser,
            "CRM_EVENT_LOOP": loop,
        },
        ready_timeout=180,
    )
    bare_port = free_port()
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.read_bare",
            "--port",
            str(bare_port),
            "--http",
            parser,
            "--loop",
            loop,
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
        offered = [(rate, at_service(service, by_id, auth, seconds, rate=rate)) for rate in rates]
        fts_paths = [str(httpx.URL("/search", params={"q": q})) for q in queries]
        bare_fts = at_bare(bare_url, fts_paths, {}, seconds) if search else None
        found = at_service(service, searches, auth, seconds) if search else None
        load1, load5, _ = os.getloadavg()
        print(
            f"\nread path, {CONCURRENCY} connections, {seconds:.0f} s each, uvicorn {parser} on "
            f"{loop} "
            f"(load average {load1:.2f} {load5:.2f}); the service idle: "
            f"{service_idle * 1000:.0f} ms of CPU a second"
        )
        print(_line("bare Starlette JSON route (ceiling)", bare_json))
        print(_line("bare Starlette + hand-written SQL by id", bare_sql, bare_json))
        print(_line("GET /v1/contacts/{id} (goal >= 40%, p99 < 20 ms)", get, bare_json))
        for rate, figures in offered:
            print(_line(f"  the same, open loop, {rate:,.0f} req/s offered", figures))
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
            f"SELECT doc ->> '{email}' FROM c_contacts WHERE tenant = {TENANT_CODE_OF} ORDER BY n",
            [TENANT],
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
            f"SELECT doc FROM c_derived_backfills WHERE tenant = {TENANT_CODE_OF} AND id = ?",
            ["", TENANT],
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
    parser.add_argument(
        "--stack",
        choices=sorted(STACKS),
        default="httptools",
        help="uvicorn's HTTP stack for the service and the bare routes alike (default: the "
        "services' own, httptools on uvloop)",
    )
    parser.add_argument(
        "--rates",
        default="",
        help="offered rates (req/s, comma-separated) for open-loop drives of the reads by id: "
        "the latency a request sees below saturation",
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
        rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
        measure(
            workdir,
            path,
            emails,
            args.seconds,
            spy=args.spy,
            search=not args.by_id_only,
            stack=args.stack,
            rates=rates,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
