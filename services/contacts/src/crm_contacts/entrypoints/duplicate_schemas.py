"""HTTP bodies of the duplicates API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from crm_contacts.entrypoints.schemas import ContactPublic

REASONS_DOC = (
    "Why: same_external_id, same_email, same_phone, similar_name (accents, case, word order, "
    "nicknames and initials aside), same_company, same_email_domain (work domains only)"
)
SCORE_DOC = (
    "0-1: a shared identifier scores 0.95 or more; a similar name alone 0.5-0.7, with the same "
    "company or work-email domain up to 0.94"
)


class DuplicateCandidate(BaseModel):
    """A likely duplicate of one contact."""

    contact: ContactPublic
    score: float = Field(description=SCORE_DOC)
    reasons: list[str] = Field(description=REASONS_DOC)


class DuplicateCandidates(BaseModel):
    """A contact's likely duplicates, best first."""

    items: list[DuplicateCandidate]


class ContactCreatedWithDuplicates(ContactPublic):
    """A created contact and the live contacts it probably duplicates (`check_duplicates`)."""

    possible_duplicates: list[DuplicateCandidate]


class DuplicateGroup(BaseModel):
    """Contacts that are probably one person; `id` is stable for the same contacts."""

    id: str
    contact_ids: list[str]
    score: float = Field(description=SCORE_DOC)
    reasons: list[str] = Field(description=REASONS_DOC)
    dismissed: bool = False


class DuplicateGroups(BaseModel):
    """One page of candidate groups, best first; pass `next_cursor` as `cursor` for the next."""

    items: list[DuplicateGroup]
    next_cursor: str | None


class ScanStatus(BaseModel):
    """The tenant's latest full duplicate scan, on whichever replica it ran."""

    status: Literal["idle", "running", "completed", "failed"]
    started_at: str | None = None
    finished_at: str | None = None
    contacts: int | None = None
    groups: int | None = None
