"""Exports: choose a filter and the fields, follow the export, download the CSV."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse

from crm_console.adapters.api import ApiError
from crm_console.domain.list_filter import LIST_FILTERS, SOURCE_NAMES, contact_filter
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render
from crm_console.service_layer.screens import campaigns_or_none, custom_field_definitions
from crm_shared.contact_fields import EXPORTABLE_FIELDS

router = APIRouter()

ExportId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
DEFAULT_FIELDS = ("name", "email", "phone", "company", "tags")


async def _form_context(api: Api, key: str) -> dict[str, Any]:
    definitions, campaigns = await asyncio.gather(
        custom_field_definitions(api, key), campaigns_or_none(api, key)
    )
    fields = [(name, name.replace("_", " ")) for name in EXPORTABLE_FIELDS]
    fields += [
        (f"custom.{d['key']}", f"{d.get('label') or d['key']} (custom)") for d in definitions
    ]
    return {
        "fields": fields,
        "sources": SOURCE_NAMES,
        "defaults": DEFAULT_FIELDS,
        "definitions": definitions,
        "campaigns": campaigns,
    }


@router.get("/exports/new")
async def export_form(request: Request, session: CurrentSession, api: Api) -> Response:
    """Pick which contacts (filter) and which fields to export; the contact list's "Export
    these contacts" link fills in its filters."""
    context = await _form_context(api, session.api_key)
    values = {name: request.query_params.get(name, "")[:200] for name in LIST_FILTERS}
    return render(
        request, "export_new.html", {**context, "error": None, "values": values}, session=session
    )


@router.post("/exports")
async def start_export(request: Request, session: CurrentSession, api: Api) -> Response:
    """Queue the export with the importer and follow it."""
    form = await request.form()
    fields = [str(v) for v in form.getlist("fields")]
    values = {name: str(form.get(name) or "") for name in LIST_FILTERS}
    body: dict[str, Any] = {"fields": fields, "filter": contact_filter(values)}
    error = None if fields else "Choose at least one field."
    if error is None:
        try:
            export = await api.post("importer", "/v1/exports", key=session.api_key, json=body)
        except ApiError as exc:
            if exc.status != 422:
                raise
            error = exc.message
        else:
            return redirect(request, f"/exports/{export['id']}")
    context = await _form_context(api, session.api_key)
    return render(
        request,
        "export_new.html",
        {**context, "error": error, "values": values, "defaults": fields},
        session=session,
        status_code=422,
    )


@router.get("/exports/{export_id}")
async def export_page(
    request: Request, export_id: ExportId, session: CurrentSession, api: Api
) -> Response:
    """The export's state; the page polls until it completes, then offers the download."""
    export = await api.get("importer", f"/v1/exports/{export_id}", key=session.api_key)
    template = (
        "partials/export_status.html" if request.headers.get("hx-request") else ("export_job.html")
    )
    return render(request, template, {"export": export}, session=session)


@router.get("/exports/{export_id}/download")
async def download(export_id: ExportId, session: CurrentSession, api: Api) -> Response:
    """The export's CSV, streamed through from the importer."""
    url = api.stream_url("importer", f"/v1/exports/{export_id}/download")
    request = api.client.build_request(
        "GET", url, headers={"Authorization": f"Bearer {session.api_key}"}
    )
    upstream = await api.client.send(request, stream=True)
    if upstream.status_code >= 400:
        await upstream.aread()
        await upstream.aclose()
        raise ApiError(upstream.status_code, upstream.json())

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await upstream.aclose()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="contacts-{export_id}.csv"'},
    )
