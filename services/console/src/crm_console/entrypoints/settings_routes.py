"""Settings: custom field definitions, tags and tag rules (changes need the admin role)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.values import split_list, text_or_none
from crm_console.entrypoints.contacts_routes import SOURCES
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require

router = APIRouter()

FIELD_TYPES = ("text", "number", "date", "dropdown", "multi_select", "boolean", "url", "email")


async def _settings_page(
    request: Request, session: CurrentSession, api: Api, *, error: str | None, status: int = 200
) -> Response:
    fields, tags, rules, forms = await asyncio.gather(
        api.get("contacts", "/v1/custom-fields", key=session.api_key),
        api.get("contacts", "/v1/tags", key=session.api_key),
        api.get("contacts", "/v1/tag-rules", key=session.api_key),
        _forms_or_none(api, session.api_key),
    )
    context = {
        "fields": fields["items"],
        "tags": tags["items"],
        "rules": rules["items"],
        "forms": forms,
        "field_types": FIELD_TYPES,
        "sources": SOURCES,
        "error": error,
    }
    return render(request, "settings.html", context, session=session, status_code=status)


async def _forms_or_none(api: Api, key: str) -> list[dict[str, Any]] | None:
    # None: a platform without the forms API (the section says so).
    try:
        body = await api.get("contacts", "/v1/forms", key=key)
    except ApiError as exc:
        if exc.route_missing:
            return None
        raise
    return list(body.get("items", []))


@router.get("/settings")
async def settings_page(request: Request, session: CurrentSession, api: Api) -> Response:
    """Definitions, tags and rules; admins also get the forms to add them."""
    return await _settings_page(request, session, api, error=None)


async def _create(
    request: Request, session: CurrentSession, api: Api, path: str, body: dict[str, Any]
) -> Response:
    require(session, "admin")
    try:
        await api.post("contacts", path, key=session.api_key, json=body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await _settings_page(request, session, api, error=exc.message, status=exc.status)
    return redirect(request, "/settings")


@router.post("/settings/custom-fields")
async def create_custom_field(request: Request, session: CurrentSession, api: Api) -> Response:
    """Define a custom field."""
    form = await request.form()
    body: dict[str, Any] = {
        "key": str(form.get("key") or "").strip(),
        "label": str(form.get("label") or "").strip(),
        "type": str(form.get("type") or "text"),
        "required": form.get("required") == "true",
    }
    if options := split_list(str(form.get("options") or "")):
        body["options"] = options
    return await _create(request, session, api, "/v1/custom-fields", body)


@router.post("/settings/tags")
async def create_tag(request: Request, session: CurrentSession, api: Api) -> Response:
    """Create a manual tag."""
    form = await request.form()
    body: dict[str, Any] = {"name": str(form.get("name") or "").strip()}
    if group := text_or_none(str(form.get("group") or "")):
        body["group"] = group
    return await _create(request, session, api, "/v1/tags", body)


@router.post("/settings/tag-rules")
async def create_tag_rule(request: Request, session: CurrentSession, api: Api) -> Response:
    """Create a tag rule: contacts matching the filter get the tag."""
    form = await request.form()
    criteria: dict[str, Any] = {}
    for name in ("q", "owner"):
        if value := text_or_none(str(form.get(name) or "")):
            criteria[name] = value
    if tags := split_list(str(form.get("tag_filter") or "")):
        criteria["tag"] = tags
    if (source := str(form.get("source") or "")) in SOURCES:
        criteria["source"] = source
    body = {
        "name": str(form.get("name") or "").strip(),
        "tag": str(form.get("tag") or "").strip(),
        "filter": criteria,
    }
    return await _create(request, session, api, "/v1/tag-rules", body)


SettingId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.post("/settings/{kind}/{item_id}/delete")
async def delete_setting(
    request: Request,
    kind: Literal["custom-fields", "tags", "tag-rules"],
    item_id: SettingId,
    session: CurrentSession,
    api: Api,
) -> Response:
    """Delete a custom field definition, a tag or a tag rule; the API's refusal is shown."""
    require(session, "admin")
    try:
        await api.send("contacts", "DELETE", f"/v1/{kind}/{item_id}", key=session.api_key)
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await _settings_page(request, session, api, error=exc.message, status=exc.status)
    return redirect(request, "/settings")
