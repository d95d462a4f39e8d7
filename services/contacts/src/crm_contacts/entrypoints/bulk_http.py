"""`/v1/bulk-actions`: one action over many contacts, run in the background with progress."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.bulk import EDITOR_DELETE_LIMIT, MAX_IDS, Status
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.paging import decode_cursor, encode_cursor
from crm_contacts.service_layer import bulk_actions as handlers
from crm_shared.filters import ContactFilter
from crm_shared.http import EditorAuth, ViewerAuth
from crm_shared.idempotency import Idempotent

router = APIRouter(prefix="/v1/bulk-actions", tags=["bulk actions"])

_ABOUT = f"""Actions: `add_tags` / `remove_tags` (params `tags`), `delete`, `restore`,
`assign_owner` (params `owner`, null unassigns), `add_to_campaign` / `remove_from_campaign`
(params `campaign_id`), `export` (params `fields`, as `POST /v1/exports` of the importer; the
selection is handed to it by id, 10,000 contacts per export, their ids in `export_ids`).
Select with `ids` (at most {MAX_IDS:,}) or `filter` (the filter of `POST /v1/contacts/search`,
evaluated once when the job starts: contacts created or changed afterwards do not join it).
Every contact goes through the same rules as a single edit (tag rules, system tags, events).
Editors may run them; deleting more than {EDITOR_DELETE_LIMIT:,} contacts needs an admin."""


class BulkActionCreate(BaseModel):
    """Body of `POST /v1/bulk-actions`."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(
        description="add_tags, remove_tags, delete, restore, assign_owner, "
        "add_to_campaign, remove_from_campaign or export"
    )
    ids: list[str] | None = Field(default=None, description=f"At most {MAX_IDS:,} contact ids")
    filter: ContactFilter | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class BulkActionPublic(BaseModel):
    """A bulk action's state and progress (`processed` of `total`, by outcome)."""

    id: str
    action: str
    status: Status
    params: dict[str, Any]
    total: int
    processed: int
    succeeded: int
    failed: int
    skipped: int
    error: str | None
    export_ids: list[str]
    created_at: str
    started_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, job: dict[str, Any]) -> BulkActionPublic:
        """The public view of a stored job."""
        return cls.model_validate({k: v for k, v in job.items() if k in cls.model_fields})


class BulkResult(BaseModel):
    """What the action did to one contact; `reason` says why it failed or was skipped."""

    contact_id: str
    outcome: Literal["succeeded", "failed", "skipped"]
    reason: str | None


class BulkResultPage(BaseModel):
    """Outcomes in processing order; pass `next_cursor` as `cursor` for the next page."""

    items: list[BulkResult]
    next_cursor: str | None


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BulkActionPublic,
    description=_ABOUT,
    dependencies=[Idempotent],
)
async def create_bulk_action(
    body: BulkActionCreate,
    request: Request,
    principal: EditorAuth,
    store: Store,
    response: Response,
) -> BulkActionPublic:
    """Queue a bulk action (editor); 202 with its id, then follow `GET /v1/bulk-actions/{id}`."""
    job = await handlers.queue_bulk_action(
        store,
        tenant=principal.tenant,
        actor=principal.key_id,
        is_admin="admin" in principal.roles,
        action=body.action,
        ids=body.ids,
        criteria=body.filter,
        params=body.params,
    )
    runner = request.app.state.bulk_runner
    if job["action"] == "export":
        # The importer reads the contacts back with the caller's key; kept in memory only.
        runner.exports.remember(job["id"], request.headers["authorization"])
    runner.wake()
    response.headers["Location"] = f"/v1/bulk-actions/{job['id']}"
    return BulkActionPublic.of(job)


class BulkActionList(BaseModel):
    """Bulk actions, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[BulkActionPublic]
    next_cursor: str | None


@router.get("", response_model=BulkActionList)
async def list_bulk_actions(
    principal: ViewerAuth,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> BulkActionList:
    """The tenant's bulk actions, newest first (viewer)."""
    docs, more = await handlers.list_bulk_actions(
        store,
        tenant=principal.tenant,
        before=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    return BulkActionList(
        items=[BulkActionPublic.of(doc) for doc in docs],
        next_cursor=encode_cursor(docs[-1]["id"]) if more and docs else None,
    )


@router.get("/{job_id}", response_model=BulkActionPublic)
async def get_bulk_action(job_id: str, principal: ViewerAuth, store: Store) -> BulkActionPublic:
    """A bulk action's status and progress (viewer)."""
    return BulkActionPublic.of(
        await handlers.get_bulk_action(store, job_id, tenant=principal.tenant)
    )


@router.get("/{job_id}/results", response_model=BulkResultPage)
async def bulk_action_results(
    job_id: str,
    principal: ViewerAuth,
    store: Store,
    outcome: Annotated[
        Literal["succeeded", "failed", "skipped"] | None, Query(description="Only this outcome")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> BulkResultPage:
    """Per-contact outcomes with reasons, in processing order (viewer)."""
    docs, more = await handlers.bulk_results(
        store,
        job_id,
        tenant=principal.tenant,
        outcome=outcome,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    return BulkResultPage(
        items=[BulkResult.model_validate(doc) for doc in docs],
        next_cursor=encode_cursor(docs[-1]["id"]) if more and docs else None,
    )


@router.post("/{job_id}/cancel", response_model=BulkActionPublic)
async def cancel_bulk_action(job_id: str, principal: EditorAuth, store: Store) -> BulkActionPublic:
    """Stop a queued or running action between chunks (editor); what ran stays done; 409 once
    it finished."""
    return BulkActionPublic.of(
        await handlers.cancel_bulk_action(store, job_id, tenant=principal.tenant)
    )
