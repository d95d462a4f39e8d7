"""The public HTTP contract v1 of the timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecorded
from crm_shared.http import BusDep, EditorAuth, StoreDep, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_timeline.domain.model import AddNote, ItemType, TimelineItem
from crm_timeline.entrypoints.schemas import (
    ActivityCreate,
    ItemPublic,
    NoteCreate,
    TimelinePublic,
)
from crm_timeline.service_layer.activities import add_note
from crm_timeline.service_layer.queries import read_timeline

API_SOURCE = "crm/timeline/api"

router = APIRouter(prefix="/v1", tags=["timeline"])

ContactId = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/contacts/{contact_id}/timeline", response_model=TimelinePublic)
async def get_timeline(
    contact_id: ContactId,
    principal: ViewerAuth,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    item_type: Annotated[ItemType | None, Query(alias="type")] = None,
) -> TimelinePublic:
    """A contact's timeline, newest first, one keyset page at a time."""
    page = await read_timeline(
        store,
        tenant=principal.tenant,
        contact_id=contact_id,
        item_type=item_type,
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


@router.post(
    "/contacts/{contact_id}/activities",
    status_code=201,
    response_model=ItemPublic,
    dependencies=[Idempotent],
)
async def create_activity(
    contact_id: ContactId, body: ActivityCreate, principal: EditorAuth, bus: BusDep
) -> ItemPublic:
    """Record an activity: the message goes through the same bus as the ACTIVITIES consumer's."""
    activity = ActivityRecorded(
        contact_id=contact_id,
        activity_type=body.activity_type,
        occurred_at=body.occurred_at,
        summary=body.summary,
        data=body.data,
    )
    envelope = EventEnvelope.wrap(
        activity,
        source=API_SOURCE,
        tenant=principal.tenant,
        subject=contact_id,
        actor=principal.key_id,
    )
    item = await bus.dispatch(envelope)
    if not isinstance(item, TimelineItem):  # a fresh envelope id is never a redelivery
        raise RuntimeError("activity handler recorded nothing for an HTTP request")
    return ItemPublic.of(item)
