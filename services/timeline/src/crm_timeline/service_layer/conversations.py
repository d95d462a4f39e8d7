"""Conversations on the timeline: apply each event once, then re-render the one item."""

from __future__ import annotations

from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from crm_timeline.adapters.conversations import ConversationRepository
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.conversations import (
    ConversationEvent,
    applied,
    conversation_item,
    new_conversation,
)
from crm_timeline.domain.errors import ContactErased, ContactRemoved
from crm_timeline.domain.model import TimelineItem
from crm_timeline.service_layer.delivery import Delivery, first_delivery

CONVERSATIONS_CONSUMER = "timeline.conversations"
CONVERSATIONS_SOURCE = "crm/conversations"


async def record_conversation_event(
    store: DocumentStore,
    event: ConversationEvent,
    *,
    tenant: str,
    delivery: Delivery,
) -> TimelineItem | None:
    """Apply one conversation event; returns the item as it now reads (None: not linked yet).

    A conversation linked to an erased or purged contact is refused (the bus drops it), so
    nothing about the person re-enters the store.
    """
    async with store.transaction() as session:
        if not await first_delivery(session, delivery):
            return None
        conversations = ConversationRepository(session, tenant)
        stored = await conversations.get(event.conversation_id)
        if stored is not None and stored.get("erased"):
            raise ContactErased(str(stored["contact_id"]))
        state = stored or new_conversation(
            tenant=tenant, conversation_id=event.conversation_id, item_id=new_id()
        )
        state = applied(state, event)
        contact_id = state["contact_id"]
        if contact_id is not None:
            held = await TimelineRepository(session).get_contact(
                tenant=tenant, contact_id=contact_id
            )
            if held is not None and held.erased:
                raise ContactErased(contact_id)
            if held is not None and held.purged:
                raise ContactRemoved(contact_id)
        await conversations.put(state, new=stored is None)
        item = conversation_item(state, source=CONVERSATIONS_SOURCE)
        if item is not None:
            await conversations.put_item(item.model_dump())
    return item
