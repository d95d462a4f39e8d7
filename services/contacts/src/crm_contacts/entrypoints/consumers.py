"""Kafka entrypoints: import batches and cancels, erasures and consents, chat visitors, upserts."""

from __future__ import annotations

from collections.abc import Sequence

from crm_contacts.domain.commands import EraseContact
from crm_contacts.service_layer.consents import record_consent
from crm_contacts.service_layer.erasure import erase_requested
from crm_contacts.service_layer.import_cancellations import record_import_end
from crm_contacts.service_layer.imports import import_batch
from crm_contacts.service_layer.source_commands import link_visitor, upsert_by_external_id
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ConsentChanged,
    ErasureRequested,
    ImportContactsBatch,
    ImportJobFinished,
    UpsertContactByExternalId,
    VisitorIdentified,
)
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage import DocumentStore
from crm_shared.wiring import CONTACTS

COMMANDS_GROUP = "crm-contacts-commands"
ERASURE_GROUP = "crm-contacts-erasure"
SOURCES_GROUP = "crm-contacts-sources"
IMPORT_CONTROL_GROUP = "crm-contacts-import-control"
# Declared in crm_shared.wiring, which the AsyncAPI document is generated from.
COMMANDS_TOPICS = CONTACTS.topics_of(COMMANDS_GROUP)
ERASURE_TOPICS = CONTACTS.topics_of(ERASURE_GROUP)
SOURCES_TOPICS = CONTACTS.topics_of(SOURCES_GROUP)
IMPORT_CONTROL_TOPICS = CONTACTS.topics_of(IMPORT_CONTROL_GROUP)


def build_bus(store: DocumentStore, settings: ContactsSettings) -> MessageBus:
    """The contacts service's message table; a redelivered envelope changes nothing."""

    async def on_import_batch(batch: ImportContactsBatch, envelope: EventEnvelope) -> None:
        await import_batch(
            store, batch, tenant=envelope.tenant, settings=settings, event_id=envelope.id
        )

    async def on_import_finished(ended: ImportJobFinished, envelope: EventEnvelope) -> None:
        await record_import_end(store, ended, tenant=envelope.tenant, event_id=envelope.id)

    async def on_erasures_requested(
        batch: Sequence[tuple[ErasureRequested, EventEnvelope]],
    ) -> Sequence[object]:
        # A poll of them in one transaction per tenant (a 5,000-record request brings 5,000).
        commands = [
            (
                EraseContact(
                    erasure_id=event.erasure_id,
                    contact_id=event.contact_id,
                    identifier_hashes=tuple(event.identifier_hashes),
                ),
                envelope.tenant,
                envelope.id,
            )
            for event, envelope in batch
        ]
        await erase_requested(store, commands, settings=settings)
        return [None] * len(batch)

    async def on_consent_changed(event: ConsentChanged, envelope: EventEnvelope) -> None:
        # The ledger entry took effect when gdpr recorded it: the event's time.
        await record_consent(
            store,
            event,
            tenant=envelope.tenant,
            event_id=envelope.id,
            effective_at=iso(envelope.time),
        )

    async def on_visitor_identified(event: VisitorIdentified, envelope: EventEnvelope) -> None:
        await link_visitor(
            store,
            event,
            tenant=envelope.tenant,
            actor=envelope.actor or envelope.source,
            settings=settings,
            event_id=envelope.id,
        )

    async def on_upsert(command: UpsertContactByExternalId, envelope: EventEnvelope) -> None:
        await upsert_by_external_id(
            store,
            command,
            tenant=envelope.tenant,
            actor=envelope.actor or envelope.source,
            settings=settings,
            event_id=envelope.id,
        )

    return (
        MessageBus()
        .on(ImportContactsBatch, on_import_batch)
        .on(ImportJobFinished, on_import_finished)
        .on_many(ErasureRequested, on_erasures_requested)
        .on(ConsentChanged, on_consent_changed)
        .on(VisitorIdentified, on_visitor_identified)
        .on(UpsertContactByExternalId, on_upsert)
    )
