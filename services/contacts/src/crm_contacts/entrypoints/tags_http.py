"""`/v1/tags`: the tenant's tags (manual, auto from tag rules, system from the platform)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.tags import TAG_GROUP_MAX, TagKind
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.jobs_http import JobPublic, accepted
from crm_contacts.service_layer import tags as handlers
from crm_shared.http import EditorAuth, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.problems import Unprocessable
from crm_shared.rules import TAG_NAME_MAX

router = APIRouter(prefix="/v1/tags", tags=["tags"])

_COLOR = r"^#[0-9a-fA-F]{6}$"
_KINDS = (
    "Kinds: `manual` (users add and remove them), `auto` (given by tag rules, see "
    "/v1/tag-rules) and `system` (set by the platform: `source:<source>` on every contact, "
    "`imported` on contacts an import created; users cannot add or remove them). Names are "
    "unique per tenant ignoring case and accents."
)


class TagCreate(BaseModel):
    """Body of `POST /v1/tags`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=TAG_NAME_MAX)
    kind: Literal["manual", "auto", "system"] = Field(
        default="manual", description="Users may create manual tags only"
    )
    group: str | None = Field(default=None, min_length=1, max_length=TAG_GROUP_MAX)
    color: str | None = Field(default=None, pattern=_COLOR, description="#rrggbb")


class TagUpdate(BaseModel):
    """Body of `PATCH /v1/tags/{id}`: only the attributes present change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=TAG_NAME_MAX)
    group: str | None = Field(default=None, max_length=TAG_GROUP_MAX)
    color: str | None = Field(default=None, pattern=_COLOR)

    def present_fields(self) -> dict[str, Any]:
        """The attributes the client sent (null clears group or color)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class TagPublic(BaseModel):
    """A tag."""

    id: str
    name: str
    kind: TagKind
    group: str | None
    color: str | None
    version: int
    created_at: str
    updated_at: str


class TagChanged(TagPublic):
    """A tag after a change, and for a rename the job renaming it on the contacts (else null)."""

    job: JobPublic | None


class TagList(BaseModel):
    """The tenant's tags by name."""

    items: list[TagPublic]


@router.get("", response_model=TagList, description=_KINDS)
async def list_tags(
    principal: ViewerAuth,
    store: Store,
    kind: Annotated[TagKind | None, Query()] = None,
    group: Annotated[str | None, Query(max_length=TAG_GROUP_MAX)] = None,
) -> TagList:
    """The tenant's tags, optionally of one kind and group."""
    docs = await handlers.list_tags(store, tenant=principal.tenant, kind=kind, group=group)
    return TagList(items=[TagPublic.model_validate(doc) for doc in docs])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TagPublic,
    dependencies=[Idempotent],
)
async def create_tag(
    body: TagCreate, principal: EditorAuth, store: Store, response: Response
) -> TagPublic:
    """Create a manual tag; 409 if the name exists ignoring case and accents."""
    if body.kind != "manual":
        raise Unprocessable(
            f"kind: users may create manual tags only; {body.kind} tags come from "
            + ("tag rules" if body.kind == "auto" else "the platform")
        )
    doc = await handlers.create_tag(
        store, tenant=principal.tenant, name=body.name, group=body.group, color=body.color
    )
    response.headers["Location"] = f"/v1/tags/{doc['id']}"
    return TagPublic.model_validate(doc)


@router.get("/{tag_id}", response_model=TagPublic)
async def get_tag(tag_id: str, principal: ViewerAuth, store: Store) -> TagPublic:
    """One tag."""
    return TagPublic.model_validate(await handlers.get_tag(store, tag_id, tenant=principal.tenant))


@router.patch(
    "/{tag_id}",
    response_model=TagChanged,
    responses={202: {"model": TagChanged, "description": "Renamed; the job follows"}},
    description=(
        "Rename, regroup or recolor a tag (200). A rename (202, `Location` of the job) renames "
        "it in the filters of tag rules at once and queues a job renaming it on every contact "
        "that carries it (new version and ContactUpdated each); until the job completes a "
        "filter on the tag finds contacts under either name. 409 if another tag has the name "
        "ignoring case and accents. System tags cannot be renamed."
    ),
)
async def update_tag(
    tag_id: str,
    body: TagUpdate,
    principal: EditorAuth,
    store: Store,
    request: Request,
    response: Response,
) -> TagChanged:
    """Rename (everywhere), regroup or recolor a tag."""
    doc, job = await handlers.update_tag(
        store, tag_id, body.present_fields(), tenant=principal.tenant, actor=principal.key_id
    )
    queued = accepted(request, response, job) if job is not None else None
    return TagChanged.model_validate({**doc, "job": queued})


@router.delete(
    "/{tag_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    description=(
        "Delete a tag (202 with the job, `Location` of the job): the tag is gone at once and "
        "the job removes it from every contact (ContactUpdated each). System tags cannot be "
        "deleted; 409 while a tag rule gives the tag or filters on it."
    ),
)
async def delete_tag(
    tag_id: str, principal: EditorAuth, store: Store, request: Request, response: Response
) -> JobPublic:
    """Delete a tag and remove it from every contact."""
    job = await handlers.delete_tag(store, tag_id, tenant=principal.tenant, actor=principal.key_id)
    return accepted(request, response, job)
