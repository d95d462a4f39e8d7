"""Where contacts come from: chat conversations, integrations' upserts, forms' submissions.

Other products publish conversations on `crm.conversations.v1` (keyed by conversation id) and
contact upserts on `crm.contacts.upserts.v1` (keyed by `system:external_id`); the contacts
service resolves each person to one contact and publishes what it linked on
`crm.contacts.events.v1`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_shared.envelope import EventData
from crm_shared.events.gdpr import ConsentChannel
from crm_shared.topics import CONTACT_EVENTS, CONTACT_UPSERTS, CONVERSATIONS
from crm_shared.validation import JsonObject, Moment, Text

# An external system's name (lower case, no colon: `system:id` is a match key) and an id in it.
EXTERNAL_SYSTEM_PATTERN = r"^[a-z][a-z0-9_.-]{0,39}$"
EXTERNAL_ID_MAX = 200
MESSAGE_TEXT_MAX = 4000
_ID = Field(min_length=1, max_length=200)


class ConversationStarted(EventData):
    """A conversation product opened a conversation (the visitor may still be anonymous)."""

    event_type = "crm.conversations.conversation.started.v1"
    topic = CONVERSATIONS.name

    conversation_id: str = _ID
    started_at: Moment
    channel: str = Field(default="chat", min_length=1, max_length=50)


class ConversationMessage(EventData):
    """One message of a conversation, from the visitor, an agent or a bot."""

    event_type = "crm.conversations.message.sent.v1"
    topic = CONVERSATIONS.name

    conversation_id: str = _ID
    message_id: str = _ID
    sent_at: Moment
    author: Literal["visitor", "agent", "bot"]
    text: Text = Field(min_length=1, max_length=MESSAGE_TEXT_MAX)


class VisitorIdentified(EventData):
    """The visitor of a conversation gave who they are: an email or a phone, maybe a name."""

    event_type = "crm.conversations.visitor.identified.v1"
    topic = CONVERSATIONS.name

    conversation_id: str = _ID
    identified_at: Moment
    name: Text | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _names_someone(self) -> VisitorIdentified:
        if not (self.email or self.phone):
            raise ValueError("a visitor is identified by an email or a phone")
        return self


class ConversationEnded(EventData):
    """The conversation is over."""

    event_type = "crm.conversations.conversation.ended.v1"
    topic = CONVERSATIONS.name

    conversation_id: str = _ID
    ended_at: Moment


class UpsertContactByExternalId(EventData):
    """Command: create or update the contact another system knows by `system` + `external_id`.

    `fields` are the contact fields of `PUT /v1/contacts/by-external-id/{system}/{id}`;
    `occurred_at` is when the system changed them (the last-writer rule compares it).
    """

    event_type = "crm.contacts.external-upsert.requested.v1"
    topic = CONTACT_UPSERTS.name

    system: str = Field(pattern=EXTERNAL_SYSTEM_PATTERN)
    external_id: str = Field(min_length=1, max_length=EXTERNAL_ID_MAX)
    fields: JsonObject
    occurred_at: Moment | None = None


class ConversationLinked(EventData):
    """A conversation's identified visitor was resolved to this contact."""

    event_type = "crm.contacts.conversation.linked.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    conversation_id: str


class GivenConsent(BaseModel):
    """A consent purpose a person ticked on a form, on a channel."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    purpose: str
    channel: ConsentChannel = "any"


class FormSubmitted(EventData):
    """A public form was submitted for this contact; the gdpr ledger records its consents."""

    event_type = "crm.contacts.form.submitted.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    form_id: str
    consents: list[GivenConsent] = []
    notice_version: str | None = None
