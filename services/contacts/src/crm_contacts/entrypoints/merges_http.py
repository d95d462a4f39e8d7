"""Merging duplicates over HTTP: preview, merge, read a merge, undo it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.contact import public_view
from crm_contacts.domain.merging import MAX_DUPLICATES, MergeRequest
from crm_contacts.entrypoints.deps import Clock, Settings, Store
from crm_contacts.entrypoints.paging import expected_version
from crm_contacts.entrypoints.schemas import ContactPublic
from crm_contacts.service_layer import merges
from crm_shared.http import EditorAuth, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.problems import BadRequest

router = APIRouter(prefix="/v1/merges", tags=["merges"])

ContactId = Annotated[str, Field(min_length=1, max_length=64)]
CHOICES_DOC = (
    "Which contact's value each field takes: name, email, phone, company, timezone, owner or "
    "custom_fields.<key> -> contact id. Unchosen fields take the primary's value, else the first "
    "non-empty one in duplicate_ids order; emails, phones, tags and campaigns are unions"
)
IF_MATCH_DOC = (
    "Optional version precondition per contact (one If-Match header cannot carry several): "
    'contact id -> the ETag read (3, "3" or W/"3"); 412 naming the contact when one moved on'
)


class MergeBody(BaseModel):
    """Body of `POST /v1/merges/preview`."""

    model_config = ConfigDict(extra="forbid")

    primary_id: ContactId = Field(description="The contact that stays")
    duplicate_ids: list[ContactId] = Field(
        min_length=1,
        description=f"The contacts merged into the primary, 1-{MAX_DUPLICATES}",
    )
    field_choices: dict[str, str] = Field(default_factory=dict, description=CHOICES_DOC)

    def request(self) -> MergeRequest:
        """The domain request."""
        return MergeRequest(
            primary_id=self.primary_id,
            duplicate_ids=tuple(self.duplicate_ids),
            field_choices=dict(self.field_choices),
        )


class MergeCreate(MergeBody):
    """Body of `POST /v1/merges`."""

    if_match: dict[str, str] = Field(default_factory=dict, description=IF_MATCH_DOC)

    def versions(self) -> dict[str, int]:
        """The version each listed contact must still have."""
        versions = {cid: expected_version(tag) for cid, tag in self.if_match.items()}
        return {cid: version for cid, version in versions.items() if version is not None}


class ConflictValue(BaseModel):
    """One contact's value of a conflicting field."""

    contact_id: str
    value: Any


class MergeConflictPublic(BaseModel):
    """A field the contacts hold different values for."""

    field: str
    values: list[ConflictValue]


class MergePreviewPublic(BaseModel):
    """The primary as the merge would save it (nothing is saved) and the conflicts."""

    contact: ContactPublic
    conflicts: list[MergeConflictPublic]


class MergePublic(BaseModel):
    """A merge: who was merged into whom, and (after the merge) the primary."""

    id: str
    status: str = Field(description="merged, undone, or expired/erased (no longer undoable)")
    primary_id: str
    duplicate_ids: list[str]
    merged_at: str
    undone_at: str | None = None
    contact: ContactPublic | None = Field(
        default=None, description="The primary as the merge saved it"
    )


class UndoPublic(BaseModel):
    """An undone merge: every contact as restored, and the primary's edits that were kept."""

    id: str
    status: str
    primary_id: str
    duplicate_ids: list[str]
    contacts: list[ContactPublic]
    kept_changes: list[str] = Field(
        description="Fields of the primary edited after the merge: undo kept these edits"
    )


def _public(record: dict[str, Any]) -> MergePublic:
    after = record.get("primary_after") if record["status"] == "merged" else None
    return MergePublic(
        id=record["id"],
        status=record["status"],
        primary_id=record["primary_id"],
        duplicate_ids=list(record["duplicate_ids"]),
        merged_at=record["merged_at"],
        undone_at=record.get("undone_at"),
        contact=ContactPublic.model_validate(public_view(after)) if after else None,
    )


@router.post("/preview", response_model=MergePreviewPublic)
async def preview_merge(body: MergeBody, principal: EditorAuth, store: Store) -> MergePreviewPublic:
    """The merged contact as it would be saved, and the conflicting fields; saves nothing."""
    preview = await merges.preview_merge(store, body.request(), tenant=principal.tenant)
    return MergePreviewPublic(
        contact=ContactPublic.model_validate(public_view(preview.contact)),
        conflicts=[MergeConflictPublic.model_validate(c.public()) for c in preview.conflicts],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MergePublic,
    dependencies=[Idempotent],
)
async def merge_contacts(
    body: MergeCreate,
    principal: EditorAuth,
    store: Store,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(description="The primary's version (the body's if_match covers every contact)"),
    ] = None,
) -> MergePublic:
    """Merge the duplicates into the primary; each duplicate then answers 404 naming it."""
    try:
        versions = body.versions()
    except BadRequest as exc:
        raise BadRequest(f"if_match: {exc.detail}") from exc
    header_version = expected_version(if_match)
    if header_version is not None:
        versions.setdefault(body.primary_id, header_version)
    record = await merges.merge_contacts(
        store, body.request(), if_match=versions, tenant=principal.tenant, actor=principal.key_id
    )
    response.headers["Location"] = f"/v1/merges/{record['id']}"
    return _public(record)


@router.get("/{merge_id}", response_model=MergePublic)
async def get_merge(merge_id: str, principal: ViewerAuth, store: Store) -> MergePublic:
    """One merge of the tenant."""
    return _public(await merges.get_merge(store, merge_id, tenant=principal.tenant))


@router.post("/{merge_id}/undo", response_model=UndoPublic)
async def undo_merge(
    merge_id: str, principal: EditorAuth, store: Store, settings: Settings, clock: Clock
) -> UndoPublic:
    """Bring every merged contact back as it was (new versions); 409 naming what blocks it.

    Possible while the merged contacts are within the soft-delete retention and no later merge
    involves them. Fields of the primary edited after the merge keep the edit (`kept_changes`);
    every other field, and every duplicate, goes back to its pre-merge value.
    """
    result = await merges.undo_merge(
        store,
        merge_id,
        tenant=principal.tenant,
        actor=principal.key_id,
        now=clock(),
        retention_days=settings.contacts_retention_days,
    )
    return UndoPublic(
        id=result.record["id"],
        status=result.record["status"],
        primary_id=result.record["primary_id"],
        duplicate_ids=list(result.record["duplicate_ids"]),
        contacts=[ContactPublic.model_validate(public_view(doc)) for doc in result.contacts],
        kept_changes=result.kept_changes,
    )
