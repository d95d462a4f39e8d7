"""Read-only views: one contact (pages of contacts: service_layer/search.py)."""

from __future__ import annotations

from typing import Any

from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.service_layer.handlers import visible
from crm_shared.storage import DocumentStore


async def get_contact(store: DocumentStore, contact_id: str, *, tenant: str) -> dict[str, Any]:
    """A live contact of the tenant (404 when missing or deleted, 410 when erased)."""
    async with store.reader() as session:
        return visible(await ContactRepository(session, tenant).get(contact_id), contact_id)
