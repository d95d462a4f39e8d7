"""Merge records of one tenant, stored in the `merges` collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS, MERGES, holding_email
from crm_shared.storage import ContainsAny, Eq, In, Session

# At most 51 contacts per merge, and a contact takes part in few merges.
_MANY = 10_000


class MergeRepository:
    """Merge records and the contacts they involve, of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, merge_id: str) -> dict[str, Any] | None:
        """The merge record with this id in this tenant."""
        return await self._session.get(MERGES, tenant=self._tenant, id=merge_id)

    async def add(self, record: dict[str, Any]) -> None:
        """Store a new merge record."""
        await self._session.insert(MERGES, record)

    async def save(self, record: dict[str, Any]) -> None:
        """Replace a merge record read in this transaction."""
        await self._session.replace(MERGES, record)

    async def standing_with(self, contact_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Merges not undone that involve any of these contacts."""
        return await self._session.find(
            MERGES,
            tenant=self._tenant,
            where=(ContainsAny("contact_ids", tuple(contact_ids)), Eq("status", "merged")),
            limit=_MANY,
        )

    async def close_involving(self, contact_id: str, *, status: str) -> int:
        """Close the merges a contact took part in, dropping the before-states they hold.

        For a contact purged after the retention or erased: its data must not outlive it in a
        merge record, and such a merge can no longer be undone (`status` says why).
        """
        found = await self._session.find(
            MERGES,
            tenant=self._tenant,
            where=(ContainsAny("contact_ids", (contact_id,)),),
            limit=_MANY,
        )
        for record in found:
            closed = {**record, "status": status, "before": {}, "primary_after": {}}
            await self._session.replace(MERGES, closed)
        return len(found)

    async def live_with_email_outside(
        self, email: str, excluded: Sequence[str]
    ) -> dict[str, Any] | None:
        """A live contact with this primary email that is not one of `excluded`."""
        found = await self._session.find(
            CONTACTS,
            tenant=self._tenant,
            where=(
                holding_email(email),
                Eq("email", email),
                Eq("deleted_at", None),
                Eq("erased_at", None),
            ),
            limit=len(excluded) + 1,
        )
        return next((doc for doc in found if doc["id"] not in excluded), None)

    async def contacts(self, contact_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The contacts with these ids (whatever their state), by id."""
        found = await self._session.find(
            CONTACTS, tenant=self._tenant, where=(In("id", tuple(contact_ids)),), limit=_MANY
        )
        return {doc["id"]: doc for doc in found}
