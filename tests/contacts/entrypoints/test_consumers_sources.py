"""The sources consumer: chat visitors and integration upserts, once each, refusals for good."""

from __future__ import annotations

import pytest

from crm_shared.clock import utcnow
from crm_shared.events import (
    ContactCreated,
    ConversationLinked,
    ErasureRequested,
    UpsertContactByExternalId,
    VisitorIdentified,
)
from crm_shared.messaging.errors import PermanentMessageError
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope


def _visitor(conversation_id: str = "conv-1", **who: str) -> VisitorIdentified:
    return VisitorIdentified(conversation_id=conversation_id, identified_at=utcnow(), **who)


async def test_an_identified_visitor_becomes_a_chat_contact_linked_to_the_conversation_once(
    harness: Harness,
) -> None:
    message = envelope(_visitor(name="Ada", email="ada@x.example"))
    await harness.handle(message)
    await harness.handle(message)  # a redelivery changes nothing
    [created] = await harness.outbox(ContactCreated.event_type)
    assert created.data["source"] == "chat" and created.data["profile"]["name"] == "Ada"
    [linked] = await harness.outbox(ConversationLinked.event_type)
    assert (linked.topic, linked.key) == (CONTACT_EVENTS.name, created.data["contact_id"])
    assert linked.data["conversation_id"] == "conv-1"


async def test_a_known_visitor_is_found_by_phone_and_gets_the_chat_source(
    harness: Harness,
) -> None:
    known = await harness.create(name="Ada Lovelace", phone="+14155552671")
    await harness.handle(envelope(_visitor(name="", phone="(415) 555-2671")))
    contact = (
        await harness.client.get(f"/v1/contacts/{known['id']}", headers=auth(VIEWER_KEY))
    ).json()
    assert contact["name"] == "Ada Lovelace" and contact["sources"] == ["manual", "chat"]
    [linked] = await harness.outbox(ConversationLinked.event_type)
    assert linked.key == known["id"]


async def test_an_erased_visitor_or_upsert_is_refused_for_good(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    await harness.handle(envelope(ErasureRequested(erasure_id="e-1", contact_id=contact["id"])))
    upsert = UpsertContactByExternalId(
        system="shop", external_id="c-1", fields={"email": "ADA@x.example"}
    )
    for message in (envelope(_visitor(email="ada@x.example")), envelope(upsert)):
        with pytest.raises(PermanentMessageError) as refused:
            await harness.handle(message)
        assert refused.value.reason == "suppressed-person"
    assert await harness.outbox(ConversationLinked.event_type) == []


async def test_an_upsert_with_a_bad_field_is_refused_naming_it(harness: Harness) -> None:
    upsert = UpsertContactByExternalId(
        system="shop", external_id="c-1", fields={"name": "A", "timezone": "Mars/Base"}
    )
    with pytest.raises(PermanentMessageError) as refused:
        await harness.handle(envelope(upsert))
    assert (refused.value.reason, refused.value.fields) == (
        "invalid-fields",
        ("data.fields.timezone",),
    )


async def test_an_upsert_lands_in_the_envelopes_tenant_only(harness: Harness) -> None:
    upsert = UpsertContactByExternalId(
        system="shop", external_id="c-1", fields={"name": "Ada", "email": "ada@x.example"}
    )
    await harness.handle(envelope(upsert, tenant="globex"))
    path = "/v1/contacts/by-external-id/shop/c-1"
    assert (await harness.client.get(path, headers=auth(VIEWER_KEY))).status_code == 404
    theirs = await harness.client.get(path, headers=auth(OTHER_TENANT_KEY))
    assert theirs.status_code == 200 and theirs.json()["sources"] == ["integration"]
