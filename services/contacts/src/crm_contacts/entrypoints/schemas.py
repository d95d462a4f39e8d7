"""HTTP request and response bodies (structure only; the domain validates the values)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.contact import Source


class ContactCreate(BaseModel):
    """Body of `POST /v1/contacts`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Full name, 1-200 characters")
    email: str | None = None
    phone: str | None = Field(default=None, description="Any format; stored as E.164")
    company: str | None = None
    timezone: str | None = Field(default=None, description="IANA name, e.g. Europe/Paris")
    tags: list[str] | None = Field(default=None, description="Up to 50 tags of 1-50 characters")
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="snake_case keys; text, number, boolean, null or list of text"
    )
    source: Source = "manual"


class ContactUpdate(BaseModel):
    """Body of `PATCH /v1/contacts/{id}`: only the fields present change; null clears one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    timezone: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="Merged key by key into the stored ones; null clears them all"
    )

    def present_fields(self) -> dict[str, Any]:
        """The fields the client sent, with their values (null included)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class ContactPublic(BaseModel):
    """A contact as clients see it."""

    id: str
    version: int
    name: str
    email: str | None
    phone: str | None
    phone_raw: str | None
    company: str | None
    timezone: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    source: Source
    created_at: str
    updated_at: str
    deleted_at: str | None = None


class ContactList(BaseModel):
    """One page of contacts; pass `next_cursor` as `cursor` for the next (null on the last)."""

    items: list[ContactPublic]
    next_cursor: str | None
