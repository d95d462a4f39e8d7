"""Timeline items, the contact projection and the commands that change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from crm_shared.events.timeline import ActivityType

ItemType = Literal["conversation", "email", "appointment", "note", "ticket", "contact"]
ContactState = Literal["live", "deleted", "erased", "purged"]

TIMELINE_SOURCE = "crm/timeline"
NOTE_SUMMARY_LENGTH = 140


class TimelineItem(BaseModel):
    """One entry of a contact's timeline; `occurred_at` is fixed-width ISO-8601 UTC text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tenant: str
    contact_id: str
    type: ItemType
    occurred_at: str
    source: str
    summary: str
    data: dict[str, Any] = {}
    actor: str | None = None


class ContactProjection(BaseModel):
    """What the timeline knows of a contact: enough to order its events and answer 404s."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tenant: str
    version: int
    state: ContactState
    erasure_id: str | None = None
    # The primary this contact was merged into: its items then show on the primary's timeline.
    merged_into: str | None = None

    @property
    def erased(self) -> bool:
        """True once the contact's data was erased; an erased contact stays erased."""
        return self.state == "erased"

    @property
    def purged(self) -> bool:
        """True once the contacts service removed the contact for good; nothing of it is kept."""
        return self.state == "purged"


@dataclass(frozen=True)
class EventOrigin:
    """Where and when an event happened: the envelope attributes a timeline item keeps."""

    tenant: str
    source: str
    occurred_at: datetime
    actor: str | None = None


class AddNote(BaseModel):
    """Add a note to a contact's timeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
    body: str


class RecordActivity(BaseModel):
    """Record an interaction with a contact reported by another product or an integration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
    activity_type: ActivityType
    occurred_at: datetime
    summary: str
    data: dict[str, Any] = {}


class EraseContact(BaseModel):
    """Remove everything the timeline holds about a contact, for an erasure request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    erasure_id: str
    contact_id: str


def as_utc(moment: datetime) -> datetime:
    """Read a naive datetime as UTC (other products may omit the offset); keep aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
