"""HTTP trigger of the soft-delete purge, for the caller's tenant."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from crm_contacts.entrypoints.deps import Clock, Settings, Store
from crm_contacts.service_layer.retention import purge_expired
from crm_shared.http import AdminAuth

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


class PurgeResult(BaseModel):
    """How many contacts the purge removed for good."""

    purged: int


@router.post("/purge", response_model=PurgeResult)
async def purge_deleted_contacts(
    principal: AdminAuth, store: Store, settings: Settings, clock: Clock
) -> PurgeResult:
    """Remove now, for good, this tenant's contacts soft-deleted longer ago than the retention.

    The same purge runs in the background for every tenant; each purged contact publishes
    ContactPurged and can no longer be restored (404).
    """
    purged = await purge_expired(
        store,
        now=clock(),
        retention_days=settings.contacts_retention_days,
        tenant=principal.tenant,
    )
    return PurgeResult(purged=purged)
