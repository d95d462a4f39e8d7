"""Kafka entrypoints: import batches (commands) and erasure requests (GDPR events)."""

from __future__ import annotations

from crm_contacts.domain.commands import EraseContact
from crm_contacts.service_layer.erasure import erase_contact
from crm_contacts.service_layer.imports import import_batch
from crm_contacts.settings import ContactsSettings
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested, ImportContactsBatch
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage import DocumentStore
from crm_shared.topics import CONTACT_COMMANDS, GDPR_EVENTS

COMMANDS_GROUP = "crm-contacts-commands"
ERASURE_GROUP = "crm-contacts-erasure"
COMMANDS_TOPICS: tuple[str, ...] = (CONTACT_COMMANDS.name,)
ERASURE_TOPICS: tuple[str, ...] = (GDPR_EVENTS.name,)


def build_bus(store: DocumentStore, settings: ContactsSettings) -> MessageBus:
    """The contacts service's message table; a redelivered envelope changes nothing."""

    async def on_import_batch(batch: ImportContactsBatch, envelope: EventEnvelope) -> None:
        await import_batch(
            store, batch, tenant=envelope.tenant, settings=settings, event_id=envelope.id
        )

    async def on_erasure_requested(event: ErasureRequested, envelope: EventEnvelope) -> None:
        command = EraseContact(
            erasure_id=event.erasure_id,
            contact_id=event.contact_id,
            identifier_hashes=tuple(event.identifier_hashes),
        )
        await erase_contact(
            store, command, tenant=envelope.tenant, settings=settings, event_id=envelope.id
        )

    return (
        MessageBus()
        .on(ImportContactsBatch, on_import_batch)
        .on(ErasureRequested, on_erasure_requested)
    )
