"""The import wizard: upload, mapping with suggestions, start, progress, rejected rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from crm_console.adapters.uploads import UnreadableCsv, UploadStore
from crm_console.domain.mapping import field_choices, suggest_mapping
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require
from crm_console.service_layer.screens import custom_field_definitions

router = APIRouter()

JobId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
POLICIES = (
    ("skip", "Skip the row"),
    ("update", "Update the contact"),
    ("create", "Create another contact"),
)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
FINISHED = ("completed", "failed")


def _uploads(request: Request) -> UploadStore:
    store: UploadStore = request.app.state.uploads
    return store


@router.get("/imports/new")
async def upload_form(request: Request, session: CurrentSession) -> Response:
    """Step 1: choose a CSV file."""
    require(session, "editor")
    return render(request, "import_upload.html", {"error": None}, session=session)


@router.post("/imports/upload")
async def upload(request: Request, session: CurrentSession, api: Api) -> Response:
    """Step 2: read the header row and suggest a field for each column."""
    require(session, "editor")
    form = await request.form()
    file = form.get("file")
    error = None
    if not isinstance(file, UploadFile) or not file.filename:
        error = "Choose a CSV file to upload."
    else:
        content = await file.read(MAX_UPLOAD_BYTES + 1)
        if not content:
            error = "The file is empty; choose a CSV with a header row."
        elif len(content) > MAX_UPLOAD_BYTES:
            error = "The file is larger than 200 MB."
    if error is None:
        assert isinstance(file, UploadFile)
        try:
            held = _uploads(request).hold(
                owner=session.id, filename=file.filename or "", content=content
            )
        except UnreadableCsv as exc:
            error = f"The file cannot be read: {exc}."
    if error is not None:
        context = {"error": error}
        return render(request, "import_upload.html", context, session=session, status_code=422)
    definitions = await custom_field_definitions(api, session.api_key)
    custom = [(d["key"], str(d.get("label") or d["key"])) for d in definitions]
    return render(
        request,
        "import_mapping.html",
        {
            "upload": held,
            "suggested": suggest_mapping(held.headers, custom),
            "choices": field_choices(custom),
            "policies": POLICIES,
            "error": None,
        },
        session=session,
    )


@router.post("/imports/start")
async def start(request: Request, session: CurrentSession, api: Api) -> Response:
    """Step 3: send the file and the chosen mapping to the importer, then follow the job."""
    require(session, "editor")
    form = await request.form()
    uploads = _uploads(request)
    held = uploads.get(str(form.get("upload") or ""), owner=session.id)
    if held is None:
        return render(
            request,
            "import_upload.html",
            {"error": "The upload expired; choose the file again."},
            session=session,
            status_code=422,
        )
    mapping = {
        header: str(form.get(f"map.{index}") or "") for index, header in enumerate(held.headers)
    }
    policy = str(form.get("on_duplicate") or "skip")
    with held.path.open("rb") as handle:
        response = await api.send(
            "importer",
            "POST",
            "/v1/imports",
            key=session.api_key,
            files={"file": (held.filename, handle, "text/csv")},
            data={"mapping": json.dumps(mapping), "on_duplicate": policy},
        )
    uploads.release(held.token)
    return redirect(request, f"/imports/{response.json()['id']}")


@router.get("/imports/{job_id}")
async def job_page(request: Request, job_id: JobId, session: CurrentSession, api: Api) -> Response:
    """Step 4: the job's progress (the page polls while it runs) and its rejected rows."""
    job = await api.get("importer", f"/v1/imports/{job_id}", key=session.api_key)
    template = (
        "partials/import_progress.html"
        if request.headers.get("hx-request")
        else ("import_job.html")
    )
    return render(request, template, {"job": job, "finished": FINISHED}, session=session)


@router.get("/imports/{job_id}/errors")
async def rejected_rows(
    request: Request, job_id: JobId, session: CurrentSession, api: Api, cursor: str = ""
) -> Response:
    """The rejected rows with their reasons, a page at a time."""
    params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
    page = await api.get(
        "importer", f"/v1/imports/{job_id}/errors", key=session.api_key, params=params
    )
    return render(request, "import_errors.html", {"job_id": job_id, "page": page}, session=session)


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
