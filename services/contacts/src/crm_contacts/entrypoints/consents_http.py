"""`GET /v1/contacts/{id}/consents`: the contact's current consent per purpose and channel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from crm_contacts.entrypoints.deps import Store
from crm_contacts.service_layer.consents import current_consents
from crm_shared.http import ViewerAuth

router = APIRouter(prefix="/v1/contacts", tags=["consents"])


class ConsentNow(BaseModel):
    """The latest ledger decision for one purpose and channel, and when it took effect."""

    purpose: str
    channel: str
    status: str
    effective_at: str
    lawful_basis: str
    source: str | None
    notice_version: str | None
    entry_id: str


class ContactConsents(BaseModel):
    """A contact's current consents; `granted` lists what `consent=` filters match."""

    contact_id: str
    granted: list[str]
    consents: list[ConsentNow]


@router.get("/{contact_id}/consents", response_model=ContactConsents)
async def read_consents(contact_id: str, principal: ViewerAuth, store: Store) -> dict[str, Any]:
    """Current consents, kept from the gdpr ledger (its history: gdpr's own consents endpoint).

    `granted` holds `<purpose>:<channel>` for every pair granted now (`<purpose>:any` when every
    channel is); 404 when the contact is missing or deleted, 410 when erased.
    """
    return await current_consents(store, contact_id, tenant=principal.tenant)
