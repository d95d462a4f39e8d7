"""Bulk actions from the contact list: selected rows or all matching, with a progress view."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.list_filter import LIST_FILTERS, contact_filter
from crm_console.domain.values import split_list, text_or_none
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require

router = APIRouter()

JobId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
ACTIONS = {
    "add_tags": "Add tags",
    "remove_tags": "Remove tags",
    "assign_owner": "Assign owner",
    "delete": "Delete",
}
FINISHED = ("completed", "failed", "cancelled")
NOT_AVAILABLE = {"title": "Not available", "message": "Bulk actions are not available here."}


def selection_filter(form: Any) -> dict[str, Any]:
    """The list's current filters (hidden in the bulk form) as the API's contact filter."""
    return contact_filter({name: str(form.get(f"filter.{name}") or "") for name in LIST_FILTERS})


def _params(action: str, value: str) -> dict[str, Any]:
    if action in ("add_tags", "remove_tags"):
        return {"tags": split_list(value)}
    if action == "assign_owner":
        return {"owner": text_or_none(value)}
    return {}


@router.post("/contacts/bulk")
async def start_bulk_action(request: Request, session: CurrentSession, api: Api) -> Response:
    """Queue the action for the selected contacts, or for all matching the filters."""
    require(session, "editor")
    form = await request.form()
    action = str(form.get("action") or "")
    ids = [str(v) for v in form.getlist("ids")]
    every = form.get("scope") == "all"
    criteria = selection_filter(form)
    error = None
    if action not in ACTIONS:
        error = "Choose an action."
    elif not every and not ids:
        error = "Select at least one contact, or choose all matching contacts."
    elif every and action == "delete" and not criteria:
        # With no filter "all matching" is every contact of the tenant: one slip of a radio
        # button would delete them all.
        error = (
            "Search or filter first: deleting all matching contacts without a filter would "
            "delete every contact."
        )
    if error is not None:
        # Back to the list as it was (its filters), not to an empty one.
        kept = [(name, str(form.get(f"filter.{name}") or "")) for name in LIST_FILTERS]
        back = f"/contacts?{urlencode([(n, v) for n, v in kept if v])}"
        context = {"title": "Nothing to do", "message": error, "back_url": back}
        return render(request, "error.html", context, session=session, status_code=422)
    body: dict[str, Any] = {"action": action, "params": _params(action, str(form.get("value")))}
    if every:
        body["filter"] = criteria
    else:
        body["ids"] = ids
    try:
        job = await api.post("contacts", "/v1/bulk-actions", key=session.api_key, json=body)
    except ApiError as exc:
        if exc.route_missing:
            return render(request, "error.html", NOT_AVAILABLE, session=session, status_code=404)
        raise
    return redirect(request, f"/bulk/{job['id']}")


@router.get("/bulk/{job_id}")
async def bulk_progress(
    request: Request, job_id: JobId, session: CurrentSession, api: Api
) -> Response:
    """The action's progress (the page polls until it finishes)."""
    job = await api.get("contacts", f"/v1/bulk-actions/{job_id}", key=session.api_key)
    template = "partials/bulk_status.html" if request.headers.get("hx-request") else "bulk.html"
    context = {"job": job, "finished": FINISHED, "labels": ACTIONS}
    return render(request, template, context, session=session)
