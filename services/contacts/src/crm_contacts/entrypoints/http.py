"""The public HTTP API v1 of the contacts service."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response, status

from crm_contacts.domain.commands import (
    CreateContact,
    DeleteContact,
    RestoreContact,
    UpdateContact,
)
from crm_contacts.domain.contact import public_view
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.entrypoints.duplicate_schemas import ContactCreatedWithDuplicates
from crm_contacts.entrypoints.duplicates_http import candidates
from crm_contacts.entrypoints.paging import etag, expected_version
from crm_contacts.entrypoints.schemas import (
    ContactCreate,
    ContactPublic,
    ContactUpdate,
)
from crm_contacts.service_layer import duplicates, handlers, queries
from crm_shared.conditional import IF_NONE_MATCH, NOT_MODIFIED, if_none_match, versioned_json
from crm_shared.fast_get import FastGet, Representation
from crm_shared.http import EditorAuth, ViewerWithStore
from crm_shared.idempotency import Idempotent
from crm_shared.storage import DocumentStore

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

IfMatch = Annotated[
    str | None, Header(description='Version the change applies to: 3, "3" or W/"3"')
]


def _contact(doc: dict[str, Any], response: Response) -> ContactPublic:
    response.headers["ETag"] = etag(int(doc["version"]))
    return ContactPublic.model_validate(public_view(doc))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ContactPublic | ContactCreatedWithDuplicates,
    dependencies=[Idempotent],
)
async def create_contact(
    body: ContactCreate,
    principal: EditorAuth,
    store: Store,
    settings: Settings,
    response: Response,
    allow_duplicate: Annotated[
        bool, Query(description="Create even if a live contact has this email")
    ] = False,
    check_duplicates: Annotated[
        bool, Query(description="Also answer `possible_duplicates`: likely duplicates, best first")
    ] = False,
) -> ContactPublic | ContactCreatedWithDuplicates:
    """Create a contact; 409 if its email is taken (unless allowed) or its person was erased."""
    command = CreateContact(
        fields=body.model_dump(exclude={"source"}, exclude_unset=True),
        source=body.source,
        allow_duplicate=allow_duplicate,
    )
    doc = await handlers.create_contact(
        store, command, tenant=principal.tenant, actor=principal.key_id, settings=settings
    )
    response.headers["Location"] = f"/v1/contacts/{doc['id']}"
    created = _contact(doc, response)
    if not check_duplicates:
        return created
    found = await duplicates.contact_duplicates(store, doc["id"], tenant=principal.tenant)
    return ContactCreatedWithDuplicates(
        **created.model_dump(), possible_duplicates=candidates(found)
    )


# Listing and search (GET /v1/contacts, POST /v1/contacts/search): search_http.py.


async def contact_representation(
    store: DocumentStore, tenant: str, path_params: dict[str, Any]
) -> Representation:
    """A contact's version and JSON body (404 when missing or deleted, 410 when erased)."""
    doc = await queries.get_contact(store, path_params["contact_id"], tenant=tenant)

    def body() -> bytes:  # made only for a 200, not for a 304
        return public_json(doc)

    return int(doc["version"]), body


# ContactPublic's fields in its order: the order of its JSON, and of the OpenAPI document's.
_PUBLIC_ORDER = tuple(ContactPublic.model_fields)


def public_json(doc: dict[str, Any]) -> bytes:
    """A stored contact as ContactPublic's JSON, byte for byte, without building the model.

    The stored document was validated when it was written; validating it again into a model
    only to serialise that was a tenth of a GET by id's time. orjson writes what pydantic does
    for these types (the fast GET parity test compares them on every kind of value).
    """
    view = public_view(doc)
    return orjson.dumps({name: view[name] for name in _PUBLIC_ORDER})


# Answered by FAST_GET_CONTACT in front of FastAPI's routing (bootstrap installs it); this route
# documents it and answers when it is not installed, with the same handler.
@router.get(
    "/{contact_id}",
    response_model=ContactPublic,
    responses=NOT_MODIFIED,
    openapi_extra=IF_NONE_MATCH,
)
async def get_contact(contact_id: str, caller: ViewerWithStore, request: Request) -> Response:
    """One contact; 404 when missing or deleted, 410 when erased; 304 when If-None-Match holds."""
    version, body = await contact_representation(
        caller.store, caller.principal.tenant, {"contact_id": contact_id}
    )
    return versioned_json(version, if_none_match(request), body)


FAST_GET_CONTACT = FastGet(get_contact, "viewer", contact_representation)


@router.patch("/{contact_id}", response_model=ContactPublic)
async def update_contact(
    contact_id: str,
    body: ContactUpdate,
    principal: EditorAuth,
    store: Store,
    settings: Settings,
    response: Response,
    if_match: IfMatch = None,
) -> ContactPublic:
    """Change only the fields sent; 412 with the current contact when If-Match is stale."""
    command = UpdateContact(
        contact_id=contact_id,
        fields=body.present_fields(),
        expected_version=expected_version(if_match),
    )
    doc = await handlers.update_contact(
        store, command, tenant=principal.tenant, actor=principal.key_id, settings=settings
    )
    return _contact(doc, response)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_contact(
    contact_id: str, principal: EditorAuth, store: Store, if_match: IfMatch = None
) -> Response:
    """Soft-delete a contact (it can be restored)."""
    command = DeleteContact(contact_id=contact_id, expected_version=expected_version(if_match))
    doc = await handlers.delete_contact(
        store, command, tenant=principal.tenant, actor=principal.key_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"ETag": etag(doc["version"])})


@router.post("/{contact_id}/restore", response_model=ContactPublic)
async def restore_contact(
    contact_id: str,
    principal: EditorAuth,
    store: Store,
    settings: Settings,
    response: Response,
) -> ContactPublic:
    """Restore a soft-deleted contact; 409 if it is not deleted or its email is taken."""
    doc = await handlers.restore_contact(
        store,
        RestoreContact(contact_id=contact_id),
        tenant=principal.tenant,
        actor=principal.key_id,
        settings=settings,
    )
    return _contact(doc, response)
