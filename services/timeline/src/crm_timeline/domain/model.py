"""Timeline items, the contact projection and the commands that change them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict

from crm_shared.events.activities import ReportedType

# Reported by other products (typed, see crm_shared.events.activities) or recorded by the
# timeline itself from contact, consent and merge events. "email" is what v1 reports call an
# email whose direction they did not say.
ItemType = Literal[
    "conversation",
    "email_sent",
    "email_received",
    "appointment",
    "note",
    "ticket",
    "contact_changed",
    "consent_changed",
    "imported",
    "merged",
    "email",
]
ITEM_TYPES: tuple[ItemType, ...] = get_args(ItemType)
REPORTED_TYPES: tuple[ReportedType, ...] = get_args(ReportedType)
V1_ACTIVITY_TYPES = ("conversation", "email", "appointment", "note", "ticket")
ContactState = Literal["live", "deleted", "erased", "purged"]

TIMELINE_SOURCE = "crm/timeline"
NOTE_SUMMARY_LENGTH = 140


def _stored_type(value: object) -> object:
    # Items stored before the types were split said "contact" for every contact change.
    return "contact_changed" if value == "contact" else value


class TimelineItem(BaseModel):
    """One entry of a contact's timeline; `occurred_at` is fixed-width ISO-8601 UTC text.

    `details` holds the typed fields of a reported activity (crm_shared.events.activities),
    `data` free-form extras; `actor` who or what caused it (crm_shared.actors).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tenant: str
    contact_id: str
    type: Annotated[ItemType, BeforeValidator(_stored_type)]
    occurred_at: str
    source: str
    summary: str
    details: dict[str, Any] = {}
    data: dict[str, Any] = {}
    actor: str | None = None
    edited_at: str | None = None


@dataclass(frozen=True, slots=True)
class ContactProjection:
    """What the timeline knows of a contact: enough to order its events and answer 404s.

    A plain dataclass, not a model: an import batch advances a thousand at once, and building
    and dumping a model each was ~4 us of the timeline's CPU per imported row. Its values come
    from validated events or from documents this service wrote (`as_document`).
    """

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

    def as_document(self) -> dict[str, Any]:
        """The stored document (the fields in order, as the projection's model dumped them)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "version": self.version,
            "state": self.state,
            "erasure_id": self.erasure_id,
            "merged_into": self.merged_into,
        }

    @classmethod
    def of_document(cls, doc: Mapping[str, Any]) -> ContactProjection:
        """The projection a stored document (`as_document`) holds."""
        return cls(
            id=doc["id"],
            tenant=doc["tenant"],
            version=doc["version"],
            state=doc["state"],
            erasure_id=doc.get("erasure_id"),
            merged_into=doc.get("merged_into"),
        )


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
    activity_type: ItemType
    occurred_at: datetime
    summary: str
    details: dict[str, Any] = {}
    data: dict[str, Any] = {}


class ParkedActivity(BaseModel):
    """An activity reported before its contact's first event: kept until that event or expiry.

    `id` is the reporting event's id; `envelope` the event as received, dead-lettered unchanged
    (with the reason) if the contact never shows up.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    owner: str
    contact_id: str
    expires_at: str
    activity: RecordActivity
    source: str
    actor: str | None
    envelope: str


class EditNote(BaseModel):
    """Replace the body of a note written in the timeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
    note_id: str
    body: str


class DeleteNote(BaseModel):
    """Delete a note written in the timeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
    note_id: str


class EraseContact(BaseModel):
    """Remove everything the timeline holds about a contact, for an erasure request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    erasure_id: str
    contact_id: str


def as_utc(moment: datetime) -> datetime:
    """Read a naive datetime as UTC (other products may omit the offset); keep aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
