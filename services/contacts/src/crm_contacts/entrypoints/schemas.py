"""HTTP request and response bodies (structure only; the domain validates the values)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.contact import Source
from crm_shared.validation import Moment

EMAILS_DOC = (
    "Additional emails (not the primary): normalized like it (case, IDNA domains), repeats and "
    "the primary dropped, at most 10; the whole list is replaced on update"
)
PHONES_DOC = (
    "Additional phones in any format (stored as E.164 with the text as typed), repeats and the "
    "primary dropped, at most 10; the whole list is replaced on update"
)
COMPANY_DOC = (
    "Company name; links the contact to the account of that name (accents and case ignored), "
    "else to the account of its work-email domain, else to a new account"
)
OWNER_DOC = "Id of the assigned user, 1-100 characters; null for none"


# Tags and custom fields: see /v1/tags, /v1/tag-rules and /v1/custom-fields.
TAGS_DOC = (
    "Up to 50 manual tags of 1-50 characters (new names become manual tags). The platform adds "
    "the system tags (source:<source>, imported) and tag rules add auto tags"
)
TAGS_UPDATE_DOC = (
    "Replaces the manual tags. Send system tags back as read (leaving one out or adding one "
    "is a 422); auto tags follow the tag rules whether sent or not"
)
CUSTOM_FIELDS_DOC = (
    "Values by the keys of /v1/custom-fields, typed by their definitions (422 naming "
    "custom_fields.<key> and the rule); required fields must be present"
)


class ContactCreate(BaseModel):
    """Body of `POST /v1/contacts`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Full name, 1-200 characters")
    email: str | None = None
    phone: str | None = Field(default=None, description="Any format; stored as E.164")
    emails: list[str] | None = Field(default=None, description=EMAILS_DOC)
    phones: list[str] | None = Field(default=None, description=PHONES_DOC)
    company: str | None = Field(default=None, description=COMPANY_DOC)
    timezone: str | None = Field(default=None, description="IANA name, e.g. Europe/Paris")
    owner: str | None = Field(default=None, description=OWNER_DOC)
    tags: list[str] | None = Field(default=None, description=TAGS_DOC)
    custom_fields: dict[str, Any] | None = Field(default=None, description=CUSTOM_FIELDS_DOC)
    source: Source = "manual"


class ContactUpdate(BaseModel):
    """Body of `PATCH /v1/contacts/{id}`: only the fields present change; null clears one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    emails: list[str] | None = Field(default=None, description=EMAILS_DOC)
    phones: list[str] | None = Field(default=None, description=PHONES_DOC)
    company: str | None = Field(default=None, description=COMPANY_DOC)
    timezone: str | None = None
    owner: str | None = Field(default=None, description=OWNER_DOC)
    tags: list[str] | None = Field(default=None, description=TAGS_UPDATE_DOC)
    custom_fields: dict[str, Any] | None = Field(
        default=None,
        description="Merged key by key into the stored ones (a null value clears that one; "
        "null clears them all); typed by the definitions in /v1/custom-fields",
    )

    def present_fields(self) -> dict[str, Any]:
        """The fields the client sent, with their values (null included)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class ContactUpsert(BaseModel):
    """Body of the upserts (`PUT /v1/contacts/by-external-id/...`, `/by-email/...`).

    Values found on the contact are kept: an empty one changes nothing, a new email or phone is
    added to the additional ones, and a single value (name, company, timezone, owner, a custom
    value) is replaced only by a write at least as recent as the one that set it.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None
    phone: str | None = Field(default=None, description="Any format; stored as E.164")
    emails: list[str] | None = None
    phones: list[str] | None = None
    company: str | None = None
    timezone: str | None = None
    owner: str | None = None
    tags: list[str] | None = Field(default=None, description="Added to the contact's tags")
    custom_fields: dict[str, Any] | None = None
    occurred_at: Moment | None = Field(
        default=None,
        description="When the sending system changed these values (default: when received); "
        "the latest write of a field wins, an older one only fills it when empty",
    )
    source: Source = Field(
        default="manual",
        description="by-email only: the channel the person came through "
        "(by-external-id is always `integration`)",
    )


class ContactPublic(BaseModel):
    """A contact as clients see it."""

    id: str
    version: int
    name: str
    email: str | None
    phone: str | None
    phone_raw: str | None
    emails: list[str] = Field(default_factory=list, description="Additional emails")
    phones: list[str] = Field(default_factory=list, description="Additional phones, E.164")
    phones_raw: list[str] = Field(
        default_factory=list, description="The additional phones as typed, in the same order"
    )
    company: str | None
    account_id: str | None = Field(default=None, description="The account (company) linked")
    timezone: str | None
    owner: str | None = None
    tags: list[str]
    custom_fields: dict[str, Any]
    campaigns: list[str] = Field(
        default_factory=list, description="Ids of the campaigns it belongs to (/v1/campaigns)"
    )
    external_ids: dict[str, str] = Field(
        default_factory=dict,
        description="Ids other systems know the person by, system -> id "
        "(/v1/contacts/by-external-id/{system}/{id})",
    )
    source: Source = Field(description="The channel the contact first arrived through")
    sources: list[str] = Field(
        default_factory=list,
        description="Every channel the person arrived through, in order of first arrival",
    )
    created_at: str
    updated_at: str
    deleted_at: str | None = None


class ContactList(BaseModel):
    """One page of contacts; pass `next_cursor` as `cursor` for the next (null on the last)."""

    items: list[ContactPublic]
    next_cursor: str | None
