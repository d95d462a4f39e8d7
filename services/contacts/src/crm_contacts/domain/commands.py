"""Commands the contacts service handles: imperative, frozen, validated at the edge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from crm_contacts.domain.contact import Source
from crm_shared.events import ImportRow
from crm_shared.events.imports import DuplicatePolicy, MatchIdentifier


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateContact(_Command):
    """Create a contact from raw profile fields (validated by the handler)."""

    fields: dict[str, Any]
    source: Source = "manual"
    allow_duplicate: bool = False


class UpdateContact(_Command):
    """Change only the given fields; `expected_version` guards against lost updates."""

    contact_id: str
    fields: dict[str, Any]
    expected_version: int | None = None


class DeleteContact(_Command):
    """Soft-delete a contact (it can be restored)."""

    contact_id: str
    expected_version: int | None = None


class RestoreContact(_Command):
    """Bring a soft-deleted contact back."""

    contact_id: str


class EraseContact(_Command):
    """Anonymize a contact for an erasure request and suppress its identifiers."""

    erasure_id: str
    contact_id: str
    identifier_hashes: tuple[str, ...] = ()


class LookUpImportRows(_Command):
    """Decide what importing these rows would do (the dry run of an import), writing nothing."""

    rows: list[ImportRow]
    on_duplicate: DuplicatePolicy = "skip"
    match_on: list[MatchIdentifier] = []
    occurred_at: str | None = None
