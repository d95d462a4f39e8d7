"""Following merges: consents move to the primary (new ledger entries), audit trails link up."""

from __future__ import annotations

import logging

from crm_gdpr.adapters.repositories import ConsentRepository, MergeLinkRepository
from crm_gdpr.domain.consent import ConsentEntry
from crm_gdpr.domain.merges import EntryStamp, moved_consents, reverted_consents
from crm_gdpr.service_layer.ids import new_ids
from crm_shared.clock import now_iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactsMerged, MergeUndone
from crm_shared.outbox import GDPR_SOURCE, outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent

log = logging.getLogger(__name__)

MERGES_CONSUMER = "gdpr.merges"


def _changed(entries: list[ConsentEntry], *, tenant: str, actor: str) -> list[OutgoingEvent]:
    return [
        outgoing(
            # Every attribute: a moved "marketing on email" must not read as "on any channel".
            entry.changed(),
            source=GDPR_SOURCE,
            tenant=tenant,
            key=entry.contact_id,
            actor=actor,
        )
        for entry in entries
    ]


async def follow_merge(
    store: DocumentStore, envelope: EventEnvelope, event: ContactsMerged | MergeUndone
) -> int:
    """Apply a merge (or its undo) once, on the primary's copy; return the entries appended."""
    if event.contact_id != event.primary_id:
        return 0  # every involved contact gets a copy; the primary's carries the work
    tenant = envelope.tenant
    actor = envelope.actor or envelope.source
    stamp = EntryStamp(
        tenant=tenant, merge_id=event.merge_id, recorded_at=now_iso(), recorded_by=actor
    )
    async with store.transaction() as session:
        if not await session.mark_processed(MERGES_CONSUMER, envelope.id):
            return 0
        consents = ConsentRepository(session)
        links = MergeLinkRepository(session)
        primary_entries = await consents.for_contact(tenant, event.primary_id)
        if isinstance(event, ContactsMerged):
            await links.link(
                tenant,
                merge_id=event.merge_id,
                primary_id=event.primary_id,
                duplicates=event.duplicate_ids,
            )
            duplicates = {
                duplicate_id: await consents.for_contact(tenant, duplicate_id)
                for duplicate_id in event.duplicate_ids
            }
            count = sum(len(entries) for entries in duplicates.values())
            added = moved_consents(
                event.primary_id, primary_entries, duplicates, stamp=stamp, ids=new_ids(count)
            )
        else:
            await links.unlink(tenant, event.merge_id)
            added = reverted_consents(
                event.primary_id, primary_entries, stamp=stamp, ids=new_ids(len(primary_entries))
            )
        for entry in added:
            await consents.add(entry)
        await session.add_events(_changed(added, tenant=tenant, actor=actor))
    log.info("merge %s: %d consent entries appended", event.merge_id, len(added))
    return len(added)
