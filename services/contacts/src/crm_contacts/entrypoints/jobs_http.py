"""`/v1/jobs`: background jobs that rewrite the tenant's contacts after a definition change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from crm_contacts.domain.rewrite_jobs import MAX_ERRORS_KEPT, JobKind, JobStatus
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.paging import decode_cursor, encode_cursor
from crm_contacts.service_layer import rewrite_jobs as handlers
from crm_shared.cursors import CursorCodec, Integer
from crm_shared.http import EditorAuth, ViewerAuth
from crm_shared.idempotency import Idempotent

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
# An errors page continues after the position (0-based, in the order found) of its last error.
_ERRORS_CURSOR = CursorCodec(Integer(minimum=0), max_length=64)

ABOUT_JOBS = """Renaming or deleting a tag, creating, changing or deleting a tag rule, changing a
custom field's type (or respelling its options) and deleting a custom field commit the
definition at once and answer 202 with a job (`Location: /v1/jobs/{id}`) that rewrites the
contacts already stored, in batches, each contact with its own ContactUpdated. While it runs:
new writes use the new definition; a filter on a renamed tag finds contacts under the old name
too; contacts the job has not reached yet show the old tag name, the deleted tag, the old auto
tags or the unconverted value. A contact whose value does not convert to a field's new type
keeps its value and is listed in the job's `errors`; the other contacts go on."""


class JobError(BaseModel):
    """A contact the job could not rewrite, and why."""

    contact_id: str
    reason: str


class JobProgress(BaseModel):
    """Contacts looked at (`done`) of those matching when the job started (`total`)."""

    done: int
    total: int | None
    changed: int
    failed: int


class JobPublic(BaseModel):
    """A rewrite job's state, progress and the contacts it could not rewrite."""

    id: str
    kind: JobKind
    status: JobStatus
    params: dict[str, Any]
    progress: JobProgress
    errors: list[JobError]
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    retries: int = 0

    @classmethod
    def of(cls, job: dict[str, Any]) -> JobPublic:
        """The public view of a stored job."""
        return cls.model_validate(
            {
                **{k: v for k, v in job.items() if k in cls.model_fields},
                "progress": {k: job[k] for k in ("done", "total", "changed", "failed")},
            }
        )


class JobErrorPage(BaseModel):
    """A job's errors in the order found; pass `next_cursor` as `cursor` for the next page."""

    items: list[JobError]
    next_cursor: str | None


class JobList(BaseModel):
    """Jobs, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[JobPublic]
    next_cursor: str | None


def accepted(request: Request, response: Response, job: dict[str, Any]) -> JobPublic:
    """Answer 202 with the job (and where to follow it), and wake the runner."""
    request.app.state.job_runner.wake()
    response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/v1/jobs/{job['id']}"
    return JobPublic.of(job)


@router.get("", response_model=JobList, description=ABOUT_JOBS)
async def list_jobs(
    principal: ViewerAuth,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> JobList:
    """The tenant's jobs, newest first (viewer)."""
    docs, more = await handlers.list_jobs(
        store,
        tenant=principal.tenant,
        before=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    return JobList(
        items=[JobPublic.of(doc) for doc in docs],
        next_cursor=encode_cursor(docs[-1]["id"]) if more and docs else None,
    )


@router.get(
    "/{job_id}",
    response_model=JobPublic,
    description=f"Status and progress; `errors` holds the first {MAX_ERRORS_KEPT} contacts "
    "the job could not rewrite (`progress.failed` counts them all).",
)
async def get_job(job_id: str, principal: ViewerAuth, store: Store) -> JobPublic:
    """One job's status, progress and errors (viewer)."""
    return JobPublic.of(await handlers.get_job(store, job_id, tenant=principal.tenant))


@router.get(
    "/{job_id}/errors",
    response_model=JobErrorPage,
    description="Every contact the job could not rewrite and why (the reason names the field "
    "and rule, never the value), in the order found, paged with `cursor`.",
)
async def list_job_errors(
    job_id: str,
    principal: ViewerAuth,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> JobErrorPage:
    """All of a job's errors, paged (viewer)."""
    after = None
    if cursor:
        [position] = _ERRORS_CURSOR.decode(cursor)
        assert isinstance(position, int)  # the codec accepts integers only
        after = position
    docs, more = await handlers.job_errors(
        store, job_id, tenant=principal.tenant, after=after, limit=limit
    )
    return JobErrorPage(
        items=[JobError(contact_id=doc["contact_id"], reason=doc["reason"]) for doc in docs],
        next_cursor=_ERRORS_CURSOR.encode([docs[-1]["position"]]) if more and docs else None,
    )


@router.post(
    "/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    dependencies=[Idempotent],
    description="Run a failed job again (editor): it resumes after the last batch it "
    "committed, so no contact is rewritten twice. 409 when the job is not failed. "
    "`Location` is the job.",
)
async def retry_job(
    job_id: str, principal: EditorAuth, store: Store, request: Request, response: Response
) -> JobPublic:
    """Queue a failed job again (editor)."""
    job = await handlers.retry_job(store, job_id, tenant=principal.tenant)
    return accepted(request, response, job)
