"""`/v1/campaigns`: named lists of contacts; members join and leave through bulk actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.campaigns import DESCRIPTION_MAX, NAME_MAX
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.paging import decode_cursor, encode_cursor
from crm_contacts.service_layer import campaigns as handlers
from crm_shared.http import EditorAuth, ViewerAuth
from crm_shared.idempotency import Idempotent

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

_MEMBERS = (
    "Contacts join and leave a campaign through `POST /v1/bulk-actions` (`add_to_campaign`, "
    "`remove_from_campaign`); a contact shows its campaign ids in `campaigns`, and "
    "`GET /v1/contacts?campaign=<id>` lists the members."
)


class CampaignCreate(BaseModel):
    """Body of `POST /v1/campaigns`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=NAME_MAX, description="Unique ignoring case and accents"
    )
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)


class CampaignPublic(BaseModel):
    """A campaign; `member_count` (live members) only when read one by one."""

    id: str
    name: str
    description: str | None
    version: int
    created_at: str
    updated_at: str
    member_count: int | None = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> CampaignPublic:
        """The public view of a stored campaign."""
        return cls.model_validate({k: v for k, v in doc.items() if k in cls.model_fields})


class CampaignList(BaseModel):
    """One page of campaigns in creation order; pass `next_cursor` as `cursor` for the next."""

    items: list[CampaignPublic]
    next_cursor: str | None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignPublic,
    description=_MEMBERS,
    dependencies=[Idempotent],
)
async def create_campaign(
    body: CampaignCreate, principal: EditorAuth, store: Store, response: Response
) -> CampaignPublic:
    """Create a campaign (editor); 409 naming the existing one when the name is taken."""
    doc = await handlers.create_campaign(
        store,
        tenant=principal.tenant,
        actor=principal.key_id,
        name=body.name,
        description=body.description,
    )
    response.headers["Location"] = f"/v1/campaigns/{doc['id']}"
    return CampaignPublic.of({**doc, "member_count": 0})


@router.get("", response_model=CampaignList)
async def list_campaigns(
    principal: ViewerAuth,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> CampaignList:
    """The tenant's campaigns, oldest first (viewer)."""
    after = decode_cursor(cursor) if cursor else None
    docs, more = await handlers.list_campaigns(
        store, tenant=principal.tenant, after=after, limit=limit
    )
    return CampaignList(
        items=[CampaignPublic.of(doc) for doc in docs],
        next_cursor=encode_cursor(docs[-1]["id"]) if more and docs else None,
    )


@router.get("/{campaign_id}", response_model=CampaignPublic)
async def get_campaign(campaign_id: str, principal: ViewerAuth, store: Store) -> CampaignPublic:
    """One campaign with its number of live members (viewer)."""
    return CampaignPublic.of(
        await handlers.get_campaign(store, campaign_id, tenant=principal.tenant)
    )
