"""The timeline's message table: contact and activity events, and erasure requests.

Group `crm-timeline` reads CONTACT_EVENTS and ACTIVITIES, group `crm-timeline-erasure` reads
GDPR_EVENTS; both route through the same bus, and POST /activities hands its message to it too.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ActivityRecorded,
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactPurged,
    ContactRestored,
    ContactsImported,
    ContactsMerged,
    ContactUpdated,
    ErasureRequested,
    MergeUndone,
)
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.errors import PermanentMessageError
from crm_shared.storage import DocumentStore
from crm_shared.topics import ACTIVITIES, CONTACT_EVENTS, GDPR_EVENTS
from crm_timeline.domain.contact_history import ContactLifecycleEvent
from crm_timeline.domain.errors import ContactErased, ContactRemoved
from crm_timeline.domain.model import EraseContact, EventOrigin, RecordActivity, TimelineItem
from crm_timeline.entrypoints.schemas import ActivityCreate
from crm_timeline.service_layer.activities import record_activity
from crm_timeline.service_layer.contacts import purge_contact, record_contact_event
from crm_timeline.service_layer.delivery import ERASURE_CONSUMER, EVENTS_CONSUMER, Delivery
from crm_timeline.service_layer.erasure import erase_contact
from crm_timeline.service_layer.merges import record_merge_event

log = logging.getLogger(__name__)

EVENTS_GROUP = "crm-timeline"
ERASURE_GROUP = "crm-timeline-erasure"
EVENTS_TOPICS: tuple[str, ...] = (CONTACT_EVENTS.name, ACTIVITIES.name)
ERASURE_TOPICS: tuple[str, ...] = (GDPR_EVENTS.name,)


def _origin(envelope: EventEnvelope) -> EventOrigin:
    return EventOrigin(
        tenant=envelope.tenant,
        source=envelope.source,
        occurred_at=envelope.time,
        actor=envelope.actor,
    )


def valid_activity(envelope: EventEnvelope) -> ActivityCreate:
    """The event's activity judged by the HTTP model: the topic refuses what the API refuses.

    An empty summary, a naive or out-of-range time, or oversize data is permanent.
    """
    fields = {name: value for name, value in envelope.data.items() if name != "contact_id"}
    try:
        return ActivityCreate.model_validate(fields)
    except ValidationError as exc:
        raise PermanentMessageError.from_validation("schema-invalid", exc, prefix="data") from None


def build_bus(store: DocumentStore) -> MessageBus:
    """The timeline's message table; late news about an erased or purged contact is dropped."""

    async def on_contact_event(event: ContactLifecycleEvent, envelope: EventEnvelope) -> None:
        delivery = Delivery(EVENTS_CONSUMER, envelope.id)
        await record_contact_event(store, event, origin=_origin(envelope), delivery=delivery)

    async def on_anonymized(event: ContactAnonymized, envelope: EventEnvelope) -> None:
        # The contacts service erased the person: the timeline must not keep them either.
        await erase_contact(
            store,
            EraseContact(erasure_id=event.erasure_id, contact_id=event.contact_id),
            origin=_origin(envelope),
            delivery=Delivery(EVENTS_CONSUMER, envelope.id),
            send_receipt=False,
            version=event.version,
        )

    async def on_purged(event: ContactPurged, envelope: EventEnvelope) -> None:
        # Retention removed the contact for good: its activities go with it.
        delivery = Delivery(EVENTS_CONSUMER, envelope.id)
        await purge_contact(store, event.contact_id, origin=_origin(envelope), delivery=delivery)

    async def on_merge(event: ContactsMerged | MergeUndone, envelope: EventEnvelope) -> None:
        # The duplicates' items show under the primary until the merge is undone.
        delivery = Delivery(EVENTS_CONSUMER, envelope.id)
        await record_merge_event(store, event, origin=_origin(envelope), delivery=delivery)

    async def on_activity(event: ActivityRecorded, envelope: EventEnvelope) -> TimelineItem | None:
        activity = valid_activity(envelope)
        command = RecordActivity(
            contact_id=event.contact_id,
            activity_type=activity.activity_type,
            occurred_at=activity.occurred_at,
            summary=activity.summary,
            data=activity.data,
        )
        return await record_activity(
            store,
            command,
            tenant=envelope.tenant,
            source=envelope.source,
            actor=envelope.actor,
            delivery=Delivery(EVENTS_CONSUMER, envelope.id),
        )

    async def on_erasure_requested(event: ErasureRequested, envelope: EventEnvelope) -> None:
        await erase_contact(
            store,
            EraseContact(erasure_id=event.erasure_id, contact_id=event.contact_id),
            origin=_origin(envelope),
            delivery=Delivery(ERASURE_CONSUMER, envelope.id),
            send_receipt=True,
        )
        log.info("erased contact %s for erasure %s", event.contact_id, event.erasure_id)

    return (
        MessageBus(obsolete=(ContactErased, ContactRemoved))
        .on(ContactCreated, on_contact_event)
        .on(ContactUpdated, on_contact_event)
        .on(ContactDeleted, on_contact_event)
        .on(ContactRestored, on_contact_event)
        .on(ContactsImported, on_contact_event)
        .on(ContactAnonymized, on_anonymized)
        .on(ContactPurged, on_purged)
        .on(ContactsMerged, on_merge)
        .on(MergeUndone, on_merge)
        .on(ActivityRecorded, on_activity)
        .on(ErasureRequested, on_erasure_requested)
    )
