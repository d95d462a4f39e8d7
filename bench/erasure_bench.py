"""Erasure and access on the embedded platform (broker + the four services as processes).

Three figures, each next to a floor measured in the same run on the same machine:

1. Erasure end to end, one request at a time: from `POST /v1/erasure-requests {contact_id}` to
   the request reading `completed` (every service's receipt in), p50/p99 over `--singles`
   contacts that each have a note and a consent. Floor: a bare `POST /v1/contacts` round trip.
   Goal: p99 under 60 s.
2. 5,000 erasures in one request (`contact_ids`), contacts imported beforehand, to `completed`.
   Floor: 5,000 bare deletes on a SQLite store, one transaction each, on the same disk.
   Goal: under 5 minutes.
3. An access bundle (`POST /v1/data-exports`) for a contact with 10,000 timeline items.
   Floor: paging the same items through the timeline's API (200 a page), which the bundle must
   at least do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from crm_shared.cloudevents import STRUCTURED_HEADERS
from crm_shared.devstack import EmbeddedBroker, Platform, free_port
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecordedV2
from crm_shared.ids import new_id
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.storage import CollectionSpec
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.topics import ACTIVITIES

KEY = "bench-erasure-admin-key"
TENANT = "bench"
GOAL_SINGLE_P99_S = 60.0
GOAL_BULK_S = 300.0
POLL_SECONDS = 0.05


def person_name(rng: random.Random) -> str:
    """A made-up two-word name: people the duplicate engine does not see as one family.

    "Bulk Person 1..5000" at one work domain would all be candidate duplicates of each other
    (one name block, one account), and the contacts service would spend the run re-matching them.
    """
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 9))).title()
        for _ in range(2)
    )


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def _wait(probe: Callable[[], Any], *, within: float, what: str, poll: float = POLL_SECONDS) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(poll)
    raise RuntimeError(f"{what} did not happen within {within:.0f} s")


class Bench:
    """Clients of the running services, and the steps each figure needs."""

    def __init__(self, platform: Platform, data_dir: Path) -> None:
        headers = {"Authorization": f"Bearer {KEY}"}
        self.data_dir = data_dir
        self.last_erasure: dict[str, Any] = {}
        self.clients = {
            name: httpx.Client(base_url=service.url, headers=headers, timeout=300)
            for name, service in platform.services.items()
        }

    def post(self, service: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.clients[service].post(path, json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text}")
        return dict(response.json())

    def new_contact(self, n: int) -> str:
        name = person_name(random.Random(n))
        body = {"name": name, "email": f"{name.replace(' ', '.').lower()}.{n}@gmail.com"}
        return str(self.post("contacts", "/v1/contacts", body)["id"])

    def erase(self, body: dict[str, Any], *, within: float, poll: float) -> float:
        """Seconds from the request to every receipt in."""
        started = time.perf_counter()
        erasure_id = self.post("gdpr", "/v1/erasure-requests", body)["id"]
        gdpr = self.clients["gdpr"]

        def completed() -> bool:
            # The list of completed requests, not the request itself: its view lists every
            # record's receipts (20,000 for 5,000 records), and reading it twice a second
            # would load the service the figure measures.
            page = gdpr.get("/v1/erasure-requests", params={"status": "completed", "limit": 500})
            return any(r["id"] == erasure_id for r in page.json()["items"])

        _wait(completed, within=within, what="the erasure", poll=poll)
        took = time.perf_counter() - started
        self.last_erasure = dict(gdpr.get(f"/v1/erasure-requests/{erasure_id}").json())
        return took

    def timeline_ready(self, contact_id: str, count: int, *, within: float) -> None:
        db = self.data_dir / "timeline.sqlite3"

        def held() -> bool:
            with sqlite3.connect(db) as conn:
                (n,) = conn.execute(
                    "SELECT count(*) FROM c_items WHERE json_extract(doc, '$.contact_id') = ?",
                    (contact_id,),
                ).fetchone()
            return int(n) >= count

        _wait(held, within=within, what=f"{count} timeline items", poll=0.5)


def single_erasures(bench: Bench, count: int) -> int:
    """Figure 1: one erasure at a time, next to a bare create round trip."""
    floor: list[float] = []
    ids = []
    for n in range(count):
        started = time.perf_counter()
        ids.append(bench.new_contact(n))
        floor.append(time.perf_counter() - started)
    for contact_id in ids:
        # The timeline refuses a note for a contact it has not heard of yet (404).
        bench.timeline_ready(contact_id, 1, within=120)
        bench.post("timeline", f"/v1/contacts/{contact_id}/notes", {"body": "bench note"})
        consent = {"purpose": "newsletter", "channel": "email", "status": "granted"}
        bench.post("gdpr", f"/v1/contacts/{contact_id}/consents", consent)
    # The contacts' creation reached every service before the clock starts.
    bench.timeline_ready(ids[-1], 2, within=120)
    took = [bench.erase({"contact_id": c}, within=120, poll=POLL_SECONDS) for c in ids]
    p50, p99 = _quantile(took, 0.5), _quantile(took, 0.99)
    f50, f99 = _quantile(floor, 0.5), _quantile(floor, 0.99)
    print(
        f"bare POST /v1/contacts round trip: p50 {f50 * 1000:8.1f} ms  p99 {f99 * 1000:8.1f} ms"
        f"  ({count} requests; {_load()})"
    )
    ok = p99 < GOAL_SINGLE_P99_S
    print(
        f"erasure end to end, one at a time: p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms"
        f"  ({count} requests, 4 services' receipts; p99 = {p99 / f99:.0f}x the round trip's; "
        f"goal p99 < {GOAL_SINGLE_P99_S:.0f} s: {'met' if ok else 'MISSED'}; {_load()})"
    )
    sys.stdout.flush()
    return 0 if ok else 1


async def _bare_deletes(path: Path, count: int) -> float:
    store = SqliteStore(path)
    await store.start((CollectionSpec("people"),))
    try:
        ids = [new_id() for _ in range(count)]
        async with store.transaction() as session:
            await session.insert_many(
                "people", [{"id": i, "tenant": TENANT, "name": f"P {i}"} for i in ids]
            )
        started = time.perf_counter()
        for doc_id in ids:
            async with store.transaction() as session:
                await session.delete("people", tenant=TENANT, id=doc_id)
        return time.perf_counter() - started
    finally:
        await store.close()


def _imported_ids(bench: Bench, count: int) -> list[str]:
    rng = random.Random(7)
    names = [person_name(rng) for _ in range(count)]
    rows = "".join(
        f"{name},{name.replace(' ', '.').lower()}.{n}@gmail.com\n" for n, name in enumerate(names)
    )
    upload = f"name,email\n{rows}".encode()
    started = bench.clients["importer"].post(
        "/v1/imports", files={"file": ("bulk.csv", upload, "text/csv")}
    )
    job_id = started.json()["id"]
    importer = bench.clients["importer"]
    _wait(
        lambda: importer.get(f"/v1/imports/{job_id}").json()["status"] == "completed",
        within=1800,  # 5,000 rows take minutes on a busy machine
        what="the import",
        poll=0.5,
    )
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"import_id": job_id, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = bench.clients["contacts"].get("/v1/contacts", params=params).json()
        ids += [c["id"] for c in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def bulk_erasure(bench: Bench, workdir: Path, count: int) -> int:
    """Figure 2: `count` contacts erased in one request, next to bare store deletes."""
    ids = _imported_ids(bench, count)
    if len(ids) != count:
        raise RuntimeError(f"the import made {len(ids)} contacts, not {count}")
    floor = asyncio.run(_bare_deletes(workdir / "bare-deletes.sqlite3", count))
    print(f"bare SQLite deletes, one transaction each: {count} in {floor:6.2f} s  ({_load()})")
    took = bench.erase({"contact_ids": ids}, within=1800, poll=0.5)
    ok = took < GOAL_BULK_S
    print(
        f"{count} erasures in one request: {took:6.1f} s  ({took / floor:.0f}x the bare deletes; "
        f"goal < {GOAL_BULK_S:.0f} s: {'met' if ok else 'MISSED'}; {_load()})"
    )
    print(f"  each service's last receipt after the request: {_service_spans(bench.last_erasure)}")
    sys.stdout.flush()
    return 0 if ok else 1


def _service_spans(request: dict[str, Any]) -> str:
    """When each service had sent its last receipt, counted from the request's arrival: which
    service sets the figure."""
    received = datetime.fromisoformat(str(request["received_at"]).replace("Z", "+00:00"))
    spans = []
    for service, receipt in sorted(request.get("receipts", {}).items()):
        if receipt.get("at"):
            done = datetime.fromisoformat(str(receipt["at"]).replace("Z", "+00:00"))
            spans.append(f"{service} {(done - received).total_seconds():.1f} s")
    return ", ".join(spans) or "unknown"


async def _send_activities(bootstrap: str, contact_id: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    try:
        futures = []
        for n in range(count):
            data = ActivityRecordedV2.model_validate(
                {
                    "contact_id": contact_id,
                    "occurred_at": datetime.now(UTC),
                    "summary": f"bench activity {n}",
                    "details": {"type": "conversation", "conversation_id": f"bench-{n}"},
                }
            )
            envelope = EventEnvelope.wrap(
                data, source="bench-product", tenant=TENANT, subject=contact_id
            )
            futures.append(
                await producer.send(
                    ACTIVITIES.name,
                    value=envelope.to_bytes(),
                    key=contact_id.encode(),
                    headers=list(STRUCTURED_HEADERS),
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _page_through_timeline(bench: Bench, contact_id: str) -> int:
    timeline = bench.clients["timeline"]
    seen, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = timeline.get(f"/v1/contacts/{contact_id}/timeline", params=params).json()
        seen += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor or not page["items"]:
            return seen


def access_bundle(bench: Bench, bootstrap: str, items: int, runs: int) -> int:
    """Figure 3: the bundle of a contact with `items` timeline items, next to paging them."""
    contact_id = bench.new_contact(999_999)
    bench.timeline_ready(contact_id, 1, within=120)
    asyncio.run(_send_activities(bootstrap, contact_id, items))
    bench.timeline_ready(contact_id, items + 1, within=600)
    floors, took = [], []
    for _ in range(runs):
        started = time.perf_counter()
        seen = _page_through_timeline(bench, contact_id)
        floors.append(time.perf_counter() - started)
        started = time.perf_counter()
        bundle = bench.post("gdpr", "/v1/data-exports", {"contact_id": contact_id})
        took.append(time.perf_counter() - started)
        if len(bundle["timeline"]) < items:
            raise RuntimeError(f"the bundle holds {len(bundle['timeline'])} items, not {items}")
    floor, median = statistics.median(floors), statistics.median(took)
    print(
        f"paging {seen} timeline items through the API (200 a page): {floor:6.2f} s  "
        f"(median of {runs}; {_load()})"
    )
    print(
        f"access bundle of a contact with {items} timeline items: {median:6.2f} s  "
        f"({median / floor:.1f}x the paging; median of {runs}; {_load()})"
    )
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start the platform, measure the three figures, print them, stop everything."""
    parser = argparse.ArgumentParser(prog="python -m bench.erasure_bench", description=__doc__)
    parser.add_argument("--singles", type=int, default=30, help="single erasures timed")
    parser.add_argument("--bulk", type=int, default=5000, help="contacts in the one big request")
    parser.add_argument("--items", type=int, default=10000, help="timeline items in the bundle")
    parser.add_argument("--bundle-runs", type=int, default=3)
    parser.add_argument("--ready-within", type=float, default=180.0)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-erasure-"))
    log = (workdir / "platform.log").open("w")
    broker = EmbeddedBroker(log=log)
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers))
    names = ("contacts", "timeline", "importer", "gdpr")
    platform = Platform(
        broker.bootstrap_servers,
        workdir / "data",
        {name: free_port() for name in names},
        extra_env={"CRM_API_KEYS": f"{KEY}:{TENANT}:admin:bench"},
        log=log,
        ready_timeout=args.ready_within,
    )
    print(f"erasure and access on the embedded platform (SQLite, Tansu); {_load()}")
    missed = 0
    try:
        platform.start(iter(names))
        bench = Bench(platform, workdir / "data")
        missed += single_erasures(bench, args.singles)
        missed += access_bundle(bench, broker.bootstrap_servers, args.items, args.bundle_runs)
        # Last: the longest, and its 5,000 erasures would slow the figures measured after it.
        missed += bulk_erasure(bench, workdir, args.bulk)
    finally:
        platform.stop()
        broker.stop()
        log.close()
    print(f"(platform log: {workdir / 'platform.log'})")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
