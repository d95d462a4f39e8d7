"""Idempotent consumption: a handler records the event id it handles with its effect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm_shared.storage import Session, mark_processed_many

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


class FirstDeliveries:
    """Which deliveries of a batch are new; each is taken once (a batch may repeat an event)."""

    def __init__(self, consumer_ids: set[tuple[str, str]]) -> None:
        self._fresh = consumer_ids

    def take(self, delivery: Delivery) -> bool:
        """True the first time a new delivery is taken, False for a redelivery or a repeat."""
        key = (delivery.consumer, delivery.event_id)
        if key in self._fresh:
            self._fresh.discard(key)
            return True
        return False


async def first_deliveries(
    session: Session, deliveries: Sequence[Delivery | None]
) -> FirstDeliveries:
    """Record a batch's deliveries in this transaction, one statement or two per consumer."""
    by_consumer: dict[str, list[str]] = {}
    for delivery in deliveries:
        if delivery is not None:
            by_consumer.setdefault(delivery.consumer, []).append(delivery.event_id)
    fresh: set[tuple[str, str]] = set()
    for consumer, event_ids in by_consumer.items():
        marked = await mark_processed_many(session, consumer, event_ids)
        fresh.update((consumer, event_id) for event_id in marked)
    return FirstDeliveries(fresh)
