"""Typed activities other products report (v2): one details model per kind of interaction.

`ActivityReport` is the one validation both ways in: it is the timeline's HTTP body, and the
timeline judges the data of an `ActivityRecordedV2` on `crm.activities.v1` (less its contact id)
by it too, so the API and the topic accept and refuse exactly the same things, unknown fields
included. The event model itself, like every event model, is a tolerant reader (unknown fields
ignored) with the same typed details, so the published schema shows each type's fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeVar, Union, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crm_shared.envelope import EventData
from crm_shared.topics import ACTIVITIES
from crm_shared.validation import CLEAN_TEXT, MAX_JSON_BYTES, JsonObject, Moment

Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), CLEAN_TEXT
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=998), CLEAN_TEXT
]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), CLEAN_TEXT
]
NoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000), CLEAN_TEXT
]

# What other products may report; the timeline itself records the rest (see ITEM_TYPES).
ReportedType = Literal[
    "conversation", "email_sent", "email_received", "appointment", "note", "ticket"
]
AppointmentStatus = Literal["scheduled", "rescheduled", "cancelled", "attended"]
TicketChange = Literal["opened", "status_changed", "closed"]


class _Details(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConversationDetails(_Details):
    """A conversation (chat, call, messaging app) with the contact."""

    type: Literal["conversation"]
    conversation_id: Ref
    channel: Ref | None = None
    message_count: int | None = Field(default=None, ge=0, le=1_000_000)


class _EmailDetails(_Details):
    message_id: Ref | None = None
    thread_id: Ref | None = None
    subject: ShortText | None = None


class EmailSentDetails(_EmailDetails):
    """An email sent to the contact."""

    type: Literal["email_sent"]


class EmailReceivedDetails(_EmailDetails):
    """An email received from the contact."""

    type: Literal["email_received"]


class AppointmentDetails(_Details):
    """An appointment scheduled, moved, cancelled or attended; scheduling names its start."""

    type: Literal["appointment"]
    appointment_id: Ref
    status: AppointmentStatus
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    location: ShortText | None = None

    @model_validator(mode="after")
    def _times_make_sense(self) -> Self:
        if self.status in ("scheduled", "rescheduled") and self.starts_at is None:
            raise ValueError(f"starts_at is required when the appointment is {self.status}")
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        return self


class NoteDetails(_Details):
    """A note written in another product."""

    type: Literal["note"]
    body: NoteText


class TicketDetails(_Details):
    """A support ticket opened, moved to another status, or closed."""

    type: Literal["ticket"]
    ticket_id: Ref
    change: TicketChange
    status: Ref | None = Field(default=None, description="The ticket's status after the change")

    @model_validator(mode="after")
    def _status_named(self) -> Self:
        if self.change == "status_changed" and self.status is None:
            raise ValueError("status is required when the ticket's status changed")
        return self


ActivityDetails = Annotated[
    ConversationDetails
    | EmailSentDetails
    | EmailReceivedDetails
    | AppointmentDetails
    | NoteDetails
    | TicketDetails,
    Field(discriminator="type"),
]


class ActivityReport(BaseModel):
    """An activity as reported over HTTP or, with its contact id, on crm.activities.v1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: Moment = Field(
        description="ISO-8601 with an offset, years 1900-2200; stored in UTC"
    )
    summary: Summary
    details: ActivityDetails = Field(description="Typed fields of the activity, by `type`")
    data: JsonObject = Field(
        default_factory=dict,
        description=f"Free-form extra JSON object, at most {MAX_JSON_BYTES} bytes",
    )


M = TypeVar("M", bound=BaseModel)


def _tolerant(model: type[M]) -> type[M]:
    """The same details model as a tolerant reader, for the event (see the module docstring)."""
    namespace: dict[str, Any] = {
        "model_config": ConfigDict(frozen=True, extra="ignore"),
        "__module__": __name__,
        "__doc__": model.__doc__,
        "__qualname__": f"{model.__name__}V2",
    }
    return cast(type[M], type(f"{model.__name__}V2", (model,), namespace))


_DETAILS = (
    ConversationDetails,
    EmailSentDetails,
    EmailReceivedDetails,
    AppointmentDetails,
    NoteDetails,
    TicketDetails,
)
if TYPE_CHECKING:
    EventDetails = ActivityDetails
else:
    EventDetails = Annotated[
        Union[tuple(_tolerant(model) for model in _DETAILS)],  # noqa: UP007
        Field(discriminator="type"),
    ]


class ActivityRecordedV2(EventData):
    """Another product reports a typed interaction with a contact.

    The timeline refuses what its HTTP API refuses (`ActivityReport`), unknown fields included.
    """

    event_type = "crm.activities.activity.recorded.v2"
    topic = ACTIVITIES.name

    contact_id: Ref
    occurred_at: Moment = Field(
        description="ISO-8601 with an offset, years 1900-2200; stored in UTC"
    )
    summary: Summary
    details: EventDetails = Field(description="Typed fields of the activity, by `type`")
    data: JsonObject = Field(
        default_factory=dict,
        description=f"Free-form extra JSON object, at most {MAX_JSON_BYTES} bytes",
    )
