"""The import wizard: upload, mapping with suggestions, start, progress, rejected rows."""

from __future__ import annotations

import csv
import functools
import io
import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from crm_console.adapters.api import ApiError
from crm_console.domain.csv_head import UnreadableCsv
from crm_console.domain.mapping import column_choices, field_choices, suggest_mapping
from crm_console.domain.paging import MAX_BACK, page_links
from crm_console.entrypoints.deps import (
    Api,
    CurrentSession,
    Settings,
    Store,
    redirect,
    render,
    require,
)
from crm_console.service_layer.mapping_check import check_mapping
from crm_console.service_layer.screens import custom_field_definitions
from crm_console.service_layer.uploads import (
    HeldUpload,
    UploadTooLarge,
    held_upload,
    hold_upload,
    release_upload,
    remember_choices,
    upload_file,
)

router = APIRouter()

JobId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
POLICIES = (
    ("skip", "Skip the row"),
    ("update", "Update the contact"),
    ("create", "Create another contact"),
)
FINISHED = ("completed", "failed")
UploadToken = Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]*$")]


@router.get("/imports/new")
async def upload_form(request: Request, session: CurrentSession) -> Response:
    """Step 1: choose a CSV file."""
    require(session, "editor")
    return render(request, "import_upload.html", {"error": None}, session=session)


def _upload_refused(request: Request, session: CurrentSession, error: str) -> Response:
    context = {"error": error}
    return render(request, "import_upload.html", context, session=session, status_code=422)


@router.post("/imports/upload")
async def upload(
    request: Request, session: CurrentSession, api: Api, store: Store, settings: Settings
) -> Response:
    """Step 2: keep the file, read its header row and suggest a field for each column."""
    require(session, "editor")
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _upload_refused(request, session, "Choose a CSV file to upload.")
    try:
        held = await hold_upload(
            store,
            owner=session.ref,
            filename=file.filename,
            read=file.read,
            max_bytes=settings.console_max_upload_mb * 2**20,
            hold_for=timedelta(minutes=settings.console_upload_hold_minutes),
        )
    except (UnreadableCsv, UploadTooLarge) as exc:
        return _upload_refused(request, session, f"The file cannot be used: {exc}.")
    return await _mapping_page(request, session, api, store, held)


async def _mapping_page(
    request: Request,
    session: CurrentSession,
    api: Api,
    store: Store,
    held: HeldUpload,
    *,
    chosen: dict[str, str] | None = None,
    policy: str = POLICIES[0][0],
    create_fields: bool = False,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The mapping step: each column with its samples, field and what the importer says of it."""
    definitions = await custom_field_definitions(api, session.api_key)
    custom = [(d["key"], str(d.get("label") or d["key"])) for d in definitions]
    mapping = chosen if chosen is not None else suggest_mapping(held.headers, custom)
    check = await check_mapping(
        api, store, held, key=session.api_key, mapping=mapping, create_fields=create_fields
    )
    choices = field_choices(custom)
    columns = [
        {
            "index": index,
            "header": header,
            "samples": [row[index] for row in held.samples if len(row) > index],
            "chosen": mapping.get(header, ""),
            "options": column_choices(header, choices, mapping.get(header, "")),
            "problem": check.problems.get(header),
        }
        for index, header in enumerate(held.headers)
    ]
    return render(
        request,
        "import_mapping.html",
        {
            "upload": held,
            "columns": columns,
            "check": check,
            "create_fields": create_fields,
            "policies": POLICIES,
            "policy": policy,
            "error": error,
        },
        session=session,
        status_code=status,
    )


@router.post("/imports/start")
async def start(request: Request, session: CurrentSession, api: Api, store: Store) -> Response:
    """Step 3: check the mapping with the importer, or send the file to it (as a dry run, or to
    import), then follow the job.

    After a dry run the file stays held with its choices, so the import can follow unchanged.
    """
    require(session, "editor")
    form = await request.form()
    held = await held_upload(store, str(form.get("upload") or ""), owner=session.ref)
    if held is None:
        return _upload_refused(request, session, "The upload expired; choose the file again.")
    mode = form.get("mode")
    if form.get("use_saved") == "true":
        mapping, policy, create_fields = held.mapping, held.on_duplicate, held.create_fields
    else:
        mapping = {h: str(form.get(f"map.{i}") or "") for i, h in enumerate(held.headers)}
        policy = str(form.get("on_duplicate") or "skip")
        create_fields = form.get("create_fields") == "true"
    # The mapping step again with the person's choices: after a check, or with the importer's
    # refusal beside them.
    mapping_again = functools.partial(
        _mapping_page,
        request,
        session,
        api,
        store,
        held,
        chosen=mapping,
        policy=policy,
        create_fields=create_fields,
    )
    if mode == "check":
        return await mapping_again()
    dry_run = mode == "dry_run"
    data = {"mapping": json.dumps(mapping), "on_duplicate": policy}
    if create_fields:
        data["create_fields"] = "true"
    if dry_run:
        data["dry_run"] = "true"
    try:
        async with upload_file(store, held) as content:
            response = await api.send(
                "importer",
                "POST",
                "/v1/imports",
                key=session.api_key,
                files={"file": (held.filename, content, "text/csv")},
                data=data,
            )
    except ApiError as exc:
        if exc.status not in (403, 409, 413, 422):
            raise
        # The importer's reason (an undefined custom field, a column mapped twice, a field only
        # an admin may create) next to the mapping the person chose, to correct it.
        return await mapping_again(error=exc.message, status=exc.status)
    job_id = response.json()["id"]
    if not dry_run:
        await release_upload(store, held.token)
        return redirect(request, f"/imports/{job_id}")
    await remember_choices(
        store,
        held,
        mapping=mapping,
        on_duplicate=policy,
        create_fields=create_fields,
        dry_run_job=job_id,
    )
    return redirect(request, f"/imports/{job_id}?{urlencode({'upload': held.token})}")


@router.get("/imports/{job_id}")
async def job_page(
    request: Request,
    job_id: JobId,
    session: CurrentSession,
    api: Api,
    store: Store,
    upload: UploadToken = "",
) -> Response:
    """Step 4: the job's progress (the page polls while it runs) and its rejected rows.

    A finished dry run whose file this session still holds offers to import it for real.
    """
    job = await api.get("importer", f"/v1/imports/{job_id}", key=session.api_key)
    held = None
    if job.get("dry_run") and job["status"] in FINISHED and session.can_edit:
        found = await held_upload(store, upload, owner=session.ref)
        held = found if found is not None and found.dry_run_job == job_id else None
    template = (
        "partials/import_progress.html" if request.headers.get("hx-request") else "import_job.html"
    )
    context = {"job": job, "finished": FINISHED, "held": held, "upload": upload}
    return render(request, template, context, session=session)


@router.get("/imports/{job_id}/errors")
async def rejected_rows(
    request: Request,
    job_id: JobId,
    session: CurrentSession,
    api: Api,
    cursor: Annotated[str, Query(max_length=200)] = "",
    back: Annotated[list[str], Query(max_length=MAX_BACK * 4)] = [],  # noqa: B006
) -> Response:
    """The rejected rows with their reasons, a page at a time."""
    params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
    page = await api.get(
        "importer", f"/v1/imports/{job_id}/errors", key=session.api_key, params=params
    )
    links = page_links(
        f"/imports/{job_id}/errors",
        {},
        cursor=cursor,
        back=[c for c in back if len(c) <= 200],
        next_cursor=page.get("next_cursor"),
    )
    context = {"job_id": job_id, "page": page, "links": links}
    return render(request, "import_errors.html", context, session=session)


@router.get("/imports/{job_id}/rejected.csv")
async def rejected_csv(job_id: JobId, session: CurrentSession, api: Api) -> Response:
    """Every rejected row as a CSV: row number, reason, then the row's cells."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = await api.get(
            "importer", f"/v1/imports/{job_id}/errors", key=session.api_key, params=params
        )
        rows.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row.get("values") or {}))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row_number", "reason", *columns])
    for row in rows:
        values = row.get("values") or {}
        assert isinstance(values, dict)
        writer.writerow([row["row_number"], row["reason"], *(values.get(c, "") for c in columns)])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rejected-{job_id}.csv"'},
    )
