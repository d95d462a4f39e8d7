"""The one builder of outgoing events: what a handler writes to the outbox for the relay to send.

Every service wraps its events the same way: a CloudEvents envelope from its `source`, for one
tenant and actor, on the event model's topic, with the Kafka key also as the envelope's subject
(the contact id for anything about a contact, so one contact's events stay in order).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crm_shared.clock import utcnow
from crm_shared.envelope import EnvelopeWriter, EventData, EventEnvelope
from crm_shared.ids import new_ids
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


def outgoing_written(
    payloads: Sequence[tuple[type[EventData], dict[str, Any], str]],
    *,
    source: str,
    tenant: str,
    actor: str | None,
    time: datetime | None = None,
) -> list[OutgoingEvent]:
    """`outgoing` for each (kind, payload, key) of one write, the payloads already in their JSON
    form (see `EnvelopeWriter`), such as an import batch's per-contact events: the same envelope
    bytes without a model per event, their ids made at once, the trace context and the time
    read once for them all.
    """
    traceparent, time = current_traceparent(), time or utcnow()
    writers: dict[type[EventData], EnvelopeWriter] = {}
    events: list[OutgoingEvent] = []
    for event_id, (kind, data, key) in zip(new_ids(len(payloads)), payloads, strict=True):
        writer = writers.get(kind)
        if writer is None:
            writer = writers[kind] = EnvelopeWriter(
                kind, source=source, tenant=tenant, actor=actor, traceparent=traceparent, time=time
            )
        events.append(OutgoingEvent(kind.topic, key, writer.write(event_id, key, data)))
    return events
