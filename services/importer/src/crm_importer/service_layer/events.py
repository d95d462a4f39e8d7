"""Outgoing events of the importer, addressed and wrapped the same way everywhere."""

from __future__ import annotations

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.storage import OutgoingEvent

SOURCE = "crm/importer"


def outgoing(data: EventData, *, tenant: str, key: str, actor: str | None) -> OutgoingEvent:
    """An outbox entry for `data` on its topic; `key` is also the envelope's subject."""
    return OutgoingEvent(
        topic=data.topic,
        key=key,
        envelope=EventEnvelope.wrap(data, source=SOURCE, tenant=tenant, subject=key, actor=actor),
    )
