"""The suppression list (admin): erased people's identifier hashes, found by email or phone,
lifted one at a time with a reason (the contacts service audits it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.paging import MAX_BACK, page_links
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require

router = APIRouter()

IdentifierHash = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PER_PAGE = 50


async def _suppressions_page(
    request: Request,
    session: CurrentSession,
    api: Api,
    *,
    cursor: str = "",
    back: list[str] | None = None,
    lookup: str = "",
    found: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    params: dict[str, Any] = {"limit": PER_PAGE, **({"cursor": cursor} if cursor else {})}
    page = await api.get("contacts", "/v1/suppressions", key=session.api_key, params=params)
    links = page_links(
        "/privacy/suppressions",
        {},
        cursor=cursor,
        back=back or [],
        next_cursor=page.get("next_cursor"),
    )
    context = {
        "items": page["items"],
        "links": links,
        "lookup": lookup,
        "found": found,
        "error": error,
        "lifted": request.query_params.get("lifted"),
    }
    return render(request, "suppressions.html", context, session=session, status_code=status_code)


@router.get("/privacy/suppressions")
async def suppressions(
    request: Request,
    session: CurrentSession,
    api: Api,
    cursor: Annotated[str, Query(max_length=200)] = "",
    back: Annotated[list[str], Query(max_length=MAX_BACK * 4)] = [],  # noqa: B006
) -> Response:
    """The suppression list a page at a time, in hash order."""
    require(session, "admin")
    return await _suppressions_page(request, session, api, cursor=cursor, back=back)


@router.post("/privacy/suppressions/lookup")
async def lookup(
    request: Request,
    session: CurrentSession,
    api: Api,
    identifier: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """Whether an email or phone is on the list (posted: personal data stays out of URLs)."""
    require(session, "admin")
    typed = identifier.strip()
    if not typed:
        return await _suppressions_page(
            request, session, api, error="Enter an email or a phone.", status_code=422
        )
    kind = "emails" if "@" in typed else "phones"
    try:
        found = await api.post(
            "contacts", "/v1/suppressions/check", key=session.api_key, json={kind: [typed]}
        )
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        return await _suppressions_page(
            request,
            session,
            api,
            lookup=typed,
            error=f"That is not an email or phone the platform reads: {exc.message}",
            status_code=422,
        )
    return await _suppressions_page(request, session, api, lookup=typed, found=found)


@router.post("/privacy/suppressions/{identifier_hash}/lift")
async def lift(
    request: Request,
    identifier_hash: IdentifierHash,
    session: CurrentSession,
    api: Api,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Take one hash off the list, saying why; the person may then be created again."""
    require(session, "admin")
    if len(reason.strip()) < 3:
        return await _suppressions_page(
            request,
            session,
            api,
            error="Say why it is lifted (at least 3 characters).",
            status_code=422,
        )
    try:
        await api.send(
            "contacts",
            "DELETE",
            f"/v1/suppressions/{identifier_hash}",
            key=session.api_key,
            params={"reason": reason.strip()},
        )
    except ApiError as exc:
        if exc.status not in (404, 422):
            raise
        return await _suppressions_page(
            request, session, api, error=exc.message, status_code=exc.status
        )
    return redirect(request, f"/privacy/suppressions?lifted={identifier_hash[:12]}")
