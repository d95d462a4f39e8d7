"""`/v1/exports`: export contacts to CSV or .xlsx, list and follow exports, download the file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from crm_importer.domain.commands import RequestExport
from crm_importer.domain.exports import ExportFormat
from crm_importer.entrypoints.deps import ExportRunnerDep, FilesDep, StoreDep
from crm_importer.entrypoints.pagination import decode_id_cursor, encode_id_cursor
from crm_importer.entrypoints.schemas import ExportCreate, ExportList, ExportPublic
from crm_importer.service_layer import queries
from crm_importer.service_layer.exports import request_export
from crm_shared.http import ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.problems import Conflict, ProblemError

router = APIRouter(prefix="/v1/exports", tags=["exports"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such export in your tenant."}
}
_MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Gone(ProblemError):
    """The export's file was deleted for good."""

    status = 410
    title = "Gone"


@router.post(
    "",
    status_code=202,
    response_model=ExportPublic,
    responses={
        403: {"description": "Exporting deleted contacts (`filter.deleted`) needs role editor."},
        422: {"description": "No field, or a field that cannot be exported (named)."},
    },
    dependencies=[Idempotent],
)
async def create_export(
    body: ExportCreate,
    request: Request,
    principal: ViewerAuth,
    store: StoreDep,
    runner: ExportRunnerDep,
) -> ExportPublic:
    """Queue an export of the matching contacts with exactly these fields (role viewer).

    Deleted contacts are for editors, as in the contacts API: refused here, not when read.
    """
    if body.filter is not None and body.filter.deleted:
        principal.require("editor")
    command = RequestExport.model_validate(body.model_dump(exclude_none=True))
    export = await request_export(
        store, command, tenant=principal.tenant, actor=principal.key_id, replica=runner.owner
    )
    # The caller's key reads the contacts with the caller's rights; it is kept in memory only.
    runner.start(export, authorization=request.headers["authorization"])
    return ExportPublic.of(export)


@router.get("", response_model=ExportList)
async def list_exports(
    principal: ViewerAuth,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ExportList:
    """The tenant's exports, newest first (role viewer)."""
    exports, last = await queries.list_exports(
        store, tenant=principal.tenant, limit=limit, after=decode_id_cursor(cursor)
    )
    return ExportList(
        items=[ExportPublic.of(export) for export in exports], next_cursor=encode_id_cursor(last)
    )


@router.get("/{export_id}", response_model=ExportPublic, responses=_NOT_FOUND)
async def get_export(export_id: str, principal: ViewerAuth, store: StoreDep) -> ExportPublic:
    """An export's state (role viewer)."""
    return ExportPublic.of(
        await queries.get_export(store, tenant=principal.tenant, export_id=export_id)
    )


@router.get(
    "/{export_id}/download",
    response_class=FileResponse,
    responses={
        200: {
            "content": {media_type.split(";")[0]: {} for media_type in _MEDIA_TYPES.values()},
            "description": "The file in the export's format, header row first.",
        },
        409: {"description": "The export is not completed yet."},
        410: {"description": "The file was deleted after an erasure request."},
        **_NOT_FOUND,
    },
)
async def download_export(
    export_id: str, principal: ViewerAuth, store: StoreDep, files: FilesDep
) -> FileResponse:
    """The export's file, streamed from disk (role viewer)."""
    export = await queries.get_export(store, tenant=principal.tenant, export_id=export_id)
    if export.status == "expired" or (
        export.status == "completed" and not files.export_exists(export.id)
    ):
        raise Gone(f"export {export_id} is no longer available: {export.error or 'file deleted'}")
    if export.status != "completed":
        raise Conflict(
            f"export {export_id} is {export.status}, not completed; download it once it completes",
            extra={"export_status": export.status},
        )
    return FileResponse(
        files.export_path(export.id, export.format),
        media_type=_MEDIA_TYPES[export.format],
        filename=f"contacts-export-{export.id}.{export.format}",
    )
