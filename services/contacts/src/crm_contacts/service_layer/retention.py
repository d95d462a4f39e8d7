"""Soft-delete retention: note deletions, and purge contacts deleted longer ago than allowed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from crm_contacts.adapters.consents import ConsentStateRepository
from crm_contacts.adapters.deletions import DeletionIndex, PurgeableContacts
from crm_contacts.adapters.merges import MergeRepository
from crm_contacts.domain.retention import is_purgeable, purge_cutoff, still_waiting
from crm_shared.actors import system_actor
from crm_shared.events.contacts import ContactPurged
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent, Session

log = logging.getLogger(__name__)

ACTOR = system_actor("retention")
# Deletions handled per transaction: the write lock is held for one page at a time.
PURGE_PAGE = 500


async def note_deleted(session: Session, tenant: str, doc: dict[str, Any]) -> None:
    """Record a soft deletion in the purge's index (same transaction as the delete)."""
    await DeletionIndex(session).record(tenant, doc["id"], doc["deleted_at"])


async def note_restored(session: Session, tenant: str, contact_id: str) -> None:
    """Take a restored contact out of the purge's index (same transaction as the restore)."""
    await DeletionIndex(session).forget(tenant, contact_id)


async def purge_expired(
    store: DocumentStore, *, now: datetime, retention_days: int, tenant: str | None = None
) -> int:
    """Remove contacts soft-deleted more than `retention_days` before `now`; return how many.

    `tenant=None` purges every tenant (the background loop); one ContactPurged per contact.
    """
    cutoff = purge_cutoff(now, retention_days)
    purged = 0
    while True:
        async with store.transaction() as session:
            entries = await DeletionIndex(session).deleted_before(
                cutoff, tenant=tenant, limit=PURGE_PAGE
            )
            purged += await _purge_page(session, entries, cutoff)
        if len(entries) < PURGE_PAGE:
            return purged


async def _purge_page(session: Session, entries: list[dict[str, Any]], cutoff: str) -> int:
    by_tenant: dict[str, list[str]] = {}
    for entry in entries:
        by_tenant.setdefault(entry["contact_tenant"], []).append(entry["contact_id"])
    index = DeletionIndex(session)
    await index.forget_many([entry["id"] for entry in entries])
    events: list[OutgoingEvent] = []
    for tenant, contact_ids in by_tenant.items():
        contacts = PurgeableContacts(session, tenant)
        docs = await contacts.get_many(contact_ids)
        doomed = [doc for doc in docs if is_purgeable(doc, cutoff)]
        await contacts.remove([doc["id"] for doc in doomed], deleted_before=cutoff)
        # The consents kept from the ledger go with the contact.
        await ConsentStateRepository(session, tenant).forget_many([doc["id"] for doc in doomed])
        for doc in doomed:  # a merged-away contact's data leaves its merge record too
            if doc.get("merged_into"):
                await MergeRepository(session, tenant).close_involving(doc["id"], status="expired")
        events += [
            outgoing(
                ContactPurged(contact_id=doc["id"], deleted_at=doc["deleted_at"]),
                source=CONTACTS_SOURCE,
                tenant=tenant,
                key=doc["id"],
                actor=ACTOR,
            )
            for doc in doomed
        ]
        for doc in docs:  # a stale note (deleted again later) is written anew, not lost
            if still_waiting(doc, cutoff):
                await index.record(tenant, doc["id"], doc["deleted_at"])
    await session.add_events(events)
    if events:
        log.info("purged %d contacts of %d tenants", len(events), len(by_tenant))
    return len(events)
