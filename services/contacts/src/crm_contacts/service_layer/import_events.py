"""The per-contact events of an import batch: the same payloads as API writes, keyed by contact.

Other products mirror contacts from crm.contacts.events.v1 alone, so every contact an import
creates or changes gets its own ContactCreated / ContactUpdated, in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm_contacts.domain.contact import profile_snapshot
from crm_contacts.domain.importing import BatchPlan
from crm_shared.events import ContactCreated, ContactProfile, ContactUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import OutgoingEvent


def per_contact_events(
    plan: BatchPlan,
    originals: Iterable[Mapping[str, Any]],
    *,
    job_id: str,
    tenant: str,
    actor: str,
) -> list[OutgoingEvent]:
    """One created or updated event per contact the batch wrote, in the plan's order.

    `originals` are the stored documents the batch read before changing them: an updated
    contact's `before` values are what it held before the batch, its `after` what it holds now.
    """
    before_by_id = {str(doc["id"]): doc for doc in originals}
    created = {str(doc["id"]): doc for doc in plan.inserts}
    events: list[OutgoingEvent] = []
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
        events.append(
            outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=contact_id, actor=actor)
        )
    return events
