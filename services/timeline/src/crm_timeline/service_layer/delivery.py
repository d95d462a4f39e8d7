"""Idempotent consumption: a handler records the event id it handles with its effect."""

from __future__ import annotations

from dataclasses import dataclass

from crm_shared.storage import Session

EVENTS_CONSUMER = "timeline.events"
ERASURE_CONSUMER = "timeline.erasure"


@dataclass(frozen=True)
class Delivery:
    """The consumer and the id of the event being handled (None for an HTTP request)."""

    consumer: str
    event_id: str


async def first_delivery(session: Session, delivery: Delivery | None) -> bool:
    """Record the delivery in this transaction; False when the event was handled before."""
    if delivery is None:
        return True
    return await session.mark_processed(delivery.consumer, delivery.event_id)
