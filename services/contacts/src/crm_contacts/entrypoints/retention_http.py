"""HTTP trigger of the soft-delete purge, for the caller's tenant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.service_layer.retention import purge_expired
from crm_shared.http import AdminAuth

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


def _clock(request: Request) -> Callable[[], datetime]:
    # The app's clock (utcnow), replaceable so retention can be tested without waiting.
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


Clock = Annotated[Callable[[], datetime], Depends(_clock)]


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
