"""Against the real embedded broker: a published contact event lands in the timeline."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import NoteAdded
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_EVENTS, TIMELINE_EVENTS
from crm_timeline.bootstrap import create_app
from tests.conftest import EDITOR_KEY, auth
from tests.timeline.factories import created

pytestmark = pytest.mark.integration

WAIT_SECONDS = 15.0


@pytest.fixture
def broker_env(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> EmbeddedBroker:
    """The platform environment, pointed at the real broker."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    return broker


async def _publish(broker: EmbeddedBroker, envelope: EventEnvelope, key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            CONTACT_EVENTS.name, value=envelope.to_bytes(), key=key.encode()
        )
    finally:
        await producer.stop()


async def test_a_published_contact_created_event_appears_in_the_timeline(
    broker_env: EmbeddedBroker,
) -> None:
    app = create_app()
    contact_id = new_id()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await _publish(broker_env, created(contact_id), contact_id)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT_SECONDS
            while True:
                response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
                if response.status_code == 200 or loop.time() > deadline:
                    break
                await asyncio.sleep(0.1)

    assert response.status_code == 200, "the event was not consumed in time"
    [item] = response.json()["items"]
    assert item["summary"] == "Contact created (source: manual)"


async def test_a_note_added_event_reaches_kafka(broker_env: EmbeddedBroker) -> None:
    app = create_app()
    contact_id = new_id()
    # No consumer group: assigning the partitions skips Tansu's slow group join.
    reader = AIOKafkaConsumer(
        bootstrap_servers=broker_env.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await reader.start()
    reader.assign(
        [TopicPartition(TIMELINE_EVENTS.name, p) for p in range(TIMELINE_EVENTS.partitions)]
    )
    try:
        async with app.router.lifespan_context(app):
            await app.state.event_handler(created(contact_id))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.post(
                    f"/v1/contacts/{contact_id}/notes",
                    json={"body": "hi"},
                    headers=auth(EDITOR_KEY),
                )
            assert response.status_code == 201
            found = await _note_events_for(reader, contact_id)
    finally:
        await reader.stop()

    assert [(key, e.type) for key, e in found] == [(contact_id.encode(), NoteAdded.event_type)]
    assert found[0][1].data["note_id"] == response.json()["data"]["note_id"]


async def _note_events_for(
    reader: AIOKafkaConsumer, contact_id: str
) -> list[tuple[bytes | None, EventEnvelope]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    found: list[tuple[bytes | None, EventEnvelope]] = []
    while not found and loop.time() < deadline:
        for records in (await reader.getmany(timeout_ms=500)).values():
            for record in records:
                envelope = EventEnvelope.from_bytes(record.value or b"")
                if envelope.subject == contact_id:
                    found.append((record.key, envelope))
    return found
