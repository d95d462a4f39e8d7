"""The audit log screen's filter choices."""

from __future__ import annotations

from datetime import date

from crm_shared.events import ContactsImported
from crm_shared.events.registry import EVENT_TYPES

# An audit entry's action is the type of the event it records; a contact written by an import
# is audited under the import's type with `:created` or `:updated` (gdpr's audit consumer).
AUDIT_ACTIONS: tuple[str, ...] = tuple(
    sorted(
        {
            *EVENT_TYPES,
            f"{ContactsImported.event_type}:created",
            f"{ContactsImported.event_type}:updated",
        }
    )
)


def day_start(day: str) -> str | None:
    """Midnight UTC of a `YYYY-MM-DD` date from a date input, as the audit API takes it; None
    if the text is not such a date."""
    try:
        return f"{date.fromisoformat(day.strip()).isoformat()}T00:00:00Z"
    except ValueError:
        return None
