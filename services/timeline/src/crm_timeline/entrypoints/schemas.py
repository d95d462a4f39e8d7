"""Request and response bodies of the public HTTP contract v1."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_shared.events.activities import ActivityReport, NoteText
from crm_shared.events.timeline import ActivityType
from crm_shared.validation import CLEAN_TEXT, MAX_JSON_BYTES, MAX_JSON_DEPTH, JsonObject, Moment
from crm_timeline.domain.model import ItemType, TimelineItem
from crm_timeline.service_layer.queries import TimelinePage

MAX_ACTIVITY_DATA_BYTES = MAX_JSON_BYTES

Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), CLEAN_TEXT
]

# The body of POST /activities: the very model crm.activities.v1 carries (v2), less contact_id.
ActivityBody = ActivityReport


class NoteCreate(BaseModel):
    """A note to add; the body is stripped and must not be empty."""

    model_config = ConfigDict(extra="forbid")

    body: NoteText


class NoteUpdate(BaseModel):
    """A note's new body; stripped and must not be empty."""

    model_config = ConfigDict(extra="forbid")

    body: NoteText


class ActivityCreate(BaseModel):
    """A v1 activity on `crm.activities.v1` (activity.recorded.v1), validated as v1 always was."""

    model_config = ConfigDict(extra="forbid")

    activity_type: ActivityType
    occurred_at: Moment = Field(
        description="ISO-8601 with an offset, years 1900-2200; stored in UTC"
    )
    summary: Summary
    data: JsonObject = Field(
        default_factory=dict,
        description=f"Free-form JSON object: at most {MAX_JSON_DEPTH} levels deep and "
        f"{MAX_JSON_BYTES} bytes, 64-bit integers, no NUL or lone surrogates",
    )


class ItemPublic(BaseModel):
    """One timeline item as clients see it."""

    id: str
    contact_id: str = Field(
        description="The contact the item is about: another id than the timeline's for the "
        "items of a contact merged into it"
    )
    type: ItemType
    occurred_at: str = Field(description="ISO-8601 UTC")
    source: str
    actor: str | None = Field(
        description="Who or what caused it: key:<label>, user:<subject>, import:<job id>, "
        "system:<task>, or a product's own name (product:<name>)"
    )
    summary: str
    details: dict[str, Any] = Field(
        description="The typed fields of a reported activity, by type (see the v2 event schema)"
    )
    data: dict[str, Any]
    edited_at: str | None = Field(default=None, description="When a note was last edited")

    @classmethod
    def of(cls, item: TimelineItem) -> ItemPublic:
        """The public view of a stored item (the tenant stays internal)."""
        return cls(
            id=item.id,
            contact_id=item.contact_id,
            type=item.type,
            occurred_at=item.occurred_at,
            source=item.source,
            actor=item.actor,
            summary=item.summary,
            details=item.details,
            data=item.data,
            edited_at=item.edited_at,
        )


class TimelinePublic(BaseModel):
    """A page of a timeline, newest first; pass `next_cursor` back to read the next page."""

    items: list[ItemPublic]
    next_cursor: str | None

    @classmethod
    def of(cls, page: TimelinePage) -> TimelinePublic:
        """The public view of a page."""
        return cls(items=[ItemPublic.of(i) for i in page.items], next_cursor=page.next_cursor)
