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


class NoteEdited(EventData):
    """A note's body was changed (the body itself stays in the timeline)."""

    event_type = "crm.timeline.note.edited.v1"
    topic = TIMELINE_EVENTS.name

    contact_id: str
    note_id: str


class NoteDeleted(EventData):
    """A note was deleted from a contact's timeline."""

    event_type = "crm.timeline.note.deleted.v1"
    topic = TIMELINE_EVENTS.name

    contact_id: str
    note_id: str


class TimelineActivityRecorded(EventData):
    """The timeline recorded an activity on a contact's timeline (from HTTP or a product).

    Other products and the audit log read what was kept, after the timeline accepted it: the
    contact was known to the tenant and the activity valid. Like the note events it names the
    item and never carries its text (read it with GET /v1/contacts/{id}/timeline), so the
    topic holds no free text about the person.
    """

    event_type = "crm.timeline.activity.recorded.v1"
    topic = TIMELINE_EVENTS.name

    contact_id: str
    item_id: str
    item_type: str
    occurred_at: datetime
    source: str
