"""CPU per record of the embedded broker, the producer and a consumer, per producer setting.

Records are contacts' created events as an import writes them (about 900 bytes each, keyed by
contact id) on a topic partitioned like the contact events. For each setting of the producer
(linger, batch size, compression) a fresh topic gets `--records` records sent as the outbox
relay sends them (every record of a 500-event outbox batch handed over, then all awaited),
then one consumer reads them all back as the platform's consumers do (500 per poll). Printed
per setting: CPU microseconds per record of the broker while producing and while consuming
(its process, every thread), of the producing client and of the consuming client; and, with
`--latency`, the send-to-acknowledgement p50/p99 of single records sent 20 ms apart (what a
linger adds at low rates). The first line of figures is the current default's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.processes import cpu_seconds, load_average
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactCreated
from crm_shared.events.contacts import ContactProfile
from crm_shared.ids import new_id
from crm_shared.messaging.kafka import ensure_topics, producer_options
from crm_shared.settings import PlatformSettings
from crm_shared.topics import CONTACT_EVENTS, Topic

RELAY_BATCH = 500
POLL_RECORDS = 500


@dataclass(frozen=True)
class Setting:
    """One producer configuration under test."""

    linger_ms: int
    max_batch_size: int
    compression: str | None

    @property
    def label(self) -> str:
        return (
            f"linger {self.linger_ms} ms, batch {self.max_batch_size // 1024} KiB, "
            f"compression {self.compression or 'none'}"
        )


def records(count: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of `count` created events as an import writes them."""
    job = new_id()
    made = []
    for n in range(count):
        contact_id = new_id()
        data = ContactCreated(
            contact_id=contact_id,
            version=1,
            source="import",
            profile=ContactProfile(
                name=f"Person {n}",
                email=f"person.{n}@example.com",
                phone=f"+1415555{n % 10_000:04d}",
                company="Wayne Ent",
                tags=["customer", "source:import", "imported"],
                sources=["import"],
            ),
            import_job_id=job,
        )
        envelope = EventEnvelope.wrap(
            data, source="crm/contacts", tenant="bench", subject=contact_id, actor=f"import:{job}"
        )
        made.append((contact_id.encode(), envelope.to_bytes()))
    return made


def _producer(bootstrap: str, setting: Setting) -> AIOKafkaProducer:
    options = producer_options(PlatformSettings(kafka_bootstrap_servers=bootstrap))
    options.update(
        linger_ms=setting.linger_ms,
        max_batch_size=setting.max_batch_size,
        compression_type=setting.compression,
    )
    return AIOKafkaProducer(client_id="bench-producer", **options)


async def produce(
    bootstrap: str, topic: str, setting: Setting, batch: Sequence[tuple[bytes, bytes]]
) -> None:
    """Send every record as the outbox relay does: a batch handed over, then awaited."""
    producer = _producer(bootstrap, setting)
    await producer.start()
    try:
        for start in range(0, len(batch), RELAY_BATCH):
            futures = [
                await producer.send(topic, value=value, key=key)
                for key, value in batch[start : start + RELAY_BATCH]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, expected: int) -> None:
    """Read every record back, 500 per poll."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="bench-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=25,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(CONTACT_EVENTS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        deadline = time.monotonic() + 120
        while seen < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {seen} of {expected} records")
            polled = await consumer.getmany(timeout_ms=500, max_records=POLL_RECORDS)
            seen += sum(len(batch) for batch in polled.values())
    finally:
        await consumer.stop()


async def ack_latencies(bootstrap: str, topic: str, setting: Setting, count: int) -> list[float]:
    """Send-to-acknowledgement milliseconds of single records sent 20 ms apart."""
    producer = _producer(bootstrap, setting)
    await producer.start()
    sample = records(count)
    waited: list[float] = []
    try:
        for key, value in sample:
            started = time.perf_counter()
            await producer.send_and_wait(topic, value=value, key=key)
            waited.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)
    finally:
        await producer.stop()
    return waited


async def measure(
    broker: EmbeddedBroker, setting: Setting, sample: list[tuple[bytes, bytes]], latency: int
) -> str:
    """One setting's line."""
    topic = Topic(f"bench.broker.{uuid.uuid4().hex[:8]}", CONTACT_EVENTS.partitions)
    await ensure_topics(broker.bootstrap_servers, [topic])
    count = len(sample)
    broker_cpu, own_cpu = cpu_seconds(broker.pid), time.process_time()
    await produce(broker.bootstrap_servers, topic.name, setting, sample)
    broker_produce = cpu_seconds(broker.pid) - broker_cpu
    producer_cpu = time.process_time() - own_cpu
    broker_cpu, own_cpu = cpu_seconds(broker.pid), time.process_time()
    await consume(broker.bootstrap_servers, topic.name, count)
    broker_consume = cpu_seconds(broker.pid) - broker_cpu
    consumer_cpu = time.process_time() - own_cpu
    line = (
        f"{setting.label}: us CPU/record: broker {broker_produce / count * 1e6:.0f} producing + "
        f"{broker_consume / count * 1e6:.0f} consuming; producer {producer_cpu / count * 1e6:.0f}, "
        f"consumer {consumer_cpu / count * 1e6:.0f}"
    )
    if latency:
        waited = sorted(await ack_latencies(broker.bootstrap_servers, topic.name, setting, latency))
        p99 = waited[min(len(waited) - 1, round(0.99 * (len(waited) - 1)))]
        line += f"; ack at 50/s p50 {statistics.median(waited):.1f} ms, p99 {p99:.1f} ms"
    return line


SETTINGS = (
    Setting(5, 16 * 1024, None),
    Setting(0, 16 * 1024, None),
    Setting(5, 256 * 1024, None),
    Setting(20, 256 * 1024, None),
    Setting(5, 256 * 1024, "gzip"),
    Setting(20, 1024 * 1024, "gzip"),
)


def _parse_setting(text: str) -> Setting:
    linger, size, compression = text.split(":")
    return Setting(int(linger), int(size) * 1024, None if compression == "none" else compression)


async def run(count: int, settings: Sequence[Setting], latency: int) -> None:
    """Measure each setting on one broker, printing its line as it is done."""
    sample = records(count)
    broker = EmbeddedBroker()
    broker.start()
    try:
        for setting in settings:
            print(await measure(broker, setting, sample, latency), flush=True)
    finally:
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    """Each producer setting's CPU per record, with the load average."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument(
        "--setting",
        action="append",
        type=_parse_setting,
        help="linger_ms:batch_KiB:compression (none|gzip), repeatable; default: a built-in set",
    )
    parser.add_argument("--latency", type=int, default=0, help="records for the ack latency")
    args = parser.parse_args(argv)
    print(load_average(), flush=True)
    asyncio.run(run(args.records, args.setting or SETTINGS, args.latency))
    print(load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
