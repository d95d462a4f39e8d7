"""Timeline items and the contact projection over the storage port."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from crm_shared.idempotency_records import IDEMPOTENCY_COLLECTION
from crm_shared.rate_limit_store import RATE_LIMIT_COLLECTION
from crm_shared.storage import CollectionSpec, Cursor, Eq, In, Index, Range, Session, Where
from crm_timeline.domain.cursor import TimelinePosition
from crm_timeline.domain.model import ContactProjection, ItemType, ParkedActivity, TimelineItem

ITEMS = "items"
CONTACTS = "contacts"
# Activities waiting for their contact's first event (topics interleave), across tenants: the
# expiry sweep reads them all, so they live under one internal tenant and name their own.
PARKED = "parked"
PARKED_TENANT = "timeline:parked"

COLLECTION_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        ITEMS,
        indexes=(
            Index(("contact_id", "occurred_at")),
            Index(("contact_id", "type", "occurred_at")),
        ),
    ),
    CollectionSpec(CONTACTS, indexes=(Index(("merged_into",)),)),
    CollectionSpec(PARKED, indexes=(Index(("owner", "contact_id")), Index(("expires_at",)))),
    IDEMPOTENCY_COLLECTION,
    RATE_LIMIT_COLLECTION,
)
# How deep merges chain (A into B, then B into C) when gathering a timeline's contacts.
MAX_MERGE_DEPTH = 10
_MANY = 10_000


class TimelineRepository:
    """Reads and writes a tenant's timeline inside one storage session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def get_contact(self, *, tenant: str, contact_id: str) -> ContactProjection | None:
        """The projection of one contact, or None when no event about it arrived yet."""
        doc = await self._session.get(CONTACTS, tenant=tenant, id=contact_id)
        return None if doc is None else ContactProjection.of_document(doc)

    async def save_contact(
        self, contact: ContactProjection, *, previous: ContactProjection | None
    ) -> None:
        """Insert a new projection or replace the one read earlier in this transaction."""
        doc = contact.as_document()
        if previous is None:
            await self._session.insert(CONTACTS, doc)
        else:
            await self._session.replace(CONTACTS, doc)

    async def get_contacts(
        self, *, tenant: str, contact_ids: Collection[str]
    ) -> dict[str, ContactProjection]:
        """The projections held for these contacts, by contact id, read with one query."""
        ids = tuple(set(contact_ids))
        if not ids:
            return {}
        docs = await self._session.find(
            CONTACTS, tenant=tenant, where=[In("id", ids)], limit=len(ids)
        )
        return {doc["id"]: ContactProjection.of_document(doc) for doc in docs}

    async def save_contacts(
        self, *, tenant: str, contacts: Sequence[ContactProjection], stored: Collection[str]
    ) -> None:
        """Write projections in bulk; ids in `stored` replace those read in this transaction."""
        if not contacts:
            return
        replaced = tuple(contact.id for contact in contacts if contact.id in stored)
        if replaced:
            # The port has no replace_many: delete and re-insert keeps it two statements.
            await self._session.delete_where(CONTACTS, tenant=tenant, where=[In("id", replaced)])
        await self._session.insert_many(CONTACTS, [contact.as_document() for contact in contacts])

    async def add_items(self, items: Sequence[TimelineItem]) -> None:
        """Store new timeline items."""
        if items:
            await self._session.insert_many(ITEMS, [item.model_dump() for item in items])

    async def add_item_documents(self, documents: Sequence[dict[str, Any]]) -> None:
        """Store new timeline items already written as their documents (`model_dump()`)."""
        if documents:
            await self._session.insert_many(ITEMS, list(documents))

    async def has_items(self, *, tenant: str, contact_id: str) -> bool:
        """True when the contact has at least one item (activities may precede its creation)."""
        found = await self._session.find(
            ITEMS, tenant=tenant, where=[Eq("contact_id", contact_id)], limit=1
        )
        return bool(found)

    async def merged_into(self, *, tenant: str, contact_id: str) -> list[str]:
        """The contact and every contact merged into it, directly or through a chain."""
        found = [contact_id]
        frontier = (contact_id,)
        for _ in range(MAX_MERGE_DEPTH):
            docs = await self._session.find(
                CONTACTS, tenant=tenant, where=[In("merged_into", frontier)], limit=_MANY
            )
            frontier = tuple(doc["id"] for doc in docs if doc["id"] not in found)
            if not frontier:
                break
            found.extend(frontier)
        return found

    async def repoint_items(self, *, tenant: str, from_id: str, to_id: str) -> int:
        """Move every item of one contact to another (a merged-away contact purged for good)."""
        docs = await self._session.find(
            ITEMS, tenant=tenant, where=[Eq("contact_id", from_id)], limit=_MANY * 100
        )
        if docs:
            await self.delete_items_of(tenant=tenant, contact_id=from_id)
            await self._session.insert_many(ITEMS, [{**doc, "contact_id": to_id} for doc in docs])
        return len(docs)

    async def get_item(self, *, tenant: str, item_id: str) -> TimelineItem | None:
        """One item by id, or None."""
        doc = await self._session.get(ITEMS, tenant=tenant, id=item_id)
        return None if doc is None else TimelineItem.model_validate(doc)

    async def replace_item(self, item: TimelineItem) -> None:
        """Write back an item read in this transaction."""
        await self._session.replace(ITEMS, item.model_dump())

    async def delete_item(self, *, tenant: str, item_id: str) -> bool:
        """Delete one item; False if it was not there."""
        return await self._session.delete(ITEMS, tenant=tenant, id=item_id)

    async def park(self, parked: Sequence[ParkedActivity]) -> None:
        """Keep activities whose contact the timeline does not know yet."""
        if parked:
            docs = [{**p.model_dump(mode="json"), "tenant": PARKED_TENANT} for p in parked]
            await self._session.insert_many(PARKED, docs)

    async def parked_for(
        self, *, tenant: str, contact_ids: Collection[str]
    ) -> list[ParkedActivity]:
        """The activities parked for these contacts of a tenant, oldest first."""
        ids = tuple(set(contact_ids))
        if not ids:
            return []
        docs = await self._session.find(
            PARKED,
            tenant=PARKED_TENANT,
            where=[Eq("owner", tenant), In("contact_id", ids)],
            limit=_MANY,
        )
        return [_parked(doc) for doc in docs]

    async def expired_parked(self, *, now: str, limit: int) -> list[ParkedActivity]:
        """Parked activities whose wait for their contact ran out before `now` (ISO UTC)."""
        docs = await self._session.find(
            PARKED,
            tenant=PARKED_TENANT,
            where=[Range("expires_at", lt=now)],
            order_by="expires_at",
            limit=limit,
        )
        return [_parked(doc) for doc in docs]

    async def unpark(self, parked_ids: Collection[str]) -> int:
        """Remove parked activities by id (released, erased or expired)."""
        if not parked_ids:
            return 0
        return await self._session.delete_where(
            PARKED, tenant=PARKED_TENANT, where=[In("id", tuple(parked_ids))]
        )

    async def unpark_contact(self, *, tenant: str, contact_id: str) -> int:
        """Remove everything parked for one contact (it was erased or purged)."""
        return await self._session.delete_where(
            PARKED,
            tenant=PARKED_TENANT,
            where=[Eq("owner", tenant), Eq("contact_id", contact_id)],
        )

    async def page(
        self,
        *,
        tenant: str,
        contact_id: str | Sequence[str],
        item_types: Sequence[ItemType] = (),
        limit: int,
        after: TimelinePosition | None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[TimelineItem]:
        """Up to `limit` items of one or several contacts, newest first (id as tiebreak).

        `item_types` (any of them; all when empty) and the time range [since, until) filter.
        """
        where: list[Where] = [
            Eq("contact_id", contact_id)
            if isinstance(contact_id, str)
            else In("contact_id", tuple(contact_id))
        ]
        stored_types: list[str] = list(item_types)
        if "contact_changed" in stored_types:
            stored_types.append("contact")  # what items stored before the split say
        if len(stored_types) == 1:
            where.append(Eq("type", stored_types[0]))
        elif stored_types:
            where.append(In("type", tuple(stored_types)))
        if since is not None or until is not None:
            where.append(Range("occurred_at", gte=since, lt=until))
        docs = await self._session.find(
            ITEMS,
            tenant=tenant,
            where=where,
            order_by="occurred_at",
            descending=True,
            limit=limit,
            after=None if after is None else Cursor(value=after.occurred_at, id=after.item_id),
        )
        return [TimelineItem.model_validate(doc) for doc in docs]

    async def delete_items_of(self, *, tenant: str, contact_id: str) -> int:
        """Delete every item of one contact; return how many went."""
        return await self._session.delete_where(
            ITEMS, tenant=tenant, where=[Eq("contact_id", contact_id)]
        )


def _parked(doc: dict[str, object]) -> ParkedActivity:
    return ParkedActivity.model_validate({k: v for k, v in doc.items() if k != "tenant"})
