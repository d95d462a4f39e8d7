"""Privacy: erasure requests with each service's status, access requests, the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.audit import AUDIT_ACTIONS, day_start
from crm_console.domain.paging import MAX_BACK, page_links
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require

router = APIRouter()

RequestId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
ContactIdField = Annotated[str, Form(max_length=100)]
# GDPR Art. 12(3): answer within one month of the request.
RESPONSE_DEADLINE = timedelta(days=30)
ERASURES_PER_PAGE = 50


def due_date(requested_at: str) -> str:
    """The date by which a request must be answered."""
    moment = datetime.fromisoformat(requested_at.replace("Z", "+00:00"))
    return (moment + RESPONSE_DEADLINE).date().isoformat()


ERASURE_STATUSES = ("pending", "completed", "failed")
# The gdpr API's orders (sort=), as the list's select offers them; the first is its default.
ERASURE_ORDERS = (
    ("received_at", "Oldest first"),
    ("-received_at", "Newest first"),
    ("due_at", "Due soonest first"),
    ("-due_at", "Due latest first"),
)
Cursor = Annotated[str, Query(max_length=200)]
BackCursors = Annotated[list[str], Query(max_length=MAX_BACK * 4)]


async def _privacy_page(
    request: Request,
    session: CurrentSession,
    api: Api,
    *,
    status: str = "",
    overdue: bool = False,
    sort: str = "",
    cursor: str = "",
    back: Sequence[str] = (),
    error: str | None = None,
    erase_contact: str = "",
    status_code: int = 200,
) -> Response:
    order = sort if sort in dict(ERASURE_ORDERS) else ERASURE_ORDERS[0][0]
    params: dict[str, Any] = {"limit": ERASURES_PER_PAGE, "sort": order}
    if status in ERASURE_STATUSES:
        params["status"] = status
    if overdue:
        params["overdue"] = "true"
    if cursor:
        params["cursor"] = cursor
    try:
        page = await api.get("gdpr", "/v1/erasure-requests", key=session.api_key, params=params)
    except ApiError as exc:
        if exc.status != 400 or not cursor:
            raise
        # A page link from before the order changed, or altered: say so, offer the first page.
        page = {"items": [], "next_cursor": None}
        error = "That page link no longer works; go back to the first page."
    chosen = (
        ("status", status if status in ERASURE_STATUSES else ""),
        ("overdue", "true" if overdue else ""),
        ("sort", "" if order == ERASURE_ORDERS[0][0] else order),
    )
    kept = {name: value for name, value in chosen if value}
    links = page_links(
        "/privacy", kept, cursor=cursor, back=back, next_cursor=page.get("next_cursor")
    )
    context = {
        "error": error,
        "erasures": page["items"],
        "statuses": ERASURE_STATUSES,
        "orders": ERASURE_ORDERS,
        "order_label": dict(ERASURE_ORDERS)[order],
        "filters": {"status": status, "overdue": overdue, "sort": order},
        "links": links,
        "erase_contact": erase_contact,
    }
    return render(request, "privacy.html", context, session=session, status_code=status_code)


@router.get("/privacy")
async def privacy_home(
    request: Request,
    session: CurrentSession,
    api: Api,
    status: Annotated[str, Query(max_length=20)] = "",
    overdue: bool = False,
    sort: Annotated[str, Query(max_length=20)] = "",
    cursor: Cursor = "",
    back: BackCursors = [],  # noqa: B006 - FastAPI copies a query list's default
) -> Response:
    """Erasure requests (status, due date, overdue) in the order chosen, and the forms for new
    requests (admin)."""
    require(session, "admin")
    return await _privacy_page(
        request,
        session,
        api,
        status=status,
        overdue=overdue,
        sort=sort,
        cursor=cursor,
        back=[c for c in back if len(c) <= 200],
    )


@router.post("/privacy/erasures")
async def request_erasure(
    request: Request,
    session: CurrentSession,
    api: Api,
    contact_id: ContactIdField = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Start erasing a contact everywhere, then follow each service's receipt.

    An erasure cannot be undone: the person ticks a box saying they know, or nothing is asked.
    """
    require(session, "admin")
    if confirm != "yes":
        return await _privacy_page(
            request,
            session,
            api,
            error="Tick the box to confirm the erasure: it cannot be undone.",
            erase_contact=contact_id.strip(),
            status_code=422,
        )
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
        return await _privacy_page(
            request,
            session,
            api,
            error=_contact_problem(exc),
            erase_contact=contact_id.strip(),
            status_code=exc.status,
        )
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
    due = str(erasure.get("due_at") or "")[:10] or due_date(erasure["requested_at"])
    context = {"erasure": erasure, "due": due}
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
    action: Annotated[str, Query(max_length=200)] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Cursor = "",
    back: BackCursors = [],  # noqa: B006 - FastAPI copies a query list's default
) -> Response:
    """The audit log, oldest first, by contact, action, actor and day, with the chain check.

    Every filter is the audit API's own, so it holds across pages (a filter applied to one
    fetched page would find nothing in a long log).
    """
    require(session, "admin")
    chosen = {"contact_id": contact_id, "action": action, "actor": actor}
    chosen = {name: value.strip() for name, value in chosen.items() if value.strip()}
    days = {"since": since, "until": until}
    params: dict[str, Any] = {"limit": 100, **chosen}
    error = None
    for name, day in days.items():
        if day and (moment := day_start(day)) is None:
            error = f"Enter the {'first' if name == 'since' else 'last'} day as a date."
        elif day:
            params[name] = moment
    if "until" in params:  # the last day counts in full
        params["until"] = day_start((date.fromisoformat(until) + timedelta(days=1)).isoformat())
    if cursor:
        params["cursor"] = cursor
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if error is None:
        try:
            page = await api.get("gdpr", "/v1/audit-log", key=session.api_key, params=params)
        except ApiError as exc:
            if exc.status not in (400, 422):
                raise
            error = f"These filters cannot be used: {exc.message}"
    kept = {**chosen, **{name: day for name, day in days.items() if day}}
    links = page_links(
        "/privacy/audit",
        kept,
        cursor=cursor,
        back=[c for c in back if len(c) <= 200],
        next_cursor=page.get("next_cursor"),
    )
    context = {
        "items": page["items"],
        "filters": {**days, "contact_id": contact_id, "action": action, "actor": actor},
        "filtered": bool(kept),
        "actions": AUDIT_ACTIONS,
        "links": links,
        "error": error,
    }
    return render(request, "audit.html", context, session=session)


@router.get("/privacy/audit/verify")
async def verify_chain(request: Request, session: CurrentSession, api: Api) -> Response:
    """Recompute the audit log's hash chain and say whether it holds."""
    require(session, "admin")
    report = await api.get("gdpr", "/v1/audit-log/verify", key=session.api_key)
    return render(request, "partials/chain_report.html", {"report": report}, session=session)
