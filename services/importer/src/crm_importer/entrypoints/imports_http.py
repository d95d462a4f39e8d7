"""`/v1/imports`: upload a CSV, follow the job, list its failed rows."""

from __future__ import annotations

from typing import Annotated, Any, cast, get_args

from fastapi import APIRouter, Query, Request, Response

from crm_importer.adapters.multipart import ReceivedForm, receive_form
from crm_importer.domain.commands import StartImport
from crm_importer.domain.fields import IMPORT_FIELDS
from crm_importer.domain.mapping import parse_mapping
from crm_importer.entrypoints.deps import (
    ContactsDep,
    DryRunsDep,
    FilesDep,
    SettingsDep,
    StoreDep,
    WorkerDep,
)
from crm_importer.entrypoints.form_options import (
    LAYOUT_FIELDS,
    MATCH_IDENTIFIERS,
    flag,
    layout_choice,
    match_on,
    refuse_unknown_fields,
)
from crm_importer.entrypoints.import_jobs_http import ALLOW_REPEAT_HELP, answer_repeat
from crm_importer.entrypoints.pagination import decode_cursor, encode_cursor
from crm_importer.entrypoints.preview_schemas import ImportPreview
from crm_importer.entrypoints.schemas import (
    ROW_NUMBER_HELP,
    ImportErrorItem,
    ImportErrorPage,
    ImportJobPublic,
    JobAccepted,
)
from crm_importer.service_layer import queries
from crm_importer.service_layer.imports import FieldDefinitions, start_import
from crm_importer.service_layer.preview import preview_upload
from crm_shared.events.imports import DuplicatePolicy
from crm_shared.http import EditorAuth, ViewerAuth
from crm_shared.idempotency import IdempotentUpload
from crm_shared.idempotent_work import after_commit
from crm_shared.ids import new_id
from crm_shared.problems import Unprocessable

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV or other delimited text in any common encoding, "
                            ".xlsx, .xls or .ods, with a header row.",
                        },
                        "mapping": {
                            "type": "string",
                            "description": "JSON object, column header -> field "
                            f"({', '.join(IMPORT_FIELDS)}, custom.<key> of a defined custom "
                            "field); "
                            '"" or null ignores a column. Unmapped headers map by name, '
                            "ignoring case.",
                        },
                        "on_duplicate": {
                            "type": "string",
                            "enum": ["skip", "update", "create"],
                            "default": "skip",
                            "description": "What to do with a row whose email already exists.",
                        },
                        "allow_repeat": {
                            "type": "boolean",
                            "default": False,
                            "description": ALLOW_REPEAT_HELP,
                        },
                        "match_on": {
                            "type": "string",
                            "description": "Which identifiers find the existing contact a row "
                            f"is, in order, comma-separated ({', '.join(MATCH_IDENTIFIERS)}); "
                            "default: email, then phone. external_id needs a column mapped to "
                            "external_ids.<system>.",
                        },
                        "create_fields": {
                            "type": "boolean",
                            "default": False,
                            "description": "true defines each custom field the mapping names "
                            "(custom.<key>) and the tenant lacks, typed from the column's values "
                            "(number, date, boolean, else text) or as the mapping says "
                            "(custom.<key>:number); admin role. Otherwise such a "
                            "mapping is a 422 naming the column and the field.",
                        },
                        "dry_run": {
                            "type": "boolean",
                            "default": False,
                            "description": "true reads, maps and validates the whole file and "
                            "decides every row against your live contacts as an import would, "
                            "writing nothing: the job completes with dry_run true, the counts "
                            "of what would be created, updated, skipped and failed, and "
                            "errors.csv listing the rows that would fail or warn.",
                        },
                    },
                }
            }
        },
    }
}
_LAYOUT_PROPERTIES: dict[str, Any] = {
    "encoding": {
        "type": "string",
        "description": "The file's encoding (utf-8, utf-16, cp1252, latin-1...); "
        "detected if absent.",
    },
    "delimiter": {
        "type": "string",
        "description": "',', ';', '|' or tab (also: comma, semicolon, pipe, tab); "
        "detected if absent.",
    },
    "header_row": {
        "type": "integer",
        "description": "1-based row holding the header (rows above it are skipped); "
        "detected if absent.",
    },
    "sheet": {"type": "string", "description": "The workbook sheet to read; the first if absent."},
}
_UPLOAD_BODY["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"].update(
    _LAYOUT_PROPERTIES
)
_PREVIEW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "mapping": {
                            "type": "string",
                            "description": "JSON object, column header -> field, as for an import.",
                        },
                        "create_fields": {
                            "type": "boolean",
                            "default": False,
                            "description": "As for an import: mapping_problems then say the "
                            "undefined custom fields an upload would create (a preview creates "
                            "nothing).",
                        },
                        **_LAYOUT_PROPERTIES,
                    },
                }
            }
        },
    }
}
_POLICIES: tuple[str, ...] = get_args(DuplicatePolicy)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such import in your tenant."}
}


IMPORT_FIELDS_ALLOWED = (
    "mapping",
    "on_duplicate",
    "allow_repeat",
    "match_on",
    "dry_run",
    "create_fields",
    *LAYOUT_FIELDS,
)


def _command(job_id: str, form: ReceivedForm) -> StartImport:
    if not form.file_received:
        raise Unprocessable("a CSV file part named 'file' is required", extra={"field": "file"})
    if form.file_bytes == 0:
        raise Unprocessable(
            "the file is empty; send a CSV with a header row", extra={"field": "file"}
        )
    refuse_unknown_fields(form.fields, IMPORT_FIELDS_ALLOWED)
    on_duplicate = form.fields.get("on_duplicate", "").strip() or "skip"
    if on_duplicate not in _POLICIES:
        raise Unprocessable(
            f"on_duplicate must be one of {', '.join(_POLICIES)}, not '{on_duplicate}'",
            extra={"field": "on_duplicate"},
        )
    return StartImport(
        job_id=job_id,
        on_duplicate=cast(DuplicatePolicy, on_duplicate),
        mapping=parse_mapping(form.fields.get("mapping")),
        file_bytes=form.file_bytes,
        file_sha256=form.file_sha256,
        layout=layout_choice(form.fields),
        match_on=match_on(form.fields),
        dry_run=flag(form.fields, "dry_run"),
        create_fields=flag(form.fields, "create_fields"),
    )


@router.post(
    "",
    status_code=202,
    response_model=JobAccepted,
    summary="Upload a CSV and queue its import",
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"description": "The same file was imported in the last 24 hours: that import."},
        413: {"description": "The file is larger than the configured limit."},
    },
)
async def create_import(
    request: Request,
    response: Response,
    principal: EditorAuth,
    store: StoreDep,
    files: FilesDep,
    settings: SettingsDep,
    worker: WorkerDep,
    dry_runs: DryRunsDep,
    contacts: ContactsDep,
    idempotency: IdempotentUpload,
) -> JobAccepted:
    """Stream the upload to disk, check its header and mapping, and queue the job (role editor)."""
    job_id = new_id()
    try:
        with files.open_partial_upload(job_id) as sink:
            form = await receive_form(
                request, sink, file_field="file", max_file_bytes=settings.importer_max_upload_bytes
            )
        command = _command(job_id, form)
        # Only now is the body known: a replay answers here, and its copy of the file goes.
        await idempotency.claim(form.digest())
        # A dry run writes nothing: running it again, or importing after it, is no repeat.
        repeat = None
        if not command.dry_run:
            repeat = await answer_repeat(store, response, tenant=principal.tenant, form=form)
        if repeat is not None:
            files.delete_upload(job_id)
            return repeat
    except BaseException:
        files.delete_upload(job_id)
        raise
    authorization = request.headers["authorization"]
    job = await start_import(
        store,
        files,
        command,
        tenant=principal.tenant,
        actor=principal.key_id,
        definitions=FieldDefinitions(contacts, authorization),
        replica=dry_runs.owner,
    )
    # Once the job is committed (with a key, that is when the answer is kept): before, they
    # would find no job.
    if job.dry_run:
        after_commit(lambda: dry_runs.start(job, authorization=authorization))
    else:
        after_commit(worker.wake)
    response.headers["Location"] = f"/v1/imports/{job.id}"
    return JobAccepted(id=job.id, status=job.status)


PREVIEW_FIELDS_ALLOWED = ("mapping", "create_fields", *LAYOUT_FIELDS)


@router.post(
    "/preview",
    response_model=ImportPreview,
    summary="Show how a file would be read and mapped, storing nothing",
    openapi_extra=_PREVIEW_BODY,
    responses={413: {"description": "The file is larger than the configured limit."}},
)
async def preview_import(
    request: Request,
    principal: EditorAuth,
    files: FilesDep,
    settings: SettingsDep,
    contacts: ContactsDep,
) -> ImportPreview:
    """Detect the layout, suggest a field per column, show the first rows and the custom fields
    the mapping names that are not defined (role editor)."""
    preview_id = new_id()
    try:
        with files.open_partial_upload(preview_id) as sink:
            form = await receive_form(
                request, sink, file_field="file", max_file_bytes=settings.importer_max_upload_bytes
            )
        if not form.file_received or form.file_bytes == 0:
            raise Unprocessable(
                "a non-empty file part named 'file' is required", extra={"field": "file"}
            )
        refuse_unknown_fields(form.fields, PREVIEW_FIELDS_ALLOWED)
        create_fields = flag(form.fields, "create_fields")
        preview = await preview_upload(
            files.partial_upload_path(preview_id),
            choice=layout_choice(form.fields),
            mapping=parse_mapping(form.fields.get("mapping")),
            region=settings.crm_default_region,
            definitions=FieldDefinitions(contacts, request.headers["authorization"]),
        )
    finally:
        files.delete_upload(preview_id)
    return ImportPreview.of(preview, create_fields=create_fields)


@router.get("/{job_id}", response_model=ImportJobPublic, responses=_NOT_FOUND)
async def get_import(job_id: str, principal: ViewerAuth, store: StoreDep) -> ImportJobPublic:
    """An import's status and counts (role viewer)."""
    return ImportJobPublic.of(
        await queries.get_import(store, tenant=principal.tenant, job_id=job_id)
    )


@router.get(
    "/{job_id}/errors",
    response_model=ImportErrorPage,
    responses=_NOT_FOUND,
    description="The failed rows of an import with their reasons, and the imported rows with "
    "warnings (cells left out), in row order. " + ROW_NUMBER_HELP,
)
async def list_import_errors(
    job_id: str,
    principal: ViewerAuth,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ImportErrorPage:
    """Failed rows, paginated (role viewer)."""
    page = await queries.import_errors(
        store, tenant=principal.tenant, job_id=job_id, limit=limit, after=decode_cursor(cursor)
    )
    return ImportErrorPage(
        items=[ImportErrorItem.model_validate(d) for d in page.items],
        next_cursor=encode_cursor(page.after.value, page.after.id) if page.after else None,
    )
