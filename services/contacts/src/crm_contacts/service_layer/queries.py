"""Read-only views: one contact, and keyset pages of contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.service_layer.handlers import visible
from crm_shared.filters import ContactFilter
from crm_shared.storage import DocumentStore


@dataclass(frozen=True)
class ContactPage:
    """Contacts in creation order and the id to continue after (None on the last page)."""

    items: list[dict[str, Any]]
    last_id: str | None


def _folded(value: str | None) -> str | None:
    # Search fields are stored lower-cased, so the query is too.
    return value.strip().lower() if value and value.strip() else None


async def get_contact(store: DocumentStore, contact_id: str, *, tenant: str) -> dict[str, Any]:
    """A live contact of the tenant (404 when missing or deleted, 410 when erased)."""
    async with store.reader() as session:
        return visible(await ContactRepository(session, tenant).get(contact_id), contact_id)


async def list_contacts(
    store: DocumentStore,
    *,
    tenant: str,
    criteria: ContactFilter | None = None,
    include_deleted: bool = False,
    limit: int = 50,
    after_id: str | None = None,
) -> ContactPage:
    """One page of contacts matching the filter's text and tag (both case-insensitive)."""
    criteria = criteria or ContactFilter()
    async with store.reader() as session:
        docs = await ContactRepository(session, tenant).page(
            text=_folded(criteria.q),
            tag=_folded(criteria.tag[0] if criteria.tag else None),
            include_deleted=include_deleted,
            limit=limit + 1,  # one extra tells whether another page follows
            after_id=after_id,
        )
    items = docs[:limit]
    return ContactPage(items=items, last_id=items[-1]["id"] if len(docs) > limit else None)
