"""Possible duplicates on the contact page, the merge preview with a choice per field, undo.

The duplicates and merges APIs are newer than the console; where a deployment lacks them (404
on the route itself), the screens say "not available" instead of failing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.entrypoints.contact_routes import ContactId
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require

router = APIRouter()

Id = Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.get("/contacts/{contact_id}/duplicates")
async def duplicates(
    request: Request, contact_id: ContactId, session: CurrentSession, api: Api
) -> Response:
    """The contact's likely duplicates, best first (loaded after the page)."""
    try:
        found = await api.get(
            "contacts", f"/v1/contacts/{contact_id}/duplicates", key=session.api_key
        )
    except ApiError as exc:
        if not exc.route_missing:
            raise
        found = None
    context = {"contact_id": contact_id, "candidates": None if found is None else found["items"]}
    return render(request, "partials/duplicates.html", context, session=session)


async def _contact(api: Api, key: str, contact_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await api.get("contacts", f"/v1/contacts/{contact_id}", key=key)
    return result


@router.get("/merges/new")
async def merge_preview_page(
    request: Request, session: CurrentSession, api: Api, primary: Id, duplicate: Id
) -> Response:
    """The merged contact as it would be saved, and a choice for each conflicting field."""
    require(session, "editor")
    return await _preview(request, session, api, primary, duplicate, choices={})


async def _preview(
    request: Request,
    session: CurrentSession,
    api: Api,
    primary: str,
    duplicate: str,
    *,
    choices: dict[str, str],
    error: str | None = None,
) -> Response:
    body = {"primary_id": primary, "duplicate_ids": [duplicate], "field_choices": choices}
    try:
        preview = await api.post("contacts", "/v1/merges/preview", key=session.api_key, json=body)
    except ApiError as exc:
        if not exc.route_missing:
            raise
        return render(
            request,
            "error.html",
            {"title": "Not available", "message": "Merging is not available on this platform."},
            session=session,
            status_code=404,
        )
    contacts = {cid: await _contact(api, session.api_key, cid) for cid in (primary, duplicate)}
    context = {
        "preview": preview,
        "contacts": contacts,
        "primary": primary,
        "duplicate": duplicate,
        "choices": choices,
        "error": error,
    }
    return render(request, "merge_preview.html", context, session=session)


def _choices(form: Any, allowed: set[str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for name, value in form.multi_items():
        if name.startswith("choice.") and str(value) in allowed:
            chosen[name.removeprefix("choice.")] = str(value)
    return chosen


@router.post("/merges")
async def merge(request: Request, session: CurrentSession, api: Api) -> Response:
    """Update the preview with the choices, or merge for real and show the merge with Undo."""
    require(session, "editor")
    form = await request.form()
    primary, duplicate = str(form.get("primary") or ""), str(form.get("duplicate") or "")
    choices = _choices(form, {primary, duplicate})
    if form.get("action") != "merge":
        return await _preview(request, session, api, primary, duplicate, choices=choices)
    body = {
        "primary_id": primary,
        "duplicate_ids": [duplicate],
        "field_choices": choices,
        "if_match": {primary: str(form.get("v.primary")), duplicate: str(form.get("v.dup"))},
    }
    try:
        merged = await api.post("contacts", "/v1/merges", key=session.api_key, json=body)
    except ApiError as exc:
        if exc.status not in (409, 412, 422):
            raise
        return await _preview(
            request, session, api, primary, duplicate, choices=choices, error=exc.message
        )
    return redirect(request, f"/merges/{merged['id']}")


@router.get("/merges/{merge_id}")
async def merge_page(
    request: Request, merge_id: ContactId, session: CurrentSession, api: Api
) -> Response:
    """A merge: who was merged into whom, and Undo while it is possible."""
    record = await api.get("contacts", f"/v1/merges/{merge_id}", key=session.api_key)
    return render(request, "merge.html", {"merge": record, "undone": None}, session=session)


@router.post("/merges/{merge_id}/undo")
async def undo(
    request: Request, merge_id: ContactId, session: CurrentSession, api: Api
) -> Response:
    """Undo the merge: every contact comes back; the primary's later edits are kept."""
    require(session, "editor")
    try:
        undone = await api.post("contacts", f"/v1/merges/{merge_id}/undo", key=session.api_key)
    except ApiError as exc:
        if exc.status != 409:
            raise
        record = await api.get("contacts", f"/v1/merges/{merge_id}", key=session.api_key)
        context = {"merge": record, "undone": None, "error": exc.message}
        return render(request, "merge.html", context, session=session, status_code=409)
    return render(request, "merge.html", {"merge": undone, "undone": undone}, session=session)
