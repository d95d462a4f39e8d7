"""Listing and searching contacts: `GET /v1/contacts` and `POST /v1/contacts/search`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.contact import public_view
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.entrypoints.schemas import ContactList, ContactPublic
from crm_contacts.service_layer.search import MAX_LIMIT, SearchPage, search_contacts
from crm_shared.auth import Principal
from crm_shared.filters import ContactFilter, InvalidFilter, SortKey
from crm_shared.http import ViewerAuth
from crm_shared.problems import Unprocessable

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

_FILTERS = """Filters (all must hold): `q` text in name, emails, phones (digits too) or company,
as a prefix or anywhere inside, ignoring case and accents; `email` (primary or additional, exact);
`tag` (repeatable, all), `tag_any`, `tag_none` (repeatable); `owner`; `source`;
`created_after`, `created_before`, `updated_after`, `updated_before` (ISO-8601, inclusive, UTC
unless an offset is given); `deleted=true` (only soft-deleted contacts, editor role);
`cf.<key>=<value>`, `cf.<key>.gte=`, `cf.<key>.lte=` (number and date fields),
`cf.<key>.contains=` (multi-select); `campaign` (a campaign id: its members); `consent`
(repeatable): `<purpose>:<channel>` granted now, `!<purpose>:<channel>` not granted (withdrawn or
never given), channel `email`, `sms`, `phone`, `chat` or `any` (granted on every channel);
`ids` (repeatable, exact contact ids, at most 10,000). Values are typed by the field's
definition; an unknown parameter, an undefined custom field or a badly typed value is a 422
naming it. Pages follow `sort` (`name`, `created_at`, `updated_at`, `-` before for descending;
default: creation order) and stay stable while contacts change: pass `next_cursor` back as
`cursor` with the same sort."""

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]


class SearchRequest(BaseModel):
    """Body of `POST /v1/contacts/search`: the filter of `GET /v1/contacts` as JSON."""

    model_config = ConfigDict(extra="forbid")

    filter: ContactFilter = Field(default_factory=ContactFilter)
    sort: SortKey | None = None
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


def _page(page: SearchPage) -> ContactList:
    return ContactList(
        items=[ContactPublic.model_validate(public_view(doc)) for doc in page.items],
        next_cursor=page.next_cursor,
    )


def allowed_to_list(principal: Principal, criteria: ContactFilter, include_deleted: bool) -> None:
    """403 unless the caller may list what the filter asks for."""
    # Any viewer may list live contacts (ViewerAuth); soft-deleted ones are for editors.
    if criteria.deleted or include_deleted:
        principal.require("editor")


def listing_criteria(
    principal: Principal, params: Iterable[tuple[str, str]], include_deleted: bool
) -> ContactFilter:
    """The filter a listing's query string asks for: 422 if it is bad, 403 if not the caller's."""
    try:
        criteria = ContactFilter.from_query_params(params)
    except InvalidFilter as exc:
        raise Unprocessable(str(exc)) from None
    allowed_to_list(principal, criteria, include_deleted)
    return criteria


@router.get("", response_model=ContactList, description=_FILTERS)
async def list_contacts(
    request: Request,
    principal: ViewerAuth,
    store: Store,
    settings: Settings,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    sort: Annotated[SortKey | None, Query(description="Order; default creation order")] = None,
    include_deleted: Annotated[
        bool, Query(description="Live and soft-deleted contacts alike (editor)")
    ] = False,
) -> ContactList:
    """Contacts matching the filter in the query string, one keyset page at a time."""
    criteria = listing_criteria(principal, request.query_params.multi_items(), include_deleted)
    page = await search_contacts(
        store,
        tenant=principal.tenant,
        criteria=criteria,
        secret=settings.suppression_key,
        sort=sort,
        limit=limit,
        cursor=cursor,
        include_deleted=include_deleted,
    )
    return _page(page)


@router.post("/search", response_model=ContactList, description=_FILTERS)
async def search(
    body: SearchRequest, principal: ViewerAuth, store: Store, settings: Settings
) -> ContactList:
    """The same listing with the filter as a JSON body, for filters too long for a URL."""
    allowed_to_list(principal, body.filter, include_deleted=False)
    page = await search_contacts(
        store,
        tenant=principal.tenant,
        criteria=body.filter,
        secret=settings.suppression_key,
        sort=body.sort,
        limit=body.limit,
        cursor=body.cursor,
    )
    return _page(page)
