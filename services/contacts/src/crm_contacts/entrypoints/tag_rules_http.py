"""`/v1/tag-rules`: a filter and an auto tag, applied to every contact on create and update."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.tag_rules import RULE_NAME_MAX
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.jobs_http import JobPublic, accepted
from crm_contacts.service_layer import tag_rules as handlers
from crm_shared.filters import ContactFilter
from crm_shared.http import AdminAuth, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.rules import TAG_NAME_MAX

router = APIRouter(prefix="/v1/tag-rules", tags=["tag rules"])

_HOW = (
    "A contact matching the rule's filter (the same filter as POST /v1/contacts/search) "
    "carries the rule's auto tag; one that stops matching loses it unless another rule gives "
    "it. Rules are evaluated on every create and update (API and import). Creating, changing "
    "(filter or tag) or deleting a rule answers 202 with a job (`job`; `Location` of the job) "
    "that re-evaluates every contact of the tenant in batches (ContactUpdated for each contact "
    "whose tags change); new writes apply the changed rules at once. "
    "Rules see manual and system tags, not auto tags (rules do not chain); `deleted` must be "
    "false; custom-field conditions must name defined fields and fit their types."
)


class TagRuleCreate(BaseModel):
    """Body of `POST /v1/tag-rules`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=RULE_NAME_MAX)
    filter: ContactFilter
    tag: str = Field(min_length=1, max_length=TAG_NAME_MAX, description="The auto tag it gives")


class TagRuleUpdate(BaseModel):
    """Body of `PATCH /v1/tag-rules/{id}`: only the attributes present change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=RULE_NAME_MAX)
    filter: ContactFilter | None = None
    tag: str | None = Field(default=None, min_length=1, max_length=TAG_NAME_MAX)


class TagRulePublic(BaseModel):
    """A tag rule."""

    id: str
    name: str
    filter: dict[str, Any]
    tag: str
    version: int
    created_at: str
    updated_at: str


class TagRuleChanged(TagRulePublic):
    """A rule after a change, and the job re-tagging the contacts (null if none was needed)."""

    job: JobPublic | None


class TagRuleList(BaseModel):
    """The tenant's tag rules, oldest first."""

    items: list[TagRulePublic]


def _filter_body(criteria: ContactFilter | None) -> dict[str, Any] | None:
    return None if criteria is None else criteria.model_dump(mode="json", exclude_defaults=True)


@router.get("", response_model=TagRuleList)
async def list_tag_rules(principal: ViewerAuth, store: Store) -> TagRuleList:
    """The tenant's tag rules."""
    rules = await handlers.list_rules(store, tenant=principal.tenant)
    return TagRuleList(items=[TagRulePublic.model_validate(rule) for rule in rules])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TagRuleChanged,
    description=_HOW,
    dependencies=[Idempotent],
)
async def create_tag_rule(
    body: TagRuleCreate, principal: AdminAuth, store: Store, request: Request, response: Response
) -> TagRuleChanged:
    """Create a tag rule (admin); a job tags the contacts it matches."""
    rule, job = await handlers.create_rule(
        store,
        tenant=principal.tenant,
        name=body.name,
        criteria=_filter_body(body.filter) or {},
        tag=body.tag,
        actor=principal.key_id,
    )
    return TagRuleChanged.model_validate({**rule, "job": accepted(request, response, job)})


@router.get("/{rule_id}", response_model=TagRulePublic)
async def get_tag_rule(rule_id: str, principal: ViewerAuth, store: Store) -> TagRulePublic:
    """One tag rule."""
    rule = await handlers.get_rule(store, rule_id, tenant=principal.tenant)
    return TagRulePublic.model_validate(rule)


@router.patch(
    "/{rule_id}",
    response_model=TagRuleChanged,
    responses={202: {"model": TagRuleChanged, "description": "Changed; the job follows"}},
    description=_HOW,
)
async def update_tag_rule(
    rule_id: str,
    body: TagRuleUpdate,
    principal: AdminAuth,
    store: Store,
    request: Request,
    response: Response,
) -> TagRuleChanged:
    """Change a tag rule (admin); a job re-tags every contact."""
    patch = {"name": body.name, "filter": _filter_body(body.filter), "tag": body.tag}
    rule, job = await handlers.update_rule(
        store, rule_id, patch, tenant=principal.tenant, actor=principal.key_id
    )
    queued = accepted(request, response, job) if job is not None else None
    return TagRuleChanged.model_validate({**rule, "job": queued})


@router.delete(
    "/{rule_id}", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic, description=_HOW
)
async def delete_tag_rule(
    rule_id: str, principal: AdminAuth, store: Store, request: Request, response: Response
) -> JobPublic:
    """Delete a tag rule (admin); a job takes its tag from contacts no other rule gives it to."""
    job = await handlers.delete_rule(
        store, rule_id, tenant=principal.tenant, actor=principal.key_id
    )
    return accepted(request, response, job)
