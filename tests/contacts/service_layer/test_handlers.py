"""The single-contact handlers on the in-memory store: effects, events and refusals, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.commands import CreateContact, DeleteContact, UpdateContact
from crm_contacts.service_layer.handlers import create_contact, delete_contact, update_contact
from crm_contacts.settings import ContactsSettings
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactCreated, ContactDeleted, ContactUpdated
from crm_shared.problems import Conflict, PreconditionFailed
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"
ACTOR = "key_test"


@pytest.fixture
def settings(platform_env: dict[str, str]) -> ContactsSettings:
    return ContactsSettings()


async def _event_types(store: MemoryStore) -> list[str]:
    """The contact events waiting in the outbox (account events left out), oldest first."""
    types = [EventEnvelope.from_bytes(p.value).type for p in await store.pending_events(100)]
    return [t for t in types if t.startswith("crm.contacts.contact.")]


async def _create(
    store: MemoryStore, settings: ContactsSettings, **fields: object
) -> dict[str, Any]:
    command = CreateContact(fields=dict(fields))
    return await create_contact(store, command, tenant=TENANT, actor=ACTOR, settings=settings)


async def test_create_stores_the_contact_and_its_created_event_together(
    store: MemoryStore, settings: ContactsSettings
) -> None:
    doc = await _create(store, settings, name="Ada Lovelace", email="Ada@Example.com")

    assert doc["email"] == "ada@example.com"
    assert await _event_types(store) == [ContactCreated.event_type]
    assert doc["id"].encode() in [p.key for p in await store.pending_events(100)]


async def test_a_second_contact_with_the_same_email_is_refused_and_writes_nothing(
    store: MemoryStore, settings: ContactsSettings
) -> None:
    await _create(store, settings, name="Ada", email="ada@example.com")

    with pytest.raises(Conflict):
        await _create(store, settings, name="Ada again", email="ada@example.com")

    assert await _event_types(store) == [ContactCreated.event_type]


async def test_an_update_at_a_stale_version_is_refused_and_changes_nothing(
    store: MemoryStore, settings: ContactsSettings
) -> None:
    doc = await _create(store, settings, name="Ada")
    fresh = UpdateContact(contact_id=doc["id"], fields={"company": "Acme"}, expected_version=1)
    await update_contact(store, fresh, tenant=TENANT, actor=ACTOR, settings=settings)

    stale = UpdateContact(contact_id=doc["id"], fields={"company": "Globex"}, expected_version=1)
    with pytest.raises(PreconditionFailed):
        await update_contact(store, stale, tenant=TENANT, actor=ACTOR, settings=settings)

    assert await _event_types(store) == [ContactCreated.event_type, ContactUpdated.event_type]


async def test_delete_soft_deletes_and_publishes_contact_deleted(
    store: MemoryStore, settings: ContactsSettings
) -> None:
    doc = await _create(store, settings, name="Ada")

    deleted = await delete_contact(
        store, DeleteContact(contact_id=doc["id"]), tenant=TENANT, actor=ACTOR
    )

    assert deleted["deleted_at"] is not None
    assert (await _event_types(store))[-1] == ContactDeleted.event_type
