"""`/v1/imports` as jobs: the list, cancelling one, its errors.csv; repeat detection of uploads."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from crm_importer.adapters.multipart import ReceivedForm
from crm_importer.domain.cells import neutralize
from crm_importer.entrypoints.deps import StoreDep, WorkerDep
from crm_importer.entrypoints.form_options import flag
from crm_importer.entrypoints.pagination import decode_id_cursor, encode_id_cursor
from crm_importer.entrypoints.schemas import ImportJobList, ImportJobPublic, JobAccepted
from crm_importer.service_layer.error_rows import error_file_rows
from crm_importer.service_layer.import_jobs import cancel_import, earlier_import_of, list_imports
from crm_shared.clock import now_iso
from crm_shared.http import EditorAuth, ViewerAuth

router = APIRouter(prefix="/v1/imports", tags=["imports"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such import in your tenant."}
}
ALLOW_REPEAT_HELP = (
    "true imports a file again although the same file (same bytes) was imported in the last 24 "
    "hours; otherwise such an upload answers 200 with the earlier import and its Location."
)


def allow_repeat(form: ReceivedForm) -> bool:
    """The `allow_repeat` form field as a flag; 422 naming it when it is not one."""
    return flag(form.fields, "allow_repeat")


async def answer_repeat(
    store: StoreDep, response: Response, *, tenant: str, form: ReceivedForm
) -> JobAccepted | None:
    """The earlier import of the same file within 24 hours (answered 200 with its Location), or
    None when the upload is new or `allow_repeat` is set."""
    if allow_repeat(form):
        return None
    earlier = await earlier_import_of(
        store, tenant=tenant, file_sha256=form.file_sha256, now=now_iso()
    )
    if earlier is None:
        return None
    response.status_code = 200
    response.headers["Location"] = f"/v1/imports/{earlier.id}"
    return JobAccepted(id=earlier.id, status=earlier.status, repeat_of=earlier.id)


@router.get("", response_model=ImportJobList)
async def get_imports(
    principal: ViewerAuth,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ImportJobList:
    """The tenant's imports, newest first, with their counts and progress (role viewer)."""
    jobs, last = await list_imports(
        store, tenant=principal.tenant, limit=limit, after=decode_id_cursor(cursor)
    )
    return ImportJobList(
        items=[ImportJobPublic.of(job) for job in jobs], next_cursor=encode_id_cursor(last)
    )


@router.post(
    "/{job_id}/cancel",
    response_model=ImportJobPublic,
    responses={**_NOT_FOUND, 409: {"description": "The import already ended."}},
)
async def cancel(
    job_id: str, principal: EditorAuth, store: StoreDep, worker: WorkerDep
) -> ImportJobPublic:
    """Cancel an import: reading stops before its next batch; rows already applied stay
    (role editor)."""
    job = await cancel_import(store, tenant=principal.tenant, job_id=job_id)
    worker.wake()  # an import that needs no more results has its failed rows copied now
    return ImportJobPublic.of(job)


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([neutralize(cell) for cell in row] for row in rows)
    return buffer.getvalue()


@router.get(
    "/{job_id}/errors.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "The file's header plus `error` and `warnings`, then every failed or "
            "warned row as it was in the file; fix it and upload it again.",
        },
        409: {"description": "The import has not ended yet (or its rows are still copied)."},
        **_NOT_FOUND,
    },
)
async def errors_csv(
    job_id: str,
    principal: ViewerAuth,
    store: StoreDep,
    bom: Annotated[bool, Query(description="Start with a UTF-8 byte order mark (Excel)")] = False,
) -> StreamingResponse:
    """The failed and warned rows, ready to fix and re-upload (role viewer)."""
    job, pages = await error_file_rows(store, tenant=principal.tenant, job_id=job_id)

    async def body() -> AsyncIterator[str]:
        if bom:
            yield "\ufeff"
        async for rows in pages:
            yield _csv_text(rows)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )
