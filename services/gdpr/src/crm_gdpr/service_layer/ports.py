"""What the handlers need from other services; the HTTP clients in adapters/ implement it."""

from __future__ import annotations

from typing import Any, Protocol


class ContactLookup(Protocol):
    """Reads a contact through the contacts service, on behalf of the caller."""

    async def get_contact(self, contact_id: str) -> dict[str, Any]:
        """The contact; raises NotFound, ContactErased or ServiceUnavailable."""
        ...


class TimelineSource(Protocol):
    """Reads a contact's timeline through the timeline service, on behalf of the caller."""

    async def all_activities(self, contact_id: str) -> list[dict[str, Any]]:
        """Every timeline item of the contact; raises ServiceUnavailable."""
        ...
