"""CPU per event of an import's fan-out downstream, in process: gdpr's audit intake and the
timeline's consumer fed the records a real import wrote, with no broker in between.

The import bench's people (`import_bench.generate_csv`) are applied by contacts' own handler
(`import_apply_bench`), untimed; the records its outbox holds afterwards (each contact's created
event plus one `ContactsImported` summary per 1,000-row batch, exactly the bytes the relay
sends) are handed, 500 per poll as a consumer takes them, to each service's consumer group
(`EventConsumer`'s poll handling: record parsing, routing, the batch handlers, their SQLite
stores), and the timeline's conversations group, which reads the same topic for the links of
chats. The records carry the headers the outbox relay sends (`ce_type` among them);
`--no-type-header` leaves `ce_type` out, as records from before it or another producer.
Each pass starts with the process's objects frozen out of garbage collection, as a service's
are after its start-up (crm_shared.service), and the collector at a service's thresholds
(`collect_for_throughput`); `--no-gc-freeze` leaves the freeze out.
Printed per service: CPU microseconds per imported row (every thread of the process, SQLite's
included) beside two same-run floors: orjson decoding the same record values alone,
and one SQLite `executemany` inserting a row per record. `--profile FILE` writes a cProfile of
the handling; `--top N` prints its top by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import orjson
from aiokafka import ConsumerRecord, TopicPartition

from bench.import_apply_bench import TENANT, apply_all, read_batches
from bench.import_bench import generate_csv
from bench.processes import load_average
from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.campaigns import CAMPAIGN_SPECS
from crm_contacts.adapters.contact_state import ContactStateStore
from crm_contacts.adapters.forms import FORM_SPECS
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.adapters.rewrite_jobs import JOB_SPECS
from crm_contacts.settings import ContactsSettings
from crm_gdpr.adapters.repositories import COLLECTION_SPECS as GDPR_SPECS
from crm_gdpr.entrypoints.consumers import AUDIT_GROUP, AUDIT_TOPICS, build_buses
from crm_gdpr.settings import GdprSettings
from crm_shared.cloudevents import structured_headers, with_structured_content_type
from crm_shared.collection import collect_for_throughput
from crm_shared.ids import new_id
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer, poll_records
from crm_shared.runtime import open_store
from crm_shared.storage import PendingEvent
from crm_timeline.adapters.conversations import CONVERSATION_SPECS
from crm_timeline.adapters.repository import COLLECTION_SPECS as TIMELINE_SPECS
from crm_timeline.entrypoints.consumers import EVENTS_GROUP, EVENTS_TOPICS, build_bus
from crm_timeline.entrypoints.conversation_consumers import (
    CONVERSATIONS_GROUP,
    CONVERSATIONS_TOPICS,
    build_conversations_bus,
)
from crm_timeline.settings import TimelineSettings

Record: TypeAlias = ConsumerRecord[bytes, bytes]


class _Offsets:
    """What `EventConsumer` asks of its Kafka consumer after a poll: committing offsets."""

    def __init__(self) -> None:
        self.committed: dict[TopicPartition, int] = {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.update(offsets)


async def imported_records(rows: int, workdir: Path) -> list[PendingEvent]:
    """Apply `rows` generated people as new contacts; the outbox's records, oldest first."""
    path = workdir / "contacts.csv"
    generate_csv(path, rows)
    settings = ContactsSettings(crm_data_dir=str(workdir / "contacts"))
    store = ContactStateStore(open_store(settings, service="contacts"))
    await store.start((*COLLECTION_SPECS, *CAMPAIGN_SPECS, *BULK_SPECS, *FORM_SPECS, *JOB_SPECS))
    try:
        await apply_all(store, read_batches(path, job_id=new_id(), policy="skip"), settings)
        # The store delegates to its inner one untyped: the outbox's entries, typed here.
        records: list[PendingEvent] = await store.pending_events(10 * rows + 1_000)
        return records
    finally:
        await store.close()


# Whether records carry the relay's `ce_type` header (`--no-type-header` turns it off).
TYPE_HEADER = {"on": True}
# Whether each pass starts with what was built so far frozen out of garbage collection, as a
# service process does after its start-up (`--no-gc-freeze` turns it off).
GC_FREEZE = {"on": True}


def relayed_headers(event: PendingEvent) -> list[tuple[str, bytes]]:
    """The headers the outbox relay sends with the event."""
    if TYPE_HEADER["on"]:
        return structured_headers(event.value, event.headers)
    return with_structured_content_type(event.headers)


def polls(pending: Sequence[PendingEvent], topics: Sequence[str]) -> list[list[Record]]:
    """The records of `topics`, one partition each, in polls of the default poll size."""
    offsets: dict[str, int] = {}
    records: list[Record] = []
    for event in pending:
        if event.topic not in topics:
            continue
        offset = offsets[event.topic] = offsets.get(event.topic, -1) + 1
        records.append(
            ConsumerRecord(
                event.topic,
                0,
                offset,
                0,
                0,
                event.key,
                event.value,
                None,
                len(event.key or b""),
                len(event.value),
                relayed_headers(event),
            )
        )
    size = poll_records("bench")
    return [records[start : start + size] for start in range(0, len(records), size)]


async def consume(consumer: EventConsumer, batches: list[list[Record]]) -> int:
    """Hand every poll to the consumer's poll handling; how many records it committed."""
    offsets = _Offsets()
    for records in batches:
        by_partition: dict[TopicPartition, list[Record]] = {}
        for record in records:
            by_partition.setdefault(TopicPartition(record.topic, 0), []).append(record)
        await consumer._handle_poll(offsets, by_partition)
    return sum(offset for offset in offsets.committed.values())


def decode_floor(batches: list[list[Record]]) -> float:
    """CPU seconds of orjson decoding every record value alone."""
    started = time.process_time()
    for records in batches:
        for record in records:
            orjson.loads(record.value or b"")
    return time.process_time() - started


def insert_floor(count: int, workdir: Path) -> float:
    """CPU seconds of one SQLite executemany writing `count` small rows, and its commit."""
    rows = [(new_id(), TENANT, f"contact {n}") for n in range(count)]
    connection = sqlite3.connect(workdir / f"floor-{new_id()}.sqlite")
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, tenant TEXT, body TEXT)")
        started = time.process_time()
        connection.executemany("INSERT INTO rows VALUES (?, ?, ?)", rows)
        connection.commit()
        return time.process_time() - started
    finally:
        connection.close()


async def measure(
    label: str,
    consumer: EventConsumer,
    batches: list[list[Record]],
    *,
    rows: int,
    workdir: Path,
    profile: cProfile.Profile | None,
) -> str:
    """One service's pass over its polls: a printable line."""
    count = sum(len(records) for records in batches)
    decoding, inserting = decode_floor(batches), insert_floor(rows, workdir)
    if GC_FREEZE["on"]:
        gc.collect()
        gc.freeze()
    cpu, own, wall = time.process_time(), time.thread_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    committed = await consume(consumer, batches)
    if profile is not None:
        profile.disable()
    used, elapsed = time.process_time() - cpu, time.perf_counter() - wall
    gc.unfreeze()
    others = used - (time.thread_time() - own)
    return (
        f"{label}: {used / rows * 1e6:.0f} us CPU/imported row handling {count} records "
        f"({elapsed:.1f} s wall; other threads than the event loop's, the store's, "
        f"{others / rows * 1e6:.0f} us/row); floors per row: orjson decoding the records "
        f"{decoding / rows * 1e6:.1f} us, SQLite executemany of {rows} rows "
        f"{inserting / rows * 1e6:.1f} us; handled {consumer.handled}, ignored "
        f"{consumer.ignored}, dead-lettered {consumer.dead_lettered}, offsets {committed}"
    )


async def run(
    rows: int, workdir: Path, profile: cProfile.Profile | None, only: str | None = None
) -> list[str]:
    """The import, then gdpr's and the timeline's pass (or `only` one); a printable line each."""
    pending = await imported_records(rows, workdir)
    lines = [f"the import of {rows} rows left {len(pending)} records in contacts' outbox"]
    if only != "timeline":
        lines.append(await _gdpr_pass(pending, rows, workdir, profile))
    if only != "gdpr":
        lines.append(await _timeline_pass(pending, rows, workdir, profile))
        lines.append(await _conversations_pass(pending, rows, workdir, profile))
    return lines


async def _gdpr_pass(
    pending: Sequence[PendingEvent], rows: int, workdir: Path, profile: cProfile.Profile | None
) -> str:
    gdpr_settings = GdprSettings(crm_data_dir=str(workdir / "gdpr"))
    gdpr_store = open_store(gdpr_settings, service="gdpr")
    await gdpr_store.start(GDPR_SPECS)
    try:
        audit = build_buses(gdpr_store).audit
        consumer = _consumer(gdpr_settings, AUDIT_GROUP, AUDIT_TOPICS, audit)
        batches = polls(pending, AUDIT_TOPICS)
        return await measure(
            "gdpr audit", consumer, batches, rows=rows, workdir=workdir, profile=profile
        )
    finally:
        await gdpr_store.close()


async def _timeline_pass(
    pending: Sequence[PendingEvent], rows: int, workdir: Path, profile: cProfile.Profile | None
) -> str:
    timeline_settings = TimelineSettings(crm_data_dir=str(workdir / "timeline"))
    timeline_store = open_store(timeline_settings, service="timeline")
    await timeline_store.start((*TIMELINE_SPECS, *CONVERSATION_SPECS))
    try:
        bus = build_bus(timeline_store, timeline_settings)
        consumer = _consumer(timeline_settings, EVENTS_GROUP, EVENTS_TOPICS, bus)
        batches = polls(pending, EVENTS_TOPICS)
        return await measure(
            "timeline", consumer, batches, rows=rows, workdir=workdir, profile=profile
        )
    finally:
        await timeline_store.close()


async def _conversations_pass(
    pending: Sequence[PendingEvent], rows: int, workdir: Path, profile: cProfile.Profile | None
) -> str:
    timeline_settings = TimelineSettings(crm_data_dir=str(workdir / "conversations"))
    timeline_store = open_store(timeline_settings, service="timeline")
    await timeline_store.start((*TIMELINE_SPECS, *CONVERSATION_SPECS))
    try:
        bus = build_conversations_bus(timeline_store)
        consumer = _consumer(timeline_settings, CONVERSATIONS_GROUP, CONVERSATIONS_TOPICS, bus)
        batches = polls(pending, CONVERSATIONS_TOPICS)
        return await measure(
            "timeline conversations", consumer, batches, rows=rows, workdir=workdir, profile=profile
        )
    finally:
        await timeline_store.close()


def _consumer(
    settings: GdprSettings | TimelineSettings, group: str, topics: Sequence[str], bus: MessageBus
) -> EventConsumer:
    return EventConsumer(settings, group=group, topics=topics, bus=bus)


def main(argv: list[str] | None = None) -> int:
    """Import, fan the records out to gdpr and the timeline, print CPU per row with the load."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the handling here")
    parser.add_argument("--top", type=int, default=0, help="print the profile's top N")
    parser.add_argument("--only", choices=("gdpr", "timeline"), help="measure one service")
    parser.add_argument(
        "--no-type-header", action="store_true", help="records without the relay's ce_type"
    )
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave gc.freeze() out (services freeze)"
    )
    args = parser.parse_args(argv)
    TYPE_HEADER["on"] = not args.no_type_header
    GC_FREEZE["on"] = not args.no_gc_freeze
    # As `crm_shared.service` does in every service process: at Python's default thresholds
    # the gdpr pass ran ~670 young collections, ~24 us of CPU per row no service spends.
    collect_for_throughput()
    profile = cProfile.Profile() if args.profile or args.top else None
    print(load_average(), flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-fanout-apply-") as folder:
        for line in asyncio.run(run(args.rows, Path(folder), profile, args.only)):
            print(line, flush=True)
    print(load_average())
    if profile is not None:
        if args.profile:
            profile.dump_stats(args.profile)
        if args.top:
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
