"""Handler for merges: a merged-away contact's items show under its primary until undone."""

from __future__ import annotations

import logging

from crm_shared.clock import iso
from crm_shared.events import ContactsMerged, MergeUndone
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.contact_history import Outcome, outcome_of
from crm_timeline.domain.merges import merge_summary
from crm_timeline.domain.model import ContactProjection, EventOrigin, TimelineItem, as_utc
from crm_timeline.service_layer.delivery import Delivery, first_delivery
from crm_timeline.service_layer.parking import release_parked

log = logging.getLogger(__name__)


async def record_merge_event(
    store: DocumentStore,
    event: ContactsMerged | MergeUndone,
    *,
    origin: EventOrigin,
    delivery: Delivery | None,
) -> TimelineItem | None:
    """Alias (or un-alias) a duplicate to its primary and record the merge on its timeline.

    Each involved contact gets its own copy of the event, keyed by it; only the duplicates'
    copies change an alias. Items are not moved, so an undo only has to drop the alias.
    """
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return None
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=origin.tenant, contact_id=event.contact_id)
        outcome = outcome_of(held, event.version)
        if outcome is Outcome.IGNORE:
            log.info("ignored stale or post-erasure merge event of a contact")
            return None
        was_merged_into = held.merged_into if held is not None else None
        merged_into = was_merged_into
        if event.contact_id != event.primary_id:
            merged_into = event.primary_id if isinstance(event, ContactsMerged) else None
        if outcome is Outcome.APPLY or merged_into != was_merged_into:
            projection = ContactProjection(
                id=event.contact_id,
                tenant=origin.tenant,
                version=max(event.version, held.version if held is not None else 0),
                state=held.state if held is not None else "live",
                merged_into=merged_into,
            )
            await repo.save_contact(projection, previous=held)
            if held is None:
                await release_parked(
                    session, repo, tenant=origin.tenant, contact_ids=[event.contact_id]
                )
        summary, data = merge_summary(event)
        item = TimelineItem(
            id=new_id(),
            tenant=origin.tenant,
            contact_id=event.contact_id,
            type="merged",
            occurred_at=iso(as_utc(origin.occurred_at)),
            source=origin.source,
            summary=summary,
            data=data,
            actor=origin.actor,
        )
        await repo.add_items([item])
    return item
