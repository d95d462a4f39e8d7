"""How notes, activities and erasures become timeline items."""

from __future__ import annotations

from datetime import datetime

from crm_shared.clock import iso
from crm_timeline.domain.model import (
    NOTE_SUMMARY_LENGTH,
    TIMELINE_SOURCE,
    AddNote,
    RecordActivity,
    TimelineItem,
    as_utc,
)


def note_item(
    command: AddNote, *, tenant: str, note_id: str, at: datetime, actor: str | None
) -> TimelineItem:
    """A note item; its summary is the start of the body."""
    return TimelineItem(
        id=note_id,
        tenant=tenant,
        contact_id=command.contact_id,
        type="note",
        occurred_at=iso(as_utc(at)),
        source=TIMELINE_SOURCE,
        summary=command.body[:NOTE_SUMMARY_LENGTH],
        data={"body": command.body, "note_id": note_id},
        actor=actor,
    )


def activity_item(
    command: RecordActivity, *, tenant: str, item_id: str, source: str, actor: str | None
) -> TimelineItem:
    """An item for an interaction another product or an integration reported."""
    return TimelineItem(
        id=item_id,
        tenant=tenant,
        contact_id=command.contact_id,
        type=command.activity_type,
        occurred_at=iso(as_utc(command.occurred_at)),
        source=source,
        summary=command.summary,
        details=dict(command.details),
        data=dict(command.data),
        actor=actor,
    )


def erased_item(
    *, tenant: str, contact_id: str, erasure_id: str, item_id: str, at: datetime, source: str
) -> TimelineItem:
    """The one item left after an erasure: that it happened, nothing about the person."""
    return TimelineItem(
        id=item_id,
        tenant=tenant,
        contact_id=contact_id,
        type="contact_changed",
        occurred_at=iso(as_utc(at)),
        source=source,
        summary="Contact data erased",
        data={"erasure_id": erasure_id},
    )
