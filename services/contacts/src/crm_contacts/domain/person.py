"""A data subject: the records of one person, found through their ids, emails and phones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.identity import normalize_email, to_e164
from crm_shared.problems import BadRequest

RecordState = Literal["live", "deleted", "merged", "erased"]
# How many records one request may reach: 5,000 ids asked for, and what they lead to.
MAX_PERSON_RECORDS = 20_000
MAX_SELECTOR_IDS = 5_000


class ResolvePerson(BaseModel):
    """Query: every record of the person (or people) named by these ids, emails and phones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_ids: tuple[str, ...] = Field(default=(), max_length=MAX_SELECTOR_IDS)
    emails: tuple[str, ...] = Field(default=(), max_length=100)
    phones: tuple[str, ...] = Field(default=(), max_length=100)


@dataclass(frozen=True)
class PersonRecord:
    """One record found, its state, and the contact it was merged into (if merged away)."""

    id: str
    state: RecordState
    merged_into: str | None


def record_state(doc: Mapping[str, Any]) -> RecordState:
    """Erased, merged away, soft-deleted or live (in that order of precedence)."""
    if doc.get("erased_at") is not None:
        return "erased"
    if doc.get("merged_into"):
        return "merged"
    if doc.get("deleted_at") is not None:
        return "deleted"
    return "live"


def person_record(doc: Mapping[str, Any]) -> PersonRecord:
    """The record as a resolution reports it."""
    return PersonRecord(
        id=str(doc["id"]), state=record_state(doc), merged_into=doc.get("merged_into")
    )


def selector_identifiers(
    emails: Iterable[str], phones: Iterable[str], *, region: str
) -> tuple[list[str], list[str]]:
    """The selectors' emails and phones in the stored (normalized) form; 400 naming a bad one."""
    normalized_emails: list[str] = []
    for position, email in enumerate(emails):
        normalized = normalize_email(email)
        if normalized is None:
            raise BadRequest(f"emails[{position}] is not a valid email address")
        normalized_emails.append(normalized)
    normalized_phones: list[str] = []
    for position, phone in enumerate(phones):
        e164 = to_e164(phone, region) if len(phone) <= 64 else None
        if e164 is None:
            raise BadRequest(f"phones[{position}] is not a valid phone number")
        normalized_phones.append(e164)
    return normalized_emails, normalized_phones


def identifiers_of(doc: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """A record's emails and E.164 phones, primary first."""
    emails = [e for e in (doc.get("email"), *(doc.get("emails") or ())) if e]
    phones = [p for p in (doc.get("phone"), *(doc.get("phones") or ())) if p]
    return emails, phones


def bundle_profile(doc: Mapping[str, Any], public: Mapping[str, Any]) -> dict[str, Any]:
    """A record as an access request's bundle shows it: its public fields and its lifecycle."""
    return {
        **public,
        "state": record_state(doc),
        "campaigns": list(doc.get("campaigns") or ()),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
        "deleted_at": doc.get("deleted_at"),
        "merged_into": doc.get("merged_into"),
    }
