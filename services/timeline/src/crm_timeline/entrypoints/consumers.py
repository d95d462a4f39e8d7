"""The timeline's message table: contact and activity events, and erasure requests.

Group `crm-timeline` reads CONTACT_EVENTS and ACTIVITIES, group `crm-timeline-erasure` reads
GDPR_EVENTS (erasures and consent changes); both route through the same bus. POST /activities
validates its body with the model v2 reports are judged by (`ActivityReport`) and calls the same
handler (`reported_activity`, `record_activities`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from pydantic import ValidationError

from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ActivityRecorded,
    ActivityRecordedV2,
    ActivityReport,
    ConsentChanged,
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
from crm_shared.events.contacts import (
    IMPORT_EVENT_TYPES,
    IMPORT_JOB_HEADER,
    data_in_import_summary,
)
from crm_shared.messaging.bus import MessageBus, SkipRule
from crm_shared.messaging.errors import MAX_FIELDS, PermanentMessageError, field_path
from crm_shared.storage import DocumentStore
from crm_shared.wiring import TIMELINE
from crm_timeline.domain.contact_history import ContactLifecycleEvent
from crm_timeline.domain.errors import ContactErased, ContactNotFound, ContactRemoved
from crm_timeline.domain.model import EraseContact, EventOrigin, RecordActivity
from crm_timeline.entrypoints.schemas import ActivityCreate
from crm_timeline.service_layer.activities import (
    ActivityOutcome,
    ReportedActivity,
    record_activities,
)
from crm_timeline.service_layer.consents import record_consent_change
from crm_timeline.service_layer.contacts import purge_contact, record_contact_event
from crm_timeline.service_layer.delivery import ERASURE_CONSUMER, EVENTS_CONSUMER, Delivery
from crm_timeline.service_layer.erasure import erase_contact, erase_requested
from crm_timeline.service_layer.merges import record_merge_event
from crm_timeline.settings import TimelineSettings

log = logging.getLogger(__name__)
E = TypeVar("E", ActivityRecorded, ActivityRecordedV2)

# What a v2 report's data may hold: the HTTP body's fields and the contact id.
_REPORT_FIELDS = frozenset(ActivityReport.model_fields) | {"contact_id"}

# An import's per-contact events: the batch's ContactsImported records each imported contact.
# The relay names them by a header, so they are passed over unparsed; another producer's by
# their data.
IMPORT_SUMMARY_SKIP = SkipRule(IMPORT_EVENT_TYPES, data_in_import_summary, IMPORT_JOB_HEADER)

EVENTS_GROUP = "crm-timeline"
ERASURE_GROUP = "crm-timeline-erasure"
# Declared in crm_shared.wiring, which the AsyncAPI document is generated from.
EVENTS_TOPICS = TIMELINE.topics_of(EVENTS_GROUP)
ERASURE_TOPICS = TIMELINE.topics_of(ERASURE_GROUP)


def _origin(envelope: EventEnvelope) -> EventOrigin:
    return EventOrigin(
        tenant=envelope.tenant,
        source=envelope.source,
        occurred_at=envelope.time,
        actor=envelope.actor,
    )


def valid_activity(envelope: EventEnvelope) -> ActivityCreate:
    """A v1 report judged by its v1 model; an empty summary, a naive or out-of-range time, or
    oversize data is permanent. (v2 reports are validated by their event model itself.)"""
    fields = {name: value for name, value in envelope.data.items() if name != "contact_id"}
    try:
        return ActivityCreate.model_validate(fields)
    except ValidationError as exc:
        raise PermanentMessageError.from_validation(
            "schema-invalid", exc, model=ActivityCreate, prefix="data"
        ) from None


def valid_report(event: ActivityRecordedV2, envelope: EventEnvelope) -> ActivityReport:
    """A v2 report judged as the HTTP body is: the topic refuses what the API refuses.

    The event model already validated every value with the report's own types (its details are
    the same models as tolerant readers); all the report's model adds is refusing unknown
    fields. So only the names are checked here, with the paths pydantic would name, and the
    report is assembled from the validated values rather than validated a second time.
    """
    unknown: list[tuple[str, ...]] = [
        ("data", name) for name in envelope.data if name not in _REPORT_FIELDS
    ]
    details = envelope.data.get("details")
    if isinstance(details, dict):
        known = type(event.details).model_fields
        kind = event.details.type
        unknown += [("data", "details", kind, name) for name in details if name not in known]
    if unknown:
        # An unknown name is the sender's choice (it could be a value): shown as `*`.
        named = sorted({field_path(path, ("data", "details", kind)) for path in unknown})
        raise PermanentMessageError(
            "schema-invalid",
            fields=named[:MAX_FIELDS],
            kinds=[f"{path}:extra_forbidden" for path in named[:MAX_FIELDS]],
        )
    return ActivityReport.model_construct(
        occurred_at=event.occurred_at,
        summary=event.summary,
        details=event.details,
        data=event.data,
    )


def reported_activity(
    contact_id: str,
    report: ActivityReport,
    *,
    origin: EventOrigin,
    delivery: Delivery | None,
    envelope: EventEnvelope | None,
) -> ReportedActivity:
    """A v2 report as the handler takes it, from a topic or (no delivery) from HTTP."""
    command = RecordActivity(
        contact_id=contact_id,
        activity_type=report.details.type,
        occurred_at=report.occurred_at,
        summary=report.summary,
        details=report.details.model_dump(mode="json", exclude={"type"}, exclude_none=True),
        data=report.data,
    )
    return ReportedActivity(
        command=command,
        origin=origin,
        delivery=delivery,
        envelope=envelope,
    )


def _v2_activity(event: ActivityRecordedV2, envelope: EventEnvelope) -> ReportedActivity:
    return reported_activity(
        event.contact_id,
        valid_report(event, envelope),
        origin=_origin(envelope),
        delivery=Delivery(EVENTS_CONSUMER, envelope.id),
        envelope=envelope,
    )


def _v1_activity(event: ActivityRecorded, envelope: EventEnvelope) -> ReportedActivity:
    activity = valid_activity(envelope)
    command = RecordActivity(
        contact_id=event.contact_id,
        activity_type=activity.activity_type,
        occurred_at=activity.occurred_at,
        summary=activity.summary,
        data=activity.data,
    )
    return ReportedActivity(
        command=command,
        origin=_origin(envelope),
        delivery=Delivery(EVENTS_CONSUMER, envelope.id),
        envelope=envelope,
    )


def _judged(
    judge: Callable[[E, EventEnvelope], ReportedActivity], event: E, envelope: EventEnvelope
) -> ReportedActivity | Exception:
    # A report refused by validation fails alone; the rest of the batch is recorded.
    try:
        return judge(event, envelope)
    except PermanentMessageError as exc:
        return exc


def _refused(outcome: ActivityOutcome) -> ActivityOutcome:
    # Only an HTTP caller is told "not found"; a topic's report of an unknown contact is parked.
    if isinstance(outcome, ContactNotFound):
        return PermanentMessageError("unknown-contact", fields=("contact_id",))
    return outcome


def build_bus(store: DocumentStore, settings: TimelineSettings) -> MessageBus:
    """The timeline's message table; late news about an erased or purged contact is dropped.

    Activities (v1 and v2) are handled many per transaction: one per consumer poll.
    """
    park_for = timedelta(seconds=settings.timeline_unknown_contact_wait_seconds)

    async def record(reports: list[ReportedActivity | Exception]) -> list[object]:
        valid = [r for r in reports if isinstance(r, ReportedActivity)]
        recorded = iter(await record_activities(store, valid, park_for=park_for))
        return [r if isinstance(r, Exception) else _refused(next(recorded)) for r in reports]

    async def on_activities(
        batch: Sequence[tuple[ActivityRecorded, EventEnvelope]],
    ) -> Sequence[object]:
        return await record([_judged(_v1_activity, event, envelope) for event, envelope in batch])

    async def on_activities_v2(
        batch: Sequence[tuple[ActivityRecordedV2, EventEnvelope]],
    ) -> Sequence[object]:
        return await record([_judged(_v2_activity, event, envelope) for event, envelope in batch])

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

    async def on_consent_changed(event: ConsentChanged, envelope: EventEnvelope) -> None:
        delivery = Delivery(ERASURE_CONSUMER, envelope.id)
        await record_consent_change(store, event, origin=_origin(envelope), delivery=delivery)

    async def on_erasures_requested(
        batch: Sequence[tuple[ErasureRequested, EventEnvelope]],
    ) -> Sequence[object]:
        # A poll of them in one transaction (a 5,000-record request brings 5,000).
        erased = await erase_requested(
            store,
            [
                (
                    EraseContact(erasure_id=event.erasure_id, contact_id=event.contact_id),
                    _origin(envelope),
                    Delivery(ERASURE_CONSUMER, envelope.id),
                )
                for event, envelope in batch
            ],
        )
        log.info("erased %d contact(s) of %d erasure request(s)", erased, len(batch))
        return [None] * len(batch)

    return (
        # An import's per-contact events are skipped unparsed: the batch's ContactsImported
        # records each imported contact.
        MessageBus(obsolete=(ContactErased, ContactRemoved), skip_rule=IMPORT_SUMMARY_SKIP)
        .on(ContactCreated, on_contact_event)
        .on(ContactUpdated, on_contact_event)
        .on(ContactDeleted, on_contact_event)
        .on(ContactRestored, on_contact_event)
        .on(ContactsImported, on_contact_event)
        .on(ContactAnonymized, on_anonymized)
        .on(ContactPurged, on_purged)
        .on(ContactsMerged, on_merge)
        .on(MergeUndone, on_merge)
        .on_many(ActivityRecorded, on_activities)
        .on_many(ActivityRecordedV2, on_activities_v2)
        .on_many(ErasureRequested, on_erasures_requested)
        .on(ConsentChanged, on_consent_changed)
    )
