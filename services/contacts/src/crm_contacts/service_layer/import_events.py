"""The per-contact events of an import batch: the same payloads as API writes, keyed by contact.

Other products mirror contacts from crm.contacts.events.v1 alone, so every contact an import
creates or changes gets its own ContactCreated / ContactUpdated, in the batch's transaction.
They are built in one pass per batch (`outgoing_many`), with each contact's state record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from crm_contacts.adapters.contact_state import current_state
from crm_contacts.domain.contact import profile_snapshot
from crm_contacts.domain.importing import BatchPlan
from crm_shared.envelope import EventData
from crm_shared.events import ContactCreated, ContactProfile, ContactUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing_many
from crm_shared.storage import OutgoingEvent


def per_contact_events_and_states(
    plan: BatchPlan,
    originals: Iterable[Mapping[str, Any]],
    *,
    job_id: str,
    tenant: str,
    actor: str,
) -> tuple[list[OutgoingEvent], list[OutgoingEvent]]:
    """One created or updated event per contact the batch wrote, in the plan's order, and the
    state record of each contact they name.

    `originals` are the stored documents the batch read before changing them: an updated
    contact's `before` values are what it held before the batch, its `after` what it holds now.
    The states are built from the documents the batch writes, so the store's transaction hook
    (`adapters/contact_state.py`) need not read them back.
    """
    payloads = contact_payloads(plan, originals, job_id=job_id)
    written = {str(doc["id"]): doc for doc in plan.inserts} | plan.replacements
    states: list[tuple[EventData, str]] = []
    for payload, contact_id in payloads:
        # A new contact's state holds the profile its created event holds: built once.
        profile = payload.profile if isinstance(payload, ContactCreated) else None
        state = current_state(written[contact_id], contact_id=contact_id, profile=profile)
        if state is None:  # pragma: no cover - an import writes live contacts only
            raise ValueError("an import batch wrote a contact that is gone")
        states.append((state, contact_id))
    build = partial(outgoing_many, source=CONTACTS_SOURCE, tenant=tenant, actor=actor)
    return build(payloads), build(states)


def contact_payloads(
    plan: BatchPlan, originals: Iterable[Mapping[str, Any]], *, job_id: str
) -> list[tuple[EventData, str]]:
    """The created or updated payload of each contact the batch wrote, with its id."""
    before_by_id = {str(doc["id"]): doc for doc in originals}
    created = {str(doc["id"]): doc for doc in plan.inserts}
    payloads: list[tuple[EventData, str]] = []
    for imported in plan.imported:
        contact_id = str(imported["contact_id"])
        if contact_id in created:
            doc = created[contact_id]
            event: ContactCreated | ContactUpdated = ContactCreated(
                contact_id=contact_id,
                version=int(doc["version"]),
                source=str(doc["source"]),
                profile=ContactProfile(**profile_snapshot(doc)),
                import_job_id=job_id,
            )
        else:
            before, after = before_by_id[contact_id], plan.replacements[contact_id]
            changes = {
                name: FieldChange(before=before.get(name), after=after.get(name))
                for name in imported["changed_fields"]
                if before.get(name) != after.get(name)
            }
            if not changes:
                continue
            event = ContactUpdated(
                contact_id=contact_id,
                version=int(after["version"]),
                changes=changes,
                import_job_id=job_id,
            )
        payloads.append((event, contact_id))
    return payloads
