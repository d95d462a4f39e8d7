"""A conversation as the timeline shows it: one item, its messages, updated as it goes on.

Pure. Events about one conversation arrive on two topics (the product's conversation events,
and the contacts service's link to the identified visitor's contact) in any order, so each
applies to the stored state commutatively: messages are kept once by id, in time order.
"""

from __future__ import annotations

from typing import Any

from crm_shared.clock import iso
from crm_shared.events import (
    ConversationEnded,
    ConversationLinked,
    ConversationMessage,
    ConversationStarted,
)
from crm_timeline.domain.model import TimelineItem, as_utc

ConversationEvent = (
    ConversationStarted | ConversationMessage | ConversationEnded | ConversationLinked
)
# Messages kept per conversation: a runaway bot must not grow one item without bound.
MAX_MESSAGES = 500


def new_conversation(*, tenant: str, conversation_id: str, item_id: str) -> dict[str, Any]:
    """The state of a conversation nothing is known of yet."""
    return {
        "id": conversation_id,
        "tenant": tenant,
        "item_id": item_id,
        "contact_id": None,
        "channel": "chat",
        "started_at": None,
        "ended_at": None,
        "messages": [],
        "messages_dropped": 0,
    }


def erased_conversation(state: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a conversation once its contact was erased: that it was, no messages."""
    return {**state, "messages": [], "messages_dropped": 0, "erased": True}


def _add_message(state: dict[str, Any], event: ConversationMessage) -> None:
    messages: list[dict[str, Any]] = state["messages"]
    if any(m["id"] == event.message_id for m in messages):
        return
    if len(messages) >= MAX_MESSAGES:
        state["messages_dropped"] = int(state.get("messages_dropped") or 0) + 1
        return
    messages.append(
        {
            "id": event.message_id,
            "sent_at": iso(as_utc(event.sent_at)),
            "author": event.author,
            "text": event.text,
        }
    )
    messages.sort(key=lambda m: (m["sent_at"], m["id"]))


def applied(state: dict[str, Any], event: ConversationEvent) -> dict[str, Any]:
    """The conversation's state with one event applied (a copy)."""
    updated = {**state, "messages": list(state["messages"])}
    match event:
        case ConversationStarted():
            updated["started_at"] = iso(as_utc(event.started_at))
            updated["channel"] = event.channel
        case ConversationMessage():
            _add_message(updated, event)
        case ConversationEnded():
            updated["ended_at"] = iso(as_utc(event.ended_at))
        case ConversationLinked():
            updated["contact_id"] = event.contact_id
    return updated


def _began(state: dict[str, Any]) -> str | None:
    messages = state["messages"]
    first = messages[0]["sent_at"] if messages else None
    return state["started_at"] or first


def conversation_item(state: dict[str, Any], *, source: str) -> TimelineItem | None:
    """The conversation's one timeline item; None until it is linked to a contact and dated."""
    began = _began(state)
    if state["contact_id"] is None or began is None:
        return None
    count = len(state["messages"]) + int(state.get("messages_dropped") or 0)
    status = "ended" if state["ended_at"] else "open"
    plural = "" if count == 1 else "s"
    return TimelineItem(
        id=state["item_id"],
        tenant=state["tenant"],
        contact_id=state["contact_id"],
        type="conversation",
        occurred_at=began,
        source=source,
        summary=f"{state['channel'].capitalize()} conversation, {count} message{plural} ({status})",
        data={
            "conversation_id": state["id"],
            "channel": state["channel"],
            "status": status,
            "started_at": state["started_at"],
            "ended_at": state["ended_at"],
            "messages": state["messages"],
            "messages_dropped": state.get("messages_dropped") or 0,
        },
    )
