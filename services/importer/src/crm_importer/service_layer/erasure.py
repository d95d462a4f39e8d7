"""Erasure: delete export files and failed import rows that hold the person, then send a receipt.

A consumer's poll of erasure commands (a 5,000-record request arrives as 5,000 of them) is one
transaction per tenant and one read of each finished export's id list, not one per record.
"""

from __future__ import annotations

from collections.abc import Sequence

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import Exports, ImportErrors
from crm_shared.clock import now_iso
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.idempotency_records import forget_subject
from crm_shared.outbox import IMPORTER_SOURCE, outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent, Session, mark_processed_many

ERASURE_CONSUMER = "importer.erasure"

Requests = Sequence[tuple[ErasureRequested, EventEnvelope]]


async def erase_contacts(store: DocumentStore, files: DataFiles, requests: Requests) -> None:
    """Remove what the importer holds about each person and record each receipt once, a
    tenant's share of the poll in one transaction.

    Files are deleted before the commit: if the commit fails the events are handled again, and
    a completed export whose file is already gone is expired then. Deleting after the commit
    could leave personal data behind after a crash.
    """
    by_tenant: dict[str, list[tuple[ErasureRequested, EventEnvelope]]] = {}
    for request, envelope in requests:
        by_tenant.setdefault(envelope.tenant, []).append((request, envelope))
    for tenant, mine in by_tenant.items():
        async with store.transaction() as session:
            await _erase_in(session, files, tenant, mine)
    store.forget_deleted()  # the store's log still holds the deleted rows as they were


async def _erase_in(
    session: Session,
    files: DataFiles,
    tenant: str,
    requests: list[tuple[ErasureRequested, EventEnvelope]],
) -> None:
    fresh = await mark_processed_many(session, ERASURE_CONSUMER, [e.id for _, e in requests])
    todo: list[tuple[ErasureRequested, EventEnvelope]] = []
    for request, envelope in requests:
        if envelope.id in fresh:
            fresh.discard(envelope.id)  # the same event twice in one poll counts once
            todo.append((request, envelope))
    if not todo:
        return
    contact_ids = {request.contact_id for request, _ in todo}
    for contact_id in contact_ids:
        await forget_subject(session, tenant=tenant, contact_id=contact_id)  # kept answers
    exports_with = await _remove_exports(session, files, tenant, contact_ids)
    rows = ImportErrors(session)
    receipts: list[OutgoingEvent] = []
    for request, envelope in todo:
        removed_rows = await rows.delete_matching(
            tenant=tenant, identifier_hashes=request.identifier_hashes
        )
        receipt = ErasureReceipt(
            erasure_id=request.erasure_id,
            contact_id=request.contact_id,
            service="importer",
            status="completed",
            detail=(
                f"deleted {exports_with.get(request.contact_id, 0)} export file(s), "
                f"{removed_rows} failed import row(s)"
            ),
        )
        receipts.append(
            outgoing(
                receipt,
                source=IMPORTER_SOURCE,
                tenant=tenant,
                key=request.contact_id,
                actor=envelope.actor,
            )
        )
    await session.add_events(receipts)


async def _remove_exports(
    session: Session, files: DataFiles, tenant: str, contact_ids: set[str]
) -> dict[str, int]:
    """Delete and expire the finished exports naming any of the contacts (each export's id list
    read once); an export still running checks them when it finishes. How many exports each
    contact was removed from."""
    removed: dict[str, int] = {}
    exports = Exports(session)
    for export in await exports.with_status(
        tenant=tenant, statuses=("queued", "running", "completed")
    ):
        if export.active:
            # Still being written: checked against its id list when it finishes.
            new = sorted(contact_ids - set(export.pending_erasures))
            if new:
                export.pending_erasures.extend(new)
                await exports.save(export)
            continue
        named = files.contacts_in_export(export.id, contact_ids)
        if named or not files.export_exists(export.id):
            files.delete_export(export.id)
            export.expire(now_iso())
            await exports.save(export)
            for contact_id in named:
                removed[contact_id] = removed.get(contact_id, 0) + 1
    return removed
