"""HTTP API v1 of accounts (companies) and the contacts linked to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status

from crm_contacts.domain.contact import public_view
from crm_contacts.domain.text import fold
from crm_contacts.entrypoints.account_schemas import (
    AccountCreate,
    AccountDetail,
    AccountList,
    AccountPublic,
    AccountUpdate,
    decode_account_cursor,
    encode_account_cursor,
)
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.paging import (
    decode_cursor,
    encode_cursor,
    etag,
    expected_version,
    versioned_json,
)
from crm_contacts.entrypoints.schemas import ContactList, ContactPublic
from crm_contacts.service_layer import accounts
from crm_shared.conditional import IF_NONE_MATCH, NOT_MODIFIED, if_none_match
from crm_shared.http import EditorAuth, ViewerAuth, ViewerWithStore
from crm_shared.idempotency import Idempotent

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

Limit = Annotated[int, Query(ge=1, le=200)]
PageCursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
RENAME_RULE = (
    "Renaming an account does not rewrite its contacts' `company` text: that text is what was "
    "typed for the contact, and the link (`account_id`) is what ties them. A contact created "
    "later with the old name no longer matches the renamed account by name (it can still match "
    "by its work-email domain)."
)


def _account(doc: dict[str, Any], response: Response) -> AccountPublic:
    response.headers["ETag"] = etag(int(doc["version"]))
    return AccountPublic.model_validate(doc)


@router.get("", response_model=AccountList)
async def list_accounts(
    principal: ViewerAuth,
    store: Store,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in the name (case, accents ignored)")
    ] = None,
    limit: Limit = 50,
    cursor: PageCursor = None,
) -> AccountList:
    """Accounts in name order, optionally those whose name contains `q`."""
    page = await accounts.list_accounts(
        store,
        tenant=principal.tenant,
        text=fold(q) if q and fold(q) else None,
        limit=limit,
        after=decode_account_cursor(cursor) if cursor else None,
    )
    return AccountList(
        items=[AccountPublic.model_validate(doc) for doc in page.items],
        next_cursor=encode_account_cursor(page.after) if page.after else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountPublic,
    dependencies=[Idempotent],
)
async def create_account(
    body: AccountCreate, principal: EditorAuth, store: Store, response: Response
) -> AccountPublic:
    """Create an account; 409 if an account has this name (case, accents ignored) or domain."""
    doc = await accounts.create_account(
        store, body.model_dump(exclude_unset=True), tenant=principal.tenant, actor=principal.key_id
    )
    response.headers["Location"] = f"/v1/accounts/{doc['id']}"
    return _account(doc, response)


@router.get(
    "/{account_id}",
    response_model=AccountDetail,
    responses=NOT_MODIFIED,
    openapi_extra=IF_NONE_MATCH,
)
async def get_account(account_id: str, caller: ViewerWithStore, request: Request) -> Response:
    """One account with the number of live contacts linked to it; 304 when If-None-Match holds."""
    doc, count = await accounts.get_account(
        caller.store, account_id, tenant=caller.principal.tenant
    )
    return versioned_json(
        int(doc["version"]),
        if_none_match(request),
        lambda: AccountDetail.model_validate({**doc, "contact_count": count}),
    )


@router.patch("/{account_id}", response_model=AccountPublic, description=RENAME_RULE)
async def update_account(
    account_id: str,
    body: AccountUpdate,
    principal: EditorAuth,
    store: Store,
    response: Response,
    if_match: Annotated[str | None, Header(description='Version: 3, "3" or W/"3"')] = None,
) -> AccountPublic:
    """Rename an account or change its domain; 412 with the current account when stale."""
    doc = await accounts.update_account(
        store,
        account_id,
        body.present_fields(),
        expected_version=expected_version(if_match),
        tenant=principal.tenant,
        actor=principal.key_id,
    )
    return _account(doc, response)


@router.get("/{account_id}/contacts", response_model=ContactList)
async def list_account_contacts(
    account_id: str,
    principal: ViewerAuth,
    store: Store,
    limit: Limit = 50,
    cursor: PageCursor = None,
) -> ContactList:
    """Live contacts linked to the account, in creation order."""
    page = await accounts.account_contacts(
        store,
        account_id,
        tenant=principal.tenant,
        limit=limit,
        after_id=decode_cursor(cursor) if cursor else None,
    )
    return ContactList(
        items=[ContactPublic.model_validate(public_view(doc)) for doc in page.items],
        next_cursor=encode_cursor(page.after.id) if page.after else None,
    )
