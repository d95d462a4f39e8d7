"""Reading a contact's timeline, one keyset page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from crm_shared.clock import iso
from crm_shared.storage import DocumentStore
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.cursor import TimelinePosition, decode_cursor, encode_cursor
from crm_timeline.domain.errors import ContactNotFound
from crm_timeline.domain.model import ItemType, TimelineItem


@dataclass(frozen=True)
class TimelinePage:
    """Items newest first, and the cursor of the next page (None on the last page)."""

    items: list[TimelineItem]
    next_cursor: str | None


async def read_timeline(
    store: DocumentStore,
    *,
    tenant: str,
    contact_id: str,
    item_types: Sequence[ItemType] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    cursor: str | None,
) -> TimelinePage:
    """One page of a contact's timeline; 404 if the contact is unknown (no items) or purged.

    Only items of `item_types` (any; all when empty) that occurred in [since, until) are listed.
    """
    after = decode_cursor(cursor) if cursor is not None else None
    async with store.reader() as session:
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=tenant, contact_id=contact_id)
        if held is not None and held.purged:
            raise ContactNotFound(contact_id)
        if held is None and not await repo.has_items(tenant=tenant, contact_id=contact_id):
            raise ContactNotFound(contact_id)
        # Contacts merged into this one show their items here (until the merge is undone).
        contact_ids = await repo.merged_into(tenant=tenant, contact_id=contact_id)
        # One extra row tells whether another page follows, without a count query.
        rows = await repo.page(
            tenant=tenant,
            contact_id=contact_ids[0] if len(contact_ids) == 1 else contact_ids,
            item_types=item_types,
            limit=limit + 1,
            after=after,
            since=None if since is None else iso(since),
            until=None if until is None else iso(until),
        )
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(TimelinePosition(occurred_at=last.occurred_at, item_id=last.id))
    return TimelinePage(items=items, next_cursor=next_cursor)
