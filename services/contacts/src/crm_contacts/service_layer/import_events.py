"""The per-contact events of an import batch: the same payloads as API writes, keyed by contact.

Other products mirror contacts from crm.contacts.events.v1 alone, so every contact an import
creates or changes gets its own ContactCreated / ContactUpdated, in the batch's transaction,
with each contact's state record. A batch writes thousands: their payloads are built as the
JSON the event models would give (the documents hold validated, JSON-ready values) and each
envelope's bytes written once (`outgoing_written`), with no model per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from crm_contacts.adapters.contact_state import state_data
from crm_contacts.domain.contact import profile_snapshot
from crm_contacts.domain.importing import BatchPlan
from crm_shared.clock import utcnow
from crm_shared.envelope import EventData
from crm_shared.events import (
    ContactCreated,
    ContactsImported,
    ContactState,
    ContactUpdated,
    ImportBatchProcessed,
)
from crm_shared.outbox import CONTACTS_SOURCE, outgoing_written
from crm_shared.storage import OutgoingEvent

Payload = tuple[type[EventData], dict[str, Any], str]


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
    states: list[Payload] = []
    for kind, data, contact_id in payloads:
        # A new contact's state holds the profile its created event holds: built once.
        doc = written[contact_id]
        if doc.get("erased_at") or doc.get("merged_into"):  # pragma: no cover - never imported
            raise ValueError("an import batch wrote a contact that is gone")
        profile = data["profile"] if kind is ContactCreated else profile_snapshot(doc)
        state = state_data(doc, contact_id=contact_id, profile=profile)
        states.append((ContactState, state, contact_id))
    build = partial(
        outgoing_written, source=CONTACTS_SOURCE, tenant=tenant, actor=actor, time=utcnow()
    )
    return build(payloads), build(states)


def contact_payloads(
    plan: BatchPlan, originals: Iterable[Mapping[str, Any]], *, job_id: str
) -> list[Payload]:
    """The created or updated event of each contact the batch wrote, as (kind, the JSON its
    model gives, contact id)."""
    before_by_id = {str(doc["id"]): doc for doc in originals}
    created = {str(doc["id"]): doc for doc in plan.inserts}
    payloads: list[Payload] = []
    for imported in plan.imported:
        contact_id = str(imported["contact_id"])
        if contact_id in created:
            doc = created[contact_id]
            data = {
                "contact_id": contact_id,
                "version": int(doc["version"]),
                "source": str(doc["source"]),
                "profile": profile_snapshot(doc),
                "import_job_id": job_id,
            }
            payloads.append((ContactCreated, data, contact_id))
            continue
        before, after = before_by_id[contact_id], plan.replacements[contact_id]
        changes = {
            name: {"before": before.get(name), "after": after.get(name)}
            for name in imported["changed_fields"]
            if before.get(name) != after.get(name)
        }
        if changes:
            data = {
                "contact_id": contact_id,
                "version": int(after["version"]),
                "changes": changes,
                "import_job_id": job_id,
            }
            payloads.append((ContactUpdated, data, contact_id))
    return payloads


def batch_summary(
    kind: type[ImportBatchProcessed | ContactsImported],
    *,
    job_id: str,
    batch_no: int,
    entries: Iterable[Mapping[str, Any]],
    tenant: str,
    actor: str,
) -> OutgoingEvent:
    """A batch's ImportBatchProcessed (`entries`: its row results) or ContactsImported (the
    contacts it wrote), keyed by the job, without a model per row: each entry as its model
    (RowResult, ImportedContact) dumps it, the defaults filled in."""
    if kind is ImportBatchProcessed:
        data: dict[str, Any] = {
            "job_id": job_id,
            "batch_no": batch_no,
            "results": [_row_result(entry) for entry in entries],
            "cancelled": False,
        }
    else:
        data = {"job_id": job_id, "batch_no": batch_no, "contacts": [_written(e) for e in entries]}
    (event,) = outgoing_written(
        [(kind, data, job_id)], source=CONTACTS_SOURCE, tenant=tenant, actor=actor
    )
    return event


def _row_result(result: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "row_number": result["row_number"],
        "status": result["status"],
        "contact_id": result.get("contact_id"),
        "error": result.get("error"),
        "warnings": list(result.get("warnings") or ()),
        "suppressed": bool(result.get("suppressed", False)),
    }


def _written(contact: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "contact_id": contact["contact_id"],
        "version": contact["version"],
        "action": contact["action"],
        "changed_fields": list(contact.get("changed_fields") or ()),
    }
