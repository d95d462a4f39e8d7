"""Handler for contact lifecycle events: projection by version, one item per change."""

from __future__ import annotations

import logging

from crm_shared.clock import iso
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.contact_history import (
    ContactLifecycleEvent,
    Outcome,
    advance,
    facts_from_event,
    outcome_of,
)
from crm_timeline.domain.model import EventOrigin, TimelineItem, as_utc
from crm_timeline.service_layer.delivery import Delivery, first_delivery

log = logging.getLogger(__name__)


async def record_contact_event(
    store: DocumentStore,
    event: ContactLifecycleEvent,
    *,
    origin: EventOrigin,
    delivery: Delivery | None,
) -> list[TimelineItem]:
    """Advance the projection for newer versions and record an item for newer-or-equal ones."""
    facts = facts_from_event(event)
    occurred_at = iso(as_utc(origin.occurred_at))
    recorded: list[TimelineItem] = []
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return []
        repo = TimelineRepository(session)
        for fact in facts:
            held = await repo.get_contact(tenant=origin.tenant, contact_id=fact.contact_id)
            outcome = outcome_of(held, fact.version)
            if outcome is Outcome.IGNORE:
                log.info("ignored stale or post-erasure version %d of a contact", fact.version)
                continue
            if outcome is Outcome.APPLY:
                await repo.save_contact(advance(held, fact, tenant=origin.tenant), previous=held)
            recorded.append(
                TimelineItem(
                    id=new_id(),
                    tenant=origin.tenant,
                    contact_id=fact.contact_id,
                    type="contact",
                    occurred_at=occurred_at,
                    source=origin.source,
                    summary=fact.summary,
                    data=fact.data,
                    actor=origin.actor,
                )
            )
        await repo.add_items(recorded)
    return recorded
