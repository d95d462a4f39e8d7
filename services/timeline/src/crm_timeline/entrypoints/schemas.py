"""Request and response bodies of the public HTTP contract v1."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_shared.events.timeline import ActivityType
from crm_shared.validation import CLEAN_TEXT, MAX_JSON_BYTES, MAX_JSON_DEPTH, JsonObject, Moment
from crm_timeline.domain.model import ItemType, TimelineItem
from crm_timeline.service_layer.queries import TimelinePage

MAX_ACTIVITY_DATA_BYTES = MAX_JSON_BYTES

NoteBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000), CLEAN_TEXT
]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), CLEAN_TEXT
]


class NoteCreate(BaseModel):
    """A note to add; the body is stripped and must not be empty."""

    model_config = ConfigDict(extra="forbid")

    body: NoteBody


class ActivityCreate(BaseModel):
    """An activity reported over HTTP, or on `crm.activities.v1` (both validated by this model)."""

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
    summary: str
    data: dict[str, Any]

    @classmethod
    def of(cls, item: TimelineItem) -> ItemPublic:
        """The public view of a stored item (tenant and actor stay internal)."""
        return cls(
            id=item.id,
            contact_id=item.contact_id,
            type=item.type,
            occurred_at=item.occurred_at,
            source=item.source,
            summary=item.summary,
            data=item.data,
        )


class TimelinePublic(BaseModel):
    """A page of a timeline, newest first; pass `next_cursor` back to read the next page."""

    items: list[ItemPublic]
    next_cursor: str | None

    @classmethod
    def of(cls, page: TimelinePage) -> TimelinePublic:
        """The public view of a page."""
        return cls(items=[ItemPublic.of(i) for i in page.items], next_cursor=page.next_cursor)
