"""The contact list (search, filters, sort, paging) and the new contact form."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.list_filter import LIST_FILTERS
from crm_console.domain.paging import MAX_BACK, page_links
from crm_console.domain.values import custom_value, field_errors, split_list, text_or_none
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require
from crm_console.service_layer.screens import campaigns_or_none, custom_field_definitions

router = APIRouter()

PAGE_SIZE = 50
SORTS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")
SOURCES = ("manual", "import", "chat", "integration", "form")
NEW_FIELDS = ("name", "email", "phone", "company", "owner", "timezone", "tags")

Text = Annotated[str, Query(max_length=200)]


@router.get("/contacts")
async def contact_list(
    request: Request,
    session: CurrentSession,
    api: Api,
    q: Text = "",
    tag: Text = "",
    owner: Text = "",
    source: Text = "",
    sort: Text = "",
    cf_key: Text = "",
    cf_value: Text = "",
    campaign: Text = "",
    consent: Text = "",
    deleted: bool = False,
    cursor: Annotated[str, Query(max_length=2000)] = "",
    back: Annotated[list[str], Query(max_length=MAX_BACK * 4)] = [],  # noqa: B006
) -> Response:
    """One page of contacts matching the filters, at most 50, in the chosen order."""
    filters = {"q": q, "tag": tag, "owner": owner, "source": source, "sort": sort}
    filters.update({"cf_key": cf_key, "cf_value": cf_value})
    filters.update({"campaign": campaign, "consent": consent})
    params = _search_params(filters, deleted=deleted and session.can_edit)
    if cursor:
        params.append(("cursor", cursor))
    error = None
    # The page, the custom field definitions and the campaigns (for the filters) at once.
    listing, definitions, campaigns = await asyncio.gather(
        api.get("contacts", "/v1/contacts", key=session.api_key, params=params),
        _definitions_or_none(api, session.api_key),
        campaigns_or_none(api, session.api_key),
        return_exceptions=True,
    )
    page: dict[str, Any]
    if isinstance(listing, ApiError) and listing.status in (400, 422):
        page, error = {"items": [], "next_cursor": None}, listing.message
    elif isinstance(listing, BaseException):
        raise listing
    else:
        page = listing
    kept = {name: value for name, value in filters.items() if value}
    if deleted:
        kept["deleted"] = "true"
    links = page_links(
        "/contacts",
        kept,
        cursor=cursor,
        back=[c for c in back if len(c) <= 2000],
        next_cursor=page.get("next_cursor"),
    )
    context = {
        "page": page,
        "filters": filters,
        "no_filters": not any(v for name, v in filters.items() if name != "sort"),
        "deleted": deleted,
        "error": error,
        "sources": SOURCES,
        "definitions": definitions if isinstance(definitions, list) else [],
        "campaigns": campaigns if isinstance(campaigns, list) else [],
        "next_url": links.next_url,
        "previous_url": links.previous_url,
        "first_url": links.first_url,
        "sort_url": lambda column: _sort_url(kept, column),
        "export_query": urlencode({n: v for n, v in filters.items() if v and n in LIST_FILTERS}),
        "deleted_notice": request.query_params.get("deleted_id"),
    }
    template = (
        "partials/contact_rows.html"
        if request.headers.get("hx-target") == "results"
        else ("contacts.html")
    )
    return render(request, template, context, session=session)


def _search_params(filters: dict[str, str], *, deleted: bool) -> list[tuple[str, Any]]:
    """The contacts API's query for the list's filters (values it would refuse left out)."""
    params: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
    for name in ("q", "owner", "campaign"):
        if value := filters[name].strip():
            params.append((name, value))
    params += [("tag", name) for name in split_list(filters["tag"])]
    # Repeatable: `newsletter:email` granted now, `!sms_offers:sms` not granted; all must hold.
    params += [("consent", selector) for selector in split_list(filters["consent"])]
    if filters["source"] in SOURCES:
        params.append(("source", filters["source"]))
    if filters["sort"] in SORTS:
        params.append(("sort", filters["sort"]))
    if filters["cf_key"] and filters["cf_value"]:
        params.append((f"cf.{filters['cf_key']}", filters["cf_value"]))
    if deleted:
        params.append(("deleted", "true"))
    return params


def _sort_url(kept: dict[str, str], column: str) -> str:
    descending = kept.get("sort") == column
    return f"/contacts?{urlencode({**kept, 'sort': f'-{column}' if descending else column})}"


async def _definitions_or_none(api: Api, key: str) -> list[dict[str, Any]]:
    try:
        return await custom_field_definitions(api, key)
    except ApiError:
        return []


@router.get("/contacts/new")
async def new_contact_form(request: Request, session: CurrentSession, api: Api) -> Response:
    """The new contact form."""
    require(session, "editor")
    definitions = await custom_field_definitions(api, session.api_key)
    return render(
        request,
        "contact_new.html",
        {"values": {}, "errors": {}, "definitions": definitions, "message": None},
        session=session,
    )


@router.post("/contacts/new")
async def create_contact(request: Request, session: CurrentSession, api: Api) -> Response:
    """Create the contact; the API's validation messages come back next to their fields."""
    require(session, "editor")
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in NEW_FIELDS}
    definitions = await custom_field_definitions(api, session.api_key)
    body: dict[str, Any] = {
        name: text for name in NEW_FIELDS[:-1] if (text := text_or_none(values[name]))
    }
    if tags := split_list(values["tags"]):
        body["tags"] = tags
    errors: dict[str, str] = {}
    custom: dict[str, Any] = {}
    for definition in definitions:
        name = f"cf.{definition['key']}"
        raw = [str(v) for v in form.getlist(name)]
        values[name] = raw[-1] if raw and definition["type"] != "multi_select" else ""
        values[f"{name}[]"] = raw  # type: ignore[assignment]
        try:
            value = custom_value(definition["type"], raw)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if value is not None:
            custom[definition["key"]] = value
    if custom:
        body["custom_fields"] = custom
    if "name" not in body:
        errors["name"] = "is required"
    message = None
    if not errors:
        try:
            created = await api.post("contacts", "/v1/contacts", key=session.api_key, json=body)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors, message = field_errors(exc.problem), exc.message
            if exc.status == 409 and "existing_id" in exc.problem:
                errors.setdefault("email", exc.message)
        else:
            return redirect(request, f"/contacts/{created['id']}?created=1")
    return render(
        request,
        "contact_new.html",
        {"values": values, "errors": errors, "definitions": definitions, "message": message},
        session=session,
        status_code=422,
    )
