"""`/v1/custom-fields`: the tenant's typed custom field definitions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.custom_fields import FieldType
from crm_contacts.domain.field_definitions import new_definition
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.jobs_http import JobPublic, accepted
from crm_contacts.entrypoints.paging import etag, expected_version, versioned_json
from crm_contacts.service_layer import custom_fields as handlers
from crm_shared.conditional import IF_NONE_MATCH, NOT_MODIFIED, if_none_match
from crm_shared.http import AdminAuth, ViewerAuth, ViewerWithStore
from crm_shared.idempotency import Idempotent
from crm_shared.rules import CUSTOM_FIELD_KEY_PATTERN
from crm_shared.validation import Flag

router = APIRouter(prefix="/v1/custom-fields", tags=["custom fields"])

_CHANGE_RULES = """
Rules for the values contacts already hold:
- `label`, `description`: free.
- `required`: free. Making a field required does NOT invalidate contacts without a value: it
  applies to contacts created from then on, and a value can no longer be cleared.
- adding options (`options` with new entries): free.
- retiring an option (list it in `retired_options`, or leave it out of a new `options` list):
  contacts holding it keep it, readable and filterable; new writes using it answer 422
  "option 'x' of 'plan' is retired". Listing it in `options` again re-activates it.
- respelling an option (same option ignoring case and accents): stored values take the new
  spelling (ContactUpdated per changed contact).
- changing `type`: the definition changes at once (new writes use the new type) and the answer
  is 202 with a job (`job`, `Location` of the job) converting the values contacts hold (live and
  soft-deleted) in batches, ContactUpdated per changed contact: text->number when the value
  parses, dropdown->multi_select always, anything->text always, multi_select->dropdown when the
  contact holds at most one option, ->date when it is YYYY-MM-DD. A value that does not
  convert stays as it was, and the contact is listed in the job's `errors` with the rule it
  breaks (never the value). Respelled options are rewritten by a job the same way.
"""


class CustomFieldCreate(BaseModel):
    """Body of `POST /v1/custom-fields`."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=CUSTOM_FIELD_KEY_PATTERN, description="Immutable snake_case key")
    label: str = Field(min_length=1, max_length=100)
    type: FieldType
    options: list[str] | None = Field(
        default=None, description="Required (non-empty) for dropdown and multi_select only"
    )
    required: Flag = False
    description: str | None = Field(default=None, max_length=500)


class CustomFieldUpdate(BaseModel):
    """Body of `PATCH /v1/custom-fields/{key}`: only the attributes present change."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, min_length=1, max_length=100)
    type: FieldType | None = None
    options: list[str] | None = Field(default=None, description="The new list of active options")
    retired_options: list[str] | None = Field(default=None, description="Options to retire")
    required: Flag | None = None
    description: str | None = Field(default=None, max_length=500)

    def present_fields(self) -> dict[str, Any]:
        """The attributes the client sent, with their values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class CustomFieldPublic(BaseModel):
    """A custom field definition."""

    key: str
    label: str
    type: FieldType
    options: list[str]
    retired_options: list[str]
    required: bool
    description: str | None
    version: int
    created_at: str
    updated_at: str


class CustomFieldChanged(CustomFieldPublic):
    """A definition after a change, and the job converting stored values (null if none)."""

    job: JobPublic | None


class CustomFieldList(BaseModel):
    """Every definition of the tenant, by key."""

    items: list[CustomFieldPublic]


def _public(doc: dict[str, Any]) -> CustomFieldPublic:
    return CustomFieldPublic.model_validate(doc)


@router.get("", response_model=CustomFieldList)
async def list_custom_fields(principal: ViewerAuth, store: Store) -> CustomFieldList:
    """Every custom field definition of the tenant."""
    docs = await handlers.list_definitions(store, tenant=principal.tenant)
    return CustomFieldList(items=[_public(doc) for doc in docs])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomFieldChanged,
    responses={
        202: {
            "model": CustomFieldChanged,
            "description": "Defined; contacts hold untyped values under the key: the job "
            "typing them follows",
        }
    },
    dependencies=[Idempotent],
    description=(
        "Define a custom field (admin). `options`: non-empty and unique ignoring case and "
        "accents for dropdown and multi_select, forbidden otherwise, no ';' (it separates "
        "options in import cells). 409 if the key exists. 201 with `job` null, or, when "
        "contacts already hold values under this key (written before it was defined), 202 "
        "with a job (`job`, `Location` of the job) typing them in batches: a value that does "
        "not convert stays as it was and the contact is listed in the job's errors."
    ),
)
async def create_custom_field(
    body: CustomFieldCreate,
    principal: AdminAuth,
    store: Store,
    request: Request,
    response: Response,
) -> CustomFieldChanged:
    """Define a custom field (admin)."""
    definition = new_definition(**body.model_dump())
    doc, job = await handlers.create_definition(
        store, definition, tenant=principal.tenant, actor=principal.key_id
    )
    response.headers["ETag"] = etag(int(doc["version"]))
    queued = accepted(request, response, job) if job is not None else None
    if queued is None:  # 202 answers point at the job; 201 at the field
        response.headers["Location"] = f"/v1/custom-fields/{doc['key']}"
    return CustomFieldChanged.model_validate({**doc, "job": queued})


@router.get(
    "/{key}",
    response_model=CustomFieldPublic,
    responses=NOT_MODIFIED,
    openapi_extra=IF_NONE_MATCH,
)
async def get_custom_field(key: str, caller: ViewerWithStore, request: Request) -> Response:
    """One custom field definition; 304 when If-None-Match names its version."""
    doc = await handlers.get_definition(caller.store, key, tenant=caller.principal.tenant)
    return versioned_json(int(doc["version"]), if_none_match(request), lambda: _public(doc))


@router.patch(
    "/{key}",
    response_model=CustomFieldChanged,
    responses={202: {"model": CustomFieldChanged, "description": "Changed; the job follows"}},
    description=_CHANGE_RULES,
)
async def update_custom_field(
    key: str,
    body: CustomFieldUpdate,
    principal: AdminAuth,
    store: Store,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(description="Definition version")] = None,
) -> CustomFieldChanged:
    """Change a custom field definition (admin); the key cannot change."""
    doc, job = await handlers.update_definition(
        store,
        key,
        body.present_fields(),
        tenant=principal.tenant,
        actor=principal.key_id,
        expected_version=expected_version(if_match),
    )
    response.headers["ETag"] = etag(int(doc["version"]))
    queued = accepted(request, response, job) if job is not None else None
    return CustomFieldChanged.model_validate({**doc, "job": queued})


@router.delete(
    "/{key}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    description=(
        "Delete a definition (admin): 202 with the job (`Location` of the job) that removes "
        "the values contacts hold in batches (ContactUpdated per contact). 409 while any live "
        "contact has a value for it, unless `purge_values=true`. Values on soft-deleted "
        "contacts are removed either way, so a restored contact never holds a value of a field "
        "that no longer exists. 409 while a tag rule filters on the field."
    ),
)
async def delete_custom_field(
    key: str,
    principal: AdminAuth,
    store: Store,
    request: Request,
    response: Response,
    purge_values: Annotated[
        bool, Query(description="Also remove the values contacts hold")
    ] = False,
) -> JobPublic:
    """Delete a custom field definition (admin)."""
    job = await handlers.delete_definition(
        store, key, purge_values=purge_values, tenant=principal.tenant, actor=principal.key_id
    )
    return accepted(request, response, job)
