"""With the real embedded broker: events leave through the outbox relay, commands are consumed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from crm_contacts.bootstrap import create_app
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactCreated, ImportBatchProcessed
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_COMMANDS, CONTACT_EVENTS, IMPORT_RESULTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.helpers import envelope, import_batch

pytestmark = pytest.mark.integration
WAIT_SECONDS = 20.0


@pytest.fixture
async def live_client(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _first_matching(
    broker: EmbeddedBroker, topic: str, event_type: str, key: str
) -> EventEnvelope:
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


async def test_contact_created_reaches_kafka(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    response = await live_client.post(
        "/v1/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201
    contact_id = response.json()["id"]
    event = await _first_matching(
        broker, CONTACT_EVENTS.name, ContactCreated.event_type, contact_id
    )
    assert event.tenant == "acme"
    assert event.subject == contact_id
    assert event.data["profile"]["email"] == "ada@example.com"


async def test_import_batch_from_kafka_is_applied_and_answered(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    job_id = f"job-{new_id()}"
    command = envelope(
        import_batch([{"name": "Grace", "email": "grace@example.com"}], job_id=job_id)
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            CONTACT_COMMANDS.name, value=command.to_bytes(), key=job_id.encode()
        )
    finally:
        await producer.stop()
    answer = await _first_matching(
        broker, IMPORT_RESULTS.name, ImportBatchProcessed.event_type, job_id
    )
    [result] = answer.data["results"]
    assert result["status"] == "created"
    listed = await live_client.get("/v1/contacts", params={"q": "grace"}, headers=auth(EDITOR_KEY))
    assert [c["id"] for c in listed.json()["items"]] == [result["contact_id"]]
