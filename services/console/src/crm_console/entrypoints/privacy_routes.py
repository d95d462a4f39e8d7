"""Privacy: erasure requests with each service's status, access requests, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require

router = APIRouter()

RequestId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
ContactIdField = Annotated[str, Form(max_length=100)]
# GDPR Art. 12(3): answer within one month of the request.
RESPONSE_DEADLINE = timedelta(days=30)


def due_date(requested_at: str) -> str:
    """The date by which a request must be answered."""
    moment = datetime.fromisoformat(requested_at.replace("Z", "+00:00"))
    return (moment + RESPONSE_DEADLINE).date().isoformat()


@router.get("/privacy")
async def privacy_home(
    request: Request, session: CurrentSession, error: str | None = None
) -> Response:
    """Erasure and access requests (admin)."""
    require(session, "admin")
    return render(
        request, "privacy.html", {"error": error, "erasures": session.erasures}, session=session
    )


@router.post("/privacy/erasures")
async def request_erasure(
    request: Request, session: CurrentSession, api: Api, contact_id: ContactIdField = ""
) -> Response:
    """Start erasing a contact everywhere, then follow each service's receipt."""
    require(session, "admin")
    try:
        erasure = await api.post(
            "gdpr",
            "/v1/erasure-requests",
            key=session.api_key,
            json={"contact_id": contact_id.strip()},
        )
    except ApiError as exc:
        if exc.status not in (404, 409, 410, 422):
            raise
        context = {"error": _contact_problem(exc), "erasures": session.erasures}
        return render(request, "privacy.html", context, session=session, status_code=exc.status)
    if erasure["id"] not in session.erasures:
        session.erasures.insert(0, erasure["id"])
    return redirect(request, f"/privacy/erasures/{erasure['id']}")


def _contact_problem(exc: ApiError) -> str:
    if exc.status == 422:
        return "Enter a contact id (letters, digits, '-', '_', '.', ':')."
    return exc.message


@router.get("/privacy/erasures/{erasure_id}")
async def erasure_page(
    request: Request, erasure_id: RequestId, session: CurrentSession, api: Api
) -> Response:
    """An erasure request: overall status, due date and each service's receipt."""
    require(session, "admin")
    erasure = await api.get("gdpr", f"/v1/erasure-requests/{erasure_id}", key=session.api_key)
    template = (
        "partials/erasure_status.html" if request.headers.get("hx-request") else ("erasure.html")
    )
    context = {"erasure": erasure, "due": due_date(erasure["requested_at"])}
    return render(request, template, context, session=session)


@router.post("/privacy/access")
async def access_request(
    session: CurrentSession, api: Api, contact_id: ContactIdField = ""
) -> Response:
    """A data-subject access request: everything held about the contact, as a JSON file."""
    require(session, "admin")
    response = await api.send(
        "gdpr",
        "POST",
        "/v1/data-exports",
        key=session.api_key,
        json={"contact_id": contact_id.strip()},
    )
    return Response(
        response.content,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="subject-data-{contact_id.strip()}.json"'
        },
    )


@router.get("/privacy/audit")
async def audit_log(
    request: Request,
    session: CurrentSession,
    api: Api,
    contact_id: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The audit log, oldest first, by contact and action, with the chain check."""
    require(session, "admin")
    params: dict[str, Any] = {"limit": 100}
    if contact_id.strip():
        params["contact_id"] = contact_id.strip()
    if cursor:
        params["cursor"] = cursor
    error = None
    try:
        page = await api.get("gdpr", "/v1/audit-log", key=session.api_key, params=params)
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        page, error = {"items": [], "next_cursor": None}, "Enter a valid contact id."
    items = [e for e in page["items"] if not action or action.lower() in e["action"].lower()]
    return render(
        request,
        "audit.html",
        {
            "items": items,
            "next_cursor": page.get("next_cursor"),
            "contact_id": contact_id,
            "action": action,
            "error": error,
        },
        session=session,
    )


@router.get("/privacy/audit/verify")
async def verify_chain(request: Request, session: CurrentSession, api: Api) -> Response:
    """Recompute the audit log's hash chain and say whether it holds."""
    require(session, "admin")
    report = await api.get("gdpr", "/v1/audit-log/verify", key=session.api_key)
    return render(request, "partials/chain_report.html", {"report": report}, session=session)
