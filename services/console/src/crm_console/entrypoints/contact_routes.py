"""The contact page: profile with inline auto-save, tags, custom fields, delete and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.fields import FieldSpec, custom_specs, display, find_spec, profile_specs
from crm_console.domain.values import InvalidValue, field_errors, split_list
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require
from crm_console.service_layer.screens import (
    TIMELINE_TYPES,
    contact_screen,
    custom_field_definitions,
)

router = APIRouter()

ContactId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
FieldName = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[a-z0-9_.]+$")]
Version = Annotated[str, Form(max_length=20, pattern=r"^[0-9]*$")]


@router.get("/contacts/{contact_id}")
async def contact_page(
    request: Request,
    contact_id: ContactId,
    session: CurrentSession,
    api: Api,
    type: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The contact page: profile, custom fields, tags, timeline, consents."""
    screen = await contact_screen(api, session.api_key, contact_id, type or None)
    return render(
        request,
        "contact.html",
        {
            "contact": screen.contact,
            "profile": profile_specs(),
            "custom": custom_specs(screen.definitions),
            "timeline": screen.timeline,
            "timeline_types": TIMELINE_TYPES,
            "timeline_type": type,
            "consents": screen.consents,
            "unavailable": screen.unavailable,
            "display": display,
            "created": request.query_params.get("created") == "1",
        },
        session=session,
    )


async def _spec(api: Api, key: str, name: str) -> FieldSpec:
    definitions = await custom_field_definitions(api, key) if name.startswith("cf.") else []
    spec = find_spec(name, definitions)
    if spec is None:
        raise ApiError(404, {"title": "Not found", "detail": f"contacts have no field {name}"})
    return spec


@router.get("/contacts/{contact_id}/fields/{name}")
async def field_form(
    request: Request, contact_id: ContactId, name: FieldName, session: CurrentSession, api: Api
) -> Response:
    """One field's inline form with the stored value (the "use theirs" choice of a conflict)."""
    spec = await _spec(api, session.api_key, name)
    response = await api.send("contacts", "GET", f"/v1/contacts/{contact_id}", key=session.api_key)
    contact = response.json()
    return render(
        request,
        "partials/field.html",
        {"contact": contact, "spec": spec, "value": spec.current(contact), "version_oob": True},
        session=session,
    )


@router.patch("/contacts/{contact_id}/fields/{name}")
async def save_field(
    request: Request, contact_id: ContactId, name: FieldName, session: CurrentSession, api: Api
) -> Response:
    """Save one field as typed, If-Match the version the page holds; 412 shows both values."""
    require(session, "editor")
    spec = await _spec(api, session.api_key, name)
    form = await request.form()
    raw = [str(v) for v in form.getlist("value")]
    version = str(form.get("version") or "")
    system_tags = split_list(str(form.get("system_tags") or ""))
    context = {"spec": spec, "contact_id": contact_id}
    try:
        body = spec.payload(raw, system_tags)
    except InvalidValue as exc:
        return render(request, "partials/field_status.html", {**context, "error": str(exc)})
    headers = {"If-Match": f'"{version}"'} if version else {}
    try:
        response = await api.send(
            "contacts",
            "PATCH",
            f"/v1/contacts/{contact_id}",
            key=session.api_key,
            json=body,
            headers=headers,
        )
    except ApiError as exc:
        if exc.status == 412 and isinstance(exc.problem.get("current"), dict):
            current = exc.problem["current"]
            mine = raw if spec.input == "checkboxes" else (raw[-1] if raw else "")
            conflict = {"theirs": display(spec, spec.current(current)), "mine": display(spec, mine)}
            return render(
                request,
                "partials/field_status.html",
                {**context, "conflict": conflict, "new_version": current["version"]},
            )
        if exc.status not in (409, 422):
            raise
        message = field_errors(exc.problem).get(spec.name) or exc.message
        return render(request, "partials/field_status.html", {**context, "error": message})
    saved = response.json()
    return render(
        request, "partials/field_status.html", {**context, "new_version": saved["version"]}
    )


@router.post("/contacts/{contact_id}/delete")
async def delete_contact(
    request: Request,
    contact_id: ContactId,
    session: CurrentSession,
    api: Api,
    version: Version = "",
) -> Response:
    """Soft-delete the contact (restorable); back to the list with a restore button."""
    require(session, "editor")
    headers = {"If-Match": f'"{version}"'} if version else {}
    await api.send(
        "contacts", "DELETE", f"/v1/contacts/{contact_id}", key=session.api_key, headers=headers
    )
    return redirect(request, f"/contacts?deleted_id={contact_id}")


@router.post("/contacts/{contact_id}/restore")
async def restore_contact(
    request: Request, contact_id: ContactId, session: CurrentSession, api: Api
) -> Response:
    """Restore a soft-deleted contact and open it."""
    require(session, "editor")
    await api.post("contacts", f"/v1/contacts/{contact_id}/restore", key=session.api_key)
    return redirect(request, f"/contacts/{contact_id}")
