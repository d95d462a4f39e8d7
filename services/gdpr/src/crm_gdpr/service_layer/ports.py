"""What the handlers need from other services; the HTTP clients in adapters/ implement it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from crm_gdpr.domain.person import PersonFound


class ContactLookup(Protocol):
    """Reads a contact through the contacts service, on behalf of the caller."""

    async def get_contact(self, contact_id: str) -> dict[str, Any]:
        """The contact; raises NotFound, ContactErased or ServiceUnavailable."""
        ...

    async def resolve_person(
        self,
        *,
        contact_ids: Sequence[str],
        emails: Sequence[str],
        phones: Sequence[str],
        with_profiles: bool = False,
    ) -> PersonFound:
        """Every record of the person in any state, and their identifiers' keyed hashes."""
        ...


class TimelineSource(Protocol):
    """Reads a contact's timeline through the timeline service, on behalf of the caller."""

    async def all_activities(self, contact_id: str) -> list[dict[str, Any]]:
        """Every timeline item of the contact; raises ServiceUnavailable."""
        ...


class ImportRowsSource(Protocol):
    """Reads the importer's stored rows that mention a person, on behalf of the caller."""

    async def rows_mentioning(self, identifier_hashes: Sequence[str]) -> list[dict[str, Any]]:
        """Failed and warned import rows holding one of these hashes; raises ServiceUnavailable."""
        ...
