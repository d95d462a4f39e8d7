"""The conversations group: a product's chat events and the contacts service's visitor links.

Group `crm-timeline-conversations` reads CONVERSATIONS and CONTACT_EVENTS (for
ConversationLinked), with its own bus; the timeline's other groups are in consumers.py.
"""

from __future__ import annotations

from crm_shared.envelope import EventEnvelope
from crm_shared.events import (
    ConversationEnded,
    ConversationLinked,
    ConversationMessage,
    ConversationStarted,
)
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage import DocumentStore
from crm_shared.wiring import TIMELINE
from crm_timeline.domain.conversations import ConversationEvent
from crm_timeline.domain.errors import ContactErased, ContactRemoved
from crm_timeline.service_layer.conversations import (
    CONVERSATIONS_CONSUMER,
    record_conversation_event,
)
from crm_timeline.service_layer.delivery import Delivery

CONVERSATIONS_GROUP = "crm-timeline-conversations"
# Declared in crm_shared.wiring, which the AsyncAPI document is generated from.
CONVERSATIONS_TOPICS = TIMELINE.topics_of(CONVERSATIONS_GROUP)


def build_conversations_bus(store: DocumentStore) -> MessageBus:
    """The conversations table; news about an erased or purged contact is dropped."""

    async def on_event(event: ConversationEvent, envelope: EventEnvelope) -> None:
        delivery = Delivery(CONVERSATIONS_CONSUMER, envelope.id)
        await record_conversation_event(store, event, tenant=envelope.tenant, delivery=delivery)

    return (
        MessageBus(obsolete=(ContactErased, ContactRemoved))
        .on(ConversationStarted, on_event)
        .on(ConversationMessage, on_event)
        .on(ConversationEnded, on_event)
        .on(ConversationLinked, on_event)
    )
