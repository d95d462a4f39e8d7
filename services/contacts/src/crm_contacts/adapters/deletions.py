"""The cross-tenant index of soft deletions the purge walks, and the contacts it removes.

The storage port is tenant-scoped, so one entry per soft-deleted contact is kept under the
reserved tenant "" that no API key can have (`parse_api_keys` refuses empty tenants). An entry
is written in the soft delete's own transaction and removed on restore and on purge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crm_contacts.adapters.repository import CONTACTS, DELETIONS
from crm_shared.storage import Eq, In, Range, Session, Where

RESERVED_TENANT = ""
_IN_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[tuple[str, ...]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield tuple(values[start : start + _IN_CHUNK])


def _entry_id(tenant: str, contact_id: str) -> str:
    # Tenants never contain ":" (API keys are key:tenant:roles), so the id is unambiguous.
    return f"{tenant}:{contact_id}"


class DeletionIndex:
    """Soft deletions of every tenant: which contact, of which tenant, deleted when."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def record(self, tenant: str, contact_id: str, deleted_at: str) -> None:
        """Note a soft deletion (replacing an older note for the same contact)."""
        entry_id = _entry_id(tenant, contact_id)
        await self._session.delete(DELETIONS, tenant=RESERVED_TENANT, id=entry_id)
        await self._session.insert(
            DELETIONS,
            {
                "id": entry_id,
                "tenant": RESERVED_TENANT,
                "contact_tenant": tenant,
                "contact_id": contact_id,
                "deleted_at": deleted_at,
            },
        )

    async def forget(self, tenant: str, contact_id: str) -> None:
        """Drop the note of a contact that is no longer soft-deleted."""
        await self._session.delete(
            DELETIONS, tenant=RESERVED_TENANT, id=_entry_id(tenant, contact_id)
        )

    async def forget_many(self, entry_ids: Sequence[str]) -> None:
        """Drop these notes."""
        for chunk in _chunks(entry_ids):
            await self._session.delete_where(
                DELETIONS, tenant=RESERVED_TENANT, where=(In("id", chunk),)
            )

    async def deleted_before(
        self, cutoff: str, *, tenant: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """The oldest notes of deletions before `cutoff`, of one tenant or of all."""
        where: list[Where] = [] if tenant is None else [Eq("contact_tenant", tenant)]
        where.append(Range("deleted_at", lt=cutoff))
        return await self._session.find(
            DELETIONS, tenant=RESERVED_TENANT, where=where, order_by="deleted_at", limit=limit
        )


class PurgeableContacts:
    """Contacts of one tenant, read and removed for good by the purge."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get_many(self, contact_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The contacts with these ids that still exist."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(contact_ids):
            found += await self._session.find(
                CONTACTS, tenant=self._tenant, where=(In("id", chunk),), limit=len(chunk)
            )
        return found

    async def remove(self, contact_ids: Sequence[str], *, deleted_before: str) -> int:
        """Delete those of these contacts soft-deleted before the cutoff; return how many."""
        removed = 0
        for chunk in _chunks(contact_ids):
            removed += await self._session.delete_where(
                CONTACTS,
                tenant=self._tenant,
                where=(
                    In("id", chunk),
                    Range("deleted_at", lt=deleted_before),
                    Eq("erased_at", None),
                ),
            )
        return removed
