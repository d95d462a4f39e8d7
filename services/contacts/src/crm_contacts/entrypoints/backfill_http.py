"""Where the derived-fields backfill stands for the caller's tenant (admins)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from crm_contacts.entrypoints.deps import Store
from crm_contacts.service_layer.derived_backfill import tenant_progress
from crm_shared.http import AdminAuth

router = APIRouter(prefix="/v1/derived-fields", tags=["contacts"])


class BackfillProgress(BaseModel):
    """The backfill of the tenant's stored contacts to the current derived fields."""

    version: int
    status: Literal["pending", "running", "finished"]
    processed: int
    rewritten: int


@router.get("/backfill", response_model=BackfillProgress)
async def backfill_progress(principal: AdminAuth, store: Store) -> BackfillProgress:
    """How far the background backfill got: contacts read and rewritten at this version.

    `pending` until the backfill reaches the tenant (a tenant without contacts stays pending).
    """
    progress = await tenant_progress(store, principal.tenant)
    return BackfillProgress(**progress)
