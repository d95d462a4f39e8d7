"""The public HTTP contract v1 of the timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from crm_shared.clock import utcnow
from crm_shared.http import EditorAuth, StoreDep, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.problems import Unprocessable
from crm_shared.validation import QueryMoment, is_clean_text
from crm_timeline.domain.model import (
    AddNote,
    DeleteNote,
    EditNote,
    EventOrigin,
    ItemType,
    TimelineItem,
)
from crm_timeline.entrypoints.consumers import reported_activity
from crm_timeline.entrypoints.schemas import (
    ActivityBody,
    ItemPublic,
    NoteCreate,
    NoteUpdate,
    TimelinePublic,
)
from crm_timeline.service_layer.activities import record_activities
from crm_timeline.service_layer.notes import add_note, delete_note, edit_note
from crm_timeline.service_layer.queries import read_timeline

API_SOURCE = "crm/timeline/api"

router = APIRouter(prefix="/v1", tags=["timeline"])

ContactId = Annotated[str, Path(min_length=1, max_length=128)]
NoteId = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/contacts/{contact_id}/timeline", response_model=TimelinePublic)
async def get_timeline(
    contact_id: ContactId,
    principal: ViewerAuth,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    item_types: Annotated[
        list[ItemType] | None,
        Query(alias="type", description="Only these types; repeat the parameter for several"),
    ] = None,
    since: Annotated[
        QueryMoment | None, Query(description="Only items that occurred at or after this")
    ] = None,
    until: Annotated[
        QueryMoment | None, Query(description="Only items that occurred before this")
    ] = None,
) -> TimelinePublic:
    """A contact's timeline, newest first, one keyset page at a time."""
    page = await read_timeline(
        store,
        tenant=principal.tenant,
        contact_id=contact_id,
        item_types=item_types or (),
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return TimelinePublic.of(page)


@router.post(
    "/contacts/{contact_id}/notes",
    status_code=201,
    response_model=ItemPublic,
    dependencies=[Idempotent],
)
async def create_note(
    contact_id: ContactId, body: NoteCreate, principal: EditorAuth, store: StoreDep
) -> ItemPublic:
    """Add a note to a contact's timeline."""
    item = await add_note(
        store,
        AddNote(contact_id=contact_id, body=body.body),
        tenant=principal.tenant,
        actor=principal.key_id,
    )
    return ItemPublic.of(item)


@router.patch("/contacts/{contact_id}/notes/{note_id}", response_model=ItemPublic)
async def update_note(
    contact_id: ContactId, note_id: NoteId, body: NoteUpdate, principal: EditorAuth, store: StoreDep
) -> ItemPublic:
    """Replace a note's body (the edit is an audited event; the body is not in it)."""
    item = await edit_note(
        store,
        EditNote(contact_id=contact_id, note_id=note_id, body=body.body),
        tenant=principal.tenant,
        actor=principal.key_id,
    )
    return ItemPublic.of(item)


@router.delete("/contacts/{contact_id}/notes/{note_id}", status_code=204)
async def remove_note(
    contact_id: ContactId, note_id: NoteId, principal: EditorAuth, store: StoreDep
) -> Response:
    """Delete a note (the deletion is an audited event)."""
    await delete_note(
        store,
        DeleteNote(contact_id=contact_id, note_id=note_id),
        tenant=principal.tenant,
        actor=principal.key_id,
    )
    return Response(status_code=204)


@router.post(
    "/contacts/{contact_id}/activities",
    status_code=201,
    response_model=ItemPublic,
    dependencies=[Idempotent],
)
async def create_activity(
    contact_id: ContactId, body: ActivityBody, principal: EditorAuth, store: StoreDep
) -> ItemPublic:
    """Record an activity: the same model and handler as a v2 report on crm.activities.v1.

    404 when the tenant has no such contact (a topic's report waits for it a while instead).
    """
    if not is_clean_text(contact_id):
        raise Unprocessable(
            "contact_id must not contain NUL or unpaired surrogate characters",
            extra={"errors": [{"loc": ["path", "contact_id"], "msg": "invalid text"}]},
        )
    origin = EventOrigin(
        tenant=principal.tenant, source=API_SOURCE, occurred_at=utcnow(), actor=principal.key_id
    )
    report = reported_activity(contact_id, body, origin=origin, delivery=None, envelope=None)
    [outcome] = await record_activities(store, [report], park_for=None)
    if isinstance(outcome, Exception):
        raise outcome
    if not isinstance(outcome, TimelineItem):  # no delivery id: never a redelivery or parked
        raise RuntimeError("activity handler recorded nothing for an HTTP request")
    return ItemPublic.of(outcome)
