"""Reading the real broker in integration tests: wait for one event, bounded in time."""

from __future__ import annotations

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from tests.kafka_clients import first_record, reader

WAIT_SECONDS = 20.0


async def first_matching(
    broker: EmbeddedBroker, topic: str, event_type: str, key: str
) -> EventEnvelope:
    """The first event of this type and key on the topic; fails after WAIT_SECONDS."""
    async with reader(broker.bootstrap_servers, topic, group_prefix="contacts-test") as consumer:
        record = await first_record(
            consumer,
            lambda r: (
                r.key == key.encode()
                and EventEnvelope.from_bytes(r.value or b"").type == event_type
            ),
            within=WAIT_SECONDS,
            what=f"{event_type} keyed {key} on {topic}",
        )
    return EventEnvelope.from_bytes(record.value or b"")
