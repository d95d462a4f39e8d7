"""`POST /v1/contacts/{id}/tags`: add and remove tags without resending the list."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_contacts.domain.contact import public_view
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.entrypoints.http import IfMatch
from crm_contacts.entrypoints.paging import etag, expected_version
from crm_contacts.entrypoints.schemas import ContactPublic
from crm_contacts.service_layer.contact_tags import edit_tags
from crm_shared.http import EditorAuth

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


class TagEdit(BaseModel):
    """Body of `POST /v1/contacts/{id}/tags`: names to add and to remove (case and accents
    ignored); at least one of the two."""

    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _something(self) -> TagEdit:
        if not self.add and not self.remove:
            raise ValueError("send tags to add, to remove, or both")
        return self


@router.post("/{contact_id}/tags", response_model=ContactPublic)
async def edit_contact_tags(
    contact_id: str,
    body: TagEdit,
    principal: EditorAuth,
    store: Store,
    settings: Settings,
    response: Response,
    if_match: IfMatch = None,
) -> ContactPublic:
    """Add and remove manual tags (editor). Same rules as PATCH `tags`: a system tag cannot be
    added or removed (422), nor an auto tag added that the rules do not give; 412 with the
    current contact when If-Match is stale. Removing a tag the contact lacks is no change."""
    doc = await edit_tags(
        store,
        contact_id,
        add=body.add,
        remove=body.remove,
        expected_version=expected_version(if_match),
        tenant=principal.tenant,
        actor=principal.key_id,
        settings=settings,
    )
    response.headers["ETag"] = etag(int(doc["version"]))
    return ContactPublic.model_validate(public_view(doc))
