"""The relay's batches per partition on the embedded broker: each record on the partition the
default partitioner picks, once, in order per key."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted
from crm_shared.messaging.kafka import ensure_topics, new_producer
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.settings import PlatformSettings
from crm_shared.storage import OutgoingEvent
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.topics import CONTACT_EVENTS
from tests.kafka_clients import reader
from tests.polling import cancel_and_wait, eventually

pytestmark = pytest.mark.integration


def _event(contact_id: str | None, version: int) -> OutgoingEvent:
    data = ContactDeleted(contact_id=contact_id or "none", version=version)
    envelope = EventEnvelope.wrap(data, source="crm/test", tenant="acme", subject=contact_id)
    return OutgoingEvent(topic=data.topic, key=contact_id, envelope=envelope)


async def test_each_record_lands_once_on_the_default_partition_in_order_per_key(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    store = SqliteStore(tmp_path / "svc.sqlite3")
    await store.start([])
    # Forty keys, eight versions each, interleaved as a busy writer commits them, and two
    # records without a key; batches of 1 KiB fill after a few records, so each partition
    # gets several batches in one publish.
    keys = [f"c-{n}-{tmp_path.name}" for n in range(40)]
    events = [_event(key, version) for version in range(1, 9) for key in keys]
    events += [_event(None, 1), _event(None, 2)]
    async with store.transaction() as session:
        await session.add_events(events)
    settings = PlatformSettings(
        kafka_bootstrap_servers=broker.bootstrap_servers, kafka_max_batch_bytes=1024
    )
    relay = OutboxRelay(
        store,
        lambda: new_producer(settings, client_id="test-relay"),
        on_reconnect=lambda: ensure_topics(broker.bootstrap_servers),
        batch_size=1000,
        poll_interval=0.2,
    )
    wanted = {e.envelope.id for e in events}
    seen: list[tuple[int, bytes | None, EventEnvelope]] = []
    task = asyncio.create_task(relay.run())
    try:
        async with reader(broker.bootstrap_servers, CONTACT_EVENTS.name) as consumer:

            async def read_more() -> set[str]:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        envelope = EventEnvelope.from_bytes(record.value or b"")
                        if envelope.id in wanted:  # other tests share the broker and topic
                            seen.append((record.partition, record.key, envelope))
                return {envelope.id for _, _, envelope in seen}

            await eventually(read_more, wanted.issubset, within=20, interval=0, what="every event")
        assert relay.published == len(events)
    finally:
        await cancel_and_wait(task)
        await store.close()

    assert len(seen) == len(events), "each event exactly once"
    partitions = list(range(CONTACT_EVENTS.partitions))
    default = DefaultPartitioner()
    versions: dict[bytes, list[int]] = defaultdict(list)
    for partition, key, envelope in seen:
        if key is None:
            continue
        assert partition == default(key, partitions, partitions), key
        versions[key].append(envelope.data["version"])
    assert len({p for p, key, _ in seen if key is not None}) > 1, "the keys spread"
    assert versions == {key.encode(): list(range(1, 9)) for key in keys}
