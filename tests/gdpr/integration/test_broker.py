"""Against the real embedded broker: consumed events reach the audit log, events reach Kafka."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_gdpr.bootstrap import create_app
from crm_gdpr.settings import GdprSettings
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactCreated
from crm_shared.events.contacts import ContactProfile
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_EVENTS, GDPR_EVENTS
from tests.conftest import auth
from tests.gdpr.fakes import ALICE, ALICE_ID, CONTACTS_URL, FakeUpstream, wrap
from tests.kafka_clients import first_record, producer, reader
from tests.polling import app_lifespan, eventually

pytestmark = pytest.mark.integration

WAIT_SECONDS = 30.0


@pytest.fixture
def broker_settings(
    broker: EmbeddedBroker, platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> GdprSettings:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    monkeypatch.setenv("CRM_CONTACTS_URL", CONTACTS_URL)
    return GdprSettings()


async def test_published_contact_event_appears_in_the_audit_log(
    broker: EmbeddedBroker, broker_settings: GdprSettings
) -> None:
    contact_id = new_id()
    profile = ContactProfile(name="Dana Broker", email="dana@example.net")
    envelope = wrap(
        ContactCreated(contact_id=contact_id, version=1, source="manual", profile=profile),
        subject=contact_id,
    )
    app = create_app(broker_settings, http_transport=FakeUpstream().transport())
    async with app_lifespan(app):
        async with producer(broker.bootstrap_servers) as sender:
            await sender.send_and_wait(
                CONTACT_EVENTS.name, envelope.to_bytes(), key=contact_id.encode()
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def audit_items() -> list[dict[str, Any]]:
                response = await client.get(
                    "/v1/audit-log", params={"contact_id": contact_id}, headers=auth()
                )
                items: list[dict[str, Any]] = response.json()["items"]
                return items

            [entry] = await eventually(audit_items, within=WAIT_SECONDS, what="the audit entry")
    assert entry["event_id"] == envelope.id
    assert entry["action"] == "crm.contacts.contact.created.v1"
    assert entry["fields"] == ["name", "email"]


async def test_erasure_requested_reaches_kafka(
    broker: EmbeddedBroker, broker_settings: GdprSettings
) -> None:
    upstream = FakeUpstream()
    upstream.add_contact("acme", dict(ALICE))
    app = create_app(broker_settings, http_transport=upstream.transport())
    async with reader(broker.bootstrap_servers, GDPR_EVENTS.name) as consumer, app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=auth()
            )
        erasure_id = response.json()["id"]
        record = await first_record(
            consumer,
            lambda r: EventEnvelope.from_bytes(r.value or b"").data.get("erasure_id") == erasure_id,
            within=WAIT_SECONDS,
            what="the ErasureRequested event",
        )
    assert record.key == ALICE_ID.encode()
    event = EventEnvelope.from_bytes(record.value or b"")
    assert event.type == "crm.gdpr.erasure.requested.v1"
    assert "alice@example.com" not in event.to_bytes().decode().lower()
