"""Activities parked until their contact's first event: released with it, or expired.

Topics interleave: a product may report an activity for a contact whose creation event the
timeline has not read yet. Refusing it would lose a real contact's history, so it waits (a
bounded time, `TimelineSettings.timeline_unknown_contact_wait_seconds`) in a table of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from crm_shared.clock import iso, utcnow
from crm_shared.storage import DocumentStore, Session
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.model import ParkedActivity, TimelineItem
from crm_timeline.service_layer.activities import recorded_event, released_item


async def release_parked(
    session: Session, repo: TimelineRepository, *, tenant: str, contact_ids: Collection[str]
) -> list[TimelineItem]:
    """In the caller's transaction: record what waited for these now known contacts."""
    parked = await repo.parked_for(tenant=tenant, contact_ids=contact_ids)
    if not parked:
        return []
    items = [released_item(activity) for activity in parked]
    await repo.add_items(items)
    await session.add_events([recorded_event(item) for item in items])
    await repo.unpark([activity.id for activity in parked])
    return items


async def take_expired(store: DocumentStore, *, limit: int = 500) -> list[ParkedActivity]:
    """Remove and return parked activities whose contact did not show up in time."""
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        expired = await repo.expired_parked(now=iso(utcnow()), limit=limit)
        await repo.unpark([activity.id for activity in expired])
    return expired


async def put_back(store: DocumentStore, parked: Sequence[ParkedActivity]) -> None:
    """Park again what could not be dead-lettered (the broker is down): nothing is lost."""
    async with store.transaction() as session:
        await TimelineRepository(session).park(parked)
