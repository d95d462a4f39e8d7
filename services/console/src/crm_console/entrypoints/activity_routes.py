"""The contact page's timeline (type filter, notes, more) and consents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.entrypoints.contact_routes import ContactId
from crm_console.entrypoints.deps import Api, CurrentSession, render, require
from crm_console.service_layer.screens import TIMELINE_TYPES, timeline_page

router = APIRouter()


@router.get("/contacts/{contact_id}/timeline")
async def timeline(
    request: Request,
    contact_id: ContactId,
    session: CurrentSession,
    api: Api,
    type: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """The timeline section, filtered by type; with a cursor, the next items only."""
    page = await timeline_page(api, session.api_key, contact_id, type or None, cursor or None)
    template = "partials/timeline_items.html" if cursor else "partials/timeline.html"
    return render(
        request,
        template,
        {
            "contact": {"id": contact_id},
            "timeline": page,
            "timeline_types": TIMELINE_TYPES,
            "timeline_type": type,
        },
        session=session,
    )


@router.post("/contacts/{contact_id}/notes")
async def add_note(
    request: Request,
    contact_id: ContactId,
    session: CurrentSession,
    api: Api,
    body: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Add a note, then show the timeline with it on top."""
    require(session, "editor")
    error = None
    if not body.strip():
        error = "Write something before adding the note."
    else:
        try:
            await api.post(
                "timeline",
                f"/v1/contacts/{contact_id}/notes",
                key=session.api_key,
                json={"body": body},
            )
        except ApiError as exc:
            if exc.status != 422:
                raise
            error = exc.message
    page = await timeline_page(api, session.api_key, contact_id, None)
    return render(
        request,
        "partials/timeline.html",
        {
            "contact": {"id": contact_id},
            "timeline": page,
            "timeline_types": TIMELINE_TYPES,
            "timeline_type": "",
            "note_error": error,
            # Focus goes back to the note box after htmx replaced it (keyboard users).
            "refocus": True,
        },
        session=session,
    )


@router.post("/contacts/{contact_id}/consents")
async def record_consent(
    request: Request,
    contact_id: ContactId,
    session: CurrentSession,
    api: Api,
    purpose: Annotated[str, Form(max_length=64)] = "",
    channel: Annotated[str, Form(max_length=10)] = "any",
    status: Annotated[str, Form(max_length=10)] = "granted",
) -> Response:
    """Record a consent decision (a new ledger entry), then show the consents again."""
    require(session, "editor")
    error = None
    body = {"purpose": purpose.strip(), "channel": channel, "status": status, "source": "console"}
    try:
        await api.post(
            "gdpr", f"/v1/contacts/{contact_id}/consents", key=session.api_key, json=body
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        error = _consent_error(exc)
    overview = await api.get("gdpr", f"/v1/contacts/{contact_id}/consents", key=session.api_key)
    return render(
        request,
        "partials/consents.html",
        {
            "contact": {"id": contact_id},
            "consents": overview.get("purposes", []),
            "consent_error": error,
            "refocus": True,
        },
        session=session,
    )


def _consent_error(exc: ApiError) -> str:
    for error in exc.problem.get("errors") or []:
        if "purpose" in (error.get("loc") or []):
            return "Purpose: lower-case letters, digits, - and _, starting with a letter."
    return exc.message
