"""What a merge or its undo says on a contact's timeline (ids only, no personal data)."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ContactsMerged, MergeUndone


def merge_summary(event: ContactsMerged | MergeUndone) -> tuple[str, dict[str, Any]]:
    """The summary and data of the timeline item for this contact's copy of the event."""
    data: dict[str, Any] = {
        "merge_id": event.merge_id,
        "primary_id": event.primary_id,
        "duplicate_ids": list(event.duplicate_ids),
    }
    count = len(event.duplicate_ids)
    others = f"{count} contact{'s' if count != 1 else ''}"
    if isinstance(event, ContactsMerged):
        if event.contact_id == event.primary_id:
            return f"Merged {others} into this contact", data
        return f"Merged into contact {event.primary_id}", data
    if event.contact_id == event.primary_id:
        return f"Merge undone: {others} separated again", data
    return f"Merge undone: separated from contact {event.primary_id}", data
