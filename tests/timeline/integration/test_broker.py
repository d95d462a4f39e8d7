"""Against the real embedded broker: a published contact event lands in the timeline."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import NoteAdded
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_EVENTS, TIMELINE_EVENTS
from crm_timeline.bootstrap import create_app
from tests.conftest import EDITOR_KEY, auth
from tests.kafka_clients import assigned_reader, first_record, producer
from tests.polling import app_lifespan, eventually
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
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(CONTACT_EVENTS.name, value=envelope.to_bytes(), key=key.encode())


async def test_a_published_contact_created_event_appears_in_the_timeline(
    broker_env: EmbeddedBroker,
) -> None:
    app = create_app()
    contact_id = new_id()
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await _publish(broker_env, created(contact_id), contact_id)
            response = await eventually(
                lambda: client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth()),
                lambda r: r.status_code == 200,
                within=WAIT_SECONDS,
                what="the contact's timeline",
            )

    [item] = response.json()["items"]
    assert item["summary"] == "Contact created (source: manual)"


async def test_a_note_added_event_reaches_kafka(broker_env: EmbeddedBroker) -> None:
    app = create_app()
    contact_id = new_id()
    async with (
        assigned_reader(broker_env.bootstrap_servers, TIMELINE_EVENTS) as consumer,
        app_lifespan(app),
    ):
        await app.state.bus.handle(created(contact_id))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                f"/v1/contacts/{contact_id}/notes", json={"body": "hi"}, headers=auth(EDITOR_KEY)
            )
        assert response.status_code == 201
        record = await first_record(
            consumer,
            lambda r: EventEnvelope.from_bytes(r.value or b"").subject == contact_id,
            within=WAIT_SECONDS,
            what=f"a timeline event about {contact_id}",
        )

    envelope = EventEnvelope.from_bytes(record.value or b"")
    assert (record.key, envelope.type) == (contact_id.encode(), NoteAdded.event_type)
    assert envelope.data["note_id"] == response.json()["data"]["note_id"]
