"""Kafka entrypoints: import batches (commands) and erasure requests (GDPR events)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from crm_contacts.domain.commands import EraseContact
from crm_contacts.service_layer.erasure import erase_contact
from crm_contacts.service_layer.imports import import_batch
from crm_contacts.settings import ContactsSettings
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested, ImportContactsBatch, parse_event
from crm_shared.storage import DocumentStore

EventHandler = Callable[[EventEnvelope], Awaitable[None]]
HANDLED_TYPES = frozenset({ImportContactsBatch.event_type, ErasureRequested.event_type})


def build_handler(store: DocumentStore, settings: ContactsSettings) -> EventHandler:
    """The `handle(envelope)` both consumer groups run; other event types are ignored."""

    async def handle(envelope: EventEnvelope) -> None:
        """Apply one event; a redelivered envelope changes nothing (its id is recorded)."""
        if envelope.type not in HANDLED_TYPES:
            return
        event = parse_event(envelope)
        if isinstance(event, ImportContactsBatch):
            await import_batch(
                store, event, tenant=envelope.tenant, settings=settings, event_id=envelope.id
            )
        elif isinstance(event, ErasureRequested):
            command = EraseContact(
                erasure_id=event.erasure_id,
                contact_id=event.contact_id,
                identifier_hashes=tuple(event.identifier_hashes),
            )
            await erase_contact(
                store, command, tenant=envelope.tenant, settings=settings, event_id=envelope.id
            )

    return handle
