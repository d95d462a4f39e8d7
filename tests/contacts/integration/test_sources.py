"""With the real embedded broker: chat visitors and integration upserts arrive as another
product sends them (either CloudEvents mode), and what cannot be applied is dead-lettered."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.clock import utcnow
from crm_shared.cloudevents import binary_record
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ConversationLinked, UpsertContactByExternalId, VisitorIdentified
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_EVENTS, CONTACT_UPSERTS, CONVERSATIONS, DEAD_LETTERS
from tests.conftest import VIEWER_KEY, auth
from tests.contacts.kafka_reading import WAIT_SECONDS, first_matching
from tests.kafka_clients import first_record, producer, reader
from tests.polling import eventually

pytestmark = pytest.mark.integration


def _from_product(data: UpsertContactByExternalId | VisitorIdentified) -> EventEnvelope:
    return EventEnvelope.wrap(
        data, source="product/shop", tenant="acme", subject=None, actor="product:shop"
    )


async def test_an_upsert_command_in_binary_mode_creates_the_contact(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    external_id = f"c-{new_id()}"
    command = UpsertContactByExternalId(
        system="shop",
        external_id=external_id,
        fields={"name": "Grace Hopper", "email": "grace@navy.example"},
        occurred_at=utcnow(),
    )
    value, headers = binary_record(_from_product(command))
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(
            CONTACT_UPSERTS.name, value=value, key=f"shop:{external_id}".encode(), headers=headers
        )

    async def read() -> httpx.Response:
        path = f"/v1/contacts/by-external-id/shop/{external_id}"
        return await live_client.get(path, headers=auth(VIEWER_KEY))

    found = await eventually(
        read, lambda r: r.status_code == 200, within=WAIT_SECONDS, what="the upserted contact"
    )
    contact = found.json()
    assert contact["email"] == "grace@navy.example" and contact["sources"] == ["integration"]


async def test_an_invalid_upsert_command_is_dead_lettered_with_the_reason(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    key = f"shop:bad-{new_id()}".encode()
    command = UpsertContactByExternalId(
        system="shop", external_id="bad", fields={"email": "not-an-address"}
    )
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(
            CONTACT_UPSERTS.name, value=_from_product(command).to_bytes(), key=key
        )
    async with reader(broker.bootstrap_servers, DEAD_LETTERS.name) as consumer:
        record = await first_record(
            consumer, lambda r: r.key == key, within=WAIT_SECONDS, what="the dead letter"
        )
    headers = {name: value for name, value in record.headers}
    assert headers["dlq.reason"] == b"invalid-fields"
    assert headers["dlq.fields"] == b"data.fields.email"
    assert b"not-an-address" not in b"".join(headers.values())


async def test_an_identified_visitor_is_resolved_and_the_conversation_linked(
    live_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    conversation_id = f"conv-{new_id()}"
    identified = VisitorIdentified(
        conversation_id=conversation_id,
        identified_at=utcnow(),
        name="Ada Lovelace",
        email=f"ada-{conversation_id}@x.example",
    )
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(
            CONVERSATIONS.name,
            value=_from_product(identified).to_bytes(),
            key=conversation_id.encode(),
            headers=[("content-type", b"application/cloudevents+json")],
        )
    async with reader(broker.bootstrap_servers, CONTACT_EVENTS.name) as consumer:
        record = await first_record(
            consumer,
            lambda r: (
                (event := EventEnvelope.from_bytes(r.value or b"")).type
                == ConversationLinked.event_type
                and event.data["conversation_id"] == conversation_id
            ),
            within=WAIT_SECONDS,
            what="the conversation link",
        )
    linked = EventEnvelope.from_bytes(record.value or b"")
    contact_id = linked.data["contact_id"]
    assert record.key == contact_id.encode()
    created = await first_matching(
        broker, CONTACT_EVENTS.name, "crm.contacts.contact.created.v1", contact_id
    )
    assert created.data["source"] == "chat"
