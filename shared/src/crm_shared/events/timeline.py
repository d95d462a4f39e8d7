"""Activity events: what other products report about a contact, and notes added in the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from crm_shared.envelope import EventData
from crm_shared.topics import ACTIVITIES, TIMELINE_EVENTS

ActivityType = Literal["conversation", "email", "appointment", "note", "ticket"]


class ActivityRecorded(EventData):
    """Another product reports an interaction with a contact (chat, email, appointment, ticket)."""

    event_type = "crm.activities.activity.recorded.v1"
    topic = ACTIVITIES.name

    contact_id: str
    activity_type: ActivityType
    occurred_at: datetime
    summary: str
    data: dict[str, Any] = {}


class NoteAdded(EventData):
    """A note was added to a contact's timeline."""

    event_type = "crm.timeline.note.added.v1"
    topic = TIMELINE_EVENTS.name

    contact_id: str
    note_id: str
