"""`POST /v1/contacts/lookup`: what importing rows would do, for an import's dry run."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.commands import LookUpImportRows
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.service_layer.import_lookup import look_up_import_rows
from crm_shared.clock import iso
from crm_shared.events import ImportRow
from crm_shared.events.imports import DuplicatePolicy, MatchIdentifier
from crm_shared.http import EditorAuth
from crm_shared.validation import Moment

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
# One import batch: the importer's dry run asks once per batch it read.
MAX_LOOKUP_ROWS = 1000


class LookupRow(ImportRow):
    """A candidate row, as an import batch carries it (text cells, lists of text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LookupRequest(BaseModel):
    """Rows to decide, and the import options that decide them."""

    model_config = ConfigDict(extra="forbid")

    rows: list[LookupRow] = Field(min_length=1, max_length=MAX_LOOKUP_ROWS)
    on_duplicate: DuplicatePolicy = "skip"
    match_on: list[MatchIdentifier] = Field(
        default=[],
        max_length=3,
        description="Identifiers that find the contact a row is, in order; "
        "default email, then phone.",
    )
    occurred_at: Moment | None = Field(
        default=None, description="When the rows were written (the last-writer rule's time)."
    )


class LookupResult(BaseModel):
    """What importing one row would do."""

    row_number: int
    status: Literal["created", "updated", "skipped", "failed"] = Field(
        description="What a real import would do with the row."
    )
    contact_id: str | None = Field(
        description="The existing contact the row matched (null when it would create one)."
    )
    error: str | None = None
    warnings: list[str] = []


class LookupResponse(BaseModel):
    """One result per row, in the rows' order."""

    results: list[LookupResult]


def _moment(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


@router.post(
    "/lookup",
    response_model=LookupResponse,
    summary="Decide what importing these rows would do, writing nothing",
)
async def look_up_rows(
    body: LookupRequest, principal: EditorAuth, store: Store, settings: Settings
) -> LookupResponse:
    """Validate and match each row against the tenant's live contacts exactly as an import
    batch is applied (same validation, matching and rules), and store nothing (role editor)."""
    command = LookUpImportRows(
        rows=[ImportRow.model_validate(row.model_dump()) for row in body.rows],
        on_duplicate=body.on_duplicate,
        match_on=body.match_on,
        occurred_at=_moment(body.occurred_at),
    )
    results = await look_up_import_rows(store, command, tenant=principal.tenant, settings=settings)
    return LookupResponse(results=[LookupResult.model_validate(r) for r in results])
