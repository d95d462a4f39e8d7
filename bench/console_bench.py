"""Console benchmark: the contact list's first page in the console, with N contacts stored.

Loads N contacts (default 1,000,000) into a contacts store exactly as the search benchmark does,
starts the contacts service and the console on it as processes (with the embedded broker), signs
in, then times (a) the contacts API's own `GET /v1/contacts?limit=50` (the ceiling: the console
cannot be faster than the call it makes) and (b) the console's `GET /contacts`, the whole HTML
page a person gets (its API calls included), first page in creation order and sorted by name.
Goal: the console's first page in under 300 ms at 1,000,000 contacts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.search_bench import TENANT, load
from crm_shared.devstack import EmbeddedBroker, Platform, free_port

KEY = "bench-admin-key"
GOAL_MS = 300.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _time(client: httpx.Client, path: str, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):6.1f} ms, p95 {p95:6.1f} ms"


def _load_average() -> str:
    """The machine's load (1, 5, 15 min): figures taken on a busy machine are rough."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _signed_in(console_url: str) -> httpx.Client:
    client = httpx.Client(base_url=console_url, timeout=60)
    form = client.get("/signin")
    found = CSRF.search(form.text)
    assert found, "the sign-in form carries a token"
    response = client.post("/signin", data={"api_key": KEY, "csrf_token": found.group(1)})
    assert response.status_code == 303, response.text
    return client


def measure(workdir: Path, count: int, repeats: int) -> bool:
    """Start the contacts service and the console on the loaded store, time both; True if met."""
    broker = EmbeddedBroker()
    broker.start()
    platform = Platform(
        broker.bootstrap_servers,
        workdir / "data",
        # gdpr answers the console's role check at sign-in; the console starts last.
        {"contacts": free_port(), "gdpr": free_port(), "console": free_port()},
        extra_env={"CRM_API_KEYS": f"{KEY}:{TENANT}:admin", "CRM_ENV": "test"},
    )
    try:
        platform.start()
        api = httpx.Client(
            base_url=platform.services["contacts"].url,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        console = _signed_in(platform.services["console"].url)
        for client, path in ((api, "/v1/contacts?limit=50"), (console, "/contacts")):
            _time(client, path, 3)  # warm caches and connections
        rows = []
        load_before = _load_average()
        for label, sort in (("creation order", ""), ("sorted by name", "name")):
            api_path = f"/v1/contacts?limit=50{f'&sort={sort}' if sort else ''}"
            console_path = f"/contacts{f'?sort={sort}' if sort else ''}"
            ceiling = _time(api, api_path, repeats)
            page = _time(console, console_path, repeats)
            rows.append((label, ceiling, page))
        print(f"\ncontact list, first page of 50, {count:,} contacts stored, {repeats} requests")
        print(f"  {load_before} before timing, {_load_average()} after")
        met = True
        for label, ceiling, page in rows:
            print(f"  {label:<15} contacts API (ceiling)  {_summary(ceiling)}")
            print(f"  {'':<15} console HTML page        {_summary(page)}")
            ratio = statistics.median(page) / statistics.median(ceiling)
            print(f"  {'':<15} ratio to the ceiling     {ratio:.1f}x (medians)")
            met = met and statistics.median(page) < GOAL_MS
        print(f"goal: console page median under {GOAL_MS:.0f} ms: {'met' if met else 'NOT met'}")
        return met
    finally:
        platform.stop()
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    """Load N contacts, then time the console's first page against the API's."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-console-bench-"))
    path = workdir / "data" / "contacts.sqlite3"
    path.parent.mkdir(parents=True)
    print(f"loading {args.contacts:,} contacts into {path} ({_load_average()}) ...", flush=True)
    _, loaded, indexed = asyncio.run(load(path, args.contacts))
    print(f"loaded in {loaded:.1f} s, indexes built in {indexed:.1f} s", flush=True)
    try:
        measure(workdir, args.contacts, args.repeats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
