"""A session that holds back contact replacements and events until one flush per chunk.

A bulk action changes hundreds of contacts in one transaction through the single-edit steps,
each of which replaces its contact and adds its event. One UPDATE per contact costs a thread
hop and its multi-value index triggers each; held back, the chunk is written with two
statements per 500 contacts (ContactRepository.save_many) and one outbox insert. Only for
changes of live contacts that stay live (tags, owner, campaigns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS, ContactRepository
from crm_shared.storage import (
    ConcurrentWriteError,
    Cursor,
    OutgoingEvent,
    Session,
    Tombstone,
    Where,
)


class BatchedContactWrites:
    """Wraps a session: contact replacements and events wait for `flush()`."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant
        self._contacts: dict[str, dict[str, Any]] = {}
        self._events: list[OutgoingEvent | Tombstone] = []

    async def get(self, collection: str, *, tenant: str, id: str) -> dict[str, Any] | None:
        if collection == CONTACTS and tenant == self._tenant and id in self._contacts:
            return self._contacts[id]
        return await self._session.get(collection, tenant=tenant, id=id)

    async def find(
        self,
        collection: str,
        *,
        tenant: str,
        where: Sequence[Where] = (),
        order_by: str = "id",
        descending: bool = False,
        limit: int = 100,
        after: Cursor | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        if collection == CONTACTS and self._contacts:
            await self.flush()  # a query must see the changes made so far
        return await self._session.find(
            collection,
            tenant=tenant,
            where=where,
            order_by=order_by,
            descending=descending,
            limit=limit,
            after=after,
            fields=fields,
        )

    async def count(self, collection: str, *, tenant: str, where: Sequence[Where] = ()) -> int:
        if collection == CONTACTS and self._contacts:
            await self.flush()
        return await self._session.count(collection, tenant=tenant, where=where)

    async def tenants(self, collection: str) -> list[str]:
        if collection == CONTACTS and self._contacts:
            await self.flush()
        return await self._session.tenants(collection)

    async def insert(self, collection: str, doc: dict[str, Any]) -> None:
        await self._session.insert(collection, doc)

    async def insert_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None:
        await self._session.insert_many(collection, docs)

    async def replace(
        self, collection: str, doc: dict[str, Any], *, expected_version: int | None = None
    ) -> bool:
        if collection != CONTACTS or doc["tenant"] != self._tenant:
            return await self._session.replace(collection, doc, expected_version=expected_version)
        self._contacts[doc["id"]] = doc
        return True

    async def replace_many(
        self, collection: str, docs: Sequence[dict[str, Any]], *, expected_versions: Sequence[int]
    ) -> int:
        if collection == CONTACTS and self._contacts:
            await self.flush()  # the versions expected are those of the stored documents
        return await self._session.replace_many(
            collection, docs, expected_versions=expected_versions
        )

    async def delete(self, collection: str, *, tenant: str, id: str) -> bool:
        return await self._session.delete(collection, tenant=tenant, id=id)

    async def delete_where(self, collection: str, *, tenant: str, where: Sequence[Where]) -> int:
        return await self._session.delete_where(collection, tenant=tenant, where=where)

    async def add_events(self, events: Sequence[OutgoingEvent | Tombstone]) -> None:
        self._events.extend(events)

    async def mark_processed(self, consumer: str, event_id: str) -> bool:
        return await self._session.mark_processed(consumer, event_id)

    async def flush(self) -> None:
        """Write the held-back contacts and events (events after the contacts they describe)."""
        docs = list(self._contacts.values())
        self._contacts.clear()
        if docs and not await ContactRepository(self._session, self._tenant).save_many(docs):
            raise ConcurrentWriteError("a contact of the chunk was removed meanwhile")
        events, self._events = self._events, []
        if events:
            await self._session.add_events(events)
