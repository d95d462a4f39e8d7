"""Write-to-timeline latency on the embedded stack, next to a bare produce-to-consume ping.

Another product publishes activities on crm.activities.v1 at a paced rate; the latency of each is
the time from its send to the moment the running timeline service writes its item (the item's
time-ordered id, stamped in the writing transaction; same machine, same clock). The ping is the
floor: the same paced rate through the same broker, one producer to one consumer with the
services' fetch wait, no service in between. Goal: p99 under 100 ms and at most 3x the ping's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import latency_stages as stages
from bench.processes import cpu_seconds, load_average
from crm_shared.cloudevents import STRUCTURED_HEADERS
from crm_shared.devstack import (
    EMBEDDED_FETCH_WAIT_MS,
    EmbeddedBroker,
    Platform,
    ServiceProcess,
    free_port,
)
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecordedV2, ContactCreated, ContactProfile
from crm_shared.ids import new_id
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.observability.stages import STAGE_LOG_VARIABLE
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF
from crm_shared.topics import ACTIVITIES, ALL_TOPICS, CONTACT_EVENTS, Topic

TENANT = "demo"
PING = Topic("bench.ping.v1", ACTIVITIES.partitions)
GOAL_P99_MS = 100.0
GOAL_RATIO = 3.0
CONTACTS = 50


@dataclass
class Figures:
    """Latencies of one run, in milliseconds."""

    latencies: list[float]
    sent: int

    def quantile(self, q: float) -> float:
        """The q-quantile (0..1) of the latencies (infinite when none arrived)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("inf")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self, what: str) -> str:
        """One printable line: p50, p95, p99, max and how many arrived."""
        lost = self.sent - len(self.latencies)
        worst = max(self.latencies, default=float("inf"))
        seen = f"{len(self.latencies)}/{self.sent} seen" + (f", {lost} missing" if lost else "")
        return (
            f"{what}: p50 {self.quantile(0.5):7.1f} ms  p95 {self.quantile(0.95):7.1f} ms  "
            f"p99 {self.quantile(0.99):7.1f} ms  max {worst:7.1f} ms  ({seen})"
        )


def _producer(bootstrap: str) -> AIOKafkaProducer:
    # What another product would run: acks from the leader, no lingering.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)


async def paced_send(
    producer: AIOKafkaProducer,
    topic: str,
    *,
    rate: float,
    count: int,
    record: Callable[[int], tuple[bytes, bytes]],
    sent_at: dict[int, float],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Send `count` records at `rate` per second, noting each one's send time on `clock`."""
    start = time.monotonic()
    futures = []
    for seq in range(count):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        key, value = record(seq)
        sent_at[seq] = clock()
        futures.append(
            await producer.send(topic, value=value, key=key, headers=list(STRUCTURED_HEADERS))
        )
    await asyncio.gather(*futures)


async def ping(bootstrap: str, *, rate: float, count: int, fetch_wait_ms: int) -> Figures:
    """Bare produce-to-consume latency through the broker at a paced rate."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        fetch_max_wait_ms=fetch_wait_ms,
    )
    await consumer.start()
    producer = _producer(bootstrap)
    await producer.start()
    sent_at: dict[int, float] = {}
    received: dict[int, float] = {}
    try:
        partitions = [TopicPartition(PING.name, p) for p in range(PING.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve "latest" before anything is sent

        async def receive() -> None:
            while len(received) < count:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.monotonic()
                    for r in records:
                        received.setdefault(int(r.value or b"-1"), now)

        receiving = asyncio.create_task(receive())
        await paced_send(
            producer,
            PING.name,
            rate=rate,
            count=count,
            record=lambda seq: (str(seq % CONTACTS).encode(), str(seq).encode()),
            sent_at=sent_at,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiving, 30)
    finally:
        await producer.stop()
        await consumer.stop()
    return Figures([1000 * (received[s] - sent_at[s]) for s in received if s in sent_at], count)


def _items_created_at(db_path: Path, run: str) -> dict[int, float]:
    """When the timeline created each item of a run (UNIX seconds), from its UUIDv7 id.

    The service stamps the id inside the writing transaction, just before its commit, so
    reading it afterwards observes without polling the service's store while it works.
    """
    prefix = f"bench {run} "
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT id, json_extract(doc, '$.summary') FROM c_items WHERE tenant = "
            + TENANT_CODE_OF,
            (TENANT,),
        ).fetchall()
    return {
        int(summary.removeprefix(prefix)): (uuid.UUID(read_id(item_id)).int >> 80) / 1000
        for item_id, summary in rows
        if isinstance(summary, str) and summary.startswith(prefix)
    }


def _activity(
    contact_ids: list[str], run: str, seq: int, event_ids: dict[int, str]
) -> tuple[bytes, bytes]:
    contact_id = contact_ids[seq % len(contact_ids)]
    data = ActivityRecordedV2.model_validate(
        {
            "contact_id": contact_id,
            "occurred_at": datetime.now(UTC),
            "summary": f"bench {run} {seq}",
            "details": {"type": "conversation", "conversation_id": f"bench-{run}-{seq}"},
        }
    )
    envelope = EventEnvelope.wrap(
        data, source="bench-product", tenant=TENANT, subject=contact_id, actor="product:bench"
    )
    event_ids[seq] = envelope.id
    return contact_id.encode(), envelope.to_bytes()


async def write_to_timeline(
    bootstrap: str,
    db_path: Path,
    contact_ids: list[str],
    *,
    rate: float,
    count: int,
    stage_log: Path | None = None,
) -> Figures:
    """Activities at a paced rate until each shows in the timeline's store.

    With the service's `stage_log`, also print where the time went (bench.latency_stages).
    """
    run = new_id()[-8:]
    producer = _producer(bootstrap)
    await producer.start()
    sent_at: dict[int, float] = {}
    event_ids: dict[int, str] = {}
    try:
        await paced_send(
            producer,
            ACTIVITIES.name,
            rate=rate,
            count=count,
            record=lambda seq: _activity(contact_ids, run, seq, event_ids),
            sent_at=sent_at,
            clock=time.time,  # the service's ids carry wall-clock milliseconds
        )
    finally:
        await producer.stop()
    created: dict[int, float] = {}
    deadline = time.monotonic() + 60
    while len(created) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        created = _items_created_at(db_path, run)
    if stage_log is not None:
        await asyncio.sleep(0.5)  # the last polls' lines follow their commits
        records = stages.read_records(stage_log)
        activities = stages.join(
            records,
            sent_at={event_ids[s]: sent_at[s] for s in sent_at},
            stamped_at={event_ids[s]: created[s] for s in created if s in event_ids},
        )
        relay = stages.relay_records(
            records, since=min(sent_at.values()), until=max(created.values(), default=0.0)
        )
        for line in stages.stage_lines(activities, relay):
            print(line)
    return Figures([1000 * (created[s] - sent_at[s]) for s in created if s in sent_at], count)


async def known_contacts(bootstrap: str, db_path: Path) -> list[str]:
    """Tell the timeline about the bench's contacts (as the contacts service would)."""
    ids = [new_id() for _ in range(CONTACTS)]
    producer = _producer(bootstrap)
    await producer.start()
    try:
        for contact_id in ids:
            data = ContactCreated(
                contact_id=contact_id, version=1, source="manual", profile=ContactProfile(name="B")
            )
            envelope = EventEnvelope.wrap(
                data, source="crm/contacts", tenant=TENANT, subject=contact_id
            )
            await producer.send(
                CONTACT_EVENTS.name,
                value=envelope.to_bytes(),
                key=contact_id.encode(),
                headers=list(STRUCTURED_HEADERS),
            )
        await producer.flush()
    finally:
        await producer.stop()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _contacts_held(db_path) >= CONTACTS:
            return ids
        await asyncio.sleep(0.1)
    raise RuntimeError("the timeline did not learn the bench contacts within 60 s")


def _contacts_held(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    with sqlite3.connect(db_path) as db:
        try:
            (held,) = db.execute("SELECT count(*) FROM c_contacts").fetchone()
        except sqlite3.OperationalError:  # the service has not created its tables yet
            return 0
    return int(held)


async def idle_cpu_share(pid: int, seconds: float = 2.0) -> float:
    """The share of a core the idle service uses (its consumers' polls, the relay's wake-ups)."""
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


async def measure(
    bootstrap: str,
    db_path: Path,
    rates: list[int],
    seconds: float,
    *,
    service_pid: int,
    stage_log: Path | None = None,
) -> int:
    """Warm up, then for each rate: the ping, then the timeline; print both and the verdict.

    Also the service's CPU time per activity over the timeline run (all its work: consuming,
    recording, publishing the recorded events): unlike the latencies, it holds its meaning on a
    machine busy with other work.
    """
    fetch_wait = int(EMBEDDED_FETCH_WAIT_MS)
    contact_ids = await known_contacts(bootstrap, db_path)
    await write_to_timeline(bootstrap, db_path, contact_ids, rate=100, count=100)  # warm-up
    await ping(bootstrap, rate=100, count=100, fetch_wait_ms=fetch_wait)
    missed = 0
    for rate in rates:
        count = int(rate * seconds)
        floor = await ping(bootstrap, rate=rate, count=count, fetch_wait_ms=fetch_wait)
        idle = await idle_cpu_share(service_pid)
        cpu_before, started = cpu_seconds(service_pid), time.monotonic()
        timeline = await write_to_timeline(
            bootstrap, db_path, contact_ids, rate=rate, count=count, stage_log=stage_log
        )
        busy = cpu_seconds(service_pid) - cpu_before - idle * (time.monotonic() - started)
        cpu_per_activity = busy / count
        print(floor.line(f"bare ping (produce -> consume), {rate:>5}/s"))
        print(timeline.line(f"write-to-timeline,             {rate:>5}/s"))
        print(
            f"  timeline service CPU per activity: {cpu_per_activity * 1e6:.0f} us "
            f"(idle use {idle * 100:.1f}% of a core, subtracted)"
        )
        p99, floor_p99 = timeline.quantile(0.99), floor.quantile(0.99)
        ok = p99 < GOAL_P99_MS and p99 <= GOAL_RATIO * floor_p99
        missed += not ok
        print(
            f"  p99 {p99:.1f} ms = {p99 / floor_p99:.1f}x the ping's; goal p99 < "
            f"{GOAL_P99_MS:.0f} ms and <= {GOAL_RATIO:.0f}x: {'met' if ok else 'MISSED'}"
        )
        sys.stdout.flush()
    return missed


def main(argv: list[str] | None = None) -> int:
    """Start a broker and the timeline service, measure, print, stop."""
    parser = argparse.ArgumentParser(prog="python -m bench.latency_bench", description=__doc__)
    parser.add_argument("--rates", default="200,1000", help="events per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each rate runs")
    parser.add_argument(
        "--ready-within",
        type=float,
        default=120.0,
        help="seconds the service may take to start (imports alone take 30 s on a busy machine)",
    )
    parser.add_argument(
        "--stages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record the service's per-stage times and print where the latency went",
    )
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="crm-latency-"))
    broker = EmbeddedBroker()
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers, [*ALL_TOPICS, PING]))
    log = (workdir / "platform.log").open("w")
    port = free_port()
    platform = Platform(broker.bootstrap_servers, workdir / "data", {"timeline": port}, log=log)
    print(f"timeline on the embedded broker, consumer fetch wait {EMBEDDED_FETCH_WAIT_MS} ms")
    print(f"{load_average()} (1, 5, 15 min)")
    try:
        # Platform.start waits 30 s at most; a busy machine needs longer to import the service.
        env = platform.env()
        stage_log = workdir / "stages.jsonl" if args.stages else None
        if stage_log is not None:
            env[STAGE_LOG_VARIABLE] = str(stage_log)
        service = ServiceProcess("timeline", port, env, log)
        platform.services["timeline"] = service  # so platform.stop() stops it
        service.start()
        service.wait_ready(timeout=args.ready_within)
        db_path = workdir / "data" / "timeline.sqlite3"
        assert service.process is not None
        asyncio.run(
            measure(
                broker.bootstrap_servers,
                db_path,
                rates,
                args.seconds,
                service_pid=service.process.pid,
                stage_log=stage_log,
            )
        )
    finally:
        platform.stop()
        broker.stop()
        log.close()
    print(f"(platform log: {workdir / 'platform.log'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
