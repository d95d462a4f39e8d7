"""Building outbox entries for the gdpr service's events."""

from __future__ import annotations

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.storage import OutgoingEvent

SOURCE = "crm/gdpr"


def contact_event(
    data: EventData, *, tenant: str, contact_id: str, actor: str | None
) -> OutgoingEvent:
    """An event about a contact, keyed by the contact id so its events stay in order."""
    return OutgoingEvent(
        topic=data.topic,
        key=contact_id,
        envelope=EventEnvelope.wrap(
            data, source=SOURCE, tenant=tenant, subject=contact_id, actor=actor
        ),
    )
