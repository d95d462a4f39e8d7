"""A conversation shows as one timeline item with its messages, updated as it goes on."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.envelope import EventData
from crm_shared.events import (
    ConversationEnded,
    ConversationLinked,
    ConversationMessage,
    ConversationStarted,
)
from crm_shared.ids import new_id
from crm_timeline.adapters.conversations import CONVERSATIONS
from tests.conftest import OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.timeline.factories import at, envelope, erasure_requested, seed_contact


async def _deliver(app: FastAPI, *events: EventData, tenant: str = "acme") -> None:
    for event in events:
        await app.state.conversations_bus.handle(
            envelope(event, tenant=tenant, source="product/chat")
        )


async def _conversations(client: httpx.AsyncClient, contact_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"type": "conversation"}, headers=auth()
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _message(conversation_id: str, n: int, *, author: str = "visitor") -> ConversationMessage:
    return ConversationMessage(
        conversation_id=conversation_id,
        message_id=f"m{n}",
        sent_at=at(n),
        author=author,  # type: ignore[arg-type]
        text=f"message {n}",
    )


async def test_an_anonymous_conversation_shows_once_linked_with_every_message(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    conv = new_id()
    await _deliver(
        app,
        ConversationStarted(conversation_id=conv, started_at=at(0)),
        _message(conv, 1),
        _message(conv, 2, author="agent"),
    )
    assert await _conversations(client, contact_id) == []  # not identified yet

    await _deliver(app, ConversationLinked(contact_id=contact_id, conversation_id=conv))
    [item] = await _conversations(client, contact_id)
    assert item["type"] == "conversation"
    assert item["summary"] == "Chat conversation, 2 messages (open)"
    assert [m["text"] for m in item["data"]["messages"]] == ["message 1", "message 2"]

    await _deliver(app, _message(conv, 3), ConversationEnded(conversation_id=conv, ended_at=at(9)))
    [item] = await _conversations(client, contact_id)  # still one item, updated
    assert item["summary"] == "Chat conversation, 3 messages (ended)"
    assert item["data"]["status"] == "ended"


async def test_messages_out_of_order_or_redelivered_are_kept_once_in_time_order(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    conv = new_id()
    await _deliver(app, ConversationLinked(contact_id=contact_id, conversation_id=conv))
    await _deliver(app, _message(conv, 5), _message(conv, 2), _message(conv, 5))
    same = envelope(_message(conv, 7), source="product/chat")
    await app.state.conversations_bus.handle(same)
    await app.state.conversations_bus.handle(same)
    [item] = await _conversations(client, contact_id)
    assert [m["id"] for m in item["data"]["messages"]] == ["m2", "m5", "m7"]


async def test_an_erased_contact_gets_no_conversation_back_and_loses_its_messages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    conv = new_id()
    await _deliver(
        app,
        ConversationLinked(contact_id=contact_id, conversation_id=conv),
        _message(conv, 1),
    )
    await app.state.bus.handle(erasure_requested(contact_id))
    await _deliver(app, _message(conv, 2))  # late news about the erased person is dropped
    assert await _conversations(client, contact_id) == []
    async with app.state.store.reader() as session:
        kept = await session.get(CONVERSATIONS, tenant="acme", id=conv)
    assert kept is not None and kept["messages"] == [] and kept["erased"] is True
    assert "message 1" not in str(kept) and "message 2" not in str(kept)


async def test_another_tenant_does_not_see_the_conversation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = await seed_contact(app)
    conv = new_id()
    await _deliver(
        app, ConversationLinked(contact_id=contact_id, conversation_id=conv), _message(conv, 1)
    )
    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", headers=auth(OTHER_TENANT_KEY)
    )
    assert response.status_code in (200, 404)
    assert response.status_code == 404 or response.json()["items"] == []
    mine = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth(VIEWER_KEY))
    assert len([i for i in mine.json()["items"] if i["type"] == "conversation"]) == 1
