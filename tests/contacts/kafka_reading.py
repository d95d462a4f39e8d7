"""Reading the real broker in integration tests: wait for one event, bounded in time."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.ids import new_id

WAIT_SECONDS = 20.0


async def first_matching(
    broker: EmbeddedBroker, topic: str, event_type: str, key: str
) -> EventEnvelope:
    """The first event of this type and key on the topic; fails after WAIT_SECONDS."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=f"contacts-test-{new_id()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # Tansu answers a group join after half the session timeout (5 s at the default).
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    event = EventEnvelope.from_bytes(record.value or b"")
                    if event.type == event_type and record.key == key.encode():
                        return event
        raise AssertionError(f"no {event_type} keyed {key} on {topic} within {WAIT_SECONDS}s")
    finally:
        await consumer.stop()
