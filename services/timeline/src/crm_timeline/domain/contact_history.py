"""Rules that turn contact lifecycle events into timeline facts and order them by version."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from crm_shared.events.contacts import (
    ContactCreated,
    ContactDeleted,
    ContactProfile,
    ContactRestored,
    ContactsImported,
    ContactUpdated,
)
from crm_timeline.domain.model import ContactProjection, ContactState

ContactLifecycleEvent = (
    ContactCreated | ContactUpdated | ContactDeleted | ContactRestored | ContactsImported
)


@dataclass(frozen=True)
class ContactFact:
    """One contact's change carried by an event: its new version, state and timeline entry.

    `state` None means the change keeps the state the contact had (a new contact is live).
    """

    contact_id: str
    version: int
    state: ContactState | None
    summary: str
    data: dict[str, Any]
    item_type: Literal["contact_changed", "imported"] = "contact_changed"


class Outcome(Enum):
    """What a contact event does to the projection and the timeline."""

    APPLY = "apply"  # newer than what we hold: advance the projection and record an item
    RECORD_ONLY = "record_only"  # same version: record the item, leave the projection
    IGNORE = "ignore"  # older than what we hold, or the contact was erased


def filled_profile_fields(profile: ContactProfile) -> list[str]:
    """Names (never values) of the profile fields that hold something."""
    return [name for name, value in profile if value not in (None, "", [], {})]


def updated_summary(changed: list[str]) -> str:
    """'Updated email, phone': field names only, so the summary holds no personal data."""
    return f"Updated {', '.join(changed)}" if changed else "Contact updated"


def facts_from_event(event: ContactLifecycleEvent) -> list[ContactFact]:
    """The timeline facts of a contact event (one per contact for an import batch)."""
    match event:
        case ContactCreated():
            return [
                ContactFact(
                    contact_id=event.contact_id,
                    version=event.version,
                    state="live",
                    summary=f"Contact created (source: {event.source})",
                    data={"fields": filled_profile_fields(event.profile)},
                )
            ]
        case ContactUpdated():
            changes = {name: change.model_dump() for name, change in event.changes.items()}
            return [
                ContactFact(
                    contact_id=event.contact_id,
                    version=event.version,
                    state=None,
                    summary=updated_summary(list(changes)),
                    data={"changes": changes},
                )
            ]
        case ContactDeleted():
            return [_bare_fact(event.contact_id, event.version, "deleted", "Contact deleted")]
        case ContactRestored():
            return [_bare_fact(event.contact_id, event.version, "live", "Contact restored")]
        case ContactsImported():
            return [
                ContactFact(
                    contact_id=row.contact_id,
                    version=row.version,
                    state="live" if row.action == "created" else None,
                    summary=f"Contact {row.action} by import",
                    data={"job_id": event.job_id, "changed_fields": list(row.changed_fields)},
                    item_type="imported",
                )
                for row in event.contacts
            ]
    raise TypeError(f"not a contact lifecycle event: {type(event).__name__}")


def _bare_fact(contact_id: str, version: int, state: ContactState, summary: str) -> ContactFact:
    return ContactFact(
        contact_id=contact_id, version=version, state=state, summary=summary, data={}
    )


def outcome_of(held: ContactProjection | None, version: int) -> Outcome:
    """Consumers ignore an older version than the one they hold; erased or purged stays so.

    A purge carries no version, so every event about the contact arriving after it is stale.
    """
    if held is None:
        return Outcome.APPLY
    if held.erased or held.purged:
        return Outcome.IGNORE
    if version > held.version:
        return Outcome.APPLY
    if version == held.version:
        return Outcome.RECORD_ONLY
    return Outcome.IGNORE


def advance(held: ContactProjection | None, fact: ContactFact, *, tenant: str) -> ContactProjection:
    """The projection after applying a newer fact."""
    state: ContactState = fact.state or (held.state if held is not None else "live")
    return ContactProjection(id=fact.contact_id, tenant=tenant, version=fact.version, state=state)
