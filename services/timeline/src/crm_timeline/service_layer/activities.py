"""Handlers for what gets added to a timeline: activities from other products, and notes."""

from __future__ import annotations

from crm_shared.clock import utcnow
from crm_shared.events import NoteAdded
from crm_shared.ids import new_id
from crm_shared.outbox import outgoing
from crm_shared.storage import DocumentStore
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.errors import ContactErased, ContactNotFound, ContactRemoved
from crm_timeline.domain.items import activity_item, note_item
from crm_timeline.domain.model import TIMELINE_SOURCE, AddNote, RecordActivity, TimelineItem
from crm_timeline.service_layer.delivery import Delivery, first_delivery


async def record_activity(
    store: DocumentStore,
    command: RecordActivity,
    *,
    tenant: str,
    source: str,
    actor: str | None,
    delivery: Delivery | None,
) -> TimelineItem | None:
    """Store an activity, even before the contact's creation event arrived (topics interleave).

    Returns None for a redelivered event; raises ContactErased once the contact was erased
    and ContactRemoved once it was purged, so nothing about the person re-enters the store.
    """
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return None
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=tenant, contact_id=command.contact_id)
        if held is not None and held.erased:
            raise ContactErased(command.contact_id)
        if held is not None and held.purged:
            raise ContactRemoved(command.contact_id)
        item = activity_item(command, tenant=tenant, item_id=new_id(), source=source, actor=actor)
        await repo.add_items([item])
    return item


async def add_note(
    store: DocumentStore, command: AddNote, *, tenant: str, actor: str | None
) -> TimelineItem:
    """Add a note to a known contact and emit NoteAdded (without the body) in the same commit."""
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        held = await repo.get_contact(tenant=tenant, contact_id=command.contact_id)
        if held is None or held.purged:
            raise ContactNotFound(command.contact_id)
        if held.erased:
            raise ContactErased(command.contact_id)
        note_id = new_id()
        item = note_item(command, tenant=tenant, note_id=note_id, at=utcnow(), actor=actor)
        await repo.add_items([item])
        event = NoteAdded(contact_id=command.contact_id, note_id=note_id)
        await session.add_events(
            [
                outgoing(
                    event,
                    source=TIMELINE_SOURCE,
                    tenant=tenant,
                    key=command.contact_id,
                    actor=actor,
                )
            ]
        )
    return item
