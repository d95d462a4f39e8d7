"""The one builder of outgoing events: what a handler writes to the outbox for the relay to send.

Every service wraps its events the same way: a CloudEvents envelope from its `source`, for one
tenant and actor, on the event model's topic, with the Kafka key also as the envelope's subject
(the contact id for anything about a contact, so one contact's events stay in order).
"""

from __future__ import annotations

from collections.abc import Iterable

from crm_shared.clock import utcnow
from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.observability.tracing import current_traceparent
from crm_shared.storage import OutgoingEvent

# The CloudEvents `source` of each service's events.
CONTACTS_SOURCE = "crm/contacts"
TIMELINE_SOURCE = "crm/timeline"
IMPORTER_SOURCE = "crm/importer"
GDPR_SOURCE = "crm/gdpr"


def outgoing(
    data: EventData, *, source: str, tenant: str, key: str, actor: str | None
) -> OutgoingEvent:
    """The outbox entry for `data` on its topic, keyed by (and about) `key`.

    The envelope carries the current trace context, so the consumers' spans join the write's trace.
    """
    envelope = EventEnvelope.wrap(
        data,
        source=source,
        tenant=tenant,
        subject=key,
        actor=actor,
        traceparent=current_traceparent(),
    )
    return OutgoingEvent(topic=data.topic, key=key, envelope=envelope)


def outgoing_many(
    payloads: Iterable[tuple[EventData, str]],
    *,
    source: str,
    tenant: str,
    actor: str | None,
) -> list[OutgoingEvent]:
    """`outgoing` for each (payload, key) of one write, such as an import batch's per-contact
    events: the same envelopes, with the trace context and the time read once for them all.
    """
    traceparent = current_traceparent()
    time = utcnow()
    events: list[OutgoingEvent] = []
    for data, key in payloads:
        envelope = EventEnvelope.wrap(
            data,
            source=source,
            tenant=tenant,
            subject=key,
            actor=actor,
            traceparent=traceparent,
            time=time,
        )
        events.append(OutgoingEvent(topic=data.topic, key=key, envelope=envelope))
    return events
