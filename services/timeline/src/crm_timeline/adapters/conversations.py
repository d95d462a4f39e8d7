"""Stored conversation state (messages before and after the visitor is identified)."""

from __future__ import annotations

from typing import Any

from crm_shared.storage import CollectionSpec, Eq, Index, Session
from crm_timeline.adapters.repository import ITEMS
from crm_timeline.domain.conversations import erased_conversation

CONVERSATIONS = "conversations"
_MANY = 100_000
CONVERSATION_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(CONVERSATIONS, indexes=(Index(("contact_id",)),)),
)


class ConversationRepository:
    """A tenant's conversations and their timeline items, inside one storage session."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored state of one conversation, or None."""
        return await self._session.get(CONVERSATIONS, tenant=self._tenant, id=conversation_id)

    async def put(self, state: dict[str, Any], *, new: bool) -> None:
        """Insert a new conversation or replace the one read earlier in this transaction."""
        if new:
            await self._session.insert(CONVERSATIONS, state)
        else:
            await self._session.replace(CONVERSATIONS, state)

    async def put_item(self, item: dict[str, Any]) -> None:
        """Write the conversation's one timeline item, replacing its previous rendering."""
        await self._session.delete(ITEMS, tenant=self._tenant, id=item["id"])
        await self._session.insert(ITEMS, item)

    async def forget_contact(self, contact_id: str) -> int:
        """Empty the conversations linked to a contact (its erasure); return how many.

        Each stays as a marker without messages, so a late message is refused rather than
        stored again as a new, unlinked conversation.
        """
        docs = await self._session.find(
            CONVERSATIONS, tenant=self._tenant, where=[Eq("contact_id", contact_id)], limit=_MANY
        )
        for doc in docs:
            await self._session.replace(CONVERSATIONS, erased_conversation(doc))
        return len(docs)
