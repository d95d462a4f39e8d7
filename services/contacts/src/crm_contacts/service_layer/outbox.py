"""Building outbox entries for the events this service publishes."""

from __future__ import annotations

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.storage import OutgoingEvent

SOURCE = "crm/contacts"


def outgoing(data: EventData, *, tenant: str, key: str, actor: str | None) -> OutgoingEvent:
    """An event for the outbox, keyed (and with subject) `key`, usually the contact id."""
    envelope = EventEnvelope.wrap(data, source=SOURCE, tenant=tenant, subject=key, actor=actor)
    return OutgoingEvent(topic=data.topic, key=key, envelope=envelope)
