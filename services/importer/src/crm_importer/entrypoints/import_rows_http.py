"""`/v1/import-rows`: the stored import rows that mention a person, for an access request.

The gdpr service asks with the keyed hashes of the person's identifiers (never the values), as
the contacts service computes them; the rows are the failed and warned rows errors.csv repeats.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from crm_importer.entrypoints.deps import StoreDep
from crm_importer.service_layer.queries import rows_mentioning
from crm_shared.http import AdminAuth

router = APIRouter(prefix="/v1/import-rows", tags=["imports"])

MAX_HASHES = 100
MAX_ROWS = 10_000
HASH_PATTERN = r"^[0-9a-f]{64}$"


class ImportRowPublic(BaseModel):
    """One stored row of an import and what happened to it."""

    job_id: str
    row_number: int
    outcome: Literal["failed", "warned"]
    reason: str | None
    warnings: list[str]
    row: dict[str, Any] = Field(description="The row's cells under the file's column headers.")


class ImportRowList(BaseModel):
    """The rows found, oldest import first."""

    items: list[ImportRowPublic]


@router.get("", response_model=ImportRowList)
async def list_import_rows(
    principal: AdminAuth,
    store: StoreDep,
    identifier_hash: Annotated[
        list[Annotated[str, Field(pattern=HASH_PATTERN)]],
        Query(
            min_length=1,
            max_length=MAX_HASHES,
            description="Keyed hashes of the person's emails and phones (as the contacts "
            "service's person resolution returns them); repeat the parameter for each.",
        ),
    ],
) -> ImportRowList:
    """Failed and warned import rows holding one of the identifiers (role admin)."""
    rows = await rows_mentioning(
        store, tenant=principal.tenant, identifier_hashes=identifier_hash, limit=MAX_ROWS
    )
    return ImportRowList(items=[ImportRowPublic.model_validate(r) for r in rows])
