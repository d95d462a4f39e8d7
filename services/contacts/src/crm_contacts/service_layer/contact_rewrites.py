"""Rewriting contacts for a definition change (used by the rewrite jobs, a batch at a time).

Each changed contact gets a new version and its own ContactUpdated (before/after), written in the
same transaction as the change that caused it, so the change and its effects commit together. A
batch rewrites hundreds: the events and the contacts' state records are built as the JSON their
models give (the documents hold validated, JSON-ready values) and each envelope written once, as
the import path does (`import_events.py`), with no model per contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.contact_state import state_data
from crm_contacts.domain.contact import (
    TAG_AND_VALUE_FIELDS,
    bump,
    profile_snapshot,
    refresh_derived,
    refresh_tags_derived,
)
from crm_shared.events import ContactState, ContactUpdated
from crm_shared.outbox import CONTACTS_SOURCE, outgoing_written
from crm_shared.storage import OutgoingEvent


@dataclass(frozen=True)
class Rewrite:
    """One contact rewritten: the document to store, the version it replaces, its changes as
    ContactUpdated's `changes` JSON."""

    doc: dict[str, Any]
    expected_version: int
    changes: dict[str, dict[str, Any]]


def rewritten(doc: dict[str, Any], fields: dict[str, Any], *, now: str) -> Rewrite | None:
    """`doc` with `fields` set (new version), or None if nothing changes."""
    changes = {
        name: {"before": doc.get(name), "after": value}
        for name, value in fields.items()
        if doc.get(name) != value
    }
    if not changes:
        return None
    merged = {**doc, **fields}
    if TAG_AND_VALUE_FIELDS.issuperset(fields):
        updated = bump(refresh_tags_derived(merged), now)
    else:
        updated = bump(refresh_derived(merged), now)
    return Rewrite(updated, int(doc["version"]), changes)


def rewrite_events(
    rewrites: Sequence[Rewrite], *, tenant: str, actor: str | None
) -> list[OutgoingEvent]:
    """Each contact's ContactUpdated, then the state record of each that is still a contact.

    The states come after the events they follow, so the store's transaction hook
    (`adapters/contact_state.py`) need not read them back; a contact gone for good (erased,
    merged away) is left to the hook, which publishes its tombstone.
    """
    updates = [
        (
            ContactUpdated,
            {
                "contact_id": r.doc["id"],
                "version": int(r.doc["version"]),
                "changes": r.changes,
                "import_job_id": None,
            },
            r.doc["id"],
        )
        for r in rewrites
    ]
    states = [
        (
            ContactState,
            state_data(r.doc, contact_id=r.doc["id"], profile=profile_snapshot(r.doc)),
            r.doc["id"],
        )
        for r in rewrites
        if not (r.doc.get("erased_at") or r.doc.get("merged_into"))
    ]
    return outgoing_written([*updates, *states], source=CONTACTS_SOURCE, tenant=tenant, actor=actor)
