"""`/v1/custom-fields`: the tenant's typed custom field definitions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.custom_fields import FieldType
from crm_contacts.domain.field_definitions import new_definition
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.paging import etag, expected_version
from crm_contacts.service_layer import custom_fields as handlers
from crm_shared.http import AdminAuth, ViewerAuth
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
- changing `type`: allowed only when every stored value (live and soft-deleted contacts) converts
  without loss - e.g. text->number when all parse, dropdown->multi_select always, anything->text
  always, multi_select->dropdown when no contact holds more than one option. The values are
  converted in the same transaction (ContactUpdated per changed contact). Otherwise 409 with
  `blocking_contacts`, the number of contacts whose values block it; nothing changes.
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
    response_model=CustomFieldPublic,
    dependencies=[Idempotent],
    description=(
        "Define a custom field (admin). `options`: non-empty and unique ignoring case and "
        "accents for dropdown and multi_select, forbidden otherwise, no ';' (it separates "
        "options in import cells). 409 if the key exists, or if contacts already hold values "
        "under this key (written before it was defined) that do not convert to the type; "
        "values that do convert are typed in the same transaction."
    ),
)
async def create_custom_field(
    body: CustomFieldCreate, principal: AdminAuth, store: Store, response: Response
) -> CustomFieldPublic:
    """Define a custom field (admin)."""
    definition = new_definition(**body.model_dump())
    doc = await handlers.create_definition(
        store, definition, tenant=principal.tenant, actor=principal.key_id
    )
    response.headers["Location"] = f"/v1/custom-fields/{doc['key']}"
    response.headers["ETag"] = etag(int(doc["version"]))
    return _public(doc)


@router.get("/{key}", response_model=CustomFieldPublic)
async def get_custom_field(
    key: str, principal: ViewerAuth, store: Store, response: Response
) -> CustomFieldPublic:
    """One custom field definition."""
    doc = await handlers.get_definition(store, key, tenant=principal.tenant)
    response.headers["ETag"] = etag(int(doc["version"]))
    return _public(doc)


@router.patch("/{key}", response_model=CustomFieldPublic, description=_CHANGE_RULES)
async def update_custom_field(
    key: str,
    body: CustomFieldUpdate,
    principal: AdminAuth,
    store: Store,
    response: Response,
    if_match: Annotated[str | None, Header(description="Definition version")] = None,
) -> CustomFieldPublic:
    """Change a custom field definition (admin); the key cannot change."""
    doc = await handlers.update_definition(
        store,
        key,
        body.present_fields(),
        tenant=principal.tenant,
        actor=principal.key_id,
        expected_version=expected_version(if_match),
    )
    response.headers["ETag"] = etag(int(doc["version"]))
    return _public(doc)


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    description=(
        "Delete a definition (admin). 409 while any live contact has a value for it, unless "
        "`purge_values=true`, which removes those values (ContactUpdated per contact). Values "
        "on soft-deleted contacts are removed with the definition either way, so a restored "
        "contact never holds a value of a field that no longer exists. 409 while a tag rule "
        "filters on the field."
    ),
)
async def delete_custom_field(
    key: str,
    principal: AdminAuth,
    store: Store,
    purge_values: Annotated[
        bool, Query(description="Also remove the values contacts hold")
    ] = False,
) -> Response:
    """Delete a custom field definition (admin)."""
    await handlers.delete_definition(
        store, key, purge_values=purge_values, tenant=principal.tenant, actor=principal.key_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
