"""Upserts for integrations and other products: by an external system's id, or by email.

Both resolve the person the way every source does (`service_layer/resolution.py`): 201 when
a contact was created, 200 when one was found (updated or not), with its ETag.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from crm_contacts.domain.contact import Source, public_view
from crm_contacts.domain.resolution import ExternalRef
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.entrypoints.http import IfMatch
from crm_contacts.entrypoints.paging import etag, expected_version, versioned_json
from crm_contacts.entrypoints.schemas import ContactPublic, ContactUpsert
from crm_contacts.service_layer import resolution
from crm_contacts.settings import ContactsSettings
from crm_shared.auth import Principal
from crm_shared.conditional import IF_NONE_MATCH, NOT_MODIFIED, if_none_match
from crm_shared.events.sources import EXTERNAL_ID_MAX, EXTERNAL_SYSTEM_PATTERN
from crm_shared.http import EditorAuth, ViewerWithStore
from crm_shared.problems import NotFound, Unprocessable
from crm_shared.storage import DocumentStore

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

System = Annotated[
    str,
    Path(
        pattern=EXTERNAL_SYSTEM_PATTERN,
        description="The external system's name: lower case letters, digits, '_', '.', '-'",
    ),
]
ExternalId = Annotated[
    str, Path(min_length=1, max_length=EXTERNAL_ID_MAX, description="The id in that system")
]
Email = Annotated[str, Path(min_length=3, max_length=320, description="The email address")]


def _answer(found: resolution.Resolved, response: Response) -> ContactPublic:
    doc = found.contact
    response.status_code = status.HTTP_201_CREATED if found.created else status.HTTP_200_OK
    response.headers["ETag"] = etag(int(doc["version"]))
    response.headers["Location"] = f"/v1/contacts/{doc['id']}"
    return ContactPublic.model_validate(public_view(doc))


async def _upsert(
    body: ContactUpsert,
    extra: dict[str, Any],
    *,
    principal: Principal,
    store: DocumentStore,
    settings: ContactsSettings,
    if_match: str | None,
    external: ExternalRef | None,
    source: Source,
    response: Response,
) -> ContactPublic:
    fields = {**body.model_dump(exclude={"occurred_at", "source"}, exclude_unset=True), **extra}
    arrival = resolution.arrival_of(
        fields,
        source=source,
        settings=settings,
        occurred_at=body.occurred_at,
        external=external,
    )
    found = await resolution.resolve_contact(
        store,
        arrival,
        tenant=principal.tenant,
        actor=principal.key_id,
        settings=settings,
        expected_version=expected_version(if_match),
    )
    return _answer(found, response)


@router.put(
    "/by-external-id/{system}/{external_id}",
    response_model=ContactPublic,
    responses={201: {"model": ContactPublic, "description": "Created"}},
)
async def upsert_by_external_id(
    system: System,
    external_id: ExternalId,
    body: ContactUpsert,
    principal: EditorAuth,
    store: Store,
    settings: Settings,
    response: Response,
    if_match: IfMatch = None,
) -> ContactPublic:
    """Create or update the contact this system knows by this id (201 created, 200 found).

    Found by the id, else by email, else by phone; values sent never blank stored ones, and an
    older `occurred_at` than a field's last write only fills it when empty. 409 when the person
    was erased or the matched contact holds another id of this system.
    """
    return await _upsert(
        body,
        {},
        principal=principal,
        store=store,
        settings=settings,
        if_match=if_match,
        external=ExternalRef(system, external_id),
        source="integration",
        response=response,
    )


@router.get(
    "/by-external-id/{system}/{external_id}",
    response_model=ContactPublic,
    responses=NOT_MODIFIED,
    openapi_extra=IF_NONE_MATCH,
)
async def get_by_external_id(
    system: System, external_id: ExternalId, caller: ViewerWithStore, request: Request
) -> Response:
    """The live contact holding this system's id; 404 when none does; 304 as If-None-Match says."""
    ref = ExternalRef(system, external_id)
    found = await resolution.contact_by_external_id(
        caller.store, ref, tenant=caller.principal.tenant
    )
    if found is None:
        raise NotFound(f"no contact has {system} id {external_id}")
    doc = found
    return versioned_json(
        int(doc["version"]),
        if_none_match(request),
        lambda: ContactPublic.model_validate(public_view(doc)),
    )


@router.put(
    "/by-email/{email}",
    response_model=ContactPublic,
    responses={201: {"model": ContactPublic, "description": "Created"}},
)
async def upsert_by_email(
    email: Email,
    body: ContactUpsert,
    principal: EditorAuth,
    store: Store,
    settings: Settings,
    response: Response,
    if_match: IfMatch = None,
) -> ContactPublic:
    """Find the contact holding this email (else the body's phone) and update it, or create it.

    201 created, 200 found; the email comes from the path, so the body carries none.
    """
    if "email" in body.model_fields_set:
        raise Unprocessable(
            "email comes from the path; leave it out of the body",
            extra={"errors": [{"loc": ["body", "email"], "msg": "not allowed here"}]},
        )
    return await _upsert(
        body,
        {"email": email},
        principal=principal,
        store=store,
        settings=settings,
        if_match=if_match,
        external=None,
        source=body.source,
        response=response,
    )
