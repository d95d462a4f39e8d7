"""Kafka consumers: contact and activity events, and erasure requests."""

from __future__ import annotations

import logging

from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ActivityRecorded,
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactRestored,
    ContactsImported,
    ContactsMerged,
    ContactUpdated,
    ErasureRequested,
    MergeUndone,
    parse_event,
)
from crm_shared.events.contacts import ContactPurged
from crm_shared.messaging.consumer import EventHandler
from crm_shared.storage import DocumentStore
from crm_timeline.domain.errors import ContactErased, ContactRemoved
from crm_timeline.domain.model import EraseContact, EventOrigin, RecordActivity
from crm_timeline.service_layer.activities import record_activity
from crm_timeline.service_layer.contacts import purge_contact, record_contact_event
from crm_timeline.service_layer.delivery import ERASURE_CONSUMER, EVENTS_CONSUMER, Delivery
from crm_timeline.service_layer.erasure import erase_contact
from crm_timeline.service_layer.merges import record_merge_event

log = logging.getLogger(__name__)


def _origin(envelope: EventEnvelope) -> EventOrigin:
    return EventOrigin(
        tenant=envelope.tenant,
        source=envelope.source,
        occurred_at=envelope.time,
        actor=envelope.actor,
    )


def timeline_event_handler(store: DocumentStore) -> EventHandler:
    """The handler of group `crm-timeline` (CONTACT_EVENTS and ACTIVITIES)."""

    async def handle(envelope: EventEnvelope) -> None:
        """Dispatch one event on its type; types this service does not use are ignored."""
        event = parse_event(envelope)
        delivery = Delivery(EVENTS_CONSUMER, envelope.id)
        match event:
            case (
                ContactCreated()
                | ContactUpdated()
                | ContactDeleted()
                | ContactRestored()
                | ContactsImported()
            ):
                await record_contact_event(
                    store, event, origin=_origin(envelope), delivery=delivery
                )
            case ContactAnonymized():
                # The contacts service erased the person: the timeline must not keep them either.
                await erase_contact(
                    store,
                    EraseContact(erasure_id=event.erasure_id, contact_id=event.contact_id),
                    origin=_origin(envelope),
                    delivery=delivery,
                    send_receipt=False,
                    version=event.version,
                )
            case ContactsMerged() | MergeUndone():
                # The duplicates' items show under the primary until the merge is undone.
                await record_merge_event(store, event, origin=_origin(envelope), delivery=delivery)
            case ContactPurged():
                # Retention removed the contact for good: its activities go with it.
                await purge_contact(
                    store, event.contact_id, origin=_origin(envelope), delivery=delivery
                )
            case ActivityRecorded():
                await _record_activity(store, event, envelope, delivery)

    return handle


async def _record_activity(
    store: DocumentStore, event: ActivityRecorded, envelope: EventEnvelope, delivery: Delivery
) -> None:
    command = RecordActivity(
        contact_id=event.contact_id,
        activity_type=event.activity_type,
        occurred_at=event.occurred_at,
        summary=event.summary,
        data=event.data,
    )
    try:
        await record_activity(
            store,
            command,
            tenant=envelope.tenant,
            source=envelope.source,
            actor=envelope.actor,
            delivery=delivery,
        )
    except (ContactErased, ContactRemoved):
        # Late news about an erased or purged person is dropped, not retried or dead-lettered.
        log.info("dropped activity event %s: its contact was erased or purged", envelope.id)


def erasure_handler(store: DocumentStore) -> EventHandler:
    """The handler of group `crm-timeline-erasure` (GDPR_EVENTS)."""

    async def handle(envelope: EventEnvelope) -> None:
        """Erase on ErasureRequested and send a receipt; other gdpr events are ignored."""
        if envelope.type != ErasureRequested.event_type:
            return
        event = parse_event(envelope)
        if not isinstance(event, ErasureRequested):
            return
        await erase_contact(
            store,
            EraseContact(erasure_id=event.erasure_id, contact_id=event.contact_id),
            origin=_origin(envelope),
            delivery=Delivery(ERASURE_CONSUMER, envelope.id),
            send_receipt=True,
        )
        log.info("erased contact %s for erasure %s", event.contact_id, event.erasure_id)

    return handle
